//! Objects in a database: an SQLite file (WAL) for one node, or PostgreSQL shared by several, so
//! that what a partner created through one node is read through any other. One connection
//! behind a mutex; each call is one statement or one transaction, in SQL both engines speak.

use std::path::Path;
use std::sync::Mutex;

use sandgate_db::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::Value;

use super::{Page, PageRequest, ScrubScope, StateResult, StateStore, Tenant};
use crate::error::EmulatorError;

/// The tables, in SQLite's types ([`sandgate_db::postgres_dialect`] maps them).
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS objects (
         environment TEXT NOT NULL,
         partner TEXT NOT NULL,
         collection TEXT NOT NULL,
         id TEXT NOT NULL,
         seq INTEGER NOT NULL,
         body TEXT NOT NULL,
         PRIMARY KEY (environment, partner, collection, id)
     );
     CREATE INDEX IF NOT EXISTS objects_in_order ON objects (environment, partner, collection, seq);
     CREATE TABLE IF NOT EXISTS retired_ids (
         environment TEXT NOT NULL,
         partner TEXT NOT NULL,
         collection TEXT NOT NULL,
         id TEXT NOT NULL,
         PRIMARY KEY (environment, partner, collection, id)
     );";

/// The database store.
#[derive(Debug)]
pub struct DatabaseStore {
    conn: Mutex<Connection>,
    /// PostgreSQL (asked on every TRAINING request, so known without taking the lock).
    remote: bool,
}

impl DatabaseStore {
    /// Opens (or creates) the SQLite file at `path`.
    pub fn open_sqlite(path: &Path) -> StateResult<DatabaseStore> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|source| EmulatorError::StateDir { dir: dir.to_path_buf(), source })?;
        }
        let fail = |source: sandgate_db::Error| EmulatorError::StateOpen { place: path.display().to_string(), source };
        let conn = rusqlite::Connection::open(path).map_err(|e| fail(e.into()))?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
            .map_err(|e| fail(e.into()))?;
        conn.execute_batch(SCHEMA).map_err(|e| fail(e.into()))?;
        Ok(DatabaseStore { conn: Mutex::new(Connection::Sqlite(conn)), remote: false })
    }

    /// Connects to PostgreSQL at `url` and creates the tables when they are missing (several
    /// nodes starting at once may race to: `IF NOT EXISTS` and a retry make that harmless).
    pub fn open_postgres(url: &str) -> StateResult<DatabaseStore> {
        let place = sandgate_core::secret::redact_url_password(url);
        let fail = |source: sandgate_db::Error| EmulatorError::StateOpen { place: place.clone(), source };
        let conn = Connection::Postgres(sandgate_db::Postgres::connect(url).map_err(fail)?);
        let schema = sandgate_db::postgres_dialect(SCHEMA);
        // Two nodes creating the same table at once: one of them gets a unique violation on the
        // catalogue; by the retry the table is there.
        if conn.execute_batch(&schema).is_err() {
            conn.execute_batch(&schema).map_err(fail)?;
        }
        Ok(DatabaseStore { conn: Mutex::new(conn), remote: true })
    }

    /// SQLite's `data_version`: it moves on when another connection commits to the file.
    pub fn data_version(&self) -> StateResult<u64> {
        self.with(|c| c.query_row("PRAGMA data_version", params![], |row| row.get::<usize, i64>(0)))
            .map(|version| version as u64)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> sandgate_db::Result<T>) -> StateResult<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(EmulatorError::from)
    }
}

impl StateStore for DatabaseStore {
    fn get(&self, tenant: Tenant<'_>, collection: &str, id: &str) -> StateResult<Option<Value>> {
        let body: Option<String> = self.with(|c| {
            c.query_row(
                "SELECT body FROM objects WHERE environment = ?1 AND partner = ?2 AND collection = ?3 AND id = ?4",
                params![tenant.environment, tenant.partner, collection, id],
                |row| row.get(0),
            )
            .optional()
        })?;
        body.map(|b| serde_json::from_str(&b).map_err(EmulatorError::from)).transpose()
    }

    fn put(&self, tenant: Tenant<'_>, collection: &str, id: &str, object: &Value) -> StateResult<()> {
        let body = object.to_string();
        self.with(|c| {
            c.execute(
                "INSERT INTO objects (environment, partner, collection, id, seq, body)
                 VALUES (?1, ?2, ?3, ?4,
                         (SELECT COALESCE(MAX(seq), 0) + 1 FROM objects
                          WHERE environment = ?1 AND partner = ?2 AND collection = ?3), ?5)
                 ON CONFLICT (environment, partner, collection, id) DO UPDATE SET body = excluded.body",
                params![tenant.environment, tenant.partner, collection, id, body],
            )
            .map(|_| ())
        })
    }

    fn insert_new(&self, tenant: Tenant<'_>, collection: &str, id: &str, object: &Value) -> StateResult<bool> {
        let body = object.to_string();
        self.with(|c| {
            // One statement: neither a live nor a retired object may hold the id.
            c.execute(
                "INSERT INTO objects (environment, partner, collection, id, seq, body)
                 SELECT ?1, ?2, ?3, ?4,
                        (SELECT COALESCE(MAX(seq), 0) + 1 FROM objects
                         WHERE environment = ?1 AND partner = ?2 AND collection = ?3), ?5
                 WHERE NOT EXISTS (SELECT 1 FROM retired_ids
                                   WHERE environment = ?1 AND partner = ?2 AND collection = ?3 AND id = ?4)
                 ON CONFLICT (environment, partner, collection, id) DO NOTHING",
                params![tenant.environment, tenant.partner, collection, id, body],
            )
            .map(|n| n > 0)
        })
    }

    fn delete(&self, tenant: Tenant<'_>, collection: &str, id: &str) -> StateResult<bool> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::RowLocks)?;
            let key = params![tenant.environment, tenant.partner, collection, id];
            let existed = tx.execute(
                "DELETE FROM objects WHERE environment = ?1 AND partner = ?2 AND collection = ?3 AND id = ?4",
                key,
            )? > 0;
            if existed {
                tx.execute(
                    "INSERT INTO retired_ids (environment, partner, collection, id) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (environment, partner, collection, id) DO NOTHING",
                    params![tenant.environment, tenant.partner, collection, id],
                )?;
            }
            tx.commit()?;
            Ok(existed)
        })
    }

    fn list(&self, tenant: Tenant<'_>, collection: &str, page: &PageRequest) -> StateResult<Page> {
        // Filters are applied to the decoded objects, so the scan reads the collection in order
        // (two nodes creating at once may share a `seq`: the id breaks the tie the same way
        // every time).
        let mut rows: Vec<(String, String)> = self.with(|c| {
            let mut statement = c.prepare_cached(
                "SELECT id, body FROM objects WHERE environment = ?1 AND partner = ?2 AND collection = ?3
                 ORDER BY seq, id",
            )?;
            let rows = statement.query_map(params![tenant.environment, tenant.partner, collection], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
            rows.collect()
        })?;
        if page.newest_first {
            rows.reverse();
        }
        let start = match &page.after {
            Some(after) => rows.iter().position(|(id, _)| id == after).map_or(0, |i| i + 1),
            None => 0,
        };
        let mut matching = Vec::new();
        for (_, body) in &rows[start..] {
            let object: Value = serde_json::from_str(body).map_err(EmulatorError::from)?;
            if page.admits(&object) {
                matching.push(object);
            }
        }
        let total = matching.len();
        let items = matching.into_iter().skip(page.offset).take(page.limit).collect();
        Ok(Page { items, total })
    }

    fn find(
        &self,
        tenant: Tenant<'_>,
        collection: &str,
        fields: &[(&str, &str)],
        select: Option<&str>,
        limit: usize,
    ) -> StateResult<Vec<Value>> {
        // The match and the selection run in the database (SQLite's json_extract, PostgreSQL's
        // ->> and ->), so only what is asked for is sent and decoded. Field names are passed as
        // values, never spliced into the statement.
        let postgres = self.remote;
        let path = |field: &str| format!("$.\"{}\"", field.replace('"', ""));
        let mut values: Vec<String> = Vec::with_capacity(fields.len() * 2 + 1);
        let column = match select {
            None => "body".to_owned(),
            Some(field) if postgres => {
                values.push(field.to_owned());
                "(body::jsonb -> ?4)::text".to_owned()
            }
            Some(field) => {
                values.push(path(field));
                // `->` answers JSON text; `json_extract` would answer a string field bare.
                "(body -> ?4)".to_owned()
            }
        };
        let mut sql =
            format!("SELECT {column} FROM objects WHERE environment = ?1 AND partner = ?2 AND collection = ?3");
        for (field, wanted) in fields {
            let (at, value) = (values.len() + 4, values.len() + 5);
            if postgres {
                sql.push_str(&format!(" AND lower(body::jsonb ->> ?{at}) = lower(?{value})"));
                values.push((*field).to_owned());
            } else {
                sql.push_str(&format!(" AND lower(CAST(json_extract(body, ?{at}) AS TEXT)) = lower(?{value})"));
                values.push(path(field));
            }
            values.push((*wanted).to_owned());
        }
        sql.push_str(&format!(" ORDER BY seq, id LIMIT {limit}"));
        let bodies: Vec<Option<String>> = self.with(|c| {
            let mut statement = c.prepare_cached(&sql)?;
            let mut params: Vec<&dyn sandgate_db::Param> = vec![&tenant.environment, &tenant.partner, &collection];
            params.extend(values.iter().map(|v| v as &dyn sandgate_db::Param));
            let rows = statement.query_map(params.as_slice(), |row| row.get(0))?;
            rows.collect()
        })?;
        let mut found = Vec::with_capacity(bodies.len());
        for body in bodies {
            found.push(match body {
                Some(body) => serde_json::from_str(&body).map_err(EmulatorError::from)?,
                None => Value::Null,
            });
        }
        Ok(found)
    }

    fn count(&self, tenant: Tenant<'_>, collection: &str) -> StateResult<usize> {
        self.with(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM objects WHERE environment = ?1 AND partner = ?2 AND collection = ?3",
                params![tenant.environment, tenant.partner, collection],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| usize::try_from(n).unwrap_or_default())
        })
    }

    fn scrub(&self, scope: ScrubScope<'_>) -> StateResult<usize> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::RowLocks)?;
            let clear = |table: &str| match scope {
                ScrubScope::All => tx.execute(&format!("DELETE FROM {table}"), params![]),
                ScrubScope::Environment(env) => {
                    tx.execute(&format!("DELETE FROM {table} WHERE environment = ?1"), params![env])
                }
                ScrubScope::Tenant(t) => tx.execute(
                    &format!("DELETE FROM {table} WHERE environment = ?1 AND partner = ?2"),
                    params![t.environment, t.partner],
                ),
            };
            let removed = clear("objects")?;
            clear("retired_ids")?; // after a scrub, ids start afresh
            tx.commit()?;
            Ok(removed)
        })
    }

    fn is_remote(&self) -> bool {
        self.remote
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::memory::MemoryStore;
    use serde_json::json;

    /// The same script on both stores gives the same answers.
    fn exercise(store: &dyn StateStore) {
        let a = Tenant { environment: "training", partner: "p1" };
        let b = Tenant { environment: "training", partner: "p2" };
        for (id, status) in [("1", "open"), ("2", "closed"), ("3", "open")] {
            store.put(a, "/auth", id, &json!({"id": id, "status": status})).expect("put");
        }
        store.put(a, "/auth", "1", &json!({"id": "1", "status": "open", "v": 2})).expect("replace keeps order");
        assert_eq!(store.get(a, "/auth", "1").expect("get"), Some(json!({"id": "1", "status": "open", "v": 2})));
        assert_eq!(store.get(b, "/auth", "1").expect("get"), None, "another partner sees nothing");
        let open = PageRequest { limit: 10, filters: vec![("status".into(), json!("open"))], ..Default::default() };
        let page = store.list(a, "/auth", &open).expect("list");
        assert_eq!((page.total, page.items.len(), &page.items[1]["id"]), (2, 2, &json!("3")));
        let after = PageRequest { limit: 1, after: Some("1".into()), ..Default::default() };
        assert_eq!(store.list(a, "/auth", &after).expect("list").items, vec![json!({"id": "2", "status": "closed"})]);
        assert!(store.delete(a, "/auth", "2").expect("delete"));
        assert!(!store.delete(a, "/auth", "2").expect("delete twice"));
        assert!(!store.insert_new(a, "/auth", "2", &json!({})).expect("insert"), "a deleted id is not reused");
        assert!(!store.insert_new(a, "/auth", "3", &json!({})).expect("insert"), "a live id is not replaced");
        assert_eq!(store.get(a, "/auth", "3").expect("get"), Some(json!({"id": "3", "status": "open"})));
        assert!(store.insert_new(b, "/auth", "2", &json!({"id": "2"})).expect("insert"), "ids are per partner");
        assert!(store.delete(b, "/auth", "2").expect("delete"));
        assert_eq!(store.count(a, "/auth").expect("count"), 2);
        // find: fields compared as text, ignoring case; only the selected field comes back.
        let a = Tenant { environment: "training", partner: "p3" };
        for (id, name, number) in [("c1", "John", 12345678), ("c2", "Ann", 7), ("c3", "JOHN", 9)] {
            let customer = json!({"id": id, "name": name, "n": number, "summary": {"who": name}});
            store.put(a, "/people", id, &customer).expect("put");
        }
        let johns = store.find(a, "/people", &[("name", "john")], Some("summary"), 10).expect("find");
        assert_eq!(johns, vec![json!({"who": "John"}), json!({"who": "JOHN"})]);
        let by_number = store.find(a, "/people", &[("n", "12345678"), ("name", "John")], None, 10).expect("find");
        assert_eq!(by_number.iter().map(|o| o["id"].clone()).collect::<Vec<_>>(), vec![json!("c1")]);
        assert_eq!(store.find(a, "/people", &[("name", "john")], None, 1).expect("find").len(), 1, "limit");
        assert!(store.find(a, "/people", &[("name", "nobody")], None, 10).expect("find").is_empty());
        assert!(store.find(b, "/people", &[("name", "john")], None, 10).expect("find").is_empty(), "per partner");
        assert_eq!(store.find(a, "/people", &[("name", "ann")], Some("absent"), 10).expect("find"), vec![json!(null)]);
        assert_eq!(store.find(a, "/people", &[("name", "ann")], Some("id"), 10).expect("find"), vec![json!("c2")]);
        assert_eq!(store.find(a, "/people", &[("name", "ann")], Some("n"), 10).expect("find"), vec![json!(7)]);
        assert_eq!(store.scrub(ScrubScope::Tenant(a)).expect("scrub"), 3);
        let a = Tenant { environment: "training", partner: "p1" };
        store.put(b, "/auth", "9", &json!({})).expect("put");
        assert_eq!(store.scrub(ScrubScope::Tenant(a)).expect("scrub"), 2);
        assert_eq!(store.count(b, "/auth").expect("count"), 1, "other partners keep theirs");
        assert_eq!(store.scrub(ScrubScope::Environment("training")).expect("scrub"), 1);
        assert!(store.insert_new(a, "/auth", "2", &json!({})).expect("insert"), "a scrub frees retired ids");
    }

    #[test]
    fn memory_sqlite_and_postgres_stores_behave_alike() {
        exercise(&MemoryStore::default());
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("emulator.db");
        exercise(&DatabaseStore::open_sqlite(&path).expect("open"));
        exercise(&super::super::cached::ReadThrough::new(
            DatabaseStore::open_sqlite(&dir.path().join("kept.db")).expect("open"),
        ));
        let a = Tenant { environment: "training", partner: "p1" };
        DatabaseStore::open_sqlite(&path).expect("open").put(a, "/x", "1", &json!({"kept": true})).expect("put");
        assert_eq!(
            DatabaseStore::open_sqlite(&path).expect("reopen").get(a, "/x", "1").expect("get"),
            Some(json!({"kept": true}))
        );

        let database = sandgate_db::testing::TestDatabase::create("emulator_state");
        exercise(&DatabaseStore::open_postgres(&database.url).expect("open on PostgreSQL"));
    }

    /// Two nodes on one PostgreSQL see each other's objects, and a deleted id stays retired for
    /// both.
    #[test]
    fn two_nodes_on_postgres_share_the_sandbox() {
        let database = sandgate_db::testing::TestDatabase::create("emulator_nodes");
        let (one, two) = (
            DatabaseStore::open_postgres(&database.url).expect("node one"),
            DatabaseStore::open_postgres(&database.url).expect("node two"),
        );
        let a = Tenant { environment: "training", partner: "p1" };
        assert!(one.insert_new(a, "/auth", "7", &json!({"id": "7"})).expect("insert"));
        assert_eq!(two.get(a, "/auth", "7").expect("get"), Some(json!({"id": "7"})));
        assert!(two.delete(a, "/auth", "7").expect("delete"));
        assert!(!one.delete(a, "/auth", "7").expect("already deleted"));
        assert!(!one.insert_new(a, "/auth", "7", &json!({})).expect("insert"), "retired on every node");
    }
}
