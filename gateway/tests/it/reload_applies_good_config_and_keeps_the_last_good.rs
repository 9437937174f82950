//! Config reload without a restart (admin `POST /reload`, also SIGHUP): a good file takes effect
//! for the next request; a bad one is refused whole, naming the key, and the last good stays.

use sandgate_testkit as common;

use common::TestSandgate;

#[test]
fn reload_good_then_bad_config() {
    let temp = common::temp_dir("reload");
    let dir = temp.path();
    let file = dir.join("sandgate.yaml");
    std::fs::write(&file, "sandgate:\n  log:\n    level: warn\n").expect("write");
    let sandgate = TestSandgate::start_with_file(&file);
    let token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let url = format!("{}/pos-api/v2.5/client-id/{}/i18n", sandgate.training, sandgate.client_id);
    assert_eq!(common::get(&url, Some(&token)).status(), 200);
    let operator = sandgate.operator_token();
    let unauthenticated = common::http().post(format!("{}/reload", sandgate.admin)).send().expect("reload");
    assert_eq!(unauthenticated.status(), 401, "reload is for operators only");
    let reload =
        || common::http().post(format!("{}/reload", sandgate.admin)).bearer_auth(&operator).send().expect("reload");

    std::fs::write(&file, "sandgate:\n  versions:\n    pos-api:\n      \"2.5\": {retired: true}\n").expect("write");
    assert_eq!(reload().status(), 200);
    common::assert_problem(common::get(&url, Some(&token)), 410, "retired-version");

    std::fs::write(&file, "sandgate:\n  versions:\n    pos-api:\n      \"2.5\": {retird: true}\n").expect("write");
    let refused = reload();
    let body = common::assert_problem(refused, 400, "invalid-request");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("retird")), "names the key: {body}");
    common::assert_problem(common::get(&url, Some(&token)), 410, "retired-version");

    std::fs::write(&file, "sandgate:\n  emulator:\n    seed: 5\n").expect("write");
    let answer: serde_json::Value = reload().json().expect("json");
    assert_eq!(answer["needs_restart"][0], "emulator.seed", "{answer}");
    assert_eq!(common::get(&url, Some(&token)).status(), 200, "the version rule is gone");

    // The control plane's settings are reloaded too: a new default rotation grace applies to the
    // next rotation.
    std::fs::write(&file, "sandgate:\n  control_plane:\n    rotation_grace_secs: 7200\n").expect("write");
    assert_eq!(reload().status(), 200);
    let rotated = common::http()
        .post(format!("{}/v1/credentials/{}/rotate", sandgate.admin, sandgate.client_id))
        .bearer_auth(&operator)
        .json(&serde_json::json!({}))
        .send()
        .expect("rotate");
    assert_eq!(rotated.status(), 200);
    let rotated: serde_json::Value = rotated.json().expect("json");
    let until = rotated["credential"]["previous_secret_valid_until"].as_str().expect("grace end").to_owned();
    let until = chrono::DateTime::parse_from_rfc3339(&until).expect("timestamp").timestamp();
    let grace = until - chrono::Utc::now().timestamp();
    assert!((7100..=7200).contains(&grace), "the reloaded grace (7200 s) applies, not the default: {grace}");
}

#[test]
fn host_names_select_the_environment() {
    let yaml = "sandgate:\n  environments:\n    training:\n      hosts: [posapi-training.example.com]\n";
    let sandgate = TestSandgate::start_with(None, yaml);
    let token_at = |host: &str| {
        common::http()
            .post(format!("{}/pos-api/v2.5/oauth/token", sandgate.training))
            .header("host", host)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("client_id={}&client_secret={}", sandgate.client_id, sandgate.client_secret))
            .send()
            .expect("send")
    };
    common::assert_problem(token_at("posapi.example.com"), 421, "misdirected-request");
    let token: serde_json::Value = token_at("posapi-training.example.com").json().expect("json");
    let token = token["access_token"].as_str().expect("token").to_owned();
    let url = format!("{}/pos-api/v2.5/client-id/{}/i18n", sandgate.training, sandgate.client_id);
    assert_eq!(common::get_with(&url, &token, &[("host", "posapi-training.example.com")]).status(), 200);
    common::assert_problem(
        common::get_with(&url, &token, &[("host", "posapi.example.com")]),
        421,
        "misdirected-request",
    );
}
