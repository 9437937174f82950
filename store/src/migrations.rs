//! Versioned schema migrations, applied in order inside one transaction each.
//!
//! The version is SQLite's `user_version`. Append new migrations; never edit a released one.

use std::path::Path;

use sandgate_db::Connection;

use super::StoreError;

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: partners, applications, credentials.
    "CREATE TABLE partners (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
     );
     CREATE TABLE applications (
        id TEXT PRIMARY KEY,
        partner_id TEXT NOT NULL REFERENCES partners(id),
        name TEXT NOT NULL UNIQUE,
        permission TEXT NOT NULL CHECK (permission IN ('read', 'read_write')),
        scopes TEXT NOT NULL,
        trust_list TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        created_at TEXT NOT NULL
     );
     CREATE TABLE credentials (
        client_id TEXT PRIMARY KEY,
        application_id TEXT NOT NULL REFERENCES applications(id),
        environment TEXT NOT NULL,
        secret_hash BLOB NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        created_at TEXT NOT NULL
     );
     CREATE INDEX credentials_by_application ON credentials(application_id);",
    // 2: rate-limit plan per application ('' = the configured default plan).
    "ALTER TABLE applications ADD COLUMN plan TEXT NOT NULL DEFAULT '';",
    // 3: the control plane: contacts, members, application details and review state, secret
    // rotation, invitations, reviews, the activity log, connections and their benefits, and the
    // webhook outbox with its delivery log.
    "ALTER TABLE partners ADD COLUMN contact_name TEXT NOT NULL DEFAULT '';
     ALTER TABLE partners ADD COLUMN contact_email TEXT NOT NULL DEFAULT '';
     CREATE TABLE members (
        id TEXT PRIMARY KEY,
        partner_id TEXT NOT NULL REFERENCES partners(id),
        email TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer')),
        key_hash BLOB UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        created_at TEXT NOT NULL,
        UNIQUE (partner_id, email)
     );
     ALTER TABLE applications ADD COLUMN description TEXT NOT NULL DEFAULT '';
     ALTER TABLE applications ADD COLUMN type TEXT NOT NULL DEFAULT 'generic';
     ALTER TABLE applications ADD COLUMN category TEXT NOT NULL DEFAULT '';
     ALTER TABLE applications ADD COLUMN entities TEXT NOT NULL DEFAULT '[]';
     ALTER TABLE applications ADD COLUMN webhooks TEXT NOT NULL DEFAULT '[]';
     ALTER TABLE applications ADD COLUMN benefits TEXT NOT NULL DEFAULT '[]';
     ALTER TABLE applications ADD COLUMN review_status TEXT NOT NULL DEFAULT 'draft'
        CHECK (review_status IN ('draft', 'submitted', 'approved', 'rejected'));
     ALTER TABLE applications ADD COLUMN webhook_generation INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE applications ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
     ALTER TABLE credentials ADD COLUMN previous_secret_hash BLOB;
     ALTER TABLE credentials ADD COLUMN previous_valid_until INTEGER;
     ALTER TABLE credentials ADD COLUMN rotated_at TEXT;
     CREATE TABLE app_developers (
        application_id TEXT NOT NULL REFERENCES applications(id),
        member_id TEXT NOT NULL REFERENCES members(id),
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        PRIMARY KEY (application_id, member_id)
     );
     CREATE TABLE invitations (
        id TEXT PRIMARY KEY,
        application_id TEXT NOT NULL REFERENCES applications(id),
        email TEXT NOT NULL,
        otp_hash BLOB NOT NULL,
        expires_at INTEGER NOT NULL,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('pending', 'verified', 'revoked')),
        member_id TEXT REFERENCES members(id),
        created_at TEXT NOT NULL
     );
     CREATE INDEX invitations_by_application ON invitations(application_id);
     CREATE TABLE reviews (
        id TEXT PRIMARY KEY,
        application_id TEXT NOT NULL REFERENCES applications(id),
        submission TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('submitted', 'approved', 'rejected')),
        reasons TEXT NOT NULL DEFAULT '[]',
        submitted_at TEXT NOT NULL,
        submitted_by TEXT NOT NULL,
        decided_at TEXT,
        decided_by TEXT
     );
     CREATE INDEX reviews_by_application ON reviews(application_id);
     CREATE TABLE activity (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        partner_id TEXT,
        application_id TEXT,
        actor TEXT NOT NULL,
        event TEXT NOT NULL,
        details TEXT NOT NULL
     );
     CREATE INDEX activity_by_application ON activity(application_id, seq);
     CREATE INDEX activity_by_partner ON activity(partner_id, seq);
     CREATE TABLE connections (
        entity_type TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        application_id TEXT NOT NULL REFERENCES applications(id),
        status TEXT NOT NULL CHECK (status IN ('connected', 'disconnected')),
        connected_at TEXT NOT NULL,
        disconnected_at TEXT,
        PRIMARY KEY (entity_type, entity_id, application_id)
     );
     CREATE TABLE entity_benefits (
        entity_type TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        application_id TEXT NOT NULL REFERENCES applications(id),
        benefit TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (entity_type, entity_id, application_id, benefit)
     );
     CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        application_id TEXT NOT NULL REFERENCES applications(id),
        event_id TEXT NOT NULL,
        event TEXT NOT NULL,
        url TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        created_at TEXT NOT NULL
     );
     CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
     CREATE INDEX webhook_deliveries_by_application ON webhook_deliveries(application_id);
     CREATE TABLE webhook_attempts (
        delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        status_code INTEGER,
        error TEXT,
        duration_ms INTEGER NOT NULL,
        PRIMARY KEY (delivery_id, attempt)
     );",
    // 4: the directory reload after every write reads the revoked credentials; without an index
    // that was a scan of every credential (4.5 ms with 30 000 of them).
    "CREATE INDEX credentials_revoked ON credentials(client_id) WHERE status = 'revoked';",
    // 5: the demo partner was created without a contact, which the API documents as required (an
    // email); `sandgate contract` found the empty email in GET /v1/partners.
    "UPDATE partners SET contact_name = 'Demo Partner team', contact_email = 'demo@example.com'
     WHERE name = 'Demo Partner' AND contact_email = '';",
    // 6: refresh tokens are bound to the secret they were minted with (a rotation's generation)
    // and are single-use: each chain remembers the one refresh token that may be used next, so a
    // replayed one is detected and revokes the chain (RFC 9700 §4.14.2).
    "ALTER TABLE credentials ADD COLUMN secret_generation INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE refresh_chains (
        chain TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        current_jti TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0,
        expires_at INTEGER NOT NULL
     );
     CREATE INDEX refresh_chains_expiry ON refresh_chains(expires_at);",
    // 7: every write the gateway's directory depends on moves this on, so several nodes on one
    // store can tell whether they missed a change (the change bus says which version to expect).
    "CREATE TABLE directory_version (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
     );
     INSERT INTO directory_version (id, version) VALUES (1, 0);",
    // 8: a check value of each key in `secrets/`, so a node whose keys differ from the others'
    // (a folder not copied) refuses to start instead of failing every secret and token.
    "CREATE TABLE key_fingerprints (
        name TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL
     );",
    // 9: the developer portal: sign-in (a password per e-mail address, argon2id), sessions (by a
    // keyed hash of the cookie), one-time sign-in links, the sign-in throttle, and the mail
    // outbox every message to a person goes through.
    "CREATE TABLE portal_logins (
        email TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        updated_at TEXT NOT NULL
     );
     CREATE TABLE portal_sessions (
        id_hash BLOB PRIMARY KEY,
        email TEXT,
        operator TEXT,
        member_id TEXT,
        csrf TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        created_at TEXT NOT NULL
     );
     CREATE INDEX portal_sessions_by_email ON portal_sessions(email);
     CREATE TABLE portal_links (
        token_hash BLOB PRIMARY KEY,
        email TEXT NOT NULL,
        purpose TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        used INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE portal_throttle (
        subject TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        locked_until INTEGER NOT NULL
     );
     CREATE TABLE mail (
        id TEXT PRIMARY KEY,
        to_addr TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('kept', 'pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created_at TEXT NOT NULL,
        seq INTEGER NOT NULL
     );
     CREATE INDEX mail_due ON mail(status, next_attempt_at);
     CREATE INDEX mail_by_seq ON mail(seq);",
];

/// What PostgreSQL needs beside a migration: the tables some queries order by `rowid` (SQLite's
/// implicit insertion order) get the column, after the migration that creates them.
const POSTGRES_AFTER: &[(usize, &str)] = &[(
    3,
    "ALTER TABLE invitations ADD COLUMN rowid BIGSERIAL;
     ALTER TABLE reviews ADD COLUMN rowid BIGSERIAL;
     ALTER TABLE webhook_deliveries ADD COLUMN rowid BIGSERIAL;",
)];

/// The schema version: SQLite's `user_version`, or PostgreSQL's `sandgate_schema` row.
fn version(tx: &Connection) -> sandgate_db::Result<i64> {
    match tx.as_sqlite() {
        Some(sqlite) => Ok(sqlite.pragma_query_value(None, "user_version", |r| r.get(0))?),
        None => {
            tx.execute_batch("CREATE TABLE IF NOT EXISTS sandgate_schema (version BIGINT NOT NULL)")?;
            tx.query_row("SELECT COALESCE(MAX(version), 0) FROM sandgate_schema", sandgate_db::params![], |r| r.get(0))
        }
    }
}

fn set_version(tx: &Connection, version: i64) -> sandgate_db::Result<()> {
    match tx.as_sqlite() {
        Some(sqlite) => Ok(sqlite.pragma_update(None, "user_version", version)?),
        None => {
            tx.execute("DELETE FROM sandgate_schema", sandgate_db::params![])?;
            tx.execute("INSERT INTO sandgate_schema (version) VALUES (?1)", sandgate_db::params![version])?;
            Ok(())
        }
    }
}

pub(super) fn apply(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let fail = |source| StoreError::Database { path: path.to_path_buf(), source };
    let known = MIGRATIONS.len() as i64;
    let postgres = conn.is_postgres();
    loop {
        // Immediate (PostgreSQL: under the writers' lock), and the version read inside: several
        // nodes starting on one store at once apply each migration exactly once.
        let tx = conn.transaction_with_behavior(sandgate_db::TransactionBehavior::Immediate).map_err(fail)?;
        let current = version(&tx).map_err(fail)?;
        if current > known {
            return Err(StoreError::TooNew { path: path.to_path_buf(), found: current, known });
        }
        let Some(sql) = MIGRATIONS.get(current as usize) else { return Ok(()) };
        if postgres {
            tx.execute_batch(&sandgate_db::postgres_dialect(sql)).map_err(fail)?;
            for (_, extra) in POSTGRES_AFTER.iter().filter(|(after, _)| *after == current as usize + 1) {
                tx.execute_batch(extra).map_err(fail)?;
            }
        } else {
            tx.execute_batch(sql).map_err(fail)?;
        }
        set_version(&tx, current + 1).map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
}
