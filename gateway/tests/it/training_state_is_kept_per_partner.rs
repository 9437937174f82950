//! Through the TRAINING gateway the emulator keeps what a partner creates (in the embedded
//! store): an authorization created with one call is read and listed by the next, and another
//! partner's application never sees it.

use sandgate_testkit as common;

use common::admin::Admin;
use common::TestSandgate;
use serde_json::{json, Value};

const REFERENCE: &str = "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11";

fn call(method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = common::http().request(method, url).bearer_auth(token).header("x-reference-id", REFERENCE);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().expect("gateway answers");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn an_authorization_created_through_the_gateway_is_read_back_by_its_partner_only() {
    let sandgate = TestSandgate::start(None);
    let token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let base = format!("{}/pos-api/v2.5.1/client-id/{}", sandgate.training, sandgate.client_id);
    let request = json!({"amount": 99.5, "account_number": 12345678, "auto_capture": false,
                         "financing_option": {"transaction_type": "regular_purchase"}});
    let (status, created) = call(reqwest::Method::POST, &format!("{base}/authorization"), &token, Some(request));
    assert_eq!((status, &created["amount"], &created["status"]), (200, &json!(99.5), &json!("open")), "{created}");
    let id = created["authorization_id"].as_u64().expect("authorization_id");
    assert_eq!(call(reqwest::Method::GET, &format!("{base}/authorization/{id}"), &token, None), (200, created.clone()));
    let (_, listed) = call(reqwest::Method::GET, &format!("{base}/authorizations"), &token, None);
    let listed = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(listed.first(), Some(&created), "newest first, before the two fixture authorizations: {listed:?}");
    assert_eq!(listed.len(), 3);
    if !common::postgres::selected() {
        assert!(sandgate.data_dir().join("emulator.db").exists(), "state lives in the embedded store by default");
    }

    // A second partner with its own TRAINING application sees nothing of the first's.
    let op = Admin { base: sandgate.admin.clone(), token: Some(sandgate.operator_token()) };
    let partner = json!({"name": "Other Co", "contact": {"name": "O", "email": "o@other.example"},
                         "owner": {"name": "Oona", "email": "oona@other.example"}});
    let (_, account) = op.post("/v1/partners", partner);
    let partner_id = account["partner"]["id"].as_str().expect("partner id").to_owned();
    let app = json!({"name": "other-pos", "description": "d", "type": "generic", "category": "payments",
                     "permission": "read_write", "scopes": ["merchant"], "trust_list": ["127.0.0.0/8"]});
    let (_, app) = op.post(&format!("/v1/partners/{partner_id}/applications"), app);
    let app_id = app["application"]["id"].as_str().expect("app id");
    let (_, issued) = op.post(&format!("/v1/applications/{app_id}/credentials"), json!({"environment": "training"}));
    let other_id = issued["credential"]["client_id"].as_str().expect("client id");
    let other_token =
        common::access_token(&sandgate.training, other_id, issued["client_secret"].as_str().unwrap_or_default());
    let other_base = format!("{}/pos-api/v2.5.1/client-id/{other_id}", sandgate.training);
    assert_eq!(call(reqwest::Method::GET, &format!("{other_base}/authorization/{id}"), &other_token, None).0, 404);
    let (_, theirs) = call(reqwest::Method::GET, &format!("{other_base}/authorizations"), &other_token, None);
    let ids: Vec<u64> =
        theirs.as_array().into_iter().flatten().filter_map(|a| a["authorization_id"].as_u64()).collect();
    assert_eq!(ids, [1000000000000001, 1000000000000002], "only the fixtures every client has");
}

#[test]
fn operators_scrub_a_partner_or_everything_and_answers_name_the_next_scrub() {
    let sandgate = TestSandgate::start(None);
    let token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let base = format!("{}/pos-api/v2.5.1/client-id/{}", sandgate.training, sandgate.client_id);
    let request = json!({"amount": 10.0, "account_number": 12345678, "auto_capture": false,
                         "financing_option": {"transaction_type": "regular_purchase"}});
    let response = common::http()
        .post(format!("{base}/authorization"))
        .bearer_auth(&token)
        .header("x-reference-id", REFERENCE)
        .json(&request)
        .send()
        .expect("send");
    let next = response.headers().get("sandgate-next-scrub").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let next: chrono::DateTime<chrono::Utc> = next.expect("the next scrub is announced").parse().expect("RFC 3339");
    assert_eq!(next.format("%H:%M").to_string(), "03:00", "the default schedule");
    let id = response.json::<Value>().expect("json")["authorization_id"].as_u64().expect("id");
    let item = format!("{base}/authorization/{id}");

    let op = Admin { base: sandgate.admin.clone(), token: Some(sandgate.operator_token()) };
    let (status, body) = op.post("/v1/emulator/scrub", json!({"partner_id": "ptn_x"}));
    assert_eq!((status, body["field"].as_str()), (422, Some("environment")), "{body}");
    let (status, body) = op.post("/v1/emulator/scrub", json!({"environment": "staging"}));
    assert_eq!((status, body["field"].as_str()), (422, Some("environment")), "{body}");
    assert_eq!(op.post("/v1/emulator/scrub", json!({"environment": "training", "partner_id": "ptn_none"})).0, 404);
    let anonymous = Admin { base: sandgate.admin.clone(), token: None };
    assert_eq!(anonymous.post("/v1/emulator/scrub", json!({})).0, 401);

    let partner = sandgate.store().application(&sandgate.demo_app_id()).expect("store").partner_id;
    let (status, body) = op.post("/v1/emulator/scrub", json!({"environment": "training", "partner_id": partner}));
    // Creating the authorization touched the TRAINING world's customers (it holds their
    // credit), its financing plan and the captures (an authorization may capture at once).
    let (customers, plans, fixture_capture) = (9, 5, 1);
    assert_eq!(
        (status, &body["removed"]),
        (200, &json!(3 + customers + plans + fixture_capture)),
        "the created one, the two fixture authorizations, the customers, the plans and the fixture capture: {body}"
    );
    assert_eq!(call(reqwest::Method::GET, &item, &token, None).0, 404, "gone at once");
    let (status, body) = op.post("/v1/emulator/scrub", json!({}));
    let reseeded = &json!(2);
    assert_eq!(
        (status, &body["removed"], body["next_scheduled_scrub"].is_string()),
        (200, reseeded, true),
        "the read in between seeded the fixtures again"
    );
    let fixture = call(reqwest::Method::GET, &format!("{base}/authorization/1000000000000001"), &token, None);
    assert_eq!((fixture.0, &fixture.1["status"]), (200, &json!("open")), "fixtures are seeded again after a scrub");
    let (_, log) = op.get(&format!("/v1/partners/{partner}/activity?event=emulator."));
    assert_eq!(log["events"].as_array().map(Vec::len), Some(1), "{log}");
}
