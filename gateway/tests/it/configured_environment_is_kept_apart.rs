//! More environments than the built-in two (here a merchant-integration one, as the reference
//! API has): its own listener, credential prefix, issuer and signing key; its keys and tokens
//! work nowhere else, and the errors say which environment they belong to.

use sandgate_testkit as common;

use common::TestSandgate;
use sandgate_core::environment::Environment;

#[test]
fn a_third_environment_has_its_own_keys_and_tokens() {
    let port = common::free_port();
    let yaml = format!(
        "sandgate:\n  environments:\n    mi:\n      listen: {port}\n      upstream: emulator\n      prefix: mi_\n"
    );
    let sandgate = TestSandgate::start_with(None, &yaml);
    common::wait_listening(port);
    let mi = format!("http://{port}");
    let env = Environment::new("mi", "mi_");
    let (issued, secret) = sandgate
        .store()
        .issue("operator:test", &sandgate.demo_app_id(), env, &sandgate.shared.keys.secret_hash)
        .expect("the demo application is approved for production, so any environment may be issued");
    let id = issued.client_id;
    assert!(id.starts_with("mi_"), "{id}");

    let token = common::access_token(&mi, &id, &secret);
    let url = format!("{mi}/pos-api/v2.5/client-id/{id}/i18n");
    assert_eq!(common::get(&url, Some(&token)).status(), 200);

    let at_training = format!("{}/pos-api/v2.5/client-id/{id}/i18n", sandgate.training);
    let body = common::assert_problem(common::get(&at_training, Some(&token)), 401, "token-wrong-environment");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("MI")), "{body}");
    let train_token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let body = common::assert_problem(common::get(&url, Some(&train_token)), 401, "token-wrong-environment");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("TRAINING")), "{body}");
    let wrong_door = common::token_request(&sandgate.production, &[("client_id", &id), ("client_secret", &secret)]);
    let body = common::assert_problem(wrong_door, 400, "invalid-client");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("MI credential")), "{body}");
}

#[test]
fn an_environment_without_a_prefix_or_with_a_clashing_one_is_refused() {
    for (yaml, key) in [
        ("sandgate:\n  environments:\n    mi:\n      listen: 127.0.0.1:1\n", "sandgate.environments.mi.prefix"),
        (
            "sandgate:\n  environments:\n    mi:\n      listen: 127.0.0.1:1\n      prefix: trn_\n",
            "sandgate.environments.mi.prefix",
        ),
        ("sandgate:\n  environments:\n    mi:\n      prefix: mi_\n", "sandgate.environments.mi.listen"),
        (
            "sandgate:\n  environments:\n    MI:\n      prefix: mi_\n      listen: 127.0.0.1:1\n",
            "sandgate.environments.MI",
        ),
    ] {
        let config = sandgate_gateway::config::SandgateConfig::parse(yaml).expect("parses");
        let err = config.compile().expect_err(yaml).to_string();
        assert!(err.starts_with(key), "{yaml}: {err}");
    }
}
