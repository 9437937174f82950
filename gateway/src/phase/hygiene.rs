//! HTTP hygiene, before anything else reads the request: header count and size (431), both
//! `Content-Length` and `Transfer-Encoding` (400, a smuggling vector), a declared body over the
//! limit (413). Bodies without a length are counted as they stream (`request_body_filter`).

use pingora::http::RequestHeader;
use pingora::Error;
use sandgate_core::problem::ProblemKind;

use crate::error::reject;
use crate::table::limits::Limits;

/// Checks the request head against `limits`. `keepalive_off` says whether the HTTP parser turned
/// keep-alive off for this request: Pingora does that (and drops `Content-Length`, RFC 9112 §6.3)
/// when both `Content-Length` and `Transfer-Encoding` were sent. `raw_head` is the request head
/// as received (only needed when `Transfer-Encoding` is present): with `Connection: close` the
/// parser's keep-alive flag tells nothing, and only the raw bytes still show the dropped length.
pub fn check(
    req: &RequestHeader,
    limits: &Limits,
    keepalive_off: bool,
    raw_head: Option<&[u8]>,
) -> Result<(), Box<Error>> {
    let headers = &req.headers;
    if req.version == http::Version::HTTP_11 {
        match headers.get_all(http::header::HOST).iter().count() {
            1 => {}
            0 => return Err(reject(ProblemKind::InvalidRequest, "an HTTP/1.1 request must carry a Host header")),
            _ => return Err(reject(ProblemKind::InvalidRequest, "send one Host header")),
        }
    }
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
    let both_stripped = chunked
        && ((keepalive_off && req.version == http::Version::HTTP_11 && !asked_to_close)
            || raw_head.is_some_and(|raw| has_header_line(raw, b"content-length")));
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

/// Whether the raw request head has a header line named `name` (lower case).
fn has_header_line(raw: &[u8], name: &[u8]) -> bool {
    raw.split(|b| *b == b'\n').skip(1).any(|line| {
        line.len() > name.len() && line[..name.len()].eq_ignore_ascii_case(name) && line[name.len()] == b':'
    })
}

/// Counts a streamed body chunk against the limit.
pub fn count_body(received: &mut usize, chunk: usize, limits: &Limits) -> Result<(), Box<Error>> {
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
        req.append_header("host", "gateway").expect("host");
        for (name, value) in headers {
            req.append_header(name.to_string(), *value).expect("header");
        }
        req
    }

    #[test]
    fn check_refuses_smuggling_oversize_and_too_many_headers() {
        let limits = Limits { max_headers: 10, max_body_bytes: 100, ..Limits::default() };
        let cases: Vec<(Vec<(&str, &str)>, ProblemKind)> = vec![
            (vec![("content-length", "5"), ("transfer-encoding", "chunked")], ProblemKind::InvalidRequest),
            (vec![("content-length", "5"), ("content-length", "6")], ProblemKind::InvalidRequest),
            (vec![("content-length", "abc")], ProblemKind::InvalidRequest),
            (vec![("content-length", "101")], ProblemKind::PayloadTooLarge),
        ];
        for (headers, kind) in cases {
            assert_eq!(
                kind_of(&check(&request(&headers), &limits, false, None).expect_err("refused")),
                kind,
                "{headers:?}"
            );
        }
        let many: Vec<(String, &str)> = (0..11).map(|i| (format!("x-h{i}"), "v")).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(
            kind_of(&check(&request(&many), &limits, false, None).expect_err("431")),
            ProblemKind::HeadersTooLarge
        );
        let big = "v".repeat(20_000);
        let big_header = check(&request(&[("x-big", &big)]), &Limits::default(), false, None);
        assert_eq!(kind_of(&big_header.expect_err("431")), ProblemKind::HeadersTooLarge);
        assert!(check(&request(&[("content-length", "100")]), &limits, false, None).is_ok());
        let stripped = check(&request(&[("transfer-encoding", "chunked")]), &limits, true, None);
        assert_eq!(kind_of(&stripped.expect_err("CL was stripped by the parser")), ProblemKind::InvalidRequest);
        assert!(check(&request(&[("transfer-encoding", "chunked")]), &limits, false, None).is_ok());
        // With Connection: close the parser's flag says nothing; the raw head still shows both.
        let raw = b"POST /x HTTP/1.1\r\nHost: g\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        let closing = request(&[("transfer-encoding", "chunked"), ("connection", "close")]);
        let refused = check(&closing, &limits, true, Some(raw)).expect_err("CL + TE with Connection: close");
        assert_eq!(kind_of(&refused), ProblemKind::InvalidRequest);
        let plain = b"POST /x HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        assert!(check(&closing, &limits, true, Some(plain)).is_ok());
    }

    #[test]
    fn http11_needs_exactly_one_host() {
        let limits = Limits::default();
        let mut no_host = RequestHeader::build("GET", b"/x", None).expect("request");
        assert_eq!(kind_of(&check(&no_host, &limits, false, None).expect_err("no Host")), ProblemKind::InvalidRequest);
        no_host.append_header("host", "a").expect("h");
        no_host.append_header("host", "b").expect("h");
        assert_eq!(kind_of(&check(&no_host, &limits, false, None).expect_err("two")), ProblemKind::InvalidRequest);
        let mut http10 = RequestHeader::build("GET", b"/x", None).expect("request");
        http10.set_version(http::Version::HTTP_10);
        assert!(check(&http10, &limits, false, None).is_ok(), "HTTP/1.0 may omit Host");
    }
}
