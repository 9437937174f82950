//! Token keys as an operator runs them: every token names its key (`kid`); with
//! `token.algorithm: eddsa` each environment publishes its public keys at
//! `/.well-known/jwks.json` and a backend verifies a partner's token with them alone; `sandgate
//! keys rotate` plus a reload signs with a new key while tokens of the old one keep working; the
//! admin listener's `POST /introspect` (RFC 7662) says whether a token is active, and stops
//! saying so once its credential is revoked.

use sandgate_testkit as common;

use common::TestSandgate;
use serde_json::Value;

fn introspect(sandgate: &TestSandgate, operator: &str, token: &str) -> Value {
    let answer = common::http()
        .post(format!("{}/introspect", sandgate.admin))
        .bearer_auth(operator)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(token))
        .send()
        .expect("introspect");
    assert_eq!(answer.status(), 200);
    answer.json().expect("json")
}

fn form(token: &str) -> String {
    form_urlencoded::Serializer::new(String::new()).append_pair("token", token).finish()
}

fn kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().expect("a JWT");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).expect("base64");
    serde_json::from_slice::<Value>(&header).expect("json")["kid"].as_str().expect("a kid").to_owned()
}

#[test]
fn a_backend_verifies_eddsa_tokens_with_the_published_keys_across_a_rotation() {
    // From a file, so the reload below re-reads the same configuration.
    let config = common::temp_dir("eddsa");
    let file = config.path().join("sandgate.yaml");
    std::fs::write(&file, "sandgate:\n  token: {algorithm: eddsa}\n").expect("config");
    let sandgate = TestSandgate::start_with_file(&file);
    let (id, secret) = (&sandgate.production_client_id, &sandgate.production_client_secret);
    let token = common::access_token(&sandgate.production, id, secret);
    let jwks = || -> jsonwebtoken::jwk::JwkSet {
        let answer = common::http().get(format!("{}/.well-known/jwks.json", sandgate.production)).send().expect("jwks");
        assert_eq!(answer.status(), 200);
        answer.json().expect("a JWK set")
    };
    let backend_verifies = |token: &str, keys: &jsonwebtoken::jwk::JwkSet| {
        let Some(jwk) = keys.find(&kid(token)) else { return Err("the token's key is not published".to_owned()) };
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.set_audience(&["sandgate"]);
        validation.set_issuer(&["sandgate/production"]);
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key");
        jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map(|t| t.claims["sub"].clone())
            .map_err(|e| e.to_string())
    };
    assert_eq!(backend_verifies(&token, &jwks()).expect("verifies"), id.as_str());
    let training_keys: jsonwebtoken::jwk::JwkSet = common::http()
        .get(format!("{}/.well-known/jwks.json", sandgate.training))
        .send()
        .and_then(|r| r.json())
        .expect("training JWKS");
    assert!(backend_verifies(&token, &training_keys).is_err(), "TRAINING's keys never verify a PRODUCTION token");

    // Rotate, reload: new tokens carry the new key; the old token still works everywhere.
    let secrets = sandgate.data_dir().join("secrets");
    let now = chrono::Utc::now().timestamp();
    let eddsa = sandgate_store::signing::Algorithm::EdDsa;
    let rotated = sandgate_store::signing::rotate(
        &secrets,
        sandgate_core::environment::Environment::PRODUCTION,
        eddsa,
        1200,
        now,
    )
    .expect("rotate");
    assert_eq!(rotated.retired_kid, kid(&token));
    let operator = sandgate.operator_token();
    let reload =
        common::http().post(format!("{}/reload", sandgate.admin)).bearer_auth(&operator).send().expect("reload");
    assert_eq!(reload.status(), 200);
    let fresh = common::access_token(&sandgate.production, id, secret);
    assert_eq!(kid(&fresh), rotated.current_kid);
    let keys = jwks();
    assert_eq!(keys.keys.len(), 2, "the new key and the retired one are published");
    assert!(backend_verifies(&fresh, &keys).is_ok() && backend_verifies(&token, &keys).is_ok());
    let url = format!("{}/pos-api/v2.5/client-id/{id}/i18n", sandgate.production);
    // No backend here (503 no-upstream): the token passed authentication either way.
    assert_eq!(common::get(&url, Some(&token)).status(), 503, "the old token is still accepted");

    // Introspection: active with its claims, inactive once the credential is revoked.
    let answer = introspect(&sandgate, &operator, &token);
    assert_eq!((answer["active"].as_bool(), answer["client_id"].as_str()), (Some(true), Some(id.as_str())), "{answer}");
    assert_eq!(answer["environment"], "production");
    assert_eq!(introspect(&sandgate, &operator, "not-a-token"), serde_json::json!({"active": false}));
    let revoked = common::http()
        .post(format!("{}/v1/credentials/{id}/revoke", sandgate.admin))
        .bearer_auth(&operator)
        .send()
        .expect("revoke");
    assert_eq!(revoked.status(), 200);
    assert_eq!(introspect(&sandgate, &operator, &token), serde_json::json!({"active": false}));
    let anonymous = common::http().post(format!("{}/introspect", sandgate.admin)).body(form(&token)).send();
    assert_eq!(anonymous.expect("answer").status(), 401, "introspection is for operators");
}

#[test]
fn hs256_tokens_name_their_key_and_publish_none() {
    let sandgate = TestSandgate::start(None);
    let token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    assert_eq!(kid(&token).len(), 16);
    let keys: Value = common::http()
        .get(format!("{}/.well-known/jwks.json", sandgate.training))
        .send()
        .and_then(|r| r.json())
        .expect("jwks");
    assert_eq!(keys, serde_json::json!({"keys": []}), "HMAC keys are secret");
}
