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
    /// A bearer token that is not a well-formed token of ours (or is a refresh token).
    TokenMalformed = ("token-malformed", 401, "Malformed access token"),
    /// A token signed with another algorithm than the pinned one (`none` included).
    TokenAlgorithmRejected = ("token-algorithm-rejected", 401, "Token algorithm not accepted"),
    /// A token whose signature does not verify (forged or tampered).
    TokenSignatureInvalid = ("token-signature-invalid", 401, "Token signature invalid"),
    /// A token issued by another environment (TRAINING at PRODUCTION, or the reverse).
    TokenWrongEnvironment = ("token-wrong-environment", 401, "Token from another environment"),
    /// A token for another issuer or audience.
    TokenWrongAudience = ("token-wrong-audience", 401, "Token not meant for this gateway"),
    /// A bearer token past its expiry.
    TokenExpired = ("token-expired", 401, "Access token expired"),
    /// A token used before its `nbf`.
    TokenNotYetValid = ("token-not-yet-valid", 401, "Access token not valid yet"),
    /// The token's credential or application has been revoked.
    TokenRevoked = ("token-revoked", 401, "Access revoked"),
    /// Client id or secret missing or wrong at the token endpoint.
    InvalidClient = ("invalid-client", 400, "Invalid client credentials"),
    /// A malformed token request (missing or unknown grant type, bad encoding).
    InvalidTokenRequest = ("invalid-token-request", 400, "Invalid token request"),
    /// The caller is authenticated but may not do this.
    Forbidden = ("forbidden", 403, "Forbidden"),
    /// The client address or origin is not on the application's trust list.
    UntrustedClient = ("untrusted-client", 403, "Client not trusted"),
    /// The token's scope does not cover the operation.
    InsufficientScope = ("insufficient-scope", 403, "Insufficient scope"),
    /// A read-only application called an operation that writes.
    ReadOnlyApplication = ("read-only-application", 403, "Application is read-only"),
    /// The `Host` is not one this environment serves.
    MisdirectedRequest = ("misdirected-request", 421, "Misdirected request"),
    /// Too many requests for the application's plan.
    RateLimited = ("rate-limited", 429, "Rate limit exceeded"),
    /// Too many failed token requests from this client or address.
    TokenRequestsThrottled = ("token-requests-throttled", 429, "Too many failed token requests"),
    /// The API exists but not in this version; `detail` lists the supported ones.
    UnsupportedVersion = ("unsupported-version", 404, "Unsupported API version"),
    /// The version has been retired.
    RetiredVersion = ("retired-version", 410, "API version retired"),
    /// Request headers too many or too large.
    HeadersTooLarge = ("headers-too-large", 431, "Request headers too large"),
    /// No API, version or operation matches the path.
    UnknownRoute = ("unknown-route", 404, "No such route"),
    /// The path exists but not with this method; `Allow` lists the methods that do.
    MethodNotAllowed = ("method-not-allowed", 405, "Method not allowed"),
    /// The request does not conform to the operation.
    InvalidRequest = ("invalid-request", 400, "Invalid request"),
    /// An `Upgrade` (WebSocket, h2c, …) that the operation does not document: refused, because
    /// after a switch no later check would see the bytes on the connection.
    UpgradeRefused = ("upgrade-refused", 400, "Protocol upgrade refused"),
    /// The body's `Content-Type` is not one the operation takes; `detail` lists those it does.
    UnsupportedMediaType = ("unsupported-media-type", 415, "Unsupported media type"),
    /// The answer is documented in no media type the request's `Accept` takes; `detail` lists
    /// those it is documented in.
    NotAcceptable = ("not-acceptable", 406, "Not acceptable"),
    /// A well-formed value that is not acceptable (control plane).
    InvalidField = ("invalid-field", 422, "Invalid value"),
    /// No such resource (control plane).
    NotFound = ("not-found", 404, "Not found"),
    /// A duplicate, an illegal state transition or an immutable field (control plane).
    Conflict = ("conflict", 409, "Conflict"),
    /// Valid once, not any more: an expired or revoked one-time password (control plane).
    Gone = ("gone", 410, "Gone"),
    /// The request body is larger than allowed.
    PayloadTooLarge = ("payload-too-large", 413, "Request body too large"),
    /// The environment has no backend configured.
    NoUpstream = ("no-upstream", 503, "No backend configured"),
    /// The rate budget shared by every node cannot be checked and the gateway is set to refuse
    /// meanwhile (`rate_limits.when_redis_fails: deny`).
    RateLimitUnavailable = ("rate-limit-unavailable", 503, "Rate limit unavailable"),
    /// The store could not be reached; nothing was changed (control plane).
    StoreUnavailable = ("store-unavailable", 503, "Store unavailable"),
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
