//! The one table of problem kinds (RFC 9457 `application/problem+json`) that Sandgate answers with.
//!
//! The gateway, the emulator and the CLI all use these slugs, so a partner sees the same `type` for
//! the same failure wherever it was raised. `type` is `urn:sandgate:problem:<slug>`.

use serde_json::{json, Map, Value};

/// The media type of every error Sandgate itself answers with.
pub const PROBLEM_JSON: &str = "application/problem+json";

macro_rules! problem_kinds {
    ($( $(#[$doc:meta])* $variant:ident = ($slug:literal, $status:literal, $title:literal), )*) => {
        /// A kind of failure: its stable slug, HTTP status and title.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProblemKind {
            $( $(#[$doc])* $variant, )*
        }

        impl ProblemKind {
            /// Every kind, in declaration order (for docs and tests).
            pub const ALL: &'static [ProblemKind] = &[$(ProblemKind::$variant,)*];

            /// The kebab-case slug, identical in code, docs and tests.
            pub const fn slug(self) -> &'static str {
                match self { $(ProblemKind::$variant => $slug,)* }
            }

            /// The HTTP status this kind is answered with.
            pub const fn status(self) -> u16 {
                match self { $(ProblemKind::$variant => $status,)* }
            }

            /// A short, fixed summary of the kind (RFC 9457 `title`).
            pub const fn title(self) -> &'static str {
                match self { $(ProblemKind::$variant => $title,)* }
            }

            /// The kind with this slug, if any.
            pub fn from_slug(slug: &str) -> Option<ProblemKind> {
                ProblemKind::ALL.iter().copied().find(|kind| kind.slug() == slug)
            }

            /// The `type` URI: `urn:sandgate:problem:<slug>`.
            pub const fn type_uri(self) -> &'static str {
                match self { $(ProblemKind::$variant => concat!("urn:sandgate:problem:", $slug),)* }
            }
        }
    };
}

problem_kinds! {
    /// No credentials where they are required.
    Unauthenticated = ("unauthenticated", 401, "Authentication required"),
    /// A bearer token that is malformed, forged or signed for another environment.
    InvalidToken = ("invalid-token", 401, "Invalid access token"),
    /// A bearer token past its expiry.
    TokenExpired = ("token-expired", 401, "Access token expired"),
    /// Client id or secret missing or wrong at the token endpoint.
    InvalidClient = ("invalid-client", 400, "Invalid client credentials"),
    /// A malformed token request (missing or unknown grant type, bad encoding).
    InvalidTokenRequest = ("invalid-token-request", 400, "Invalid token request"),
    /// The caller is authenticated but may not do this.
    Forbidden = ("forbidden", 403, "Forbidden"),
    /// No API, version or operation matches the path.
    UnknownRoute = ("unknown-route", 404, "No such route"),
    /// The path exists but not with this method; `Allow` lists the methods that do.
    MethodNotAllowed = ("method-not-allowed", 405, "Method not allowed"),
    /// The request does not conform to the operation.
    InvalidRequest = ("invalid-request", 400, "Invalid request"),
    /// The request body is larger than allowed.
    PayloadTooLarge = ("payload-too-large", 413, "Request body too large"),
    /// The environment has no backend configured.
    NoUpstream = ("no-upstream", 503, "No backend configured"),
    /// The backend could not be reached or answered badly.
    UpstreamUnavailable = ("upstream-unavailable", 502, "Backend unavailable"),
    /// The backend did not answer in time.
    UpstreamTimeout = ("upstream-timeout", 504, "Backend timed out"),
    /// A fault inside Sandgate; `detail` never holds internal error text.
    Internal = ("internal", 500, "Internal error"),
}

/// Builds a problem+json body. `detail` is what a person can act on; `instance` is the request id.
/// `extra` members (e.g. `errors`) are merged in after the standard ones.
pub fn problem_body(
    kind: ProblemKind,
    detail: &str,
    instance: Option<&str>,
    extra: Option<Map<String, Value>>,
) -> Vec<u8> {
    let mut body = json!({
        "type": kind.type_uri(),
        "title": kind.title(),
        "status": kind.status(),
        "detail": detail,
    });
    if let Some(map) = body.as_object_mut() {
        if let Some(id) = instance {
            map.insert("instance".into(), Value::String(id.to_owned()));
        }
        for (k, v) in extra.into_iter().flatten() {
            map.insert(k, v);
        }
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_type_uri_carries_slug() {
        let mut seen = std::collections::HashSet::new();
        for kind in ProblemKind::ALL {
            assert!(seen.insert(kind.slug()), "duplicate slug {}", kind.slug());
            assert!(kind.type_uri().ends_with(kind.slug()));
        }
    }

    #[test]
    fn problem_body_has_standard_members_and_extras() {
        let mut extra = Map::new();
        extra.insert("errors".into(), json!([{"pointer": "/a"}]));
        let body: Value = serde_json::from_slice(&problem_body(
            ProblemKind::InvalidRequest,
            "field a is missing",
            Some("req-1"),
            Some(extra),
        ))
        .expect("json");
        assert_eq!(body["type"], "urn:sandgate:problem:invalid-request");
        assert_eq!(body["status"], 400);
        assert_eq!(body["instance"], "req-1");
        assert_eq!(body["errors"][0]["pointer"], "/a");
    }
}
