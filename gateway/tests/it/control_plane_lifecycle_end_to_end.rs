//! The partner lifecycle through the real control-plane API, store and gateway: partner → sandbox
//! credentials → application → token through the gateway → invite + OTP → submit → reject →
//! resubmit → approve → PRODUCTION credentials work only on PRODUCTION → connect an entity (signed
//! webhook received) → rotate (old secret works during the grace period, then fails) → disconnect
//! (webhook) → revoke (the next gateway request fails) → the CSV lists every step. `wiremock` is
//! the partner's webhook receiver. Every 2xx answer is checked against the control-plane spec.

use sandgate_testkit as common;

use std::time::{Duration, Instant};

use common::admin::Admin;
use common::TestSandgate;
use reqwest::Method;
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The receiver runs on loopback, which deliveries may reach only when allowed.
const CONFIG: &str = "sandgate:\n  control_plane:\n    webhooks: {first_retry_ms: 100, max_attempts: 4, timeout_secs: 2, allow_private_addresses: true}\n";

fn field(body: &Value) -> &str {
    body["field"].as_str().unwrap_or("")
}

fn token(base: &str, id: &str, secret: &str) -> reqwest::blocking::Response {
    common::token_request(base, &[("client_id", id), ("client_secret", secret)])
}

/// Subscribes `app` to `integration.connected` at the receiver, then connects an entity.
fn subscribe_and_connect(op: &Admin, app: &str, receiver: &MockServer, entity: &str) {
    let patch = json!({"trust_list": ["127.0.0.0/8", receiver.uri()],
                       "webhooks": [{"url": format!("{}/in", receiver.uri()), "events": ["integration.connected"]}]});
    assert_eq!(op.call(Method::PATCH, &format!("/v1/applications/{app}"), Some(patch)).0, 200);
    let connection = format!("/v1/entities/merchant_location/{entity}/connections/{app}");
    assert_eq!(op.call(Method::PUT, &connection, None).0, 201);
}

#[test]
fn partner_lifecycle_from_sandbox_to_revocation() {
    let (runtime, receiver) = common::receiver::start("/hooks", 204);
    let sandgate = TestSandgate::start_with(None, CONFIG);
    let op = Admin { base: sandgate.admin.clone(), token: Some(sandgate.operator_token()) };
    let anonymous = Admin { base: sandgate.admin.clone(), token: None };

    // Operators create partner accounts; nobody else.
    let (status, body) = anonymous.get("/v1/partners");
    assert_eq!((status, body["type"].as_str()), (401, Some("urn:sandgate:problem:unauthenticated")));
    assert_eq!(op.as_("sgo_wrong").get("/v1/partners").0, 401);
    let partner_body = json!({"name": "Acme Payments", "contact": {"name": "Ada", "email": "ada@acme.example"},
                              "owner": {"name": "Olga Owner", "email": "olga@acme.example"}});
    let (status, created) = op.post("/v1/partners", partner_body.clone());
    assert_eq!(status, 201, "{created}");
    let partner = created["partner"]["id"].as_str().expect("partner id").to_owned();
    let owner = op.as_(created["member_key"].as_str().expect("member key shown once"));
    let (status, body) = op.post("/v1/partners", partner_body);
    assert_eq!((status, field(&body)), (409, "name"), "{body}");
    assert_eq!(owner.post("/v1/partners", json!({})).0, 403, "members cannot create partner accounts");

    // The owner creates an application whose webhook URL is on its trust list.
    let hook = format!("{}/hooks", receiver.uri());
    let app_body = json!({
        "name": "acme-pos-connector", "description": "Connects Acme terminals", "type": "generic",
        "category": "payments", "permission": "read_write", "scopes": ["merchant"],
        "trust_list": ["127.0.0.0/8", receiver.uri()],
        "webhooks": [{"url": hook, "events": ["integration.connected", "integration.disconnected"]}],
        "entities": ["merchant_location"], "benefits": ["gift cards", "loyalty points"]
    });
    let mut untrusted = app_body.clone();
    untrusted["trust_list"] = json!(["127.0.0.0/8"]);
    let (status, body) = owner.post(&format!("/v1/partners/{partner}/applications"), untrusted);
    assert_eq!((status, field(&body)), (422, "webhooks.0.url"), "{body}");
    let (status, created) = owner.post(&format!("/v1/partners/{partner}/applications"), app_body.clone());
    assert_eq!(status, 201, "{created}");
    let app = created["application"]["id"].as_str().expect("app id").to_owned();
    let webhook_secret = created["webhook_secret"].as_str().expect("webhook secret").to_owned();
    let (status, body) = owner.post(&format!("/v1/partners/{partner}/applications"), app_body);
    assert_eq!((status, field(&body)), (409, "name"));
    let (status, body) =
        owner.call(Method::PATCH, &format!("/v1/applications/{app}"), Some(json!({"permission": "read"})));
    assert_eq!((status, field(&body)), (409, "permission"), "permission is immutable");
    let (status, body) = owner.call(
        Method::PATCH,
        &format!("/v1/applications/{app}"),
        Some(json!({"description": "Acme terminals, v2"})),
    );
    assert_eq!((status, body["description"].as_str()), (200, Some("Acme terminals, v2")));
    // The rate-limit plan is the operator's decision: a partner can neither pick nor change it.
    let (status, body) =
        owner.call(Method::PATCH, &format!("/v1/applications/{app}"), Some(json!({"plan": "standard"})));
    assert_eq!((status, field(&body)), (403, "plan"), "{body}");
    let mut with_plan = json!({"name": "acme-planner", "type": "generic", "permission": "read", "scopes": ["merchant"],
                               "plan": "standard"});
    let (status, body) = owner.post(&format!("/v1/partners/{partner}/applications"), with_plan.clone());
    assert_eq!((status, field(&body)), (403, "plan"), "{body}");
    with_plan["plan"] = json!("");
    assert_eq!(owner.post(&format!("/v1/partners/{partner}/applications"), with_plan).0, 201, "the default is fine");
    let (status, body) = op.call(Method::PATCH, &format!("/v1/applications/{app}"), Some(json!({"plan": "standard"})));
    assert_eq!((status, body["plan"].as_str()), (200, Some("standard")), "an operator sets it");
    let (status, _) = owner.call(Method::PATCH, &format!("/v1/applications/{app}"), Some(json!({"plan": "standard"})));
    assert_eq!(status, 200, "sending the current plan back unchanged is fine");

    // Sandbox credentials at once; a token through the gateway works.
    let started = Instant::now();
    let (status, issued) =
        owner.post(&format!("/v1/applications/{app}/credentials"), json!({"environment": "training"}));
    assert_eq!(status, 201, "{issued}");
    assert!(started.elapsed() < Duration::from_secs(1), "sandbox credentials take well under a second");
    let train_id = issued["credential"]["client_id"].as_str().expect("client id").to_owned();
    let train_secret = issued["client_secret"].as_str().expect("secret shown once").to_owned();
    let train_token = common::access_token(&sandgate.training, &train_id, &train_secret);
    let i18n = format!("{}/pos-api/v2.5/client-id/{train_id}/i18n", sandgate.training);
    assert_eq!(common::get(&i18n, Some(&train_token)).status(), 200);
    let (status, body) =
        owner.post(&format!("/v1/applications/{app}/credentials"), json!({"environment": "production"}));
    assert_eq!((status, field(&body)), (409, "environment"), "no PRODUCTION before approval: {body}");

    // A developer is invited, fails once, verifies, and gets TRAINING access only.
    let (status, invited) =
        owner.post(&format!("/v1/applications/{app}/invitations"), json!({"email": "dev@acme.example"}));
    assert_eq!(status, 201, "{invited}");
    let invitation = invited["invitation"]["id"].as_str().expect("invitation").to_owned();
    let otp = invited["otp"].as_str().expect("otp shown to the admin").to_owned();
    let expires = chrono::DateTime::parse_from_rfc3339(invited["invitation"]["expires_at"].as_str().expect("expiry"))
        .expect("date");
    let days = (expires.timestamp() - chrono::Utc::now().timestamp()) as f64 / 86_400.0;
    assert!((2.99..=3.01).contains(&days), "valid for 3 days, got {days}");
    let (status, body) = anonymous.post(&format!("/v1/invitations/{invitation}/verify"), json!({"otp": "AAAA-AAAA"}));
    assert_eq!((status, field(&body)), (422, "otp"), "{body}");
    let (status, verified) = anonymous.post(&format!("/v1/invitations/{invitation}/verify"), json!({"otp": otp}));
    assert_eq!(status, 200, "{verified}");
    let developer = op.as_(verified["member_key"].as_str().expect("developer key"));
    assert_eq!(anonymous.post(&format!("/v1/invitations/{invitation}/verify"), json!({"otp": otp})).0, 409);
    assert_eq!(developer.get(&format!("/v1/applications/{app}")).0, 200);
    assert_eq!(
        developer.post(&format!("/v1/applications/{app}/credentials"), json!({"environment": "training"})).0,
        201
    );
    let submission = json!({"overview": "POS integration", "scope_justifications": {"merchant": "terminals act for merchants"},
                            "security_measures": "secrets in a vault", "post_deployment_plan": "on-call, rollback"});
    assert_eq!(developer.post(&format!("/v1/applications/{app}/review"), submission.clone()).0, 403);

    // Review: incomplete → refused; rejected with reasons; resubmitted; approved by an operator.
    // Which scopes need a justification is the stored application's: a missing one conflicts
    // with it (409); a blank one is the body's own fault (422).
    let mut incomplete = submission.clone();
    incomplete["scope_justifications"] = json!({});
    let (status, body) = owner.post(&format!("/v1/applications/{app}/review"), incomplete);
    assert_eq!((status, field(&body)), (409, "scope_justifications.merchant"), "{body}");
    let mut blank = submission.clone();
    blank["scope_justifications"] = json!({"merchant": "  "});
    let (status, body) = owner.post(&format!("/v1/applications/{app}/review"), blank);
    assert_eq!((status, field(&body)), (422, "scope_justifications.merchant"), "{body}");
    assert_eq!(owner.post(&format!("/v1/applications/{app}/review"), submission.clone()).0, 201);
    assert_eq!(owner.post(&format!("/v1/applications/{app}/review"), submission.clone()).0, 409);
    let (status, body) = owner.call(
        Method::PATCH,
        &format!("/v1/applications/{app}"),
        Some(json!({"scopes": ["merchant", "customer"]})),
    );
    assert_eq!((status, field(&body)), (409, "scopes"), "scopes are frozen while under review");
    assert_eq!(owner.post(&format!("/v1/applications/{app}/review/approve"), json!({})).0, 403);
    let (status, body) = op.post(&format!("/v1/applications/{app}/review/reject"), json!({"reasons": []}));
    assert_eq!((status, field(&body)), (422, "reasons"));
    let (status, rejected) =
        op.post(&format!("/v1/applications/{app}/review/reject"), json!({"reasons": ["describe the rollback"]}));
    assert_eq!((status, rejected["status"].as_str()), (200, Some("rejected")));
    let (status, body) = op.post(&format!("/v1/applications/{app}/review/approve"), json!({}));
    assert_eq!((status, field(&body)), (409, "review_status"), "a rejected app needs a resubmission");
    assert_eq!(owner.post(&format!("/v1/applications/{app}/review"), submission).0, 201);
    let (status, approved) = op.post(&format!("/v1/applications/{app}/review/approve"), json!({}));
    assert_eq!(status, 200, "{approved}");
    let (status, body) = owner.call(
        Method::PATCH,
        &format!("/v1/applications/{app}"),
        Some(json!({"scopes": ["merchant", "customer"]})),
    );
    assert_eq!((status, field(&body)), (409, "scopes"), "no unreviewed scope after approval");
    assert!(approved.get("client_secret").is_none(), "the operator never sees the PRODUCTION secret: {approved}");
    let (status, issued) =
        owner.post(&format!("/v1/applications/{app}/credentials"), json!({"environment": "production"}));
    assert_eq!(status, 201, "the owner issues the PRODUCTION credential once approved: {issued}");
    let prod_id = issued["credential"]["client_id"].as_str().expect("prod id").to_owned();
    let prod_secret = issued["client_secret"].as_str().expect("prod secret").to_owned();

    // PRODUCTION credentials work only on PRODUCTION.
    let prod_token = common::access_token(&sandgate.production, &prod_id, &prod_secret);
    common::assert_problem(token(&sandgate.training, &prod_id, &prod_secret), 400, "invalid-client");
    let prod_call = format!("{}/pos-api/v2.5/client-id/{prod_id}/i18n", sandgate.production);
    common::assert_problem(common::get(&prod_call, Some(&prod_token)), 503, "no-upstream");

    // Connect an entity: benefits created, signed webhook delivered; connecting again is a no-op.
    let connection = format!("/v1/entities/merchant_location/loc-42/connections/{app}");
    assert_eq!(owner.call(Method::PUT, &connection, None).0, 403, "connections are the operator's");
    let (status, connected) = op.call(Method::PUT, &connection, None);
    assert_eq!(status, 201, "{connected}");
    let benefits: Vec<&str> =
        connected["benefits"].as_array().expect("benefits").iter().filter_map(|b| b["benefit"].as_str()).collect();
    assert_eq!(benefits, ["gift cards", "loyalty points"]);
    let deliveries = common::receiver::received(&runtime, &receiver, 1);
    assert_eq!(deliveries.len(), 1);
    let event = common::receiver::assert_signed(&deliveries[0], &webhook_secret);
    assert_eq!(event["type"], "integration.connected");
    assert_eq!(event["data"]["entity_id"], "loc-42");
    assert_eq!(op.call(Method::PUT, &connection, None).0, 200, "connecting twice is idempotent");
    let (status, body) = op.call(Method::PUT, &format!("/v1/entities/customer/c-1/connections/{app}"), None);
    assert_eq!((status, field(&body)), (409, "entity_type"));

    // Rotate: the old secret works during the grace period, then fails.
    let (status, rotated) = owner.post(&format!("/v1/credentials/{train_id}/rotate"), json!({"grace_seconds": 1}));
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["client_secret"].as_str().expect("new secret").to_owned();
    assert_ne!(new_secret, train_secret);
    assert_eq!(token(&sandgate.training, &train_id, &train_secret).status(), 200, "old secret during grace");
    assert_eq!(token(&sandgate.training, &train_id, &new_secret).status(), 200, "new secret");
    sandgate.clock.advance(Duration::from_secs(2));
    common::assert_problem(token(&sandgate.training, &train_id, &train_secret), 400, "invalid-client");
    let fresh_token = common::access_token(&sandgate.training, &train_id, &new_secret);

    // Disconnect: webhook, benefits gone; disconnecting again sends nothing.
    let (status, disconnected) = op.call(Method::DELETE, &connection, None);
    assert_eq!((status, disconnected["status"].as_str()), (200, Some("disconnected")));
    let deliveries = common::receiver::received(&runtime, &receiver, 2);
    assert_eq!(deliveries.len(), 2, "exactly one more webhook: the second connect sent none");
    assert_eq!(common::receiver::assert_signed(&deliveries[1], &webhook_secret)["type"], "integration.disconnected");
    assert_eq!(op.call(Method::DELETE, &connection, None).0, 200);
    let (_, benefits) = op.get("/v1/entities/merchant_location/loc-42/benefits");
    assert_eq!(benefits["benefits"], json!([]));
    let (status, reconnected) = op.call(Method::PUT, &connection, None);
    assert_eq!((status, reconnected["benefits"].as_array().map(Vec::len)), (201, Some(2)), "reconnecting works");
    let deliveries = common::receiver::received(&runtime, &receiver, 3);
    assert_eq!(common::receiver::assert_signed(&deliveries[2], &webhook_secret)["type"], "integration.connected");

    // Revoke: every token of the application stops at the next request, in every environment.
    let (status, revoked) = owner.post(&format!("/v1/applications/{app}/revoke"), json!({"reason": "contract ended"}));
    assert_eq!((status, revoked["status"].as_str()), (200, Some("revoked")));
    common::assert_problem(common::get(&i18n, Some(&fresh_token)), 401, "token-revoked");
    common::assert_problem(common::get(&prod_call, Some(&prod_token)), 401, "token-revoked");
    common::assert_problem(token(&sandgate.training, &train_id, &new_secret), 400, "invalid-client");

    // The CSV lists every step, RFC 4180 (header, CRLF, quoted JSON). Token and refusal entries
    // are written by the background writer, so wait for the last refusal to be there.
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let csv = common::http()
            .get(format!("{}/v1/applications/{app}/activity?format=csv&limit=1000", sandgate.admin))
            .bearer_auth(sandgate.operator_token())
            .send()
            .expect("csv");
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let text = csv.text().expect("text");
        if text.contains("token-revoked") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(text.starts_with("seq,at,partner_id,application_id,actor,event,details\r\n"), "{text}");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("valid CSV");
    let events: Vec<&str> = rows.iter().map(|r| &r[5]).collect();
    for step in [
        "application.created",
        "application.updated",
        "credential.issued",
        "token.minted",
        "invitation.created",
        "invitation.failed",
        "invitation.verified",
        "review.submitted",
        "review.rejected",
        "review.approved",
        "connection.connected",
        "webhook.delivered",
        "credential.rotated",
        "token.denied",
        "connection.disconnected",
        "application.revoked",
        "request.denied",
    ] {
        assert!(events.contains(&step), "{step} missing from the activity log: {events:?}");
    }
    assert!(
        rows.iter().all(|r| serde_json::from_str::<Value>(&r[6]).is_ok()),
        "details stay valid JSON after CSV quoting"
    );
    assert!(rows.iter().any(|r| &r[4] == "operator:local" && &r[5] == "review.approved"), "actor recorded");
    let (_, filtered) = op.get(&format!("/v1/applications/{app}/activity?event=review."));
    let names: Vec<&str> =
        filtered["events"].as_array().expect("events").iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(names, ["review.submitted", "review.rejected", "review.submitted", "review.approved"]);
    let (_, log) = op.get(&format!("/v1/applications/{app}/webhook-deliveries"));
    assert_eq!(log["deliveries"].as_array().map(Vec::len), Some(3));
    let (status, partner_log) = owner.get(&format!("/v1/partners/{partner}/activity?event=member."));
    assert_eq!(status, 200);
    let added: Vec<&str> = partner_log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["details"]["email"].as_str())
        .collect();
    assert_eq!(
        added,
        ["olga@acme.example", "dev@acme.example"],
        "the partner log holds the owner and the invited developer"
    );
}

#[test]
fn failed_webhook_is_retried_with_back_off_and_every_attempt_is_logged() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let receiver = runtime.block_on(MockServer::start());
    runtime.block_on(async {
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).up_to_n_times(2).mount(&receiver).await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&receiver).await;
    });
    let sandgate = TestSandgate::start_with(None, CONFIG);
    let op = Admin { base: sandgate.admin.clone(), token: Some(sandgate.operator_token()) };
    let app = sandgate.demo_app_id();
    subscribe_and_connect(&op, &app, &receiver, "m-1");
    let requests = common::receiver::received(&runtime, &receiver, 3);
    assert_eq!(requests.len(), 3);
    let ids: Vec<_> = requests.iter().map(|r| r.headers["sandgate-event-id"].clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "retries carry the same event id");
    let attempts: Vec<_> =
        requests.iter().map(|r| r.headers["sandgate-delivery-attempt"].to_str().unwrap_or("").to_owned()).collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let (_, log) = op.get(&format!("/v1/applications/{app}/webhook-deliveries"));
        if log["deliveries"][0]["status"] == "delivered" || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let delivery = &log["deliveries"][0];
    assert_eq!(delivery["status"], "delivered", "{log:#}");
    let codes: Vec<i64> =
        delivery["attempts"].as_array().expect("attempts").iter().filter_map(|a| a["status_code"].as_i64()).collect();
    assert_eq!(codes, [503, 503, 200]);
}

#[test]
fn bad_input_gets_the_right_status_and_names_the_field() {
    let sandgate = TestSandgate::start(None);
    let op = Admin { base: sandgate.admin.clone(), token: Some(sandgate.operator_token()) };
    let raw = |method: &str, path: &str, body: &str| {
        let response = common::http()
            .request(Method::from_bytes(method.as_bytes()).expect("method"), format!("{}{path}", sandgate.admin))
            .bearer_auth(sandgate.operator_token())
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .expect("send");
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap_or(Value::Null))
    };
    let (status, body) = raw("POST", "/v1/partners", "{\"name\": ");
    assert_eq!(
        (status, body["type"].as_str(), field(&body)),
        (400, Some("urn:sandgate:problem:invalid-request"), "body")
    );
    assert_eq!(field(&raw("POST", "/v1/partners", "[1, 2]").1), "body", "not an object");
    let (status, body) = raw(
        "POST",
        "/v1/partners",
        r#"{"name": "X", "contact": {"name": "a", "email": "a@b.co"}, "owner": {"name": "o", "email": "o@b.co"}, "colour": 1}"#,
    );
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("colour")), "{body}");
    let (status, body) = raw(
        "POST",
        "/v1/partners",
        r#"{"name": 5, "contact": {"name": "a", "email": "a@b.co"}, "owner": {"name": "o", "email": "o@b.co"}}"#,
    );
    assert_eq!((status, field(&body)), (400, "name"), "{body}");
    let (status, body) = op.post("/v1/partners", json!({"name": "X", "contact": {"name": "a", "email": "not-an-email"}, "owner": {"name": "o", "email": "o@b.co"}}));
    assert_eq!((status, field(&body)), (422, "contact.email"));
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let (status, body) = raw("POST", "/v1/partners", &huge);
    assert_eq!((status, field(&body)), (413, "body"));
    let (status, body) = op.get("/v1/applications/app_doesnotexist");
    assert_eq!((status, body["type"].as_str()), (404, Some("urn:sandgate:problem:not-found")));
    assert_eq!(field(&body), "application_id", "the 404 names the parameter: {body}");
    let (status, body) = op.post("/v1/credentials/trn_nothing/rotate", json!({}));
    assert_eq!((status, field(&body)), (404, "client_id"));
    let (status, _) = raw("DELETE", "/v1/partners", "");
    assert_eq!(status, 405);
    let app = sandgate.demo_app_id();
    let (status, body) = op.post(&format!("/v1/applications/{app}/credentials"), json!({"environment": "staging"}));
    assert_eq!((status, field(&body)), (422, "environment"));
    let (status, body) = op.get(&format!("/v1/applications/{app}/activity?limit=5000"));
    assert_eq!((status, field(&body)), (400, "limit"));
    let (_, invited) = op.post(&format!("/v1/applications/{app}/invitations"), json!({"email": "d@example.com"}));
    let invitation = invited["invitation"]["id"].as_str().expect("id").to_owned();
    assert_eq!(op.post(&format!("/v1/applications/{app}/invitations"), json!({"email": "d@example.com"})).0, 409);
    assert_eq!(op.post(&format!("/v1/invitations/{invitation}/revoke"), json!({})).0, 200);
    let (status, body) = op.post(&format!("/v1/invitations/{invitation}/verify"), json!({"otp": invited["otp"]}));
    assert_eq!((status, field(&body)), (410, "otp"), "a revoked invitation is gone");

    // Five wrong one-time passwords lock an invitation until it is reset.
    let (_, invited) = op.post(&format!("/v1/applications/{app}/invitations"), json!({"email": "guess@example.com"}));
    let invitation = invited["invitation"]["id"].as_str().expect("id").to_owned();
    for _ in 0..5 {
        assert_eq!(op.post(&format!("/v1/invitations/{invitation}/verify"), json!({"otp": "WRNG-WRNG"})).0, 422);
    }
    let (status, body) = op.post(&format!("/v1/invitations/{invitation}/verify"), json!({"otp": invited["otp"]}));
    assert_eq!((status, field(&body)), (410, "otp"), "locked even for the right password: {body}");
    let (_, reset) = op.post(&format!("/v1/invitations/{invitation}/reset"), json!({}));
    assert_eq!(op.post(&format!("/v1/invitations/{invitation}/verify"), json!({"otp": reset["otp"]})).0, 200);

    // Ids travel percent-encoded and are stored decoded.
    let (status, _) = op.call(Method::PUT, &format!("/v1/entities/merchant_location/loc%201/connections/{app}"), None);
    assert_eq!(status, 201);
    let (_, listed) = op.get("/v1/entities/merchant_location/loc%201/connections");
    assert_eq!(listed["connections"][0]["entity_id"], "loc 1");

    // The control plane is never served on a data port: the emulator does not even load its spec.
    let on_data_port = common::get(&format!("{}/v1/openapi.yaml", sandgate.training), None);
    assert_ne!(on_data_port.status(), 200);
    assert!(sandgate.emulator.response_schema(&http::Method::GET, "/v1/partners", 200).is_none());
    assert!(sandgate.emulator.response_schema(&http::Method::GET, "/pos-api/v2.5/client-id/x/i18n", 200).is_some());
    let spec = common::http().get(format!("{}/v1/openapi.yaml", sandgate.admin)).send().expect("spec");
    assert_eq!(spec.status(), 200);
    assert!(spec.text().expect("text").contains("x-sandgate-emulate: false"));
}

#[test]
fn expired_and_reset_invitations_and_partner_isolation() {
    let sandgate = TestSandgate::start_with(None, "sandgate:\n  control_plane:\n    invitation_ttl_secs: 1\n");
    let op = Admin { base: sandgate.admin.clone(), token: Some(sandgate.operator_token()) };
    let app = sandgate.demo_app_id();
    let (_, invited) = op.post(&format!("/v1/applications/{app}/invitations"), json!({"email": "late@example.com"}));
    let invitation = invited["invitation"]["id"].as_str().expect("id").to_owned();
    sandgate.clock.advance(Duration::from_secs(2));
    let (status, body) = op.post(&format!("/v1/invitations/{invitation}/verify"), json!({"otp": invited["otp"]}));
    assert_eq!((status, field(&body)), (410, "otp"), "expired: {body}");
    let (status, reset) = op.post(&format!("/v1/invitations/{invitation}/reset"), json!({}));
    assert_eq!(status, 200);
    assert_ne!(reset["otp"], invited["otp"]);
    let (status, verified) = op.post(&format!("/v1/invitations/{invitation}/verify"), json!({"otp": reset["otp"]}));
    assert_eq!(status, 200, "{verified}");
    let developer = op.as_(verified["member_key"].as_str().expect("key"));
    assert_eq!(developer.get(&format!("/v1/applications/{app}")).0, 200);
    // A developer sees its own member entry, not the account's other people.
    let partner_of_app = sandgate.store().partner_id("Demo Partner").expect("store").expect("partner");
    let boss = json!({"email": "boss@example.com", "name": "Boss", "role": "admin"});
    assert_eq!(op.post(&format!("/v1/partners/{partner_of_app}/members"), boss).0, 201);
    let (status, listed) = developer.get(&format!("/v1/partners/{partner_of_app}/members"));
    let emails: Vec<&str> =
        listed["members"].as_array().into_iter().flatten().filter_map(|m| m["email"].as_str()).collect();
    assert_eq!((status, emails), (200, vec!["late@example.com"]), "{listed}");
    let (_, all) = op.get(&format!("/v1/partners/{partner_of_app}/members"));
    assert!(all["members"].as_array().is_some_and(|m| m.len() > 1), "an operator sees everyone: {all}");
    assert_eq!(op.post(&format!("/v1/invitations/{invitation}/revoke"), json!({})).0, 200);
    assert_eq!(developer.get(&format!("/v1/applications/{app}")).0, 404, "access revoked");

    // A stale Authorization header does not spoil a public endpoint.
    let (_, again) = op.post(&format!("/v1/applications/{app}/invitations"), json!({"email": "stale@example.com"}));
    let stale = op.as_("sgm_stale");
    let path = format!("/v1/invitations/{}/verify", again["invitation"]["id"].as_str().expect("id"));
    assert_eq!(stale.post(&path, json!({"otp": again["otp"]})).0, 200);

    // Members: an owner revokes one (its key stops at once); the last owner stays.
    let demo_partner = sandgate.store().partner_id("Demo Partner").expect("store").expect("partner");
    let (_, owner) = op.post(
        &format!("/v1/partners/{demo_partner}/members"),
        json!({"email": "own@example.com", "name": "Own", "role": "owner"}),
    );
    let owner_id = owner["member"]["id"].as_str().expect("id").to_owned();
    let owner_admin = op.as_(owner["member_key"].as_str().expect("key"));
    let (_, helper) = owner_admin.post(
        &format!("/v1/partners/{demo_partner}/members"),
        json!({"email": "h@example.com", "name": "H", "role": "admin"}),
    );
    let helper_key = op.as_(helper["member_key"].as_str().expect("key"));
    assert_eq!(helper_key.get("/v1/me").0, 200);
    let reload = common::http()
        .post(format!("{}/reload", sandgate.admin))
        .bearer_auth(helper["member_key"].as_str().expect("key"))
        .send()
        .expect("reload");
    assert_eq!(reload.status(), 403, "a member is known but may not reload");
    let revoke =
        |who: &Admin, id: &str| who.post(&format!("/v1/partners/{demo_partner}/members/{id}/revoke"), json!({}));
    assert_eq!(revoke(&helper_key, &owner_id).0, 403, "an admin cannot revoke an owner");
    assert_eq!(revoke(&owner_admin, helper["member"]["id"].as_str().expect("id")).0, 200);
    assert_eq!(helper_key.get("/v1/me").0, 401, "a revoked member's key stops at once");
    // The demo partner's portal owner (`sandgate up`'s first sign-in) is another owner: the
    // operator revokes it, so the test's owner is the last one.
    let (_, members) = op.get(&format!("/v1/partners/{demo_partner}/members"));
    for member in members["members"].as_array().expect("members") {
        let id = member["id"].as_str().expect("id");
        if member["role"] == "owner" && member["status"] == "active" && id != owner_id {
            assert_eq!(revoke(&op, id).0, 200);
        }
    }
    let (status, body) = revoke(&owner_admin, &owner_id);
    assert_eq!((status, field(&body)), (409, "role"), "the last owner stays: {body}");

    // Another partner's member sees nothing of this one.
    let (_, other) = op.post("/v1/partners", json!({"name": "Other", "contact": {"name": "c", "email": "c@o.example"}, "owner": {"name": "o", "email": "o@o.example"}}));
    let stranger = op.as_(other["member_key"].as_str().expect("key"));
    assert_eq!(stranger.get(&format!("/v1/applications/{app}")).0, 404);
    assert_eq!(stranger.get(&format!("/v1/partners/{demo_partner}/applications")).0, 404);
}

#[test]
fn edits_to_scopes_and_trust_list_take_effect_on_the_next_request() {
    let sandgate = TestSandgate::start(None);
    let op = Admin { base: sandgate.admin.clone(), token: Some(sandgate.operator_token()) };
    let app = sandgate.demo_app_id();
    let (id, secret) = (&sandgate.client_id, &sandgate.client_secret);
    let customer = common::token_request(
        &sandgate.training,
        &[("client_id", id.as_str()), ("client_secret", secret.as_str()), ("scope", "customer")],
    );
    let customer = customer.json::<Value>().expect("json")["access_token"].as_str().expect("token").to_owned();
    let i18n = format!("{}/pos-api/v2.5/client-id/{id}/i18n", sandgate.training);
    assert_eq!(common::get(&i18n, Some(&customer)).status(), 200);

    // The customer token was minted before the scope was taken away: refused from now on.
    let (status, _) = op.call(Method::PATCH, &format!("/v1/applications/{app}"), Some(json!({"scopes": ["merchant"]})));
    assert_eq!(status, 200);
    let body = common::assert_problem(common::get(&i18n, Some(&customer)), 403, "insufficient-scope");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("no longer has")), "{body}");
    let merchant = common::access_token(&sandgate.training, id, secret);
    assert_eq!(common::get(&i18n, Some(&merchant)).status(), 200);

    // Trust list: narrowed, then widened again.
    let patch =
        |trust: Value| op.call(Method::PATCH, &format!("/v1/applications/{app}"), Some(json!({"trust_list": trust}))).0;
    assert_eq!(patch(json!(["192.0.2.0/24"])), 200);
    common::assert_problem(common::get(&i18n, Some(&merchant)), 403, "untrusted-client");
    assert_eq!(patch(json!(["127.0.0.0/8"])), 200);
    assert_eq!(common::get(&i18n, Some(&merchant)).status(), 200);

    // Resending an invitation replaces its one-time password.
    let (_, invited) = op.post(&format!("/v1/applications/{app}/invitations"), json!({"email": "r@example.com"}));
    let invitation = invited["invitation"]["id"].as_str().expect("id").to_owned();
    let (status, resent) = op.post(&format!("/v1/invitations/{invitation}/resend"), json!({}));
    assert_eq!(status, 200);
    let (status, body) = op.post(&format!("/v1/invitations/{invitation}/verify"), json!({"otp": invited["otp"]}));
    assert_eq!((status, field(&body)), (422, "otp"), "the first password no longer works");
    assert_eq!(op.post(&format!("/v1/invitations/{invitation}/verify"), json!({"otp": resent["otp"]})).0, 200);
    let (_, log) = op.get(&format!("/v1/applications/{app}/activity?event=invitation.resent"));
    assert_eq!(log["events"].as_array().map(Vec::len), Some(1));
}

#[test]
fn webhooks_never_reach_internal_addresses_unless_allowed() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let receiver = runtime.block_on(MockServer::start());
    runtime.block_on(Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&receiver));
    let sandgate = TestSandgate::start(None);
    let op = Admin { base: sandgate.admin.clone(), token: Some(sandgate.operator_token()) };
    let app = sandgate.demo_app_id();
    subscribe_and_connect(&op, &app, &receiver, "m-9");
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let (_, log) = op.get(&format!("/v1/applications/{app}/webhook-deliveries"));
        if log["deliveries"][0]["attempts"].as_array().is_some_and(|a| !a.is_empty()) || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let error = log["deliveries"][0]["attempts"][0]["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("internal address"), "{log:#}");
    assert!(runtime.block_on(receiver.received_requests()).expect("recording").is_empty(), "nothing was sent");
}

/// What the lifecycle does not walk through: an operator token from the config, the configured
/// rotation grace, one credential revoked among several (with its tokens), secrets neither listed
/// nor stored, immutable name and type, the scopes and events an application type may use, a
/// revoked developer invited back, and every filter of the activity log.
#[test]
fn configured_rules_single_revocations_and_activity_filters() {
    let ci_token = "sgo_ci_bot_token_from_the_config_0123456789";
    let digest: String = sandgate_control::auth::digest(ci_token).iter().map(|b| format!("{b:02x}")).collect();
    let config = format!(
        "sandgate:\n  control_plane:\n    rotation_grace_secs: 2\n  admin:\n    operator_tokens:\n      - {{name: ci-bot, sha256: {digest}}}\n"
    );
    let sandgate = TestSandgate::start_with(None, &config);
    let bot = Admin { base: sandgate.admin.clone(), token: Some(ci_token.to_owned()) };
    let anonymous = Admin { base: sandgate.admin.clone(), token: None };
    let (status, me) = bot.get("/v1/me");
    assert_eq!((status, me["actor"].as_str()), (200, Some("operator:ci-bot")), "{me}");
    assert_eq!(bot.as_(&format!("{ci_token}x")).get("/v1/me").0, 401, "only the configured token");

    let (_, created) = bot.post(
        "/v1/partners",
        json!({"name": "Filters Ltd", "contact": {"name": "Fi", "email": "fi@filters.example"},
               "owner": {"name": "Fo", "email": "fo@filters.example"}}),
    );
    let partner = created["partner"]["id"].as_str().expect("partner").to_owned();
    let apps = format!("/v1/partners/{partner}/applications");

    // The type decides the scopes and webhook events; name and type never change.
    let hardware = json!({"name": "filters-terminal", "type": "hardware", "permission": "read",
                          "scopes": ["customer"], "trust_list": ["https://hooks.filters.example"]});
    let (status, body) = bot.post(&apps, hardware.clone());
    assert_eq!((status, field(&body)), (422, "scopes.0"), "hardware reaches merchants only: {body}");
    let mut wrong_event = hardware.clone();
    wrong_event["scopes"] = json!(["merchant"]);
    wrong_event["webhooks"] =
        json!([{"url": "https://hooks.filters.example/in", "events": ["account.status_changed"]}]);
    let (status, body) = bot.post(&apps, wrong_event);
    assert_eq!((status, field(&body)), (422, "webhooks.0.events.0"), "{body}");
    let (status, body) = bot.post(
        &apps,
        json!({"name": "filters-app", "type": "generic", "permission": "read_write",
               "scopes": ["merchant"], "trust_list": ["127.0.0.0/8"]}),
    );
    assert_eq!(status, 201, "{body}");
    let app = body["application"]["id"].as_str().expect("app").to_owned();
    let app_path = format!("/v1/applications/{app}");
    for (immutable, value) in [("name", json!("renamed")), ("type", json!("aggregator"))] {
        let (status, body) = bot.call(Method::PATCH, &app_path, Some(json!({ immutable: value })));
        assert_eq!((status, field(&body)), (409, immutable), "{body}");
    }
    // What an update may send depends on what is stored: the type's scopes and events, the
    // stored trust list. A conflict with it is 409; a body at odds with itself stays 422.
    let hook = |url: &str| json!([{"url": url, "events": ["integration.connected"]}]);
    for (patch, wanted) in [
        (json!({"scopes": ["device"]}), "scopes.0"),
        (
            json!({"webhooks": [{"url": "https://hooks.filters.example/in", "events": ["merchant.decided"]}],
                   "trust_list": ["https://hooks.filters.example"]}),
            "webhooks.0.events.0",
        ),
        (json!({"webhooks": hook("https://elsewhere.example/in")}), "webhooks.0.url"),
    ] {
        let (status, body) = bot.call(Method::PATCH, &app_path, Some(patch.clone()));
        assert_eq!((status, field(&body)), (409, wanted), "{patch}: {body}");
    }
    let at_odds = json!({"webhooks": hook("https://elsewhere.example/in"), "trust_list": ["127.0.0.0/8"]});
    let (status, body) = bot.call(Method::PATCH, &app_path, Some(at_odds));
    assert_eq!((status, field(&body)), (422, "webhooks.0.url"), "{body}");

    // The entities it may access: an edit takes effect on the next connection.
    let connect = || bot.call(Method::PUT, &format!("/v1/entities/customer/c-1/connections/{app}"), None);
    let (status, body) = connect();
    assert_eq!((status, field(&body)), (409, "entity_type"), "not among its stored entities: {body}");
    assert_eq!(bot.call(Method::PATCH, &app_path, Some(json!({"entities": ["customer"]}))).0, 200);
    assert_eq!(connect().0, 201);

    // Two TRAINING credentials; revoking one stops it and its tokens, never the other.
    let issue = || {
        let (status, issued) = bot.post(&format!("{app_path}/credentials"), json!({"environment": "training"}));
        assert_eq!(status, 201, "{issued}");
        let id = issued["credential"]["client_id"].as_str().expect("client id").to_owned();
        (id, issued["client_secret"].as_str().expect("secret").to_owned())
    };
    let ((kept_id, kept_secret), (gone_id, gone_secret)) = (issue(), issue());
    let gone_token = common::access_token(&sandgate.training, &gone_id, &gone_secret);
    let i18n = |id: &str| format!("{}/pos-api/v2.5/client-id/{id}/i18n", sandgate.training);
    assert_eq!(common::get(&i18n(&gone_id), Some(&gone_token)).status(), 200);
    let (status, revoked) = bot.post(&format!("/v1/credentials/{gone_id}/revoke"), json!({}));
    assert_eq!((status, revoked["status"].as_str()), (200, Some("revoked")), "{revoked}");
    common::assert_problem(common::get(&i18n(&gone_id), Some(&gone_token)), 401, "token-revoked");
    common::assert_problem(token(&sandgate.training, &gone_id, &gone_secret), 400, "invalid-client");
    let kept_token = common::access_token(&sandgate.training, &kept_id, &kept_secret);
    assert_eq!(common::get(&i18n(&kept_id), Some(&kept_token)).status(), 200, "the other credential works");

    // Secrets are shown once: never listed, and not in the store's files.
    let (_, listed) = bot.get(&format!("{app_path}/credentials"));
    let statuses: Vec<&str> =
        listed["credentials"].as_array().expect("list").iter().filter_map(|c| c["status"].as_str()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "revoked").count(), 1, "{listed}");
    let listed_text = listed.to_string();
    assert!(!listed_text.contains(&kept_secret) && !listed_text.contains(&gone_secret), "{listed}");
    for file in ["sandgate.db", "sandgate.db-wal"] {
        let bytes = std::fs::read(sandgate.data_dir().join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&kept_secret), "{file} holds a client secret in clear");
    }

    // Rotation without a grace in the request takes the configured one (2 s).
    let (_, rotated) = bot.post(&format!("/v1/credentials/{kept_id}/rotate"), json!({}));
    let new_secret = rotated["client_secret"].as_str().expect("new secret").to_owned();
    assert_eq!(token(&sandgate.training, &kept_id, &kept_secret).status(), 200, "old secret during the grace");
    sandgate.clock.advance(Duration::from_secs(3));
    common::assert_problem(token(&sandgate.training, &kept_id, &kept_secret), 400, "invalid-client");
    assert_eq!(token(&sandgate.training, &kept_id, &new_secret).status(), 200);

    // A revoked developer invited again is back, and the partner's log says so.
    let invite = || {
        let (_, invited) = bot.post(&format!("{app_path}/invitations"), json!({"email": "dev@filters.example"}));
        let id = invited["invitation"]["id"].as_str().expect("invitation").to_owned();
        let (status, verified) =
            anonymous.post(&format!("/v1/invitations/{id}/verify"), json!({"otp": invited["otp"]}));
        assert_eq!(status, 200, "{verified}");
        verified
    };
    let member = invite()["member"]["id"].as_str().expect("member id").to_owned();
    assert_eq!(bot.post(&format!("/v1/partners/{partner}/members/{member}/revoke"), json!({})).0, 200);
    let key = invite()["member_key"].as_str().expect("a new key").to_owned();
    assert_eq!(bot.as_(&key).get(&app_path).0, 200, "back in");
    let (_, reactivated) = bot.get(&format!("/v1/partners/{partner}/activity?event=member.reactivated"));
    assert_eq!(reactivated["events"][0]["details"]["member_id"], json!(member), "{reactivated}");

    // An empty edit writes nothing; 120 edits page in JSON and come whole as CSV.
    let updates = |admin: &Admin| {
        admin.get(&format!("{app_path}/activity?event=application.updated&limit=1000")).1["events"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let before = updates(&bot);
    assert_eq!(bot.call(Method::PATCH, &app_path, Some(json!({}))).0, 200);
    assert_eq!(updates(&bot), before, "an empty edit is not logged");
    for i in 0..120 {
        assert_eq!(bot.call(Method::PATCH, &app_path, Some(json!({"description": format!("v{i}")}))).0, 200);
    }
    assert_eq!(updates(&bot), before + 120);
    // Application events only: token entries come from a background writer and could land
    // between two reads.
    let log = format!("{app_path}/activity?event=application.");
    let (_, page) = bot.get(&log);
    assert_eq!(page["events"].as_array().map(Vec::len), Some(100), "a JSON page holds 100");
    let after = page["next_after"].as_i64().expect("a cursor to the rest");
    let (_, rest) = bot.get(&format!("{log}&after={after}"));
    assert!(rest["events"][0]["seq"].as_i64().is_some_and(|s| s > after), "{rest}");
    let all: Vec<Value> =
        page["events"].as_array().into_iter().chain(rest["events"].as_array()).flatten().cloned().collect();
    assert_eq!(all.len(), 1 + before + 120, "created and every update, each once across the two pages");
    let csv = common::http()
        .get(format!("{}{log}", sandgate.admin))
        .header("accept", "text/csv")
        .bearer_auth(ci_token)
        .send()
        .expect("csv")
        .text()
        .expect("text");
    assert_eq!(csv.matches("\r\n").count(), all.len() + 1, "the download is the whole log: header + every event");

    // Filters: actor (the invitations were created by the bot and verified by nobody signed in),
    // since (inclusive) and until (exclusive) on the events' own times.
    let events = |query: &str| -> Vec<Value> {
        bot.get(&format!("{app_path}/activity?limit=1000&{query}")).1["events"].as_array().cloned().unwrap_or_default()
    };
    let invitations = events("event=invitation.");
    let by_bot = events("event=invitation.&actor=operator:ci-bot");
    assert_eq!((invitations.len(), by_bot.len()), (4, 2), "{invitations:?}");
    assert!(by_bot.iter().all(|e| e["event"] == "invitation.created" && e["actor"] == "operator:ci-bot"));
    let middle = all[all.len() / 2]["at"].as_str().expect("at").to_owned();
    let since = events(&format!("event=application.&since={middle}")).len();
    let until = events(&format!("event=application.&until={middle}")).len();
    assert_eq!(since + until, all.len(), "since and until split the log at one instant");
    assert!(since > 0 && until > 0, "{since} / {until}");
}
