//! Test cases: sequences of concrete HTTP requests generated from the specs, each step with what
//! its answer must show. A case is plain data (serialisable) so that a failure can be replayed.
//!
//! `values` fabricates parameter and body values (boundaries included), `encode` turns them into
//! HTTP by each parameter's style, `negative` breaks valid requests in one documented way each,
//! `sequences` chains operations so that ids flow from one response into the next request, and
//! `chains` makes sequences of any length where an object must be made before the one needed.

pub mod chains;
pub mod encode;
pub mod negative;
pub mod sequences;
pub mod values;

use serde::{Deserialize, Serialize};

/// One generated test: steps run in order; every response is checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    /// What the case exercises, for people (`valid #3`, `missing required query parameter limit`).
    pub title: String,
    /// The steps, setup first.
    pub steps: Vec<Step>,
}

/// One request of a case and what its answer must show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// The operation (`operationId`, else `METHOD /path`).
    pub operation: String,
    /// Index of the API among the loaded specs.
    pub api: usize,
    /// Index of the operation in its API.
    pub op: usize,
    /// The request, with markers where bound values go.
    pub request: Request,
    /// Values taken from earlier responses when the step runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<Binding>,
    /// What the answer must show beyond conforming to the spec.
    pub expect: Expect,
    /// The credentials the request carries.
    pub auth: Auth,
}

/// An HTTP request, relative to the base URL.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Request {
    /// The method.
    pub method: String,
    /// The path, base path included, percent-encoded.
    pub path: String,
    /// The query string without `?`, empty when none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query: String,
    /// Headers (no credentials: those are added as `auth` says).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The body, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl Request {
    /// `path?query`.
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

/// A value taken from an earlier step's answer: every occurrence of `marker` in the request is
/// replaced by it (in a JSON body a quoted marker becomes the JSON value).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Binding {
    /// The placeholder text in the request.
    pub marker: String,
    /// The step whose answer holds the value.
    pub step: usize,
    /// A runtime expression: `$response.body#/id`, `$response.header.location`.
    pub expression: String,
}

/// What a step's answer must show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expect {
    /// A valid request: only the spec's rules apply.
    Valid,
    /// An invalid request (what is wrong with it): must be refused with a 4xx.
    Invalid {
        /// What was broken.
        mutation: String,
    },
    /// Sent without credentials: must be refused with 401.
    NoCredentials,
    /// Sent with another environment's token: must be refused with 401.
    ForeignToken,
    /// Sent with a token that lacks the operation's scopes: must be refused with 403.
    MissingScope {
        /// The only scope the token has.
        scope: String,
    },
    /// Reads what an earlier step created: must be found (2xx).
    Created,
    /// Reads what an earlier step deleted: must be gone (404 or 410).
    Deleted,
    /// A setup step: its answer must be a success for the case to go on.
    Setup,
}

/// The credentials a step carries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Auth {
    /// The run's credentials (a fixed token, or a token from client credentials).
    Default,
    /// None at all.
    Without,
    /// The `--foreign-token` (another environment's).
    Foreign,
    /// A token minted for this scope only.
    Scope {
        /// The scope.
        scope: String,
    },
}
