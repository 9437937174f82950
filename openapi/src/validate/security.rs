//! Whether a request carries the credentials its operation's security requirements ask for.
//!
//! Run alone, the emulator cannot verify a real token: with no tokens configured any credential of
//! the right kind passes (as Prism does); with `tokens` configured only those do, so a client (or
//! a contract test) can see a wrong token refused. Behind the gateway the gateway has already
//! authenticated the caller, and the emulator does not check again.

use http::HeaderMap;

use crate::{ParamLocation, SecurityScheme};

/// Why a request's credentials do not satisfy its operation (a verdict on the request, like a
/// validation violation, not a failure): what is missing or wrong, for the 401's detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unauthenticated(pub String);

impl Unauthenticated {
    /// What is missing or wrong.
    pub fn detail(&self) -> &str {
        &self.0
    }
}

/// Checks `requirements` (alternatives; any one suffices). `Err` says what is missing or wrong.
pub fn check(
    requirements: &[Vec<SecurityScheme>],
    headers: &HeaderMap,
    query: Option<&str>,
    tokens: &[String],
) -> Result<(), Unauthenticated> {
    if requirements.is_empty() || requirements.iter().any(Vec::is_empty) {
        return Ok(());
    }
    let mut first_problem = None;
    for alternative in requirements {
        match alternative.iter().try_for_each(|scheme| satisfied(scheme, headers, query, tokens)) {
            Ok(()) => return Ok(()),
            Err(problem) => {
                first_problem.get_or_insert(problem);
            }
        }
    }
    Err(Unauthenticated(first_problem.unwrap_or_else(|| "credentials are required".to_owned())))
}

fn satisfied(
    scheme: &SecurityScheme,
    headers: &HeaderMap,
    query: Option<&str>,
    tokens: &[String],
) -> Result<(), String> {
    let authorization = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (credential, what) = match scheme {
        SecurityScheme::Bearer => (prefixed(authorization, "bearer "), "an Authorization: Bearer token"),
        SecurityScheme::Basic => (prefixed(authorization, "basic "), "Authorization: Basic credentials"),
        SecurityScheme::ApiKey { location, name } => {
            let value = match location {
                ParamLocation::Header => headers.get(name.as_str()).and_then(|v| v.to_str().ok()).map(str::to_owned),
                ParamLocation::Query => query.and_then(|q| {
                    form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == name.as_str()).map(|(_, v)| v.into_owned())
                }),
                _ => headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).and_then(|c| {
                    super::params::cookie_pairs(c).into_iter().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
                }),
            };
            // Swagger 2.0 has no bearer scheme: its documents describe a bearer token as an API
            // key named Authorization, which clients send as `Bearer <token>`.
            let value = match value {
                Some(v) if name.eq_ignore_ascii_case("authorization") => Some(prefixed(&v, "bearer ").unwrap_or(v)),
                other => other,
            };
            (value.filter(|v| !v.is_empty()), "an API key")
        }
    };
    let Some(credential) = credential else { return Err(format!("{what} is required")) };
    if accepts(tokens, &credential) {
        Ok(())
    } else {
        Err(format!("{what} was sent but is not one this sandbox accepts"))
    }
}

/// Whether `presented` is one of `tokens` (any credential when there are none). Every token is
/// compared, in constant time, so timing tells nothing of how close a guess is.
pub fn accepts(tokens: &[String], presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    tokens.is_empty()
        || tokens.iter().fold(false, |found, token| found | bool::from(token.as_bytes().ct_eq(presented.as_bytes())))
}

fn prefixed(header: &str, scheme: &str) -> Option<String> {
    let head = header.get(..scheme.len())?;
    let rest = header[scheme.len()..].trim();
    (head.eq_ignore_ascii_case(scheme) && !rest.is_empty()).then(|| rest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (http::HeaderName::from_static(k), http::HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn bearer_presence_and_configured_tokens() {
        let bearer = vec![vec![SecurityScheme::Bearer]];
        assert!(check(&bearer, &headers(&[]), None, &[]).is_err_and(|e| e.detail().contains("Bearer")));
        assert!(check(&bearer, &headers(&[("authorization", "Bearer ")]), None, &[]).is_err(), "empty token");
        assert!(check(&bearer, &headers(&[("authorization", "bearer abc")]), None, &[]).is_ok());
        let tokens = ["sandbox".to_owned()];
        assert!(check(&bearer, &headers(&[("authorization", "Bearer abc")]), None, &tokens)
            .is_err_and(|e| e.detail().contains("not one")));
        assert!(check(&bearer, &headers(&[("authorization", "Bearer sandbox")]), None, &tokens).is_ok());
    }

    #[test]
    fn an_api_key_named_authorization_may_carry_the_bearer_scheme() {
        let key = vec![vec![SecurityScheme::ApiKey { location: ParamLocation::Header, name: "Authorization".into() }]];
        let tokens = ["k1".to_owned()];
        assert!(check(&key, &headers(&[("authorization", "Bearer k1")]), None, &tokens).is_ok());
        assert!(check(&key, &headers(&[("authorization", "k1")]), None, &tokens).is_ok());
        assert!(check(&key, &headers(&[("authorization", "Bearer k2")]), None, &tokens).is_err());
        let other = vec![vec![SecurityScheme::ApiKey { location: ParamLocation::Header, name: "x-key".into() }]];
        assert!(check(&other, &headers(&[("x-key", "Bearer k1")]), None, &tokens).is_err(), "only for Authorization");
    }

    #[test]
    fn alternatives_api_keys_and_anonymous() {
        let key = SecurityScheme::ApiKey { location: ParamLocation::Query, name: "key".into() };
        let either = vec![vec![SecurityScheme::Bearer], vec![key]];
        assert!(check(&either, &headers(&[]), Some("key=k1"), &[]).is_ok());
        assert!(check(&either, &headers(&[]), Some("other=1"), &[]).is_err());
        assert!(check(&[vec![SecurityScheme::Bearer], vec![]], &headers(&[]), None, &[]).is_ok(), "{{}} admits anyone");
        assert!(check(&[], &headers(&[]), None, &[]).is_ok());
    }
}
