//! Authentication: the bearer token must verify with this environment's issuer, and the path's
//! `client_id` must be the token's client.
//!
//! Runs after `route`, before `forward`. Two `Authorization` headers are a 400: a request carries
//! one credential.

use http::HeaderMap;
use pingora::Error;
use sandgate_emulator::problem::ProblemKind;

use crate::ctx::Principal;
use crate::error::reject;
use crate::token::{TokenError, TokenIssuer};

/// Verifies the request's bearer token and returns who is calling.
pub fn authenticate(headers: &HeaderMap, issuer: &TokenIssuer) -> Result<Principal, Box<Error>> {
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
    let token = match header.split_first_chunk::<7>() {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"bearer ") => rest.trim_ascii(),
        _ => return Err(reject(ProblemKind::Unauthenticated, "the Authorization header must use the Bearer scheme")),
    };
    let token = std::str::from_utf8(token).map_err(|_| reject(ProblemKind::InvalidToken, "the token is malformed"))?;
    let claims = issuer.verify_access(token).map_err(|e| match e {
        TokenError::Expired => {
            reject(ProblemKind::TokenExpired, "the access token has expired; refresh it or request a new one")
        }
        TokenError::OtherEnvironment(env) => reject(
            ProblemKind::InvalidToken,
            format!(
                "this token was issued by {}; this is {}: use a token from this environment's token endpoint",
                env.display(),
                issuer.environment().display()
            ),
        ),
        TokenError::Invalid(why) => reject(ProblemKind::InvalidToken, why),
    })?;
    Ok(Principal { client_id: claims.sub, application: claims.app, partner: claims.ptn, scopes: claims.scope })
}

/// The path's `client-id/{client_id}` must name the token's client.
pub fn check_client(path_client_id: Option<&str>, principal: &Principal) -> Result<(), Box<Error>> {
    match path_client_id {
        Some(id) if id != principal.client_id => Err(reject(
            ProblemKind::Forbidden,
            format!("the path names client_id {id}, but the token belongs to another client"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::Environment;
    use crate::error::kind_of;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(http::header::AUTHORIZATION, v.parse().expect("header"));
        }
        map
    }

    #[test]
    fn authenticate_rejections_have_distinct_kinds() {
        let training = TokenIssuer::new(Environment::Training, &[1; 32], 60);
        let production = TokenIssuer::new(Environment::Production, &[2; 32], 60);
        let token = training.mint("trn_1", "app", "ptn", "merchant").expect("mint").access_token;
        let bearer = format!("Bearer {token}");
        let cases: Vec<(Vec<&str>, &TokenIssuer, ProblemKind)> = vec![
            (vec![], &training, ProblemKind::Unauthenticated),
            (vec!["Basic dXNlcjpwYXNz"], &training, ProblemKind::Unauthenticated),
            (vec![bearer.as_str(), bearer.as_str()], &training, ProblemKind::InvalidRequest),
            (vec!["Bearer nonsense"], &training, ProblemKind::InvalidToken),
            (vec![bearer.as_str()], &production, ProblemKind::InvalidToken),
        ];
        for (values, issuer, kind) in cases {
            let err = authenticate(&headers(&values), issuer).expect_err("must fail");
            assert_eq!(kind_of(&err), kind, "{values:?}");
        }
        let principal = authenticate(&headers(&[bearer.as_str()]), &training).expect("valid");
        assert_eq!(principal.client_id, "trn_1");
        assert!(check_client(Some("trn_1"), &principal).is_ok());
        assert_eq!(
            kind_of(&check_client(Some("trn_2"), &principal).expect_err("other client")),
            ProblemKind::Forbidden
        );
    }
}
