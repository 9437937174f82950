//! The embedded store: one SQLite file in the data directory (WAL), with versioned migrations.
//!
//! Holds partners, applications and their credentials (secrets only as keyed hashes), and the
//! control plane's records, one file per area. Every control-plane write runs in one immediate
//! transaction together with its activity-log entry. Blocking: async callers go through
//! `tokio::task::spawn_blocking`.

mod activity;
mod applications;
mod connections;
mod credentials;
mod error;
mod invitations;
pub mod keys;
mod mail;
mod migrations;
mod outbox;
mod partners;
mod portal;
mod refresh;
mod reviews;
pub mod signing;

pub use activity::{Event, EventFilter, WhenFull};
pub use applications::{AppPatch, Application, ApplicationFields, Webhook};
pub use connections::{Benefit, ConnectOutcome, Connection as EntityConnection};
pub use credentials::Credential;
pub use error::StoreError;
pub use invitations::{Invitation, Verified};
pub use mail::Mail;
pub use outbox::{AttemptOutcome, DueDelivery};
pub use partners::{Member, NewPartner, Partner, Principal};
pub use portal::{LinkRefusal, Membership, PortalSession, SessionSubject};
pub use refresh::ChainStep;
pub use reviews::{Review, Submission};
pub use sandgate_core::delivery::{Delivery, DeliveryAttempt};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard};

use sandgate_db::{params, Connection, OptionalExtension};

use sandgate_core::clock::{Clock, SystemClock};
use sandgate_core::environment::Environment;
use sandgate_core::secret::SecretHash;

/// A credential as the token endpoint needs it.
#[derive(Debug, Clone)]
pub struct CredentialRecord {
    /// The public client id.
    pub client_id: String,
    /// The name of the environment the credential belongs to.
    pub environment: String,
    /// Keyed hash of the secret.
    pub secret_hash: Vec<u8>,
    /// Keyed hash of the secret before the last rotation, while its grace period lasts.
    pub previous_secret_hash: Option<Vec<u8>>,
    /// The application it belongs to.
    pub application_id: String,
    /// The application's partner.
    pub partner_id: String,
    /// Scopes the application may request.
    pub scopes: Vec<String>,
    /// Whether the credential and its application are active.
    pub active: bool,
    /// How many times the secret was rotated: refresh tokens carry the generation they were
    /// minted under and stop working when it moves on (after the grace period).
    pub generation: i64,
}

/// What the demo partner's application is, as the specs describe it (its type, every scope of
/// that type, and the entity types it may connect to).
#[derive(Debug, Clone, Copy)]
pub struct DemoApplication<'a> {
    /// Its application type.
    pub kind: &'a str,
    /// Its scopes.
    pub scopes: &'a [String],
    /// The entity types it may connect to.
    pub entities: &'a [String],
}

/// A newly issued (or re-keyed) credential: the client id and, when just created, the secret.
#[derive(Debug, Clone)]
pub struct IssuedCredential {
    /// The public client id.
    pub client_id: String,
    /// The secret in clear, only when it was just created.
    pub client_secret: Option<String>,
}

/// One application as the gateway's directory needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRow {
    /// Application id.
    pub id: String,
    /// Partner id.
    pub partner_id: String,
    /// `read` or `read_write`.
    pub permission: String,
    /// Whitespace-separated CIDRs and trust URLs.
    pub trust_list: String,
    /// Not revoked.
    pub active: bool,
    /// Rate-limit plan (`""`: default).
    pub plan: String,
    /// Space-separated scopes the application has now.
    pub scopes: String,
}

/// What the gateway's directory is built from, as of one store version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySnapshot {
    /// The directory version these rows belong to.
    pub version: i64,
    /// Every application.
    pub apps: Vec<DirectoryRow>,
    /// Client ids of revoked credentials.
    pub revoked: Vec<String>,
}

type ChangeListener = Box<dyn Fn(&Store) + Send + Sync>;

/// PostgreSQL connections each node keeps for reads besides its write connection.
const READERS: usize = 3;

/// The store handle; cheap to share behind an `Arc`.
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// PostgreSQL only: a small pool of connections for reads outside transactions, so a token
    /// mint never queues behind a write waiting for another node's write lock. SQLite reads
    /// share `conn`.
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    listeners: Mutex<Vec<ChangeListener>>,
    /// The background activity writer's queue, once started.
    later: std::sync::OnceLock<std::sync::mpsc::SyncSender<activity::Pending>>,
    /// Data-path events dropped because the writer was behind.
    dropped: std::sync::atomic::AtomicU64,
    /// What "now" is for expiries and grace periods (the system clock but in tests).
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

/// The demo partner and application `sandgate up` provisions.
pub const DEMO_PARTNER: &str = "Demo Partner";
/// The demo partner's contact (name, email): the API documents an email as required.
pub const DEMO_CONTACT: (&str, &str) = ("Demo Partner team", "demo@example.com");
/// Name of the demo TRAINING application.
pub const DEMO_APPLICATION: &str = "demo-training-app";

impl Store {
    /// Opens (creating if needed) `dir/sandgate.db` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_clock(dir, Arc::new(SystemClock))
    }

    /// [`Store::open`], reading time from `clock` (tests move it past an expiry instead of
    /// sleeping).
    pub fn open_with_clock(dir: &Path, clock: Arc<dyn Clock>) -> Result<Store, StoreError> {
        let path = dir.join("sandgate.db");
        let fail = |source: rusqlite::Error| StoreError::Database { path: path.clone(), source: source.into() };
        let conn = rusqlite::Connection::open(&path).map_err(fail)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(fail)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(fail)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(fail)?;
        Store::with_connection(Connection::Sqlite(conn), Vec::new(), path, clock)
    }

    /// Opens the store in PostgreSQL at `url` (`postgres://user@host:5432/db`) and brings its
    /// schema up to date: the same migrations as SQLite's, in PostgreSQL's types. Several nodes
    /// share it.
    pub fn open_postgres(url: &str, clock: Arc<dyn Clock>) -> Result<Store, StoreError> {
        let path = PathBuf::from(sandgate_core::secret::redact_url_password(url));
        let connect = || {
            sandgate_db::Postgres::connect(url)
                .map(Connection::Postgres)
                .map_err(|source| StoreError::Database { path: path.clone(), source })
        };
        let conn = connect()?;
        let readers = (0..READERS).map(|_| connect().map(Mutex::new)).collect::<Result<Vec<_>, _>>()?;
        Store::with_connection(conn, readers, path, clock)
    }

    fn with_connection(
        mut conn: Connection,
        readers: Vec<Mutex<Connection>>,
        path: PathBuf,
        clock: Arc<dyn Clock>,
    ) -> Result<Store, StoreError> {
        migrations::apply(&mut conn, &path)?;
        Ok(Store {
            path,
            conn: Mutex::new(conn),
            readers,
            next_reader: Default::default(),
            listeners: Mutex::new(Vec::new()),
            later: std::sync::OnceLock::new(),
            dropped: Default::default(),
            clock,
        })
    }

    /// Unix seconds now, by this store's clock.
    pub fn now_unix(&self) -> i64 {
        self.clock.now_unix()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn fail(&self, source: sandgate_db::Error) -> StoreError {
        StoreError::Database { path: self.path.clone(), source }
    }

    /// Calls `listener` after every committed write (the gateway reloads its directory).
    pub fn on_change(&self, listener: ChangeListener) {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner()).push(listener);
    }

    /// Runs `work` in one immediate transaction that also moves the directory version on,
    /// commits, then tells the listeners (so this process's directory is current before the
    /// caller answers, and other nodes learn the new version). Any error rolls back.
    pub(crate) fn write<T>(
        &self,
        work: impl FnOnce(&sandgate_db::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let out = self.write_quiet(|tx| {
            let out = work(tx)?;
            tx.execute("UPDATE directory_version SET version = version + 1", [])?;
            Ok(out)
        })?;
        self.changed();
        Ok(out)
    }

    /// [`Store::write`] for changes the gateway's directory does not depend on.
    pub(crate) fn write_quiet<T>(
        &self,
        work: impl FnOnce(&sandgate_db::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transaction(sandgate_db::TransactionBehavior::Immediate, work)
    }

    /// [`Store::write_quiet`] without the store-wide write lock on PostgreSQL: for work that locks
    /// the rows it takes (`FOR UPDATE SKIP LOCKED`), so it neither waits for nor holds up other
    /// writers. On SQLite it is the same immediate transaction.
    pub(crate) fn write_rows<T>(
        &self,
        work: impl FnOnce(&sandgate_db::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transaction(sandgate_db::TransactionBehavior::RowLocks, work)
    }

    fn transaction<T>(
        &self,
        behavior: sandgate_db::TransactionBehavior,
        work: impl FnOnce(&sandgate_db::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(behavior)?;
        let out = work(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `work` (reads, no transaction) on a reader connection.
    pub(crate) fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        work(&self.reader())
    }

    /// A connection for reads outside a transaction: one of PostgreSQL's readers in turn, or
    /// the one SQLite connection.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        if self.readers.is_empty() {
            return self.conn();
        }
        // A free reader if there is one, else wait for the next in turn.
        if let Some(free) = self.readers.iter().find_map(|reader| reader.try_lock().ok()) {
            return free;
        }
        let turn = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.readers[turn % self.readers.len()].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn changed(&self) {
        for listener in self.listeners.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            listener(self);
        }
    }

    /// The version of what the directory reads: it moves on with every write the directory depends on, so a
    /// node that compares it with the version it loaded knows whether it missed a change.
    pub fn directory_version(&self) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.query_row("SELECT version FROM directory_version", [], |r| r.get(0)).map_err(|e| self.fail(e))
    }

    /// Every application's directory row and the client ids of revoked credentials, as of one
    /// version (read in one transaction).
    pub fn directory_rows(&self) -> Result<DirectorySnapshot, StoreError> {
        let conn = self.conn();
        let read = || -> sandgate_db::Result<_> {
            let tx = conn.unchecked_transaction()?;
            let version = tx.query_row("SELECT version FROM directory_version", [], |r| r.get(0))?;
            let conn = &tx;
            let mut apps = conn.prepare(
                "SELECT id, partner_id, permission, trust_list, status = 'active', plan, scopes FROM applications",
            )?;
            let apps = apps
                .query_map([], |r| {
                    Ok(DirectoryRow {
                        id: r.get(0)?,
                        partner_id: r.get(1)?,
                        permission: r.get(2)?,
                        trust_list: r.get(3)?,
                        active: r.get(4)?,
                        plan: r.get(5)?,
                        scopes: r.get(6)?,
                    })
                })?
                .collect::<sandgate_db::Result<Vec<_>>>()?;
            let mut revoked = conn.prepare("SELECT client_id FROM credentials WHERE status = 'revoked'")?;
            let revoked = revoked.query_map([], |r| r.get(0))?.collect::<sandgate_db::Result<Vec<String>>>()?;
            Ok(DirectorySnapshot { version, apps, revoked })
        };
        read().map_err(|e| self.fail(e))
    }

    /// The id of the partner named `name`.
    pub fn partner_id(&self, name: &str) -> Result<Option<String>, StoreError> {
        id_by_name(&self.reader(), "partners", name).map_err(|e| self.fail(e))
    }

    /// The id of the application named `name`.
    pub fn application_id(&self, name: &str) -> Result<Option<String>, StoreError> {
        id_by_name(&self.reader(), "applications", name).map_err(|e| self.fail(e))
    }

    /// On a store shared by several nodes (PostgreSQL), checks that this node's keys are the
    /// ones the others use: the first node records a check value of each key, every later node
    /// must match it (a node with other keys would refuse every secret and token of the rest).
    /// A key no node has recorded yet (a new environment) is recorded. SQLite has one node: no
    /// check.
    pub fn agree_on_keys(&self, fingerprints: &[(String, String)]) -> Result<(), StoreError> {
        if !self.conn().is_postgres() {
            return Ok(());
        }
        let recorded = self.write_quiet(|tx| {
            let mut recorded = Vec::with_capacity(fingerprints.len());
            for (name, fingerprint) in fingerprints {
                tx.execute(
                    "INSERT INTO key_fingerprints (name, fingerprint) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                    params![name, fingerprint],
                )?;
                let stored: String =
                    tx.query_row("SELECT fingerprint FROM key_fingerprints WHERE name = ?1", params![name], |r| {
                        r.get(0)
                    })?;
                recorded.push((name, stored == *fingerprint));
            }
            Ok(recorded)
        })?;
        match recorded.into_iter().find(|(_, same)| !same) {
            Some((name, _)) => Err(StoreError::KeysDiffer { path: self.path.clone(), key: name.clone() }),
            None => Ok(()),
        }
    }

    /// Whether the database answers a trivial query (for `/readyz`).
    pub fn ping(&self) -> bool {
        self.conn().query_row("SELECT 1", [], |_| Ok(())).is_ok()
    }

    /// Looks a credential up by client id.
    pub fn credential(&self, client_id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        let conn = self.reader();
        // Cached: the token endpoint runs this on every request.
        let mut statement = conn
            .prepare_cached(
                "SELECT c.client_id, c.environment, c.secret_hash, a.id, a.partner_id, a.scopes,
                    c.status = 'active' AND a.status = 'active',
                    CASE WHEN c.previous_valid_until >= ?2 THEN c.previous_secret_hash END,
                    c.secret_generation
             FROM credentials c JOIN applications a ON a.id = c.application_id
             WHERE c.client_id = ?1",
            )
            .map_err(|e| self.fail(e))?;
        statement
            .query_row(params![client_id, self.now_unix()], |row| {
                let environment: String = row.get(1)?;
                let scopes: String = row.get(5)?;
                Ok(CredentialRecord {
                    client_id: row.get(0)?,
                    environment,
                    secret_hash: row.get(2)?,
                    previous_secret_hash: row.get(7)?,
                    application_id: row.get(3)?,
                    partner_id: row.get(4)?,
                    scopes: scopes.split_whitespace().map(str::to_owned).collect(),
                    active: row.get(6)?,
                    generation: row.get(8)?,
                })
            })
            .optional()
            .map_err(|e| self.fail(e))
    }

    /// Makes sure the demo partner, its TRAINING application (trusting loopback) and one TRAINING
    /// credential exist. The secret is returned only when it was created now, or when `reset`
    /// asks for a new one.
    pub fn ensure_demo(
        &self,
        training: Environment,
        hasher: &SecretHash,
        reset: bool,
        demo: &DemoApplication<'_>,
    ) -> Result<IssuedCredential, StoreError> {
        let mut conn = self.conn();
        let tx =
            conn.transaction_with_behavior(sandgate_db::TransactionBehavior::Immediate).map_err(|e| self.fail(e))?;
        let now = now_rfc3339();
        let partner_id = match id_by_name(&tx, "partners", DEMO_PARTNER).map_err(|e| self.fail(e))? {
            Some(id) => id,
            None => {
                let id = new_id("ptn");
                tx.execute(
                    "INSERT INTO partners (id, name, created_at, contact_name, contact_email)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, DEMO_PARTNER, now, DEMO_CONTACT.0, DEMO_CONTACT.1],
                )
                .map_err(|e| self.fail(e))?;
                activity::log_event(
                    &tx,
                    "system",
                    Some(&id),
                    None,
                    "partner.created",
                    serde_json::json!({"name": DEMO_PARTNER}),
                )
                .map_err(|e| self.fail(e))?;
                id
            }
        };
        // The account's owner, for the developer portal (no member key: it signs in there).
        let has_owner: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM members WHERE partner_id = ?1 AND role = 'owner')",
                params![partner_id],
                |r| r.get(0),
            )
            .map_err(|e| self.fail(e))?;
        if !has_owner {
            tx.execute(
                "INSERT INTO members (id, partner_id, email, name, role, key_hash, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'owner', NULL, 'active', ?5)",
                params![new_id("mbr"), partner_id, DEMO_CONTACT.1, DEMO_CONTACT.0, now],
            )
            .map_err(|e| self.fail(e))?;
        }
        let app_id = match id_by_name(&tx, "applications", DEMO_APPLICATION).map_err(|e| self.fail(e))? {
            Some(id) => id,
            None => {
                let id = new_id("app");
                tx.execute(
                    "INSERT INTO applications (id, partner_id, name, type, permission, scopes, trust_list, status,
                         created_at, updated_at, entities, description)
                     VALUES (?1, ?2, ?3, ?4, 'read_write', ?5, '127.0.0.0/8 ::1/128', 'active', ?6, ?6, ?7,
                         'Created by sandgate up: a TRAINING application trusting loopback')",
                    params![
                        id,
                        partner_id,
                        DEMO_APPLICATION,
                        demo.kind,
                        demo.scopes.join(" "),
                        now,
                        serde_json::to_string(demo.entities).unwrap_or_else(|_| "[]".to_owned())
                    ],
                )
                .map_err(|e| self.fail(e))?;
                let details =
                    serde_json::json!({"name": DEMO_APPLICATION, "type": demo.kind, "permission": "read_write"});
                activity::log_event(&tx, "system", Some(&partner_id), Some(&id), "application.created", details)
                    .map_err(|e| self.fail(e))?;
                id
            }
        };
        let existing: Option<String> = tx
            .query_row(
                "SELECT client_id FROM credentials WHERE application_id = ?1 AND environment = 'training' AND status = 'active'
                 ORDER BY created_at LIMIT 1",
                params![app_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.fail(e))?;
        let demo = match existing {
            Some(client_id) if !reset => IssuedCredential { client_id, client_secret: None },
            Some(client_id) => {
                let secret = training.new_client_secret();
                // A reset is for a leaked secret: the one before a rotation must stop working too.
                tx.execute(
                    "UPDATE credentials SET secret_hash = ?1, previous_secret_hash = NULL, previous_valid_until = NULL
                     WHERE client_id = ?2",
                    params![hasher.hash(&secret), client_id],
                )
                .map_err(|e| self.fail(e))?;
                let details = serde_json::json!({"client_id": client_id});
                activity::log_event(&tx, "system", Some(&partner_id), Some(&app_id), "credential.reset", details)
                    .map_err(|e| self.fail(e))?;
                IssuedCredential { client_id, client_secret: Some(secret) }
            }
            None => {
                let (credential, secret) =
                    credentials::insert_credential(&tx, &app_id, training, hasher).map_err(|e| self.fail(e))?;
                let details = serde_json::json!({"client_id": credential.client_id, "environment": "training"});
                activity::log_event(&tx, "system", Some(&partner_id), Some(&app_id), "credential.issued", details)
                    .map_err(|e| self.fail(e))?;
                IssuedCredential { client_id: credential.client_id, client_secret: Some(secret) }
            }
        };
        tx.commit().map_err(|e| self.fail(e))?;
        drop(conn);
        self.changed();
        Ok(demo)
    }
}

/// The id of the row of `table` (a constant, never input) whose unique `name` is `name`.
fn id_by_name(conn: &Connection, table: &'static str, name: &str) -> sandgate_db::Result<Option<String>> {
    conn.query_row(&format!("SELECT id FROM {table} WHERE name = ?1"), params![name], |r| r.get(0)).optional()
}

/// A random id with a readable prefix (`app_3f9c…`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Unix seconds as RFC 3339 (UTC).
fn unix_to_rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A JSON list column.
fn json_list(text: &str) -> Result<Vec<String>, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> tempfile::TempDir {
        tempfile::Builder::new().prefix(&format!("sandgate-store-{tag}-")).tempdir().expect("temp dir")
    }

    #[test]
    fn open_uses_wal_migrates_once_and_refuses_a_newer_database() {
        let temp = temp_dir("migrate");
        let store = Store::open(temp.path()).expect("open");
        let guard = store.conn();
        let conn = guard.as_sqlite().expect("SQLite");
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).expect("mode");
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
        assert_eq!((mode.as_str(), version), ("wal", migrations::MIGRATIONS.len() as i64));
        drop(Store::open(temp.path()).expect("reopening runs no migration twice"));
        conn.pragma_update(None, "user_version", version + 1).expect("a later binary's schema");
        drop(guard);
        drop(store);
        match Store::open(temp.path()) {
            Err(StoreError::TooNew { found, known, .. }) => assert_eq!((found, known), (version + 1, version)),
            other => panic!("a database from a newer Sandgate must be refused, got {other:?}"),
        }
    }

    fn test_demo() -> DemoApplication<'static> {
        static SCOPES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let scopes = SCOPES.get_or_init(|| vec!["read".to_owned(), "write".to_owned()]);
        DemoApplication { kind: "demo_type", scopes, entities: &[] }
    }

    #[test]
    fn ensure_demo_shows_secret_once_and_reuses_credential() {
        let temp = temp_dir("demo");
        let dir = temp.path();
        let hasher = SecretHash::new([7; 32]);
        let store = Store::open(dir).expect("open");
        let first = store.ensure_demo(Environment::TRAINING, &hasher, false, &test_demo()).expect("demo");
        let secret = first.client_secret.expect("secret on first start");
        drop(store);

        let store = Store::open(dir).expect("reopen");
        let again = store.ensure_demo(Environment::TRAINING, &hasher, false, &test_demo()).expect("demo again");
        assert_eq!(again.client_id, first.client_id);
        assert!(again.client_secret.is_none(), "secret must not be shown twice");

        let record = store.credential(&first.client_id).expect("query").expect("found");
        assert!(hasher.verify(&secret, &record.secret_hash));
        assert!(record.active);
        assert_eq!(record.environment, "training");

        let reset = store.ensure_demo(Environment::TRAINING, &hasher, true, &test_demo()).expect("reset");
        let new_secret = reset.client_secret.expect("new secret after reset");
        let record = store.credential(&first.client_id).expect("query").expect("found");
        assert!(hasher.verify(&new_secret, &record.secret_hash));
        assert!(!hasher.verify(&secret, &record.secret_hash), "old secret must stop working");
    }

    #[test]
    fn a_partner_has_at_most_fifty_active_applications() {
        let temp = temp_dir("apps-cap");
        let store = Store::open(temp.path()).expect("open");
        let hasher = SecretHash::new([7; 32]);
        store.ensure_demo(Environment::TRAINING, &hasher, false, &test_demo()).expect("demo");
        let partner = store.partner_id(DEMO_PARTNER).expect("store").expect("partner");
        let app = |i: usize| ApplicationFields {
            name: format!("app-{i:03}"),
            description: String::new(),
            kind: "demo_type".into(),
            category: String::new(),
            permission: "read".into(),
            scopes: vec!["read".into()],
            webhooks: Vec::new(),
            trust_list: Vec::new(),
            entities: Vec::new(),
            benefits: Vec::new(),
            plan: String::new(),
        };
        // The demo application is the first; 49 more fill the allowance.
        for i in 1..applications::MAX_APPLICATIONS_PER_PARTNER as usize {
            store.create_app("operator:test", &partner, &app(i)).expect("within the cap");
        }
        let refused = store.create_app("operator:test", &partner, &app(999)).expect_err("over the cap");
        assert!(matches!(refused, StoreError::Conflict { ref field, .. } if field == "partner_id"), "{refused:?}");
    }

    #[test]
    fn demo_credential_carries_the_configured_training_prefix() {
        let temp = temp_dir("prefix");
        let store = Store::open(temp.path()).expect("open");
        let training = Environment::new("training", "tr_");
        let demo = store.ensure_demo(training, &SecretHash::new([7; 32]), false, &test_demo()).expect("demo");
        assert!(demo.client_id.starts_with("tr_"), "{}", demo.client_id);
        assert!(demo.client_secret.is_some_and(|s| s.starts_with("tr_sk_")));
    }

    /// On PostgreSQL a read (the token endpoint's credential lookup) does not queue behind a
    /// write that waits for another node's write lock.
    #[test]
    fn reads_do_not_wait_for_a_write_stuck_on_another_nodes_lock() {
        let database = sandgate_db::testing::TestDatabase::create("readers");
        let store = Arc::new(Store::open_postgres(&database.url, Arc::new(SystemClock)).expect("open"));
        let demo =
            store.ensure_demo(Environment::TRAINING, &SecretHash::new([7; 32]), false, &test_demo()).expect("demo");
        // Another node holds the write lock in an open transaction.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (other, connection) =
            runtime.block_on(tokio_postgres::connect(&database.url, tokio_postgres::NoTls)).expect("connect");
        runtime.spawn(connection);
        let lock = format!("BEGIN; SELECT pg_advisory_xact_lock({})", sandgate_db::WRITE_LOCK);
        runtime.block_on(other.batch_execute(&lock)).expect("lock");
        let writer = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                store.ensure_demo(Environment::TRAINING, &SecretHash::new([7; 32]), true, &test_demo())
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(200)); // the write is now waiting
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = Arc::clone(&store);
        let client_id = demo.client_id.clone();
        std::thread::spawn(move || {
            let _ = tx.send(reader.credential(&client_id).map(|c| c.is_some()));
        });
        let read = rx.recv_timeout(std::time::Duration::from_secs(3));
        runtime.block_on(other.batch_execute("COMMIT")).expect("unlock");
        assert!(matches!(read, Ok(Ok(true))), "the read waited for the write lock: {read:?}");
        writer.join().expect("writer").expect("the write goes through once the lock is free");
    }
}
