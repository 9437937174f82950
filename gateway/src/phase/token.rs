//! The token endpoint, `POST /{api}/v{version}/oauth/token`, form-encoded as the reference API.
//!
//! Grants: `client_credentials` (client id and secret in the body or in HTTP Basic) and
//! `refresh_token`: single-use (each refresh returns the next one; a replay revokes the chain),
//! valid as long as the access token minted with it, bound to the secret it was minted under (a
//! rotation ends it after the grace period), and re-checked against the application's scopes.
//! The scopes a client may ask for, and the default, are the `scope` field's `enum` and `default`
//! in the API's own spec. Errors are problem+json that also carry the OAuth-style `error` /
//! `error_description` (and the reference API's `code`), as the POS spec documents.
//! Runs on a blocking thread: it reads the store.

use base64::Engine;
use serde_json::{json, Map, Value};

use std::net::IpAddr;

use crate::directory::Directory;
use crate::table::scopes::TokenScopes;
use crate::token::throttle::FailureThrottle;
use crate::token::{Grant, TokenError, TokenIssuer, TokenPair};
use sandgate_core::environment::{Environment, Environments};
use sandgate_core::problem::{problem_body, ProblemKind, PROBLEM_JSON};
use sandgate_core::secret::SecretHash;
use sandgate_store::{ChainStep, Store, WhenFull};

/// The token endpoint's inputs, already read off the wire.
#[derive(Debug)]
pub struct TokenRequest<'a> {
    /// `Content-Type` header value, if any.
    pub content_type: Option<&'a str>,
    /// `Authorization` header value, if any.
    pub authorization: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
    /// The request id, echoed as `instance` in errors.
    pub request_id: &'a str,
}

/// The endpoint's answer: status, content type and body.
#[derive(Debug)]
pub struct TokenAnswer {
    /// HTTP status.
    pub status: u16,
    /// `application/json` on success, `application/problem+json` on error.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// The client id the request was for, when known (for the access log).
    pub client_id: Option<String>,
    /// Seconds to wait before retrying (throttled requests).
    pub retry_after: Option<u64>,
}

/// What the endpoint needs from the gateway.
#[derive(Debug, Clone, Copy)]
pub struct TokenContext<'a> {
    /// The environment of the listener.
    pub env: Environment,
    /// Every configured environment (to name the one a wrong credential belongs to).
    pub environments: &'a Environments,
    /// The store holding credentials.
    pub store: &'a Store,
    /// Hashes secrets for comparison.
    pub hasher: &'a SecretHash,
    /// This environment's issuer.
    pub issuer: &'a TokenIssuer,
    /// The scopes this API version's tokens may carry (from its spec).
    pub scopes: &'a TokenScopes,
    /// Applications (trust lists) and revocations.
    pub directory: &'a Directory,
    /// Failed-attempt throttle.
    pub throttle: &'a FailureThrottle,
    /// The resolved client address.
    pub client_addr: IpAddr,
    /// The `Origin` (else `Referer`) header, for trust URLs.
    pub origin: Option<&'a [u8]>,
}

/// Answers one token request.
pub fn handle(cx: TokenContext<'_>, req: &TokenRequest<'_>) -> TokenAnswer {
    match grant(cx, req) {
        Ok((body, client_id)) => TokenAnswer {
            status: 200,
            content_type: "application/json",
            body: serde_json::to_vec(&body).unwrap_or_default(),
            client_id: Some(client_id),
            retry_after: None,
        },
        Err(failure) => failure.answer(req.request_id),
    }
}

struct Failure {
    kind: ProblemKind,
    oauth_error: &'static str,
    detail: String,
    client_id: Option<String>,
    retry_after: Option<u64>,
}

impl Failure {
    fn new(kind: ProblemKind, oauth_error: &'static str, detail: impl Into<String>) -> Failure {
        Failure { kind, oauth_error, detail: detail.into(), client_id: None, retry_after: None }
    }

    fn answer(self, request_id: &str) -> TokenAnswer {
        let mut extra = Map::new();
        extra.insert("code".into(), json!(self.kind.status()));
        extra.insert("error".into(), json!(self.oauth_error));
        extra.insert("error_description".into(), json!(self.detail));
        TokenAnswer {
            status: self.kind.status(),
            content_type: PROBLEM_JSON,
            body: problem_body(self.kind, &self.detail, Some(request_id), Some(extra)),
            client_id: self.client_id,
            retry_after: self.retry_after,
        }
    }
}

fn invalid_request(detail: impl Into<String>) -> Failure {
    Failure::new(ProblemKind::InvalidTokenRequest, "invalid_request", detail)
}

/// The store failed: logged, and answered 500 without its text.
fn store_unavailable(error: sandgate_store::StoreError) -> Failure {
    tracing::error!(error = %error, "store failure at the token endpoint");
    Failure::new(ProblemKind::Internal, "server_error", "the credential store is unavailable; try again")
}

/// A 429 that says when to retry.
fn throttled(detail: String, wait: u64) -> Failure {
    let mut failure = Failure::new(ProblemKind::TokenRequestsThrottled, "slow_down", detail);
    failure.retry_after = Some(wait);
    failure
}

fn invalid_client(detail: impl Into<String>) -> Failure {
    Failure::new(ProblemKind::InvalidClient, "invalid_client", detail)
}

fn grant(cx: TokenContext<'_>, req: &TokenRequest<'_>) -> Result<(Value, String), Failure> {
    let media = req.content_type.and_then(|c| c.split(';').next()).map(str::trim);
    if !media.is_some_and(|m| m.eq_ignore_ascii_case("application/x-www-form-urlencoded")) {
        return Err(invalid_request(
            "send the token request as application/x-www-form-urlencoded (e.g. curl -d grant_type=client_credentials -d client_id=… -d client_secret=…)",
        ));
    }
    let mut form: Vec<(String, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(req.body) {
        if form.iter().any(|(k, _)| *k == key) {
            return Err(invalid_request(format!("the field {key} is sent twice")));
        }
        form.push((key.into_owned(), value.into_owned()));
    }
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let scope = field("scope").or(cx.scopes.default.as_deref()).unwrap_or_default();
    if !cx.scopes.names.iter().any(|s| s == scope) {
        let detail = match scope {
            "" => format!("name a scope: one of {}", cx.scopes.names.join(", ")),
            _ => format!("scope must be one of {}; got {scope:?}", cx.scopes.names.join(", ")),
        };
        let mut failure = invalid_request(detail);
        failure.oauth_error = "invalid_scope";
        return Err(failure);
    }
    match field("grant_type").unwrap_or("client_credentials") {
        "client_credentials" => client_credentials(cx, req, field("client_id"), field("client_secret"), scope),
        "refresh_token" => {
            let token = field("refresh_token")
                .ok_or_else(|| invalid_request("grant_type=refresh_token needs the field refresh_token"))?;
            refresh(cx, token, field("scope"))
        }
        other => {
            let mut failure =
                invalid_request(format!("grant_type must be client_credentials or refresh_token; got {other:?}"));
            failure.oauth_error = "unsupported_grant_type";
            Err(failure)
        }
    }
}

fn client_credentials(
    cx: TokenContext<'_>,
    req: &TokenRequest<'_>,
    body_id: Option<&str>,
    body_secret: Option<&str>,
    scope: &str,
) -> Result<(Value, String), Failure> {
    let basic = match req.authorization {
        Some(header) => Some(parse_basic(header).ok_or_else(|| {
            invalid_request("the Authorization header must be HTTP Basic with client_id:client_secret, or absent")
        })?),
        None => None,
    };
    let (client_id, secret) = match (basic, body_id.or(body_secret)) {
        (Some(_), Some(_)) => {
            return Err(invalid_request("send the client credentials once: in the body or in HTTP Basic, not both"))
        }
        (Some((id, secret)), None) => (id, secret),
        (None, _) => (
            body_id.ok_or_else(|| invalid_client("the field client_id is missing"))?.to_owned(),
            body_secret.ok_or_else(|| invalid_client("the field client_secret is missing"))?.to_owned(),
        ),
    };
    if let Some(other) = cx.environments.of_credential(&client_id).filter(|env| *env != cx.env) {
        return Err(with_client(
            invalid_client(format!(
                "this client_id is a {} credential; this is the {} endpoint",
                other.display(),
                cx.env.display()
            )),
            &client_id,
        ));
    }
    let record = cx.store.credential(&client_id).map_err(store_unavailable)?;
    // Hash the secret even for an unknown client, so timing does not reveal which ids exist.
    let stored = record.as_ref().map(|r| r.secret_hash.as_slice()).unwrap_or(&[0u8; 32]);
    // During a rotation's grace period the previous secret works too; both are always checked so
    // timing does not tell which one matched.
    let previous = record.as_ref().and_then(|r| r.previous_secret_hash.as_deref()).unwrap_or(&[0u8; 32]);
    let (current_ok, previous_ok) = (cx.hasher.verify(&secret, stored), cx.hasher.verify(&secret, previous));
    let record = match record {
        Some(r) if r.environment == cx.env.as_str() => r,
        _ => return Err(wrong_secret(cx, &client_id)),
    };
    // The trust list first, whatever the secret: an untrusted address gets the same 403 for a
    // right and a wrong secret, so it cannot use the endpoint as an oracle.
    check_trust(cx, &record.application_id, &client_id)?;
    if !(current_ok | previous_ok) {
        audit(cx, &record, "token.denied", json!({"reason": "wrong secret", "environment": cx.env.as_str()}));
        return Err(wrong_secret(cx, &client_id));
    }
    if !record.active {
        audit(cx, &record, "token.denied", json!({"reason": "revoked", "environment": cx.env.as_str()}));
        return Err(with_client(invalid_client("this credential or its application has been revoked"), &client_id));
    }
    if !record.scopes.iter().any(|s| s == scope) {
        let mut failure = invalid_request(format!("this application may not request scope {scope:?}"));
        failure.oauth_error = "invalid_scope";
        return Err(with_client(failure, &client_id));
    }
    // A token proven with the previous secret (during a rotation's grace) belongs to the previous
    // generation: its refresh token dies with that secret.
    let generation = if current_ok { record.generation } else { record.generation - 1 };
    let chain = uuid::Uuid::new_v4().simple().to_string();
    let grant = Grant {
        client_id: &record.client_id,
        app: &record.application_id,
        partner: &record.partner_id,
        scope,
        generation,
        chain: &chain,
    };
    let (body, pair) = mint(cx, &grant)?;
    cx.store
        .start_refresh_chain(&chain, &record.client_id, &pair.refresh_jti, pair.expires_at)
        .map_err(store_unavailable)?;
    audit(
        cx,
        &record,
        "token.minted",
        json!({"grant": "client_credentials", "scope": scope, "environment": cx.env.as_str()}),
    );
    Ok((body, record.client_id))
}

/// A wrong secret (or unknown client id): counted against the sending address, which is
/// answered 429 once it has guessed too often. The claimed client is never blocked.
fn wrong_secret(cx: TokenContext<'_>, client_id: &str) -> Failure {
    let failure = match cx.throttle.record_failure(cx.client_addr) {
        Some(wait) => throttled(format!("too many wrong client secrets from this address; retry in {wait} s"), wait),
        None => invalid_client("client_id or client_secret is wrong"),
    };
    with_client(failure, client_id)
}

/// Queues a token event for the application's activity log (written off this thread).
fn audit(cx: TokenContext<'_>, record: &sandgate_store::CredentialRecord, event: &'static str, details: Value) {
    let actor = format!("client:{}", record.client_id);
    cx.store.record_event_queued(
        WhenFull::Wait,
        actor,
        Some(&record.partner_id),
        Some(&record.application_id),
        event,
        details,
    );
}

fn refresh(cx: TokenContext<'_>, token: &str, scope: Option<&str>) -> Result<(Value, String), Failure> {
    let invalid_grant = |detail: String| {
        let mut failure = invalid_request(detail);
        failure.oauth_error = "invalid_grant";
        failure
    };
    let claims = cx.issuer.verify_refresh(token).map_err(|e| {
        invalid_grant(match e {
            TokenError::Expired => {
                "the refresh token has expired; request a new token with client_credentials".to_owned()
            }
            TokenError::OtherEnvironment(env) => {
                format!("the refresh token belongs to {}; this is {}", env.to_ascii_uppercase(), cx.env.display())
            }
            other => format!("the refresh token is not valid ({other:?})"),
        })
    })?;
    let record = cx.store.credential(&claims.sub).map_err(store_unavailable)?;
    let Some(record) = record.filter(|r| r.active) else {
        return Err(with_client(invalid_client("this credential or its application has been revoked"), &claims.sub));
    };
    check_trust(cx, &claims.app, &claims.sub)?;
    // Bound to the secret it was minted under: a rotation ends it once the grace period is over.
    let generation = claims.gen.unwrap_or(-1);
    let live = generation == record.generation
        || (generation == record.generation - 1 && record.previous_secret_hash.is_some());
    if !live {
        return Err(with_client(
            invalid_grant("the client secret was rotated since this refresh token was minted; request a new token with client_credentials".into()),
            &claims.sub,
        ));
    }
    let scope = scope.unwrap_or(&claims.scope);
    if scope != claims.scope {
        let mut failure = invalid_request("a refresh cannot change the token's scope");
        failure.oauth_error = "invalid_scope";
        return Err(failure);
    }
    // The application may have lost the scope since (an edit, a review): it is checked again.
    if !record.scopes.iter().any(|s| s == scope) {
        let mut failure = invalid_request(format!("this application may no longer request scope {scope:?}"));
        failure.oauth_error = "invalid_scope";
        return Err(with_client(failure, &claims.sub));
    }
    let Some(chain) = claims.chn.as_deref() else {
        return Err(invalid_grant(
            "this refresh token predates single-use refresh tokens; request a new token with client_credentials".into(),
        ));
    };
    let grant = Grant { client_id: &claims.sub, app: &claims.app, partner: &claims.ptn, scope, generation, chain };
    let (body, pair) = mint(cx, &grant)?;
    match cx
        .store
        .advance_refresh_chain(chain, &claims.jti, &pair.refresh_jti, pair.expires_at)
        .map_err(store_unavailable)?
    {
        ChainStep::Advanced => Ok((body, claims.sub)),
        ChainStep::Reused => {
            let details = json!({"reason": "refresh token reused; chain revoked", "environment": cx.env.as_str()});
            audit(cx, &record, "token.denied", details);
            Err(with_client(
                invalid_grant("this refresh token was already used; its whole chain is now revoked (a refresh token works once). Request a new token with client_credentials".into()),
                &claims.sub,
            ))
        }
        ChainStep::Unknown => Err(with_client(
            invalid_grant(
                "this refresh token's chain was revoked or has expired; request a new token with client_credentials"
                    .into(),
            ),
            &claims.sub,
        )),
    }
}

/// Signs a pair for `grant`, within the client's mint budget.
fn mint(cx: TokenContext<'_>, grant: &Grant<'_>) -> Result<(Value, TokenPair), Failure> {
    if let Err(wait) = cx.throttle.admit_mint(grant.client_id) {
        let detail = format!(
            "this client has requested too many tokens; reuse its token until it expires (expires_in), or retry in {wait} s"
        );
        return Err(with_client(throttled(detail, wait), grant.client_id));
    }
    let pair = cx.issuer.mint(grant).map_err(|e| {
        tracing::error!(error = %e, "token signing failed");
        Failure::new(ProblemKind::Internal, "server_error", "the token could not be signed")
    })?;
    let body = json!({
        "token_type": "bearer",
        "access_token": pair.access_token,
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
        "scope": grant.scope,
    });
    Ok((body, pair))
}

/// The trust list applies at the token endpoint too: no token for an untrusted address.
fn check_trust(cx: TokenContext<'_>, application: &str, client_id: &str) -> Result<(), Failure> {
    let trust = cx.directory.app(application).map(|app| app.trust.clone()).unwrap_or_default();
    super::trust::check(&trust, cx.client_addr, cx.origin).map_err(|e| {
        let detail = e.context.as_ref().map_or("not on the trust list", |c| c.as_str()).to_owned();
        with_client(Failure::new(ProblemKind::UntrustedClient, "access_denied", detail), client_id)
    })
}

fn with_client(mut failure: Failure, client_id: &str) -> Failure {
    failure.client_id = Some(client_id.to_owned());
    failure
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((decode(id)?, decode(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_basic_reads_urlencoded_id_and_secret() {
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("trn_a:s%3Ak"));
        assert_eq!(parse_basic(&header), Some(("trn_a".into(), "s:k".into())));
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
    }
}
