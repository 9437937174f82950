//! HTTP hygiene, before anything else reads the request: header count and size (431), both
//! `Content-Length` and `Transfer-Encoding` (400, a smuggling vector), a declared body over the
//! limit (413). Bodies without a length are counted as they stream (`request_body_filter`).

use pingora::http::RequestHeader;
use pingora::Error;
use sandgate_emulator::problem::ProblemKind;

use crate::config::LimitsConfig;
use crate::error::reject;

/// Checks the request head against `limits`. `keepalive_off` says whether the HTTP parser turned
/// keep-alive off for this request: Pingora does that (and drops `Content-Length`, RFC 9112 §6.3)
/// when both `Content-Length` and `Transfer-Encoding` were sent, which is how we still see it.
pub fn check(req: &RequestHeader, limits: &LimitsConfig, keepalive_off: bool) -> Result<(), Box<Error>> {
    let headers = &req.headers;
    if headers.len() > limits.max_headers {
        return Err(reject(ProblemKind::HeadersTooLarge, format!("send at most {} headers", limits.max_headers)));
    }
    let size: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    if size > limits.max_header_bytes {
        return Err(reject(
            ProblemKind::HeadersTooLarge,
            format!("request headers may total at most {} bytes", limits.max_header_bytes),
        ));
    }
    let lengths = headers.get_all(http::header::CONTENT_LENGTH).iter().count();
    let chunked = headers.contains_key(http::header::TRANSFER_ENCODING);
    let asked_to_close = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))));
    let both_stripped = chunked && keepalive_off && req.version == http::Version::HTTP_11 && !asked_to_close;
    if (lengths > 0 && chunked) || both_stripped {
        return Err(reject(ProblemKind::InvalidRequest, "send Content-Length or Transfer-Encoding, not both"));
    }
    if lengths > 1 {
        return Err(reject(ProblemKind::InvalidRequest, "send one Content-Length header"));
    }
    if let Some(length) = headers.get(http::header::CONTENT_LENGTH) {
        let length: usize = length
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| reject(ProblemKind::InvalidRequest, "Content-Length must be a number"))?;
        if length > limits.max_body_bytes {
            return Err(reject(
                ProblemKind::PayloadTooLarge,
                format!("the request body may be at most {} bytes", limits.max_body_bytes),
            ));
        }
    }
    Ok(())
}

/// Counts a streamed body chunk against the limit.
pub fn count_body(received: &mut usize, chunk: usize, limits: &LimitsConfig) -> Result<(), Box<Error>> {
    *received += chunk;
    if *received > limits.max_body_bytes {
        return Err(reject(
            ProblemKind::PayloadTooLarge,
            format!("the request body may be at most {} bytes", limits.max_body_bytes),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::kind_of;

    fn request(headers: &[(&str, &str)]) -> RequestHeader {
        let mut req = RequestHeader::build("POST", b"/x", None).expect("request");
        for (name, value) in headers {
            req.append_header(name.to_string(), *value).expect("header");
        }
        req
    }

    #[test]
    fn check_refuses_smuggling_oversize_and_too_many_headers() {
        let limits = LimitsConfig { max_headers: 10, max_body_bytes: 100, ..LimitsConfig::default() };
        let cases: Vec<(Vec<(&str, &str)>, ProblemKind)> = vec![
            (vec![("content-length", "5"), ("transfer-encoding", "chunked")], ProblemKind::InvalidRequest),
            (vec![("content-length", "5"), ("content-length", "6")], ProblemKind::InvalidRequest),
            (vec![("content-length", "abc")], ProblemKind::InvalidRequest),
            (vec![("content-length", "101")], ProblemKind::PayloadTooLarge),
        ];
        for (headers, kind) in cases {
            assert_eq!(kind_of(&check(&request(&headers), &limits, false).expect_err("refused")), kind, "{headers:?}");
        }
        let many: Vec<(String, &str)> = (0..11).map(|i| (format!("x-h{i}"), "v")).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(kind_of(&check(&request(&many), &limits, false).expect_err("431")), ProblemKind::HeadersTooLarge);
        let big = "v".repeat(20_000);
        let big_header = check(&request(&[("x-big", &big)]), &LimitsConfig::default(), false);
        assert_eq!(kind_of(&big_header.expect_err("431")), ProblemKind::HeadersTooLarge);
        assert!(check(&request(&[("content-length", "100")]), &limits, false).is_ok());
        let stripped = check(&request(&[("transfer-encoding", "chunked")]), &limits, true);
        assert_eq!(kind_of(&stripped.expect_err("CL was stripped by the parser")), ProblemKind::InvalidRequest);
        assert!(check(&request(&[("transfer-encoding", "chunked")]), &limits, false).is_ok());
    }
}
