//! Why a store operation was refused, in the store's terms (not found, conflict, invalid, gone,
//! forbidden); the control plane maps each to its HTTP answer (`control::http`). Each names the
//! field at fault, so the API and the CLI can say exactly what to change.

/// A refused or failed control-plane operation.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
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
    /// SQLite failed; the transaction was rolled back (nothing of it may reach a client).
    #[error("store: {0}")]
    Store(#[from] rusqlite::Error),
    /// Stored JSON could not be read back.
    #[error("store: corrupt JSON column: {0}")]
    Corrupt(#[from] serde_json::Error),
}

impl ControlError {
    /// A 409 on `field`.
    pub fn conflict(field: impl Into<String>, detail: impl Into<String>) -> ControlError {
        ControlError::Conflict { field: field.into(), detail: detail.into() }
    }

    /// A 422 on `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> ControlError {
        ControlError::Invalid { field: field.into(), detail: detail.into() }
    }

    /// A 404 for `what` `id`.
    pub fn not_found(what: &'static str, id: &str) -> ControlError {
        ControlError::NotFound { what, id: id.to_owned() }
    }
}
