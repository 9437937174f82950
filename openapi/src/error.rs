//! The one error type of the OpenAPI engine: why a document could not be loaded or modelled, and
//! why one of its schemas could not be compiled (by the value generator or the request
//! validator). `load` (files), `model` (documents), `generate` and `validate` all name it without
//! naming each other.

use std::path::{Path, PathBuf};

/// `key` as one segment of a JSON pointer (RFC 6901: `~` → `~0`, `/` → `~1`), as every error
/// names where in a document it is.
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Why a document could not be loaded, or a schema of it compiled.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    /// The file or folder could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file or folder.
        file: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The text is not YAML/JSON, or the document is not valid OpenAPI at `pointer`.
    #[error("{file}: at {pointer}: {problem}")]
    Invalid {
        /// The document.
        file: PathBuf,
        /// JSON pointer to the offending node (`""` for the whole document).
        pointer: String,
        /// What is wrong, for a person to fix.
        problem: String,
    },
    /// No OpenAPI document was found where one was expected.
    #[error("{dir}: no OpenAPI documents (*.yaml, *.yml, *.json) found")]
    Empty {
        /// The folder searched.
        dir: PathBuf,
    },
    /// The value generator cannot compile a schema (a `pattern` it cannot expand, an unknown
    /// `$ref`, …).
    #[error("{pointer}: {problem}")]
    Generate {
        /// Where in the schema (relative JSON pointer).
        pointer: String,
        /// What is wrong.
        problem: String,
    },
    /// The request validator cannot compile a schema of an operation's request (a `pattern`
    /// that is not a regular expression, say).
    #[error("{pointer}: {problem}")]
    Validate {
        /// JSON pointer to the schema in its document.
        pointer: String,
        /// What the validator said.
        problem: String,
    },
}

impl OpenApiError {
    /// A document (or a file written beside it) that is wrong at `pointer`.
    pub fn invalid(file: &Path, pointer: impl Into<String>, problem: impl Into<String>) -> Self {
        OpenApiError::Invalid { file: file.to_path_buf(), pointer: pointer.into(), problem: problem.into() }
    }

    /// A schema failure (`Generate`, `Validate`) placed in its document: `Invalid` in `file` at
    /// `at(pointer)`. Other variants already name their file and are returned unchanged.
    pub fn in_file(self, file: &Path, at: impl FnOnce(&str) -> String) -> Self {
        match self {
            OpenApiError::Generate { pointer, problem } | OpenApiError::Validate { pointer, problem } => {
                OpenApiError::invalid(file, at(&pointer), problem)
            }
            other => other,
        }
    }
}
