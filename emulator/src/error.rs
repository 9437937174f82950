//! The one error type of the emulator: why it could not be built (its documents or scenarios,
//! naming file and pointer; its state store), why its state could not be read or written, and
//! what of its input (a spec's checks, a scrub time) it cannot use.

use std::path::PathBuf;

use sandgate_openapi::OpenApiError;

/// Why the emulator could not be built, or could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A document or scenario file is unreadable or wrong.
    #[error(transparent)]
    Load(#[from] OpenApiError),
    /// The folder of the state file could not be created.
    #[error("emulator state: {dir}: {source}")]
    StateDir {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The state database could not be opened or set up.
    #[error("emulator state: {place}: {source}")]
    StateOpen {
        /// The SQLite file, or the PostgreSQL URL without its password.
        place: String,
        /// Why.
        source: sandgate_db::Error,
    },
    /// The state could not be read or written.
    #[error("emulator state: {0}")]
    State(#[from] sandgate_db::Error),
    /// A stored object could not be read back as JSON.
    #[error("emulator state: corrupt JSON: {0}")]
    StateCorrupt(#[from] serde_json::Error),
    /// The requests of an operation cannot be validated: a schema of it (or of its error answer)
    /// does not compile. Such an operation answers 500 naming the schema.
    #[error("{operation}: {detail}")]
    Uncheckable {
        /// The operation (`operationId` or `METHOD path`).
        operation: String,
        /// Which spec, where and why.
        detail: String,
    },
    /// A scrub time that is not a time of day.
    #[error("{0:?} is not a time of day HH:MM (UTC)")]
    ScrubTime(String),
}
