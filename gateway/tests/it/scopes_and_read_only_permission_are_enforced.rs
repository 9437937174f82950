//! Authorization: a `customer` token may call only the operations whose spec lists the customer
//! scope (403 insufficient-scope otherwise), and a read-only application may not call writes.

use sandgate_testkit as common;

use common::TestSandgate;
use sandgate_core::environment::Environment;
use sandgate_store::ApplicationFields;

#[test]
fn customer_scope_and_read_only_app_are_limited() {
    let sandgate = TestSandgate::start(None);
    let base = &sandgate.training;
    let id = &sandgate.client_id;
    let customer = common::token_request(
        base,
        &[("client_id", id), ("client_secret", &sandgate.client_secret), ("scope", "customer")],
    );
    let customer =
        customer.json::<serde_json::Value>().expect("json")["access_token"].as_str().expect("token").to_owned();
    let search =
        format!("{base}/pos-api/v2.5/client-id/{id}/customers/search?first_name=John&last_name=Smith&dob=1980-01-01");
    let body = common::assert_problem(common::get(&search, Some(&customer)), 403, "insufficient-scope");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("insufficient scope")), "{body}");
    assert_eq!(common::get(&format!("{base}/pos-api/v2.5/client-id/{id}/i18n"), Some(&customer)).status(), 200);
    let merchant = common::access_token(base, id, &sandgate.client_secret);
    assert_eq!(common::get(&search, Some(&merchant)).status(), 200);

    let partner = sandgate.store().partner_id("Demo Partner").expect("store").expect("partner");
    let app = ApplicationFields {
        name: "reader".into(),
        description: String::new(),
        kind: "generic".into(),
        category: String::new(),
        permission: "read".into(),
        scopes: vec!["merchant".into()],
        webhooks: Vec::new(),
        trust_list: vec!["127.0.0.0/8".into()],
        entities: Vec::new(),
        benefits: Vec::new(),
        plan: String::new(),
    };
    let app = sandgate.store().create_app("operator:test", &partner, &app).expect("create");
    let (reader, reader_secret) = sandgate
        .store()
        .issue("operator:test", &app.id, Environment::TRAINING, &sandgate.shared.keys.secret_hash)
        .expect("issue");
    let reader_id = reader.client_id;
    let token = common::access_token(base, &reader_id, &reader_secret);
    let read = format!("{base}/pos-api/v2.5/client-id/{reader_id}/authorizations");
    assert_eq!(common::get(&read, Some(&token)).status(), 200);
    let write = common::http()
        .post(format!("{base}/pos-api/v2.5/client-id/{reader_id}/transactions"))
        .header("authorization", format!("Bearer {token}"))
        .header("x-reference-id", "r")
        .json(&serde_json::json!({"transaction_type": "deposit", "amount": 10.0}))
        .send()
        .expect("send");
    common::assert_problem(write, 403, "read-only-application");
    // A scope the application was not given cannot be requested.
    let denied = common::token_request(
        base,
        &[("client_id", &reader_id), ("client_secret", &reader_secret), ("scope", "customer")],
    );
    assert_eq!(common::assert_problem(denied, 400, "invalid-token-request")["error"], "invalid_scope");
}
