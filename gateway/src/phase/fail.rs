//! Renders any rejection or failure as `application/problem+json`: the only place error responses
//! are built. `detail` comes from the rejecting phase; internal error text never reaches the client.

use pingora::http::ResponseHeader;
use pingora::{Error, Result};
use sandgate_core::problem::{problem_body, ProblemKind, PROBLEM_JSON};

use crate::error::kind_of;

/// The response for `error`: header and body. `extra` headers (rate-limit state, request id,
/// deprecation) are added as they are.
pub fn render(error: &Error, request_id: &str, extra: &[(&'static str, String)]) -> Result<(ResponseHeader, Vec<u8>)> {
    let kind = kind_of(error);
    // Only our own rejections carry a detail meant for the partner; Pingora's context of an
    // upstream or internal error names backend addresses and internals.
    let detail = match (error.etype(), error.context.as_ref()) {
        (pingora::ErrorType::CustomCode(..), Some(context)) if kind != ProblemKind::Internal => context.as_str(),
        _ => default_detail(kind),
    };
    let body = problem_body(kind, detail, Some(request_id), None);
    let mut header = ResponseHeader::build(kind.status(), Some(4))?;
    header.insert_header("content-type", PROBLEM_JSON)?;
    header.insert_header("content-length", body.len())?;
    header.insert_header("x-request-id", request_id)?;
    for (name, value) in extra {
        header.insert_header(*name, value.as_str())?;
    }
    if kind.status() == 401 {
        let error = if kind == ProblemKind::Unauthenticated { "" } else { ", error=\"invalid_token\"" };
        header.insert_header("www-authenticate", format!("Bearer realm=\"sandgate\"{error}"))?;
    }
    Ok((header, body))
}

fn default_detail(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::UpstreamUnavailable => "the backend could not be reached or answered badly; try again later",
        ProblemKind::UpstreamTimeout => "the backend did not answer in time; try again later",
        ProblemKind::InvalidRequest => "the request could not be read as HTTP",
        _ => "an internal error occurred; quote the instance (request id) when reporting it",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::reject;

    #[test]
    fn render_unauthenticated_has_problem_body_and_challenge() {
        let (header, body) =
            render(&reject(ProblemKind::Unauthenticated, "send a token"), "req-9", &[]).expect("render");
        assert_eq!(header.status.as_u16(), 401);
        assert_eq!(header.headers["content-type"], PROBLEM_JSON);
        assert!(header.headers["www-authenticate"].to_str().expect("ascii").starts_with("Bearer"));
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["type"], "urn:sandgate:problem:unauthenticated");
        assert_eq!(body["detail"], "send a token");
        assert_eq!(body["instance"], "req-9");
    }

    #[test]
    fn render_upstream_failures_hides_the_backend() {
        let refused = Error::explain(pingora::ErrorType::ConnectRefused, "10.1.2.3:8443 refused").into_up();
        let timed_out = Error::explain(pingora::ErrorType::ReadTimedout, "read from 10.1.2.3:8443").into_up();
        for (error, status) in [(refused, 502), (timed_out, 504)] {
            let (header, body) = render(&error, "r", &[]).expect("render");
            assert_eq!(header.status.as_u16(), status);
            assert!(!String::from_utf8_lossy(&body).contains("10.1.2.3"), "{}", String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn render_internal_hides_error_text() {
        let error = Error::explain(pingora::ErrorType::InternalError, "db password is hunter2").into_in();
        let (_, body) = render(&error, "r", &[]).expect("render");
        assert!(!String::from_utf8_lossy(&body).contains("hunter2"));
    }
}
