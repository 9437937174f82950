//! The control plane's HTTP edges: reading a request (body capped, JSON decoded with the failing
//! field named), and turning a reply or a `StoreError` into a response.

use bytes::Bytes;
use http::Response;
use pingora::protocols::http::ServerSession;
use sandgate_core::problem::{problem_body, ProblemKind, PROBLEM_JSON};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use sandgate_store::StoreError;

/// Largest control-plane request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One control-plane request, read in full.
#[derive(Debug, Default)]
pub struct Request {
    /// `GET`, `POST`…
    pub method: http::Method,
    /// The path.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// Whether the client asked for CSV.
    pub accepts_csv: bool,
    /// The body.
    pub body: Bytes,
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Over [`MAX_BODY_BYTES`].
    TooLarge,
    /// The connection failed mid-body.
    Broken,
}

/// Reads the request head and body (at most [`MAX_BODY_BYTES`]).
pub async fn read(session: &mut ServerSession) -> Result<Request, ReadError> {
    let head = session.req_header();
    let header = |name: &str| head.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let declared: Option<usize> = header("content-length").and_then(|v| v.trim().parse().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(ReadError::TooLarge);
    }
    let mut request = Request {
        method: head.method.clone(),
        path: head.uri.path().to_owned(),
        query: head.uri.query().unwrap_or_default().to_owned(),
        authorization: header("authorization"),
        accepts_csv: header("accept").is_some_and(|a| a.contains("text/csv")),
        body: Bytes::new(),
    };
    let mut body = Vec::new();
    while let Some(chunk) = session.read_request_body().await.map_err(|_| ReadError::Broken)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    request.body = Bytes::from(body);
    Ok(request)
}

/// A successful answer.
#[derive(Debug)]
pub enum Reply {
    /// JSON with a status.
    Json(u16, Value),
    /// A CSV download.
    Csv(String),
    /// Any other body.
    Raw(u16, &'static str, Vec<u8>),
}

/// An error answer: a problem+json with a `field` member when one field is at fault.
#[derive(Debug)]
pub struct Problem {
    /// The kind (and so the status).
    pub kind: ProblemKind,
    /// What is wrong.
    pub detail: String,
    /// The field or parameter at fault.
    pub field: Option<String>,
}

impl Problem {
    /// A problem of `kind`.
    pub fn new(kind: ProblemKind, detail: impl Into<String>, field: Option<String>) -> Problem {
        Problem { kind, detail: detail.into(), field }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        match e {
            StoreError::NotFound { what, .. } => {
                Problem::new(ProblemKind::NotFound, e.to_string(), Some(id_parameter(what).to_owned()))
            }
            StoreError::Conflict { field, detail } => Problem::new(ProblemKind::Conflict, detail, Some(field)),
            StoreError::Invalid { field, detail } => Problem::new(ProblemKind::InvalidField, detail, Some(field)),
            StoreError::Gone { field, detail } => Problem::new(ProblemKind::Gone, detail, Some(field)),
            StoreError::Forbidden(detail) => Problem::new(ProblemKind::Forbidden, detail, None),
            StoreError::ForbiddenField { field, detail } => Problem::new(ProblemKind::Forbidden, detail, Some(field)),
            e if e.is_unavailable() => {
                tracing::error!(error = %e, "control-plane store unavailable");
                Problem::new(
                    ProblemKind::StoreUnavailable,
                    "the store cannot be reached; nothing was changed, try again",
                    None,
                )
            }
            StoreError::Sqlite(_)
            | StoreError::Database { .. }
            | StoreError::TooNew { .. }
            | StoreError::KeysDiffer { .. }
            | StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "control-plane store failure");
                Problem::new(ProblemKind::Internal, "the store failed; nothing was changed, try again", None)
            }
        }
    }
}

/// The path parameter (or body field) that named the missing `what`.
fn id_parameter(what: &str) -> &str {
    match what {
        "partner" => "partner_id",
        "member" => "member_id",
        "application" | "connection" => "application_id",
        "credential" => "client_id",
        "invitation" => "invitation_id",
        other => other,
    }
}

/// For an optional field the spec does not make nullable: absent is `None`, but an explicit
/// `null` is refused like any other wrong type (serde alone would read it as absent). Use with
/// `#[serde(default, deserialize_with = "crate::http::not_null")]`.
pub fn not_null<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(value: D) -> Result<Option<T>, D::Error> {
    T::deserialize(value).map(Some)
}

/// Decodes a JSON body into `T`; an empty body reads as `{}`. A syntax error, an unknown field or
/// a wrong type is a 400 naming the field path.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    // serde would read an array into a struct field by field; every body here is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| *b == b'[') {
        return Err(Problem::new(ProblemKind::InvalidRequest, "the body must be a JSON object", Some("body".into())));
    }
    let mut decoder = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut decoder).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let (field, detail) = if inner.is_syntax() || inner.is_eof() {
            (Some("body".to_owned()), format!("the body is not valid JSON: {inner}"))
        } else if path == "." {
            (Some("body".to_owned()), format!("the body does not fit: {inner}"))
        } else {
            (Some(path.clone()), format!("{path}: {inner}"))
        };
        Problem::new(ProblemKind::InvalidRequest, detail, field)
    })
}

/// Builds the HTTP response of a reply.
pub fn respond(reply: Result<Reply, Problem>) -> Response<Vec<u8>> {
    match reply {
        Ok(Reply::Json(status, value)) => {
            build(status, "application/json", serde_json::to_vec(&value).unwrap_or_default())
        }
        Ok(Reply::Csv(text)) => build(200, "text/csv; charset=utf-8", text.into_bytes()),
        Ok(Reply::Raw(status, content_type, body)) => build(status, content_type, body),
        Err(problem) => {
            let extra = problem.field.map(|field| {
                let mut map = Map::new();
                map.insert("field".into(), Value::String(field));
                map
            });
            let mut response =
                build(problem.kind.status(), PROBLEM_JSON, problem_body(problem.kind, &problem.detail, None, extra));
            if problem.kind == ProblemKind::Unauthenticated {
                response
                    .headers_mut()
                    .insert("www-authenticate", http::HeaderValue::from_static("Bearer realm=\"sandgate-admin\""));
            }
            response
        }
    }
}

/// A response with a body and its length.
pub fn build(status: u16, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("content-length", body.len())
        .header("cache-control", "no-store")
        .body(body)
        .unwrap_or_else(|_| Response::new(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default, deserialize_with = "not_null")]
        partner_id: Option<String>,
    }

    #[test]
    fn an_optional_field_may_be_absent_but_not_null() {
        assert_eq!(json::<Body>(b"{}").expect("absent").partner_id, None);
        assert_eq!(json::<Body>(br#"{"partner_id": "ptn_1"}"#).expect("given").partner_id.as_deref(), Some("ptn_1"));
        let refused = json::<Body>(br#"{"partner_id": null}"#).expect_err("null is not a string");
        assert_eq!(refused.kind, ProblemKind::InvalidRequest);
        assert_eq!(refused.field.as_deref(), Some("partner_id"), "{}", refused.detail);
    }
}
