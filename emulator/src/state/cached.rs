//! Reads of the SQLite state answered from memory: the answers of `get`, `find` and `count` are
//! kept per tenant and collection until a write to that collection (or a scrub) drops them.
//!
//! Measured under load (issue 16), a TRAINING search spent over half its CPU in SQLite: the
//! connection's mutex, shared by every worker, a statement re-prepared on each call (most likely
//! because the bundled SQLite is built with STAT4, where binding a value compared with an indexed
//! column can expire the plan; not confirmed in SQLite's source), and `json_extract` parsing every
//! row of the collection. A partner's sandbox is read far
//! more often than it is written, so a repeated read costs a hash lookup and a clone here.
//!
//! Only this process writes its SQLite file, except while `sandgate gateway --upgrade` hands the
//! sockets over and the old process finishes what it was serving: SQLite's `data_version`, read
//! at most every [`OUTSIDE_WRITES_SEEN_WITHIN`], drops everything kept when another connection
//! has committed. PostgreSQL, which several nodes write, is never wrapped.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::database::DatabaseStore;
use super::{Page, PageRequest, ScrubScope, StateResult, StateStore, Tenant};

/// How old a kept answer may be relative to another process's write (never to this process's).
pub const OUTSIDE_WRITES_SEEN_WITHIN: Duration = Duration::from_millis(100);

/// Answers kept per collection, and collections kept, before the oldest set is dropped whole
/// (a partner scanning ids one by one must not grow the process without bound).
const ANSWERS_PER_COLLECTION: usize = 512;
const COLLECTIONS: usize = 4096;

/// What one collection of one tenant has answered since its last write.
#[derive(Debug, Default)]
struct Kept {
    /// By the read's key (see [`read_key`]).
    answers: HashMap<String, Answer>,
}

#[derive(Debug, Clone)]
enum Answer {
    One(Option<Value>),
    Many(Vec<Value>),
    Count(usize),
}

/// An SQLite store whose reads are kept in memory until the next write.
#[derive(Debug)]
pub struct ReadThrough {
    inner: DatabaseStore,
    /// By `environment \0 partner \0 collection`.
    kept: RwLock<HashMap<String, Kept>>,
    /// Moves on with every write, under `kept`'s lock: a read that raced a write is not kept.
    writes: AtomicU64,
    /// SQLite's `data_version` when last read, and when (ms since `started`).
    seen_version: AtomicU64,
    checked_at_ms: AtomicU64,
    started: Instant,
}

thread_local! {
    /// The keys of the read under way, built without an allocation per request.
    static KEYS: std::cell::RefCell<(String, String)> = const { std::cell::RefCell::new((String::new(), String::new())) };
}

fn collection_key(out: &mut String, tenant: Tenant<'_>, collection: &str) {
    out.clear();
    for part in [tenant.environment, tenant.partner, collection] {
        out.push_str(part);
        out.push('\0');
    }
}

/// The read's kind and arguments, each preceded by its length, so no two reads share a key
/// whatever their texts hold.
fn read_key(out: &mut String, kind: char, parts: &[&str], limit: usize) {
    out.clear();
    out.push(kind);
    for part in parts {
        let _ = write!(out, "{}:", part.len());
        out.push_str(part);
    }
    let _ = write!(out, "#{limit}");
}

impl ReadThrough {
    /// Wraps `inner`.
    pub fn new(inner: DatabaseStore) -> ReadThrough {
        let seen = inner.data_version().unwrap_or(0);
        ReadThrough {
            inner,
            kept: RwLock::new(HashMap::new()),
            writes: AtomicU64::new(0),
            seen_version: AtomicU64::new(seen),
            checked_at_ms: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Drops everything when another connection has committed since the last look (at most
    /// every [`OUTSIDE_WRITES_SEEN_WITHIN`]).
    fn notice_outside_writes(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.checked_at_ms.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= OUTSIDE_WRITES_SEEN_WITHIN.as_millis() as u64;
        if !due || self.checked_at_ms.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return;
        }
        match self.inner.data_version() {
            Ok(version) if version == self.seen_version.load(Ordering::Relaxed) => {}
            Ok(version) => {
                self.forget(|kept| kept.clear());
                self.seen_version.store(version, Ordering::Relaxed);
            }
            // Cannot tell: keep nothing.
            Err(_) => self.forget(|kept| kept.clear()),
        }
    }

    /// Drops kept answers (after a write has landed).
    fn forget(&self, what: impl FnOnce(&mut HashMap<String, Kept>)) {
        let mut kept = self.kept.write().unwrap_or_else(|p| p.into_inner());
        what(&mut kept);
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    fn forget_collection(&self, tenant: Tenant<'_>, collection: &str) {
        let mut key = String::new();
        collection_key(&mut key, tenant, collection);
        self.forget(|kept| {
            kept.remove(&key);
        });
    }

    /// The kept answer to a read, or `read`'s, kept for the next time. `key` writes the read's
    /// key (see [`read_key`]).
    fn read(
        &self,
        tenant: Tenant<'_>,
        collection: &str,
        key: impl FnOnce(&mut String),
        read: impl FnOnce() -> StateResult<Answer>,
    ) -> StateResult<Answer> {
        self.notice_outside_writes();
        let found = KEYS.with(|keys| {
            let mut keys = keys.borrow_mut();
            let (outer, inner) = &mut *keys;
            collection_key(outer, tenant, collection);
            key(inner);
            let kept = self.kept.read().unwrap_or_else(|p| p.into_inner());
            match kept.get(outer.as_str()).and_then(|k| k.answers.get(inner.as_str())) {
                Some(answer) => Ok(answer.clone()),
                None => Err((outer.clone(), inner.clone())),
            }
        });
        let (outer, inner) = match found {
            Ok(answer) => return Ok(answer),
            Err(keys) => keys,
        };
        let writes = self.writes.load(Ordering::Relaxed);
        let answer = read()?;
        let mut kept = self.kept.write().unwrap_or_else(|p| p.into_inner());
        if self.writes.load(Ordering::Relaxed) != writes {
            return Ok(answer);
        }
        if kept.len() >= COLLECTIONS && !kept.contains_key(&outer) {
            kept.clear();
        }
        let collection = kept.entry(outer).or_default();
        if collection.answers.len() >= ANSWERS_PER_COLLECTION {
            collection.answers.clear();
        }
        collection.answers.insert(inner, answer.clone());
        Ok(answer)
    }
}

impl StateStore for ReadThrough {
    fn get(&self, tenant: Tenant<'_>, collection: &str, id: &str) -> StateResult<Option<Value>> {
        let key = |out: &mut String| read_key(out, 'g', &[id], 0);
        match self.read(tenant, collection, key, || self.inner.get(tenant, collection, id).map(Answer::One))? {
            Answer::One(found) => Ok(found),
            _ => self.inner.get(tenant, collection, id),
        }
    }

    fn put(&self, tenant: Tenant<'_>, collection: &str, id: &str, object: &Value) -> StateResult<()> {
        let result = self.inner.put(tenant, collection, id, object);
        self.forget_collection(tenant, collection);
        result
    }

    fn insert_new(&self, tenant: Tenant<'_>, collection: &str, id: &str, object: &Value) -> StateResult<bool> {
        let result = self.inner.insert_new(tenant, collection, id, object);
        self.forget_collection(tenant, collection);
        result
    }

    fn delete(&self, tenant: Tenant<'_>, collection: &str, id: &str) -> StateResult<bool> {
        let result = self.inner.delete(tenant, collection, id);
        self.forget_collection(tenant, collection);
        result
    }

    fn list(&self, tenant: Tenant<'_>, collection: &str, page: &PageRequest) -> StateResult<Page> {
        self.inner.list(tenant, collection, page)
    }

    fn count(&self, tenant: Tenant<'_>, collection: &str) -> StateResult<usize> {
        let key = |out: &mut String| read_key(out, 'c', &[], 0);
        match self.read(tenant, collection, key, || self.inner.count(tenant, collection).map(Answer::Count))? {
            Answer::Count(count) => Ok(count),
            _ => self.inner.count(tenant, collection),
        }
    }

    fn find(
        &self,
        tenant: Tenant<'_>,
        collection: &str,
        fields: &[(&str, &str)],
        select: Option<&str>,
        limit: usize,
    ) -> StateResult<Vec<Value>> {
        let key = |out: &mut String| {
            read_key(out, 'f', &[select.unwrap_or("\0")], limit);
            for (field, wanted) in fields {
                let _ = write!(out, "|{}:{field}{}:", field.len(), wanted.len());
                // Matched ignoring ASCII case: so is the key.
                out.extend(wanted.chars().map(|c| c.to_ascii_lowercase()));
            }
        };
        let read = || self.inner.find(tenant, collection, fields, select, limit).map(Answer::Many);
        match self.read(tenant, collection, key, read)? {
            Answer::Many(found) => Ok(found),
            _ => self.inner.find(tenant, collection, fields, select, limit),
        }
    }

    fn scrub(&self, scope: ScrubScope<'_>) -> StateResult<usize> {
        let result = self.inner.scrub(scope);
        self.forget(|kept| kept.clear());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TENANT: Tenant<'static> = Tenant { environment: "training", partner: "ptn_1" };

    fn store() -> (tempfile::TempDir, ReadThrough) {
        let dir = tempfile::tempdir().expect("dir");
        let inner = DatabaseStore::open_sqlite(&dir.path().join("state.sqlite")).expect("open");
        (dir, ReadThrough::new(inner))
    }

    #[test]
    fn a_write_is_read_back_at_once_after_the_same_read_was_kept() {
        let (_dir, store) = store();
        store.put(TENANT, "customers", "c1", &json!({"id": "c1", "last_name": "Smith"})).expect("put");
        let find = |store: &ReadThrough| store.find(TENANT, "customers", &[("last_name", "SMITH")], None, 10);
        assert_eq!(find(&store).expect("find").len(), 1);
        assert_eq!(store.count(TENANT, "customers").expect("count"), 1);
        store.put(TENANT, "customers", "c2", &json!({"id": "c2", "last_name": "smith"})).expect("put");
        assert_eq!(find(&store).expect("find").len(), 2, "the kept answer was dropped by the write");
        assert_eq!(store.count(TENANT, "customers").expect("count"), 2);
        store.put(TENANT, "customers", "c1", &json!({"id": "c1", "last_name": "Jones"})).expect("replace");
        assert_eq!(store.get(TENANT, "customers", "c1").expect("get"), Some(json!({"id": "c1", "last_name": "Jones"})));
        assert!(store.delete(TENANT, "customers", "c1").expect("delete"));
        assert_eq!(store.get(TENANT, "customers", "c1").expect("get"), None);
        assert_eq!(find(&store).expect("find").len(), 1);
        store.scrub(ScrubScope::Tenant(TENANT)).expect("scrub");
        assert!(find(&store).expect("find").is_empty());
        assert_eq!(store.get(TENANT, "customers", "c2").expect("get"), None);
    }

    #[test]
    fn reads_that_differ_in_any_argument_are_kept_apart() {
        let (_dir, store) = store();
        store
            .put(TENANT, "customers", "c1", &json!({"id": "c1", "first_name": "Ann", "last_name": "Lee"}))
            .expect("put");
        let other = Tenant { environment: "training", partner: "ptn_2" };
        assert_eq!(store.find(TENANT, "customers", &[("first_name", "ann")], None, 10).expect("find").len(), 1);
        assert!(store.find(other, "customers", &[("first_name", "ann")], None, 10).expect("find").is_empty());
        assert!(store.find(TENANT, "customers", &[("last_name", "ann")], None, 10).expect("find").is_empty());
        assert_eq!(
            store.find(TENANT, "customers", &[("first_name", "ann")], Some("id"), 10).expect("find"),
            vec![json!("c1")]
        );
        assert!(store.find(TENANT, "customers", &[("first_name", "ann")], None, 0).expect("find").is_empty());
        assert!(store.find(TENANT, "accounts", &[("first_name", "ann")], None, 10).expect("find").is_empty());
    }

    #[test]
    fn another_process_writing_the_file_is_seen_within_the_bound() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("state.sqlite");
        let store = ReadThrough::new(DatabaseStore::open_sqlite(&path).expect("open"));
        let outside = DatabaseStore::open_sqlite(&path).expect("second connection");
        assert_eq!(store.get(TENANT, "customers", "c1").expect("get"), None);
        outside.put(TENANT, "customers", "c1", &json!({"id": "c1"})).expect("put elsewhere");
        std::thread::sleep(OUTSIDE_WRITES_SEEN_WITHIN + Duration::from_millis(20));
        assert_eq!(store.get(TENANT, "customers", "c1").expect("get"), Some(json!({"id": "c1"})));
    }
}
