//! The one error type of the contract tests: why a run could not start, plan or report. A
//! violation found on the server under test is a finding in the report, never an error.

use std::path::PathBuf;

use sandgate_openapi::OpenApiError;

/// Why a contract run (or its replay) could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// A spec could not be loaded or modelled.
    #[error("spec error: {0}")]
    Spec(#[from] OpenApiError),
    /// A flag the run cannot do without was not given.
    #[error("{flag} is required ({hint})")]
    MissingFlag {
        /// The flag, e.g. `--spec`.
        flag: &'static str,
        /// What it is, or why it is needed here.
        hint: &'static str,
    },
    /// A flag given without the one it needs.
    #[error("{flag} needs {needs}")]
    FlagNeeds {
        /// The flag given.
        flag: &'static str,
        /// The flag (or environment variable) it needs.
        needs: &'static str,
    },
    /// A flag's value cannot be used.
    #[error("{flag} {value:?}: {why}")]
    BadFlag {
        /// The flag, e.g. `--set`.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// A server to test is named by a URL that cannot be one.
    #[error("{flag} {url:?}: {why}")]
    Target {
        /// The flag that named it (`--base-url`, `--against`).
        flag: &'static str,
        /// The URL given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The filters select no operation of the specs.
    #[error("no operation matches the filters")]
    NothingSelected,
    /// An operation whose requests cannot be generated or validated: it is reported as not
    /// tested, and the rest of the run goes on.
    #[error("{operation}: {why}")]
    Unplannable {
        /// The operation, as a JSON pointer into its document.
        operation: String,
        /// The schema that could not be compiled, and why.
        why: OpenApiError,
    },
    /// The run's credentials get no token: a usage error, not a violation on every operation.
    #[error("cannot get a token for {base_url}: {why}")]
    NoToken {
        /// The server that gave none.
        base_url: String,
        /// Why (one of the token variants below).
        why: Box<ContractError>,
    },
    /// Client credentials were given but no spec documents where to exchange them.
    #[error("client credentials were given but no spec documents a token endpoint (a POST whose body has grant_type)")]
    NoTokenEndpoint,
    /// The token endpoint refused the credentials.
    #[error("token endpoint {url} answered {status}: {body}")]
    TokenRefused {
        /// The token endpoint.
        url: String,
        /// Its status.
        status: reqwest::StatusCode,
        /// The start of its answer.
        body: String,
    },
    /// The token endpoint could not be reached, or its answer holds no token.
    #[error("token endpoint {url}: {why}")]
    TokenEndpoint {
        /// The token endpoint.
        url: String,
        /// What went wrong.
        why: String,
    },
    /// A step of a sequence needs a value an earlier answer did not give.
    #[error("step {step} gave no value for {expression}")]
    Unbound {
        /// The earlier step, counted from 1.
        step: usize,
        /// The runtime expression (`$response.body#/id`).
        expression: String,
    },
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// A report could not be rendered.
    #[error("{format} report: {why}")]
    RenderReport {
        /// `JUnit` or `JSON`.
        format: &'static str,
        /// Why.
        why: String,
    },
    /// A report file could not be written.
    #[error("cannot write {}: {source}", file.display())]
    WriteReport {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file of findings to replay could not be read.
    #[error("cannot read {}: {source}", file.display())]
    ReadFindings {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file of findings to replay holds no report or finding.
    #[error("{}: {what}: {why}", file.display())]
    NotFindings {
        /// The file.
        file: PathBuf,
        /// `not JSON`, `not a report`, `not a finding`.
        what: &'static str,
        /// The parser's words.
        why: serde_json::Error,
    },
    /// `--finding N` names no finding of the file.
    #[error("there is no finding {n} (the file has {count})")]
    NoSuchFinding {
        /// The number asked for, counted from 1.
        n: usize,
        /// How many the file has.
        count: usize,
    },
    /// A finding to replay names an operation the specs no longer have where it was recorded.
    #[error("the specs no longer have the operation {operation} where the finding recorded it; replay with the specs it was found with")]
    SpecsChanged {
        /// The operation's label.
        operation: String,
    },
}
