//! Bearer tokens: minting and verifying, one issuer and signing key per environment.
//!
//! Tokens are JWTs signed with HS256 (default) or EdDSA (`token.algorithm: eddsa`), with the
//! signing key's id in the header (`kid`). Each key pins its algorithm: a token is verified only
//! by the key its `kid` names and only under that key's algorithm, so `alg: none`, an HS256 token
//! forged with a published Ed25519 key, or any other algorithm fails. Retired keys verify until
//! their tokens expire (`sandgate_store::signing`), so a rotation logs nobody out. The issuer
//! names the environment (`sandgate/training`), so a token of one environment never verifies at
//! another, and the error says which environment it belongs to.
//! The token endpoint itself is a phase: `crate::phase::token`.

pub mod cache;
pub mod crypto;
pub mod introspect;
pub mod throttle;

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use sandgate_core::environment::Environment;
use sandgate_store::signing::{KeySet, Material, SigningKey};

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
    /// Signed with another algorithm than its key's (`none` included).
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

/// A key that verifies: its id, its algorithm (pinned), and the check.
struct Verifier {
    kid: String,
    algorithm: Algorithm,
    key: DecodingKey,
    validation: Validation,
    /// The Ed25519 public key (published in the JWKS); `None` for HMAC keys.
    public: Option<[u8; 32]>,
}

/// Mints and verifies the tokens of one environment.
pub struct TokenIssuer {
    env: Environment,
    issuer: String,
    ttl_secs: u64,
    /// The current key's id, algorithm and signing key.
    signer: (String, Algorithm, EncodingKey),
    /// The current key first, then the retired ones.
    verifiers: Vec<Verifier>,
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
    /// An issuer for `env` signing with the HMAC `key` alone; tokens live `ttl_secs`.
    pub fn new(env: Environment, key: &[u8; 32], ttl_secs: u64) -> TokenIssuer {
        TokenIssuer::with_keys(env, &KeySet::single_hmac(*key), ttl_secs)
    }

    /// An issuer for `env` signing with the current key of `keys` and verifying with all of
    /// them; tokens live `ttl_secs`.
    pub fn with_keys(env: Environment, keys: &KeySet, ttl_secs: u64) -> TokenIssuer {
        crypto::install();
        let issuer = format!("sandgate/{}", env.as_str());
        let verifier = |key: &SigningKey| {
            let (algorithm, decoding, public) = match &key.material {
                Material::Hmac(secret) => (Algorithm::HS256, DecodingKey::from_secret(secret), None),
                Material::Ed25519 { public, .. } => (Algorithm::EdDSA, DecodingKey::from_ed_der(public), Some(*public)),
            };
            let mut validation = Validation::new(algorithm);
            validation.algorithms = vec![algorithm];
            validation.set_issuer(&[issuer.as_str()]);
            validation.set_audience(&[AUDIENCE]);
            validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
            validation.validate_nbf = true;
            validation.leeway = 0;
            Verifier { kid: key.kid.clone(), algorithm, key: decoding, validation, public }
        };
        let verifiers = std::iter::once(&keys.current).chain(&keys.retired).map(verifier).collect();
        let signer = match &keys.current.material {
            Material::Hmac(secret) => (Algorithm::HS256, EncodingKey::from_secret(secret)),
            Material::Ed25519 { pkcs8, .. } => (Algorithm::EdDSA, EncodingKey::from_ed_der(pkcs8)),
        };
        TokenIssuer {
            env,
            issuer,
            ttl_secs,
            signer: (keys.current.kid.clone(), signer.0, signer.1),
            verifiers,
            known: Vec::new(),
        }
    }

    /// The id of the key that signs.
    pub fn current_kid(&self) -> &str {
        &self.signer.0
    }

    /// The public keys of this environment as a JSON Web Key Set (RFC 7517): the Ed25519 keys,
    /// current and retired; none for HS256, whose keys are secret.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .verifiers
            .iter()
            .filter_map(|v| {
                let public = v.public?;
                Some(serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public),
                    "kid": v.kid,
                    "alg": "EdDSA",
                    "use": "sig",
                }))
            })
            .collect();
        serde_json::json!({ "keys": keys })
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
        let (kid, algorithm, key) = &self.signer;
        let mut header = Header::new(*algorithm);
        header.kid = Some(kid.clone());
        let refresh = claims("refresh");
        Ok(TokenPair {
            access_token: jsonwebtoken::encode(&header, &claims("access"), key)?,
            refresh_token: jsonwebtoken::encode(&header, &refresh, key)?,
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
        // The key is chosen by its id, and its algorithm pinned, before anything else looks at
        // the token. Tokens minted before key ids carry none: the current key is theirs.
        let Some((alg, kid)) = header_fields(token) else {
            return Err(TokenError::Malformed("the token is not a JWT"));
        };
        let verifier = match &kid {
            Some(kid) => self.verifiers.iter().find(|v| &v.kid == kid),
            None => self.verifiers.first(),
        };
        let Some(verifier) = verifier else {
            // A key this environment never held, or retired so long ago its tokens expired.
            return Err(match claimed_environment(token) {
                Some(other) if other != self.env.as_str() && self.known.contains(&other) => {
                    TokenError::OtherEnvironment(other)
                }
                _ => TokenError::Signature,
            });
        };
        if alg != algorithm_name(verifier.algorithm) {
            return Err(TokenError::Algorithm);
        }
        match jsonwebtoken::decode::<Claims>(token, &verifier.key, &verifier.validation) {
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

/// The `alg` and `kid` of a token's (unverified) header.
fn header_fields(token: &str) -> Option<(String, Option<String>)> {
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let alg = value.get("alg")?.as_str()?.to_owned();
    Some((alg, value.get("kid").and_then(|k| k.as_str()).map(str::to_owned)))
}

/// The `alg` header value of `algorithm`.
fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::EdDSA => "EdDSA",
        _ => "HS256",
    }
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

    fn keys(algorithm: sandgate_store::signing::Algorithm) -> (tempfile::TempDir, KeySet) {
        let dir = tempfile::tempdir().expect("dir");
        let set =
            sandgate_store::signing::load(dir.path(), Environment::PRODUCTION, algorithm, 1200, 1_000).expect("keys");
        (dir, set)
    }

    #[test]
    fn a_rotated_key_still_verifies_its_tokens_and_signs_no_more() {
        let (dir, old_set) = keys(sandgate_store::signing::Algorithm::Hs256);
        let before = TokenIssuer::with_keys(Environment::PRODUCTION, &old_set, 1200);
        let old_token = before.mint(&grant("merchant")).expect("mint").access_token;
        let now = chrono::Utc::now().timestamp();
        let algorithm = sandgate_store::signing::Algorithm::Hs256;
        sandgate_store::signing::rotate(dir.path(), Environment::PRODUCTION, algorithm, 1200, now).expect("rotate");
        let set =
            sandgate_store::signing::load(dir.path(), Environment::PRODUCTION, algorithm, 1200, now).expect("load");
        let after = TokenIssuer::with_keys(Environment::PRODUCTION, &set, 1200);
        assert!(after.verify_access(&old_token).is_ok(), "a token of the retired key still verifies");
        let new_token = after.mint(&grant("merchant")).expect("mint").access_token;
        assert_eq!(header_fields(&new_token).and_then(|(_, kid)| kid).as_deref(), Some(after.current_kid()));
        assert_ne!(after.current_kid(), before.current_kid());
        assert_eq!(before.verify_access(&new_token), Err(TokenError::Signature), "an unknown key id");
    }

    #[test]
    fn eddsa_tokens_verify_with_the_published_key_and_pin_their_algorithm() {
        let (_dir, set) = keys(sandgate_store::signing::Algorithm::EdDsa);
        let issuer = TokenIssuer::with_keys(Environment::PRODUCTION, &set, 1200);
        let token = issuer.mint(&grant("merchant")).expect("mint").access_token;
        assert!(issuer.verify_access(&token).is_ok());
        // What a backend does with the JWKS: verify without any secret.
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(issuer.jwks()).expect("a JWK set");
        let jwk = jwks.find(issuer.current_kid()).expect("the current key is published");
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        let decoded = jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_jwk(jwk).expect("key"), &validation);
        assert_eq!(decoded.expect("verifies").claims.sub, "trn_abc");
        // The classic confusion: an HS256 token keyed with the public key, under the same kid.
        let public = match &set.current.material {
            Material::Ed25519 { public, .. } => *public,
            Material::Hmac(_) => panic!("an Ed25519 key"),
        };
        let mut claims = issuer.verify_access(&token).expect("claims");
        claims.scope = "merchant customer".into();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(issuer.current_kid().to_owned());
        let forged = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&public)).expect("encode");
        assert_eq!(issuer.verify_access(&forged), Err(TokenError::Algorithm));
        let hs256 = TokenIssuer::new(Environment::PRODUCTION, &[3; 32], 1200);
        assert_eq!(hs256.jwks(), serde_json::json!({"keys": []}), "HMAC keys are never published");
    }
}
