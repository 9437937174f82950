//! A second partner API, `specs/onboarding/`, served with no code that names it: the control
//! plane accepts its application types, the gateway mints tokens with its scopes at its own token
//! endpoint, enforces them per operation, and the emulator keeps its merchants per partner and
//! applies its scenarios (decision by magic value, `merchant.decided` webhook to the partner).

use sandgate_testkit as common;

use common::admin::Admin;
use common::TestSandgate;
use serde_json::{json, Value};

const CONFIG: &str = "sandgate:\n  control_plane:\n    webhooks: {first_retry_ms: 100, max_attempts: 3, timeout_secs: 2, allow_private_addresses: true}\n";

#[test]
fn the_onboarding_api_works_end_to_end_through_the_gateway() {
    let (runtime, receiver) = common::receiver::start("/decisions", 204);
    let sandgate = TestSandgate::start_with(None, CONFIG);
    let op = Admin { base: sandgate.admin.clone(), token: Some(sandgate.operator_token()) };
    let partner = sandgate.store().partner_id("Demo Partner").expect("store").expect("demo partner");

    // The types come from the onboarding spec; a POS scope is not one of them.
    let app_body = |name: &str, scopes: Value| {
        json!({"name": name, "type": "onboarding_partner", "permission": "read_write", "scopes": scopes,
               "trust_list": ["127.0.0.0/8", receiver.uri()],
               "webhooks": [{"url": format!("{}/decisions", receiver.uri()), "events": ["merchant.decided"]}]})
    };
    let (status, body) =
        op.post(&format!("/v1/partners/{partner}/applications"), app_body("onboarding-pos-scope", json!(["merchant"])));
    assert_eq!((status, body["field"].as_str()), (422, Some("scopes.0")), "{body}");
    let (status, created) = op.post(
        &format!("/v1/partners/{partner}/applications"),
        app_body("onboarding-connector", json!(["onboarding:read", "onboarding:write"])),
    );
    assert_eq!(status, 201, "{created}");
    let app = created["application"]["id"].as_str().expect("app id").to_owned();
    let secret = created["webhook_secret"].as_str().expect("webhook secret").to_owned();
    let (status, issued) = op.post(&format!("/v1/applications/{app}/credentials"), json!({"environment": "training"}));
    assert_eq!(status, 201, "{issued}");
    let (id, client_secret) = (
        issued["credential"]["client_id"].as_str().expect("id").to_owned(),
        issued["client_secret"].as_str().expect("secret").to_owned(),
    );

    // Its own token endpoint and scopes: the default is onboarding:read; a POS scope is refused.
    let base = format!("{}/onboarding-api/v1", sandgate.training);
    let token = |scope: Option<&str>| -> (u16, Value) {
        let mut form = vec![("client_id", id.as_str()), ("client_secret", client_secret.as_str())];
        form.extend(scope.map(|s| ("scope", s)));
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let response = common::http()
            .post(format!("{base}/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .expect("token");
        (response.status().as_u16(), response.json().unwrap_or_default())
    };
    let (status, read) = token(None);
    assert_eq!((status, read["scope"].as_str()), (200, Some("onboarding:read")), "{read}");
    let (status, refused) = token(Some("merchant"));
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_scope")), "{refused}");
    let (_, write) = token(Some("onboarding:write"));
    let (read, write) =
        (read["access_token"].as_str().expect("t").to_owned(), write["access_token"].as_str().expect("t").to_owned());
    let call = |method: reqwest::Method, path: &str, bearer: &str, body: Option<Value>| -> (u16, Value) {
        let mut request = common::http().request(method, format!("{base}{path}")).bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().expect("gateway answers");
        (response.status().as_u16(), response.json().unwrap_or_default())
    };

    // Scopes are enforced per operation: a read token cannot create.
    let new_merchant = json!({"realm_id": "realm-1", "flow": "basic_kyc",
                              "merchant": {"legal_name": "Chez Ada", "country": "FR", "contact_email": "ada@chez.example"}});
    let (status, body) =
        call(reqwest::Method::POST, "/api/distributors/createmerchant", &read, Some(new_merchant.clone()));
    assert_eq!(status, 403, "{body}");
    let (status, merchant) =
        call(reqwest::Method::POST, "/api/distributors/createmerchant", &write, Some(new_merchant));
    assert_eq!((status, merchant["status"].as_str()), (201, Some("draft")), "{merchant}");
    let merchant_id = merchant["merchant_id"].as_str().expect("merchant id").to_owned();

    // Stateful: pulled in its realm only; a push decides it once, by the magic last name.
    let pull = |realm: &str| {
        call(
            reqwest::Method::GET,
            &format!("/api/distributors/pullmerchant/{merchant_id}?realmId={realm}"),
            &read,
            None,
        )
    };
    let (status, pulled) = pull("realm-1");
    assert_eq!((status, pulled["merchant"]["legal_name"].as_str()), (200, Some("Chez Ada")), "{pulled}");
    assert_eq!(pull("realm-2").0, 404, "another realm does not see it");
    let push = |last_name: &str| {
        let body = json!({"merchant_id": merchant_id, "realm_id": "realm-1",
                          "data": {"identity": {"first_name": "Ada", "last_name": last_name, "date_of_birth": "1990-02-03"}}});
        call(reqwest::Method::POST, "/api/distributors/pushmerchant", &write, Some(body))
    };
    let (status, decided) = push("Rejected");
    assert_eq!((status, decided["status"].as_str()), (200, Some("rejected")), "{decided}");
    assert_eq!(push("Lovelace").0, 409, "a merchant is pushed once");
    let (_, pulled) = pull("realm-1");
    assert_eq!(pulled["status"], "rejected", "the decision is kept: {pulled}");

    // The decision reaches the partner's receiver, signed, with the stored merchant's id.
    let requests = common::receiver::received(&runtime, &receiver, 1);
    let envelope = common::receiver::assert_signed(requests.first().expect("delivered within 10 s"), &secret);
    assert_eq!(
        (envelope["type"].as_str(), envelope["data"]["merchant_id"].as_str()),
        (Some("merchant.decided"), Some(merchant_id.as_str()))
    );
    assert_eq!(envelope["data"]["status"], "rejected");

    // Tokens of one API do not open the other: the POS demo token has none of these scopes.
    let pos = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    assert_eq!(
        call(
            reqwest::Method::GET,
            &format!("/api/distributors/pullmerchant/{merchant_id}?realmId=realm-1"),
            &pos,
            None
        )
        .0,
        403
    );
}
