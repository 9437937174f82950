//! Authentication: the bearer token must verify with this environment's issuer (or be in its
//! verified-token cache), its credential and application must not be revoked, and the path's
//! `client_id` must be the token's client.
//!
//! Runs after `route`, before `trust`. Two `Authorization` headers are a 400: a request carries
//! one credential. Every refusal has its own problem type.

use std::sync::Arc;

use http::HeaderMap;
use pingora::Error;
use sandgate_core::problem::ProblemKind;

use crate::directory::{AppPolicy, Directory};
use crate::error::reject;
use crate::principal::Principal;
use crate::table::scopes::Scopes;
use crate::table::EnvTables;
use crate::token::{now_secs, TokenError};

/// Verifies the request's bearer token and returns who is calling.
pub fn authenticate(headers: &HeaderMap, env: &EnvTables, scopes: &Scopes) -> Result<Arc<Principal>, Box<Error>> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let header = match (values.next(), values.next()) {
        (None, _) => {
            return Err(reject(
                ProblemKind::Unauthenticated,
                "send Authorization: Bearer <access_token>; get a token from POST /{api}/v{version}/oauth/token",
            ))
        }
        (Some(_), Some(_)) => return Err(reject(ProblemKind::InvalidRequest, "send exactly one Authorization header")),
        (Some(value), None) => value.as_bytes(),
    };
    let header = header.trim_ascii();
    let (scheme, token) = match header.iter().position(|b| *b == b' ') {
        Some(space) => (&header[..space], header[space..].trim_ascii()),
        None => (header, &b""[..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(reject(ProblemKind::Unauthenticated, "the Authorization header must use the Bearer scheme"));
    }
    if token.is_empty() {
        return Err(reject(ProblemKind::TokenMalformed, "the Bearer scheme needs a token after it"));
    }
    let now = now_secs();
    if let Some(principal) = env.token_cache.get(token, now) {
        return Ok(principal);
    }
    let text = std::str::from_utf8(token).map_err(|_| reject(ProblemKind::TokenMalformed, "the token is not a JWT"))?;
    let claims = env.issuer.verify_access(text).map_err(|e| refusal(e, env))?;
    let scope_set = scopes.parse(&claims.scope);
    let principal = Principal::new(claims.sub, claims.app, claims.ptn, claims.scope, scope_set, claims.exp)
        .ok_or_else(|| {
            reject(ProblemKind::TokenMalformed, "the token names its client with characters a header cannot carry")
        })?;
    let principal = Arc::new(principal);
    env.token_cache.put(token, Arc::clone(&principal));
    Ok(principal)
}

fn refusal(error: TokenError, env: &EnvTables) -> Box<Error> {
    match error {
        TokenError::Expired => {
            reject(ProblemKind::TokenExpired, "the access token has expired; refresh it or request a new one")
        }
        TokenError::NotYetValid => {
            reject(ProblemKind::TokenNotYetValid, "the access token is not valid yet; check the clock")
        }
        TokenError::Algorithm => reject(
            ProblemKind::TokenAlgorithmRejected,
            "the token is not signed with the algorithm of this environment's key",
        ),
        TokenError::Signature => reject(ProblemKind::TokenSignatureInvalid, "the token's signature does not verify"),
        TokenError::Audience => reject(ProblemKind::TokenWrongAudience, "the token was not issued for this gateway"),
        TokenError::OtherEnvironment(other) => reject(
            ProblemKind::TokenWrongEnvironment,
            format!(
                "this token was issued by {}; this is {}: use a token from this environment's token endpoint",
                other.to_ascii_uppercase(),
                env.env.display()
            ),
        ),
        TokenError::Malformed(why) => reject(ProblemKind::TokenMalformed, why),
    }
}

/// The principal's application, unless it or the credential has been revoked.
pub fn check_revocation(principal: &Principal, directory: &Directory) -> Result<Arc<AppPolicy>, Box<Error>> {
    if directory.credential_revoked(&principal.client_id) {
        return Err(reject(ProblemKind::TokenRevoked, "this credential has been revoked"));
    }
    match directory.app(&principal.application) {
        Some(app) if app.active => Ok(app),
        _ => Err(reject(ProblemKind::TokenRevoked, "this application has been revoked")),
    }
}

/// The path's `client-id/{client_id}` must name the token's client.
pub fn check_client(path_client_id: Option<&str>, principal: &Principal) -> Result<(), Box<Error>> {
    match path_client_id {
        Some(id) if id != principal.client_id => Err(reject(
            ProblemKind::Forbidden,
            "the path's client_id is not the client of this token; use your own client_id",
        )),
        _ => Ok(()),
    }
}
