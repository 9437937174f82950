//! Bearer tokens: minting and verifying, one issuer and signing key per environment.
//!
//! Tokens are JWTs signed with HS256; the algorithm is pinned, so `alg: none` or any other
//! algorithm fails. The issuer names the environment (`sandgate/training`), so a token of one
//! environment never verifies at another, and the error says which environment it belongs to.
//! The token endpoint itself is a phase: `crate::phase::token`.

pub mod cache;
pub mod throttle;

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use sandgate_core::environment::Environment;

/// The audience every Sandgate token carries.
pub const AUDIENCE: &str = "sandgate";

/// What a token says about its holder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer: `sandgate/<environment>`.
    pub iss: String,
    /// Subject: the client id.
    pub sub: String,
    /// Audience: [`AUDIENCE`].
    pub aud: String,
    /// Expiry (Unix seconds).
    pub exp: u64,
    /// Not before (Unix seconds).
    pub nbf: u64,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Unique token id.
    pub jti: String,
    /// `access` or `refresh`.
    pub typ: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The application.
    pub app: String,
    /// The partner.
    pub ptn: String,
    /// Refresh tokens: the credential's secret generation they were minted under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gen: Option<i64>,
    /// Refresh tokens: the chain they belong to (see `store::refresh`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chn: Option<String>,
}

/// Why a token was refused. Each maps to its own problem type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not a JWT of ours, or the wrong kind of token (refresh vs access).
    Malformed(&'static str),
    /// Signed with another algorithm than HS256 (`none` included).
    Algorithm,
    /// The signature does not verify.
    Signature,
    /// Signed for another environment (its name).
    OtherEnvironment(String),
    /// Another issuer or audience.
    Audience,
    /// Past `exp`.
    Expired,
    /// Before `nbf`.
    NotYetValid,
}

/// A freshly minted access + refresh pair.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The bearer token.
    pub access_token: String,
    /// The token for `grant_type=refresh_token`; valid as long as the access token.
    pub refresh_token: String,
    /// Lifetime of both, in seconds.
    pub expires_in: u64,
    /// The refresh token's `jti`, the value its chain remembers.
    pub refresh_jti: String,
    /// When both expire (Unix seconds).
    pub expires_at: u64,
}

/// Whom a token pair is for.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    /// The client id.
    pub client_id: &'a str,
    /// Its application.
    pub app: &'a str,
    /// Its partner.
    pub partner: &'a str,
    /// The scope granted.
    pub scope: &'a str,
    /// The secret generation the client proved (bound into the refresh token).
    pub generation: i64,
    /// The refresh chain the pair continues.
    pub chain: &'a str,
}

/// Mints and verifies the tokens of one environment.
pub struct TokenIssuer {
    env: Environment,
    issuer: String,
    ttl_secs: u64,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Names of the configured environments: only these are named back to a caller whose token
    /// claims another issuer (an unverified claim is never echoed as it came).
    known: Vec<String>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer").field("env", &self.env).field("ttl_secs", &self.ttl_secs).finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer for `env` signing with `key`; tokens live `ttl_secs`.
    pub fn new(env: Environment, key: &[u8; 32], ttl_secs: u64) -> TokenIssuer {
        let issuer = format!("sandgate/{}", env.as_str());
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 0;
        TokenIssuer {
            env,
            issuer,
            ttl_secs,
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            known: Vec::new(),
        }
    }

    /// The issuer, told the names of every configured environment.
    pub fn knowing(mut self, environments: impl IntoIterator<Item = Environment>) -> TokenIssuer {
        self.known = environments.into_iter().map(|env| env.as_str().to_owned()).collect();
        self
    }

    /// The environment this issuer serves.
    pub fn environment(&self) -> Environment {
        self.env
    }

    /// Mints an access and a refresh token for `grant`.
    pub fn mint(&self, grant: &Grant<'_>) -> Result<TokenPair, jsonwebtoken::errors::Error> {
        let now = now_secs();
        let claims = |typ: &str| Claims {
            iss: self.issuer.clone(),
            sub: grant.client_id.to_owned(),
            aud: AUDIENCE.to_owned(),
            exp: now + self.ttl_secs,
            nbf: now,
            iat: now,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            typ: typ.to_owned(),
            scope: grant.scope.to_owned(),
            app: grant.app.to_owned(),
            ptn: grant.partner.to_owned(),
            gen: (typ == "refresh").then_some(grant.generation),
            chn: (typ == "refresh").then(|| grant.chain.to_owned()),
        };
        let header = Header::new(Algorithm::HS256);
        let refresh = claims("refresh");
        Ok(TokenPair {
            access_token: jsonwebtoken::encode(&header, &claims("access"), &self.encoding)?,
            refresh_token: jsonwebtoken::encode(&header, &refresh, &self.encoding)?,
            expires_in: self.ttl_secs,
            refresh_jti: refresh.jti,
            expires_at: refresh.exp,
        })
    }

    /// Verifies a bearer token.
    pub fn verify_access(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify(token, "access")
    }

    /// Verifies a refresh token.
    pub fn verify_refresh(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify(token, "refresh")
    }

    fn verify(&self, token: &str, typ: &'static str) -> Result<Claims, TokenError> {
        // The algorithm is pinned before anything else looks at the token.
        match header_algorithm(token) {
            Some(alg) if alg == "HS256" => {}
            Some(_) => return Err(TokenError::Algorithm),
            None => return Err(TokenError::Malformed("the token is not a JWT")),
        }
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            // `exp` is the first second a token is no longer valid (RFC 7519 §4.1.4: "on or
            // after"); jsonwebtoken still accepts it during that second.
            Ok(data) if data.claims.exp <= now_secs() => Err(TokenError::Expired),
            Ok(data) if data.claims.typ == typ => Ok(data.claims),
            Ok(_) if typ == "access" => Err(TokenError::Malformed("a refresh token cannot be used as a bearer token")),
            Ok(_) => Err(TokenError::Malformed("an access token cannot be used as a refresh token")),
            Err(e) => Err(match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidSignature | ErrorKind::InvalidIssuer => match claimed_environment(token) {
                    Some(other) if other != self.env.as_str() && self.known.contains(&other) => {
                        TokenError::OtherEnvironment(other)
                    }
                    _ if *e.kind() == ErrorKind::InvalidIssuer => TokenError::Audience,
                    _ => TokenError::Signature,
                },
                ErrorKind::InvalidAudience => TokenError::Audience,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::Algorithm,
                ErrorKind::MissingRequiredClaim(_) => TokenError::Malformed("the token lacks a required claim"),
                _ => TokenError::Malformed("the token is malformed"),
            }),
        }
    }
}

/// The `alg` of a token's (unverified) header.
fn header_algorithm(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

/// Reads the (unverified) issuer of a token, only to tell the caller which environment it is from.
fn claimed_environment(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("iss")?.as_str()?.strip_prefix("sandgate/").map(str::to_owned)
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(env: Environment, key: u8) -> TokenIssuer {
        TokenIssuer::new(env, &[key; 32], 1200)
    }

    fn grant(scope: &str) -> Grant<'_> {
        Grant { client_id: "trn_abc", app: "app_1", partner: "ptn_1", scope, generation: 0, chain: "c" }
    }

    #[test]
    fn mint_then_verify_round_trips_claims() {
        let training = issuer(Environment::TRAINING, 1);
        let pair = training.mint(&grant("merchant")).expect("mint");
        let claims = training.verify_access(&pair.access_token).expect("valid");
        assert_eq!(claims.sub, "trn_abc");
        assert_eq!(claims.scope, "merchant");
        assert_eq!(claims.exp - claims.iat, 1200);
        let refresh = training.verify_refresh(&pair.refresh_token).expect("refresh");
        assert_eq!(
            (refresh.gen, refresh.chn.as_deref(), refresh.jti.as_str()),
            (Some(0), Some("c"), pair.refresh_jti.as_str())
        );
        assert_eq!(claims.gen, None, "access tokens carry no chain");
        assert!(matches!(training.verify_access(&pair.refresh_token), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn verify_token_of_other_environment_names_it() {
        let training = issuer(Environment::TRAINING, 1);
        let production = issuer(Environment::PRODUCTION, 2).knowing([Environment::TRAINING, Environment::PRODUCTION]);
        let pair = training.mint(&grant("merchant")).expect("mint");
        assert_eq!(production.verify_access(&pair.access_token), Err(TokenError::OtherEnvironment("training".into())));
        let evil = TokenIssuer::new(Environment::new("evil-<script>", "evl"), &[1; 32], 60);
        let forged = evil.mint(&grant("merchant")).expect("mint");
        assert_eq!(production.verify_access(&forged.access_token), Err(TokenError::Signature), "never echoed");
    }

    #[test]
    fn verify_alg_none_and_garbage_are_invalid() {
        let training = issuer(Environment::TRAINING, 1);
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"iss":"sandgate/training","sub":"x","aud":"sandgate","exp":99999999999,"nbf":0,"iat":0,"jti":"j","typ":"access","scope":"merchant","app":"a","ptn":"p"}"#);
        assert_eq!(training.verify_access(&format!("{header}.{body}.")), Err(TokenError::Algorithm));
        assert!(matches!(training.verify_access("not-a-token"), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn verify_expired_token_is_expired() {
        let training = issuer(Environment::TRAINING, 1);
        let pair = training.mint(&grant("merchant")).expect("mint");
        let mut claims = training.verify_access(&pair.access_token).expect("valid");
        claims.nbf -= 100;
        claims.exp = claims.nbf + 10;
        let expired =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&[1; 32]))
                .expect("encode");
        assert_eq!(training.verify_access(&expired), Err(TokenError::Expired));
        claims.exp = now_secs();
        let expiring =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&[1; 32]))
                .expect("encode");
        assert_eq!(training.verify_access(&expiring), Err(TokenError::Expired), "refused during its exp second");
    }
}
