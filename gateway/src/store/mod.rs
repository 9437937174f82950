//! The embedded store: one SQLite file in the data directory (WAL), with versioned migrations.
//!
//! Holds partners, applications and their credentials (secrets only as keyed hashes). Blocking:
//! async callers go through `tokio::task::spawn_blocking`. The control plane grows on top of it.

mod migrations;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

use crate::environment::Environment;
use crate::secrets::SecretHash;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (I/O, corruption, constraint).
    #[error("store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer Sandgate.
    #[error("store {path}: schema version {found} is newer than this Sandgate understands ({known})")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Version found in the file.
        found: i64,
        /// Latest version this build knows.
        known: i64,
    },
}

/// A credential as the token endpoint needs it.
#[derive(Debug, Clone)]
pub struct CredentialRecord {
    /// The public client id.
    pub client_id: String,
    /// The name of the environment the credential belongs to.
    pub environment: String,
    /// Keyed hash of the secret.
    pub secret_hash: Vec<u8>,
    /// The application it belongs to.
    pub application_id: String,
    /// The application's partner.
    pub partner_id: String,
    /// Scopes the application may request.
    pub scopes: Vec<String>,
    /// Whether the credential and its application are active.
    pub active: bool,
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
#[derive(Debug, Clone)]
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
}

/// A new application.
#[derive(Debug, Clone)]
pub struct NewApplication<'a> {
    /// Unique, immutable name.
    pub name: &'a str,
    /// `read` or `read_write`.
    pub permission: &'a str,
    /// Space-separated scopes it may request.
    pub scopes: &'a str,
    /// Whitespace-separated CIDRs and trust URLs.
    pub trust_list: &'a str,
    /// Rate-limit plan (`""`: default).
    pub plan: &'a str,
}

type ChangeListener = Box<dyn Fn(&Store) + Send + Sync>;

/// The store handle; cheap to share behind an `Arc`.
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
    listeners: Mutex<Vec<ChangeListener>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

/// The demo partner and application `sandgate up` provisions.
pub const DEMO_PARTNER: &str = "Demo Partner";
/// Name of the demo TRAINING application.
pub const DEMO_APPLICATION: &str = "demo-training-app";

impl Store {
    /// Opens (creating if needed) `dir/sandgate.db` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join("sandgate.db");
        let fail = |source| StoreError::Sqlite { path: path.clone(), source };
        let mut conn = Connection::open(&path).map_err(fail)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(fail)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(fail)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(fail)?;
        migrations::apply(&mut conn, &path)?;
        Ok(Store { path, conn: Mutex::new(conn), listeners: Mutex::new(Vec::new()) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn fail(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    /// Calls `listener` after every committed write (the gateway reloads its directory).
    pub fn on_change(&self, listener: ChangeListener) {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner()).push(listener);
    }

    fn changed(&self) {
        for listener in self.listeners.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            listener(self);
        }
    }

    /// Every application's directory row, and the client ids of revoked credentials.
    pub fn directory_rows(&self) -> Result<(Vec<DirectoryRow>, Vec<String>), StoreError> {
        let conn = self.conn();
        let read = || -> rusqlite::Result<_> {
            let mut apps = conn
                .prepare("SELECT id, partner_id, permission, trust_list, status = 'active', plan FROM applications")?;
            let apps = apps
                .query_map([], |r| {
                    Ok(DirectoryRow {
                        id: r.get(0)?,
                        partner_id: r.get(1)?,
                        permission: r.get(2)?,
                        trust_list: r.get(3)?,
                        active: r.get(4)?,
                        plan: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut revoked = conn.prepare("SELECT client_id FROM credentials WHERE status = 'revoked'")?;
            let revoked = revoked.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok((apps, revoked))
        };
        read().map_err(|e| self.fail(e))
    }

    /// Creates an application of the partner `partner_id`; returns its id.
    pub fn create_application(&self, partner_id: &str, app: &NewApplication<'_>) -> Result<String, StoreError> {
        let id = new_id("app");
        self.conn()
            .execute(
                "INSERT INTO applications (id, partner_id, name, permission, scopes, trust_list, status, created_at, plan)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?8)",
                params![id, partner_id, app.name, app.permission, app.scopes, app.trust_list, now_rfc3339(), app.plan],
            )
            .map_err(|e| self.fail(e))?;
        self.changed();
        Ok(id)
    }

    /// Replaces an application's trust list (takes effect at once).
    pub fn set_trust_list(&self, application_id: &str, trust_list: &str) -> Result<bool, StoreError> {
        self.update("UPDATE applications SET trust_list = ?1 WHERE id = ?2", params![trust_list, application_id])
    }

    /// Revokes an application: its credentials and tokens stop working on the next request.
    pub fn revoke_application(&self, application_id: &str) -> Result<bool, StoreError> {
        self.update("UPDATE applications SET status = 'revoked' WHERE id = ?1", params![application_id])
    }

    /// Revokes one credential: it can no longer mint tokens, and its tokens stop working.
    pub fn revoke_credential(&self, client_id: &str) -> Result<bool, StoreError> {
        self.update("UPDATE credentials SET status = 'revoked' WHERE client_id = ?1", params![client_id])
    }

    /// Runs one single-row update, then tells the listeners; `false` when no row matched.
    fn update(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<bool, StoreError> {
        let changed = self.conn().execute(sql, params).map_err(|e| self.fail(e))?;
        self.changed();
        Ok(changed == 1)
    }

    /// The id of the partner named `name`.
    pub fn partner_id(&self, name: &str) -> Result<Option<String>, StoreError> {
        id_by_name(&self.conn(), "partners", name).map_err(|e| self.fail(e))
    }

    /// The id of the application named `name`.
    pub fn application_id(&self, name: &str) -> Result<Option<String>, StoreError> {
        id_by_name(&self.conn(), "applications", name).map_err(|e| self.fail(e))
    }

    /// Whether the database answers a trivial query (for `/readyz`).
    pub fn ping(&self) -> bool {
        self.conn().query_row("SELECT 1", [], |_| Ok(())).is_ok()
    }

    /// Looks a credential up by client id.
    pub fn credential(&self, client_id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        let conn = self.conn();
        conn.query_row(
            "SELECT c.client_id, c.environment, c.secret_hash, a.id, a.partner_id, a.scopes,
                    c.status = 'active' AND a.status = 'active'
             FROM credentials c JOIN applications a ON a.id = c.application_id
             WHERE c.client_id = ?1",
            params![client_id],
            |row| {
                let environment: String = row.get(1)?;
                let scopes: String = row.get(5)?;
                Ok(CredentialRecord {
                    client_id: row.get(0)?,
                    environment,
                    secret_hash: row.get(2)?,
                    application_id: row.get(3)?,
                    partner_id: row.get(4)?,
                    scopes: scopes.split_whitespace().map(str::to_owned).collect(),
                    active: row.get(6)?,
                })
            },
        )
        .optional()
        .map_err(|e| self.fail(e))
    }

    /// Makes sure the demo partner, its TRAINING application (trusting loopback) and one TRAINING
    /// credential exist. The secret is returned only when it was created now, or when `reset`
    /// asks for a new one.
    pub fn ensure_demo(&self, hasher: &SecretHash, reset: bool) -> Result<IssuedCredential, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        let now = now_rfc3339();
        let partner_id = match id_by_name(&tx, "partners", DEMO_PARTNER).map_err(|e| self.fail(e))? {
            Some(id) => id,
            None => {
                let id = new_id("ptn");
                tx.execute(
                    "INSERT INTO partners (id, name, created_at) VALUES (?1, ?2, ?3)",
                    params![id, DEMO_PARTNER, now],
                )
                .map_err(|e| self.fail(e))?;
                id
            }
        };
        let app_id = match id_by_name(&tx, "applications", DEMO_APPLICATION).map_err(|e| self.fail(e))? {
            Some(id) => id,
            None => {
                let id = new_id("app");
                tx.execute(
                    "INSERT INTO applications (id, partner_id, name, permission, scopes, trust_list, status, created_at)
                     VALUES (?1, ?2, ?3, 'read_write', 'merchant customer', '127.0.0.0/8 ::1/128', 'active', ?4)",
                    params![id, partner_id, DEMO_APPLICATION, now],
                )
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
                let secret = Environment::TRAINING.new_client_secret();
                tx.execute(
                    "UPDATE credentials SET secret_hash = ?1 WHERE client_id = ?2",
                    params![hasher.hash(&secret), client_id],
                )
                .map_err(|e| self.fail(e))?;
                IssuedCredential { client_id, client_secret: Some(secret) }
            }
            None => insert_credential(&tx, &app_id, Environment::TRAINING, hasher).map_err(|e| self.fail(e))?,
        };
        tx.commit().map_err(|e| self.fail(e))?;
        drop(conn);
        self.changed();
        Ok(demo)
    }
}

impl Store {
    /// Issues a new credential of `env` for the application named `application`; returns the
    /// client id and the secret in clear (shown once, stored only as its keyed hash).
    pub fn issue_credential(
        &self,
        application: &str,
        env: Environment,
        hasher: &SecretHash,
    ) -> Result<Option<IssuedCredential>, StoreError> {
        let conn = self.conn();
        let Some(app_id) = id_by_name(&conn, "applications", application).map_err(|e| self.fail(e))? else {
            return Ok(None);
        };
        let issued = insert_credential(&conn, &app_id, env, hasher).map_err(|e| self.fail(e))?;
        drop(conn);
        self.changed();
        Ok(Some(issued))
    }
}

/// Inserts a new active credential of `env` for `app_id`; the secret is returned once, in clear.
fn insert_credential(
    conn: &Connection,
    app_id: &str,
    env: Environment,
    hasher: &SecretHash,
) -> rusqlite::Result<IssuedCredential> {
    let (client_id, secret) = (env.new_client_id(), env.new_client_secret());
    conn.execute(
        "INSERT INTO credentials (client_id, application_id, environment, secret_hash, status, created_at)
         VALUES (?1, ?2, ?3, ?4, 'active', ?5)",
        params![client_id, app_id, env.as_str(), hasher.hash(&secret), now_rfc3339()],
    )?;
    Ok(IssuedCredential { client_id, client_secret: Some(secret) })
}

/// The id of the row of `table` (a constant, never input) whose unique `name` is `name`.
fn id_by_name(conn: &Connection, table: &'static str, name: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(&format!("SELECT id FROM {table} WHERE name = ?1"), params![name], |r| r.get(0)).optional()
}

/// A random id with a readable prefix (`app_3f9c…`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sandgate-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn ensure_demo_shows_secret_once_and_reuses_credential() {
        let dir = temp_dir("demo");
        let hasher = SecretHash::new([7; 32]);
        let store = Store::open(&dir).expect("open");
        let first = store.ensure_demo(&hasher, false).expect("demo");
        let secret = first.client_secret.expect("secret on first start");
        drop(store);

        let store = Store::open(&dir).expect("reopen");
        let again = store.ensure_demo(&hasher, false).expect("demo again");
        assert_eq!(again.client_id, first.client_id);
        assert!(again.client_secret.is_none(), "secret must not be shown twice");

        let record = store.credential(&first.client_id).expect("query").expect("found");
        assert!(hasher.verify(&secret, &record.secret_hash));
        assert!(record.active);
        assert_eq!(record.environment, "training");

        let reset = store.ensure_demo(&hasher, true).expect("reset");
        let new_secret = reset.client_secret.expect("new secret after reset");
        let record = store.credential(&first.client_id).expect("query").expect("found");
        assert!(hasher.verify(&new_secret, &record.secret_hash));
        assert!(!hasher.verify(&secret, &record.secret_hash), "old secret must stop working");
    }
}
