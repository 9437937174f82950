//! Versioned schema migrations, applied in order inside one transaction each.
//!
//! The version is SQLite's `user_version`. Append new migrations; never edit a released one.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
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
];

pub(super) fn apply(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let fail = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(fail)?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found: current, known });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", index as i64 + 1).map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(())
}
