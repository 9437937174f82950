//! Why a document could not be loaded: the one error type of loading and modelling, so that
//! `load` (files) and `model` (documents) both name it without naming each other.

use std::path::{Path, PathBuf};

/// Why a document could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
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
}

impl LoadError {
    /// A document (or a file written beside it) that is wrong at `pointer`.
    pub fn invalid(file: &Path, pointer: impl Into<String>, problem: impl Into<String>) -> Self {
        LoadError::Invalid { file: file.to_path_buf(), pointer: pointer.into(), problem: problem.into() }
    }
}
