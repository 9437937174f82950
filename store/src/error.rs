//! What can go wrong in the store: an operation refused in the store's terms (not found,
//! conflict, invalid, gone, forbidden), each naming the field at fault so the API and the CLI can
//! say exactly what to change; or a failure (the database cannot be opened or read, was written
//! by a newer Sandgate, SQLite failed, stored JSON is corrupt). The control plane maps each to
//! its HTTP answer (`control::http`).

use std::path::PathBuf;

/// A refused or failed store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such partner, application, credential, invitation or connection.
    #[error("no {what} {id:?}")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A duplicate, an illegal transition or an immutable field.
    #[error("{field}: {detail}")]
    Conflict {
        /// The field (or state) at fault.
        field: String,
        /// What is wrong and what would be right.
        detail: String,
    },
    /// A well-formed value that is not acceptable.
    #[error("{field}: {detail}")]
    Invalid {
        /// The field, as a dotted path (`webhooks.0.url`).
        field: String,
        /// What is wrong and what would be right.
        detail: String,
    },
    /// Something that was valid once and is not any more: an expired or revoked OTP.
    #[error("{field}: {detail}")]
    Gone {
        /// The field at fault.
        field: String,
        /// What happened and what to do.
        detail: String,
    },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The caller may not set this field: it is someone else's decision.
    #[error("{field}: {detail}")]
    ForbiddenField {
        /// The field.
        field: String,
        /// Whose decision it is and what to do instead.
        detail: String,
    },
    /// The database could not be opened or read (I/O, corruption, constraint).
    #[error("store {path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// The database's error.
        source: sandgate_db::Error,
    },
    /// This node's key in `secrets/` is not the one the other nodes on this store use.
    #[error(
        "the key {key} in this node's secrets/ differs from the one the other nodes on store {path} use: copy the secrets/ folder of a node already running on this store to this node's data directory (replacing its own), then start it again"
    )]
    KeysDiffer {
        /// The store (URL without password).
        path: PathBuf,
        /// The key's name (`secret-hash`, `webhook-signing`, `<environment>-signing`).
        key: String,
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
    /// The database failed during an operation; the transaction was rolled back (nothing of it
    /// may reach a client).
    #[error("store: {0}")]
    Sqlite(#[from] sandgate_db::Error),
    /// Stored JSON could not be read back.
    #[error("store: corrupt JSON column: {0}")]
    Corrupt(#[from] serde_json::Error),
}

impl StoreError {
    /// A 409 on `field`.
    pub fn conflict(field: impl Into<String>, detail: impl Into<String>) -> StoreError {
        StoreError::Conflict { field: field.into(), detail: detail.into() }
    }

    /// A 422 on `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> StoreError {
        StoreError::Invalid { field: field.into(), detail: detail.into() }
    }

    /// A 404 for `what` `id`.
    pub fn not_found(what: &'static str, id: &str) -> StoreError {
        StoreError::NotFound { what, id: id.to_owned() }
    }
}

impl StoreError {
    /// Whether the database could not be reached (as opposed to refusing or failing an operation):
    /// the caller may retry once it is back.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Sqlite(e) | StoreError::Database { source: e, .. } => e.is_unavailable(),
            _ => false,
        }
    }
}
