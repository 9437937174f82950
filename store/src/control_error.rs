//! Why a control-plane operation was refused; each variant maps to one HTTP status and names the
//! field at fault, so the API and the CLI can say exactly what to change.

/// A refused or failed control-plane operation.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No such partner, application, credential, invitation or connection (404).
    #[error("no {what} {id:?}")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A duplicate, an illegal transition or an immutable field (409).
    #[error("{field}: {detail}")]
    Conflict {
        /// The field (or state) at fault.
        field: String,
        /// What is wrong and what would be right.
        detail: String,
    },
    /// A well-formed value that is not acceptable (422).
    #[error("{field}: {detail}")]
    Invalid {
        /// The field, as a dotted path (`webhooks.0.url`).
        field: String,
        /// What is wrong and what would be right.
        detail: String,
    },
    /// Something that was valid once and is not any more: an expired or revoked OTP (410).
    #[error("{field}: {detail}")]
    Gone {
        /// The field at fault.
        field: String,
        /// What happened and what to do.
        detail: String,
    },
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The caller may not set this field (403): it is someone else's decision.
    #[error("{field}: {detail}")]
    ForbiddenField {
        /// The field.
        field: String,
        /// Whose decision it is and what to do instead.
        detail: String,
    },
    /// SQLite failed; the transaction was rolled back (500, no detail to the client).
    #[error("store: {0}")]
    Store(#[from] rusqlite::Error),
    /// Stored JSON could not be read back (500).
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
