//! Scenarios: the POS API's business rules, written as data in `specs/pos-api/scenarios.yaml`,
//! answer before state and fabrication: account statuses, credit and payment limits, security
//! answer lock-out, capture and release against the stored authorization, returns after 100 days,
//! the middle-name decisions and PIN 2222. Every answer conforms to its documented schema. A
//! malformed scenario file stops start-up naming the file and the JSON pointer.

use crate::common;

use http::{HeaderMap, HeaderValue, Method};
use sandgate_emulator::scenario::ScenarioFile;
use sandgate_emulator::{Emulator, EmulatorOptions, SCENARIO_HEADER};
use serde_json::{json, Value};

const BASE: &str = "/pos-api/v2.5/client-id/demo";

fn pos() -> Emulator {
    Emulator::from_dir(&common::specs_dir(), EmulatorOptions::default()).expect("specs and scenarios load")
}

/// POSTs `body` and checks the answer against the documented schema; returns status, body and
/// the scenario that answered.
fn post(emulator: &Emulator, path: &str, body: Value) -> (u16, Value, Option<String>) {
    let path = format!("{BASE}{path}");
    let response = common::call_json(emulator, Method::POST, &path, &HeaderMap::new(), &body);
    check(emulator, Method::POST, &path, response)
}

fn check(
    emulator: &Emulator,
    method: Method,
    path: &str,
    response: sandgate_emulator::EmuResponse,
) -> (u16, Value, Option<String>) {
    let value = if response.body.is_empty() { Value::Null } else { common::json(&response) };
    let route = path.split('?').next().unwrap_or(path);
    let schema = emulator.response_schema(&method, route, response.status).expect("documented status");
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("compiles");
    assert!(validator.is_valid(&value), "{method} {path} → {}: {value} does not conform", response.status);
    let scenario = response.headers.iter().find(|(n, _)| *n == SCENARIO_HEADER).map(|(_, v)| v.clone());
    (response.status, value, scenario)
}

fn error(outcome: &(u16, Value, Option<String>)) -> (u16, &str) {
    (outcome.0, outcome.1["error"].as_str().unwrap_or_default())
}

fn purchase(account: u64, kind: &str, amount: f64) -> Value {
    json!({"account_number": account, "transaction_type": kind, "amount": amount, "verification_code": 1234})
}

#[test]
fn account_status_and_limits_refuse_what_the_reference_api_refuses() {
    let pos = pos();
    for account in [40000000000001_u64, 40000000000002, 40000000000003, 40000000000004] {
        let refused = post(&pos, "/transactions", purchase(account, "regular_purchase", 10.0));
        assert_eq!(error(&refused), (409, "user_not_able_to_purchase"));
        assert!(refused.2.is_some_and(|name| name.contains("cannot purchase")), "the scenario is named");
        let authorization = json!({"account_number": account, "amount": 10.0, "auto_capture": false,
                                   "financing_option": {"transaction_type": "regular_purchase"}});
        assert_eq!(error(&post(&pos, "/authorization", authorization)), (409, "user_not_able_to_purchase"));
    }
    assert_eq!(
        post(&pos, "/transactions", purchase(12345678, "regular_purchase", 10.0)).0,
        200,
        "status N may purchase"
    );
    assert_eq!(
        post(&pos, "/transactions", purchase(40000000000001, "deposit", 10.0)).0,
        200,
        "payments are not purchases"
    );
    assert_eq!(
        error(&post(&pos, "/transactions", purchase(40000000000005, "deposit", 10.0))),
        (409, "user_not_active")
    );
    assert_eq!(
        error(&post(&pos, "/transactions", purchase(12345678, "deposit", 10000.01))),
        (409, "limit_payment_amount_24")
    );
    assert_eq!(post(&pos, "/transactions", purchase(12345678, "deposit", 10000.0)).0, 200, "10,000 itself is allowed");
    assert_eq!(
        error(&post(&pos, "/transactions", purchase(12345678, "promotional_purchase", 5000.5))),
        (409, "not_enough_credit")
    );
    let big = json!({"account_number": 12345678, "amount": 6000.0, "auto_capture": false,
                     "financing_option": {"transaction_type": "regular_purchase"}});
    assert_eq!(error(&post(&pos, "/authorization", big)), (409, "credit_exceeded"));
}

#[test]
fn more_than_three_wrong_security_answers_lock_verification() {
    let pos = pos();
    let answer = |text: &str| json!({"format": "security_question", "security_qid": 1, "security_answer": text, "request_id": "r-1"});
    assert_eq!(post(&pos, "/account/12345678/verify", answer("sandbox")).0, 200, "the right answer passes");
    for _ in 0..3 {
        assert_eq!(error(&post(&pos, "/account/12345678/verify", answer("wrong"))), (409, "secret_answer_mismatch"));
    }
    assert_eq!(error(&post(&pos, "/account/12345678/verify", answer("sandbox"))), (409, "tries_exceed"));
    assert_eq!(post(&pos, "/account/30000000000003/verify", answer("sandbox")).0, 200, "counted per account");
    assert_eq!(error(&post(&pos, "/account/777/verify", answer("sandbox"))), (404, "not_found"), "no such account");
}

#[test]
fn capture_and_release_follow_the_stored_authorization() {
    let pos = pos();
    let create = json!({"account_number": 12345678, "amount": 250.0, "auto_capture": false,
                        "financing_option": {"transaction_type": "regular_purchase"}});
    let (_, authorization, _) = post(&pos, "/authorization", create);
    let id = authorization["authorization_id"].as_u64().expect("id");
    let capture = |amount: f64| post(&pos, &format!("/authorization/{id}/capture"), json!({"amount": amount}));

    let (status, first, _) = capture(100.1);
    assert_eq!(
        (status, &first["remaining_authorization_amount"], &first["status"]),
        (200, &json!(149.9), &json!("open"))
    );
    let stored =
        common::json(&common::call(&pos, Method::GET, &format!("{BASE}/authorization/{id}"), &HeaderMap::new()));
    assert_eq!((&stored["captured_amount"], &stored["remaining_authorization_amount"]), (&json!(100.1), &json!(149.9)));
    let too_much = capture(149.91);
    assert_eq!(error(&too_much), (409, "auth_amount_exceeded"));
    assert!(too_much.1["error_description"].as_str().is_some_and(|d| d.contains("149.9")), "{}", too_much.1);
    let release = post(&pos, &format!("/authorization/{id}/release"), json!({"amount": 49.9}));
    assert_eq!((release.0, &release.1["remaining_authorization_amount"]), (200, &json!(100.0)));
    let (status, last, _) = capture(100.0);
    assert_eq!((status, &last["status"], &last["remaining_authorization_amount"]), (200, &json!("closed"), &json!(0)));
    assert_eq!(error(&capture(1.0)), (409, "authorization_ended"));
    assert_eq!(error(&post(&pos, "/authorization/999/release", json!({"amount": 1.0}))), (404, "not_found"));

    // 100.0 authorized, 100 (an integer in JSON) captured: the same amount, so it closes.
    let create = json!({"account_number": 12345678, "amount": 100.0, "auto_capture": false,
                        "financing_option": {"transaction_type": "regular_purchase"}});
    let (_, authorization, _) = post(&pos, "/authorization", create);
    let id = authorization["authorization_id"].as_u64().expect("id");
    let (status, whole, _) = post(&pos, &format!("/authorization/{id}/capture"), json!({"amount": 100}));
    assert_eq!(
        (status, &whole["status"], &whole["remaining_authorization_amount"]),
        (200, &json!("closed"), &json!(0))
    );
    let after = post(&pos, &format!("/authorization/{id}/capture"), json!({"amount": 1}));
    assert_eq!(error(&after), (409, "authorization_ended"), "a closed authorization, not an amount error");
}

#[test]
fn returns_are_refused_after_100_days_and_above_what_remains_captured() {
    let pos = pos();
    assert_eq!(
        error(&post(&pos, "/authorization/5/capture/100100100/return", json!({"amount": 5.0}))),
        (409, "return_date_exceeded")
    );
    assert_eq!(error(&post(&pos, "/authorization/5/capture/7/return", json!({"amount": 5.0}))), (404, "not_found"));
    // The closed fixture authorization has 120.00 captured.
    let closed = "/authorization/1000000000000002/capture/7/return";
    let (status, returned, _) = post(&pos, closed, json!({"amount": 100.0}));
    assert_eq!(
        (status, &returned["remaining_capture_amount"], &returned["amount"]),
        (200, &json!(20.0), &json!(100.0))
    );
    assert_eq!(returned["capture_id"], 7, "the capture named in the path");
    let too_much = post(&pos, closed, json!({"amount": 20.01}));
    assert_eq!(error(&too_much), (409, "capture_amount_exceeded"));
    assert!(too_much.1["error_description"].as_str().is_some_and(|d| d.contains("20")), "{}", too_much.1);
    assert_eq!(post(&pos, closed, json!({"amount": 20.0})).0, 200, "the rest can still be returned");
}

#[test]
fn the_middle_name_selects_the_application_decision() {
    let pos = pos();
    let apply = |middle: &str, pin: Option<u32>| {
        let mut body = json!({
            "tos_agreement": true, "account_type": "consumer", "first_name": "Ann", "middle_name": middle,
            "last_name": "Lee", "dob": "1990-02-03", "email": "ann@example.com", "phone_number": 4165550123_u64,
            "address_1": "1 King St", "city": "Toronto", "province": "ON", "postal_code": "M5H1A1"
        });
        if let Some(pin) = pin {
            body["verification_code"] = json!(pin);
        }
        post(&pos, "/apply", body)
    };
    for (middle, decision) in
        [("A-RR_L", "approved"), ("A-RR_XXX", "approved"), ("P-CREDIT", "pending"), ("D-NO_HIT", "declined")]
    {
        let (status, body, _) = apply(middle, Some(2222));
        assert_eq!((status, body["apply_status"].as_str()), (200, Some(decision)), "{middle}: {body}");
    }
    assert_eq!(apply("A-RR_M", None).1["risk_rating"], "M");
    assert_eq!(error(&apply("D-EMAIL_DBL_TIMEOUT", None)), (409, "application_create_error"));
    assert_eq!(error(&apply("A-RR_L", Some(1111))), (409, "not_verified"), "the apply PIN is 2222");
    let mut refused = json!({
        "tos_agreement": false, "account_type": "consumer", "first_name": "Ann", "middle_name": "A-RR_L",
        "last_name": "Lee", "dob": "1990-02-03", "email": "ann@example.com", "phone_number": 4165550123_u64,
        "address_1": "1 King St", "city": "Toronto", "province": "ON", "postal_code": "M5H1A1"
    });
    assert_eq!(error(&post(&pos, "/apply", refused.clone())), (409, "tos_agreement_required"), "terms not accepted");
    refused["verification_code"] = json!(2222);
    assert_eq!(error(&post(&pos, "/apply", refused)), (409, "tos_agreement_required"), "whatever the middle name");
}

#[test]
fn a_lookup_needs_an_identifier() {
    let pos = pos();
    let lookup = |query: &str| {
        let path = format!("{BASE}/customers/lookup{query}");
        let response = common::call(&pos, Method::GET, &path, &HeaderMap::new());
        check(&pos, Method::GET, path.split('?').next().unwrap_or(&path), response)
    };
    let none = lookup("");
    assert_eq!(error(&none), (409, "wrong_inputs"), "{}", none.1);
    let unknown = lookup("?account_number=123456789");
    assert_eq!(error(&unknown), (404, "not_found"), "an account nobody has: {}", unknown.1);
    assert_eq!(lookup("?account_number=12345678").0, 200);
}

/// `GET` of `path_and_query` under the demo client, checked against its documented schema.
fn get(emulator: &Emulator, path_and_query: &str) -> (u16, Value) {
    let path = format!("{BASE}{path_and_query}");
    let response = common::call(emulator, Method::GET, &path, &HeaderMap::new());
    let (status, body, _) = check(emulator, Method::GET, path.split('?').next().unwrap_or(&path), response);
    (status, body)
}

#[test]
fn search_finds_the_customer_searched_for_and_lookup_reads_back_the_same_account() {
    let pos = pos();
    let (status, found) = get(&pos, "/customers/search?first_name=John&last_name=Smith&dob=1980-01-01");
    assert_eq!(status, 200, "{found}");
    let found = found.as_array().expect("a list").clone();
    assert!(!found.is_empty());
    for account in &found {
        assert_eq!((&account["first_name"], &account["last_name"]), (&json!("John"), &json!("Smith")), "{account}");
    }
    // The same search, spelt in other cases and asked in French, finds the same accounts.
    let (_, again) = get(&pos, "/customers/search?first_name=JOHN&last_name=smith&dob=1980-01-01&lang=fr");
    assert_eq!(again.as_array(), Some(&found));
    assert_eq!(get(&pos, "/customers/search?first_name=John&last_name=Smith&dob=1980-01-02").0, 404);
    let (_, postal) = get(&pos, "/customers/search?first_name=John&last_name=Smith&dob=1980-01-01&postal_code=H3G1P1");
    assert_eq!(postal["error"], "not_found", "the postal code filters too");

    // Each account found reads back as the same account and person, by each identifier.
    for account in &found {
        let number = account["account_number"].as_u64().expect("number");
        let customer = account["customer_id"].as_str().expect("customer id");
        let (status, by_account) = get(&pos, &format!("/customers/lookup?account_number={number}"));
        assert_eq!(status, 200);
        let (_, by_customer) = get(&pos, &format!("/customers/lookup?customer_id={customer}"));
        assert_eq!(by_account, by_customer);
        for field in ["account_number", "customer_id", "first_name", "last_name", "account_status", "available_credit"]
        {
            assert_eq!(by_account[field], account[field], "{field}: search {account} vs lookup {by_account}");
        }
    }
}

#[test]
fn the_magic_accounts_show_their_documented_statuses() {
    let pos = pos();
    for (account, status) in [
        (40000000000001_u64, "A"),
        (40000000000002, "F"),
        (40000000000003, "Z"),
        (40000000000004, "C"),
        (40000000000005, "N"),
    ] {
        let (code, found) = get(&pos, &format!("/customers/lookup?account_number={account}"));
        assert_eq!((code, found["account_status"].as_str()), (200, Some(status)), "{account}: {found}");
        if let Some(reason) = found["account_status_reason_code"].as_str() {
            assert!(reason.starts_with(status), "{account}: the reason code {reason} matches the status {status}");
        }
        assert!(
            found["available_credit"].as_f64() <= Some(5000.0),
            "available credit never above the $5,000 TRAINING limit: {found}"
        );
        // The postal code's first letter is the one of its province.
        let letter = match found["province"].as_str().expect("province") {
            "ON" => "KLMNP",
            "QC" => "GHJ",
            "BC" => "V",
            "AB" => "T",
            "MB" => "R",
            "SK" => "S",
            "NS" => "B",
            "NB" => "E",
            "NL" => "A",
            "PE" => "C",
            other => panic!("{other}"),
        };
        let postal = found["postal_code"].as_str().expect("postal code");
        assert!(letter.contains(&postal[..1]), "{postal} is not in {}", found["province"]);
    }
}

#[test]
fn prefer_code_bypasses_the_rules() {
    let pos = pos();
    let mut headers = HeaderMap::new();
    headers.insert("prefer", HeaderValue::from_static("code=200"));
    let path = format!("{BASE}/transactions");
    let response =
        common::call_json(&pos, Method::POST, &path, &headers, &purchase(40000000000001, "regular_purchase", 1.0));
    assert_eq!(check(&pos, Method::POST, &path, response).0, 200);
}

fn refused(scenarios: &str) -> String {
    let file = ScenarioFile { file: "bad.yaml".into(), doc: serde_yaml::from_str(scenarios).expect("yaml") };
    let apis = sandgate_openapi::load_file(&common::specs_dir().join("pos-api/v2.5.yaml")).expect("loads");
    let emulator = Emulator::new(apis, EmulatorOptions::default()).expect("compiles");
    emulator.with_scenarios(&[file]).expect_err("refused").to_string()
}

#[test]
fn a_malformed_scenario_file_names_the_file_and_pointer() {
    let head = "sandgate-scenarios: 1\napi: pos-api\nscenarios:\n";
    let unknown_op = refused(&format!("{head}  - {{name: x, operations: [nope], then: {{status: 409}}}}\n"));
    assert!(
        unknown_op.contains("bad.yaml")
            && unknown_op.contains("/scenarios/0/operations")
            && unknown_op.contains("nope"),
        "{unknown_op}"
    );
    let undocumented =
        refused(&format!("{head}  - {{name: x, operations: [createTransaction], then: {{status: 418}}}}\n"));
    assert!(undocumented.contains("/scenarios/0/then/status") && undocumented.contains("418"), "{undocumented}");
    let wrong_body = refused(&format!(
        "{head}  - {{name: x, operations: [createTransaction], then: {{status: 409, body: {{code: 409}}}}}}\n"
    ));
    assert!(wrong_body.contains("/scenarios/0/then/body"), "{wrong_body}");
    // Static bodies are checked together; the refusal still names the one that is wrong, and where.
    let good = "{name: a, operations: [createTransaction], then: {status: 409, body: {code: 409, error: user_not_active, error_description: d}}}";
    let wrong_second = refused(&format!(
        "{head}  - {good}\n  - {{name: b, operations: [createAuthorization], then: {{status: 409, body: {{code: '409', error: e, error_description: d}}}}}}\n"
    ));
    assert!(wrong_second.contains("/scenarios/1/then/body") && wrong_second.contains("oneOf"), "{wrong_second}");
    let bad_test = refused(&format!("{head}  - {{name: x, operations: [createTransaction], when: [{{field: request.body.a, gtt: 1}}], then: {{status: 409}}}}\n"));
    assert!(bad_test.contains("/scenarios/0/when/0") && bad_test.contains("gtt"), "{bad_test}");
    let both = refused(&format!("{head}  - {{name: x, operations: [lookupCustomer], load: {{collection: /c, id: '1', where: {{a: b}}}}, then: {{status: 404}}}}\n"));
    assert!(both.contains("/scenarios/0/load") && both.contains("either an id or where"), "{both}");
    let update_a_search = refused(&format!("{head}  - {{name: x, operations: [lookupCustomer], load: {{collection: /c, where: {{a: b}}}}, then: {{status: 404, update: {{a: c}}}}}}\n"));
    assert!(update_a_search.contains("/scenarios/0/then/update"), "{update_a_search}");
    let reserved = refused(&format!("{head}  - {{name: x, operations: [lookupCustomer], related: {{text: {{collection: /c, id: '1'}}}}, then: {{status: 404}}}}\n"));
    assert!(reserved.contains("/scenarios/0/related/text"), "a name templates already use: {reserved}");
    let unknown_related = refused(&format!("{head}  - {{name: x, operations: [lookupCustomer], then: {{status: 404, update_related: {{acct: {{a: b}}}}}}}}\n"));
    assert!(unknown_related.contains("/scenarios/0/then/update_related/acct"), "{unknown_related}");
    let other_api = refused("sandgate-scenarios: 1\napi: shop\nscenarios: []\n");
    assert!(other_api.contains("/api") && other_api.contains("pos-api"), "{other_api}");
}

#[test]
fn fixture_authorizations_exist_for_every_client_and_come_back_after_a_scrub() {
    let pos = pos();
    let open = format!("{BASE}/authorization/1000000000000001");
    let read = |path: &str| common::json(&common::call(&pos, Method::GET, path, &HeaderMap::new()));
    let fixture = read(&open);
    assert_eq!((&fixture["status"], &fixture["remaining_authorization_amount"]), (&json!("open"), &json!(500.0)));
    assert_eq!(read(&format!("{BASE}/authorization/1000000000000002"))["status"], "closed");
    let other_client = "/pos-api/v2.5/client-id/other/authorization/1000000000000001";
    assert_eq!(read(other_client)["reference"], "FIXTURE-OPEN", "every client has them");

    assert_eq!(post(&pos, "/authorization/1000000000000001/capture", json!({"amount": 100.0})).0, 200);
    assert_eq!(read(&open)["remaining_authorization_amount"], 400.0, "a fixture changes like any object");
    pos.scrub(sandgate_emulator::state::ScrubScope::All).expect("scrub");
    assert_eq!(read(&open)["remaining_authorization_amount"], 500.0, "and is back as it was after a scrub");
    let listed = read(&format!("{BASE}/authorizations"));
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
}

/// The available credit of `account` as lookup shows it.
fn available(emulator: &Emulator, account: u64) -> f64 {
    let (_, details) = get(emulator, &format!("/customers/lookup?account_number={account}"));
    details["available_credit"].as_f64().expect("available credit")
}

#[test]
fn purchases_and_authorizations_spend_the_accounts_credit() {
    let pos = pos();
    let account = 30000000000003; // Aisha Khan: $5,000 available
    let mut ids = Vec::new();
    for amount in [125.5, 1000.0, 74.5] {
        let (status, answer, _) = post(&pos, "/transactions", purchase(account, "regular_purchase", amount));
        assert_eq!(status, 200, "{answer}");
        assert_eq!((&answer["customer_name"], &answer["customer_lname"]), (&json!("Aisha"), &json!("Khan")));
        assert_eq!(answer["total_amount"], json!(amount), "the amount sent comes back");
        ids.push(answer["transaction_id"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "every purchase has an id of its own");
    assert_eq!(available(&pos, account), 3800.0, "three purchases lower the credit by their sum");
    let (_, search) = get(&pos, "/customers/search?first_name=Aisha&last_name=Khan&dob=1990-03-22");
    assert_eq!(search[0]["available_credit"], json!(3800.0), "search shows the same figure");
    let over = post(&pos, "/transactions", purchase(account, "promotional_purchase", 3800.01));
    assert_eq!(error(&over), (409, "not_enough_credit"), "{}", over.1);
    assert_eq!(post(&pos, "/transactions", purchase(account, "deposit", 50.0)).0, 200, "a payment is not a purchase");
    // v2.5.1 answers other fields (payments only there); the same rule fills the ones it
    // documents from the request.
    let path = "/pos-api/v2.5.1/client-id/demo/transactions";
    let payment = json!({"account_number": account, "transaction_type": "deposit", "amount": 20.25,
                         "request_id": "r-1", "external_location_id": "00-12345", "external_employee_id": "e-1",
                         "verification_code": 1234});
    let newer = common::call_json(&pos, Method::POST, path, &HeaderMap::new(), &payment);
    let (status, newer, _) = check(&pos, Method::POST, path, newer);
    assert_eq!(status, 200, "{newer}");
    assert_eq!((&newer["amount"], &newer["account_number"]), (&json!(20.25), &json!(account)), "{newer}");
    assert_eq!((&newer["transaction_type"], &newer["customer_name"]), (&json!("deposit"), &json!("Aisha")));

    // An authorization holds its amount; one above what is left is refused.
    let authorize = |amount: f64| {
        post(
            &pos,
            "/authorization",
            json!({"account_number": account, "amount": amount, "auto_capture": false,
                                            "financing_option": {"transaction_type": "regular_purchase"}}),
        )
    };
    assert_eq!(authorize(800.0).0, 200);
    assert_eq!(available(&pos, account), 3000.0);
    assert_eq!(error(&authorize(3000.5)), (409, "credit_exceeded"));
    assert_eq!(authorize(3000.0).0, 200, "exactly what is left");
    assert_eq!(available(&pos, account), 0.0);

    // Unknown accounts, and accounts that may not buy.
    let unknown = post(&pos, "/transactions", purchase(99999999, "regular_purchase", 10.0));
    assert_eq!(error(&unknown), (404, "not_found"));
    let closed = post(&pos, "/transactions", purchase(40000000000004, "regular_purchase", 10.0));
    assert_eq!(error(&closed), (409, "user_not_able_to_purchase"), "a closed account refuses");
    pos.scrub(sandgate_emulator::state::ScrubScope::All).expect("scrub");
    assert_eq!(available(&pos, account), 5000.0, "a scrub restores the world");
}

#[test]
fn every_capture_is_an_object_of_its_own_listed_and_returned_against() {
    let pos = pos();
    let authorize = |amount: f64| {
        let create = json!({"account_number": 12345678, "amount": amount, "auto_capture": false,
                            "financing_option": {"transaction_type": "regular_purchase"}});
        post(&pos, "/authorization", create).1["authorization_id"].as_u64().expect("id")
    };
    let (first, second) = (authorize(100.0), authorize(50.0));
    let capture = |id: u64, amount: f64, reference: &str| {
        let (status, body, _) =
            post(&pos, &format!("/authorization/{id}/capture"), json!({"amount": amount, "reference": reference}));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["reference"], json!(reference), "the reference sent comes back");
        body["capture_id"].as_u64().expect("capture id")
    };
    let a = capture(first, 40.0, "TILL-1");
    let b = capture(first, 60.0, "TILL-2");
    let c = capture(second, 50.0, "TILL-3");
    assert!(a != b && b != c && a != c, "every capture has an id of its own: {a} {b} {c}");

    let (_, stored) = get(&pos, &format!("/authorization/{first}"));
    let listed: Vec<u64> =
        stored["captures"].as_array().expect("captures").iter().filter_map(|c| c["capture_id"].as_u64()).collect();
    assert_eq!(listed, [a, b], "the authorization lists its captures: {stored}");
    assert_eq!(stored["status"], "closed", "100.0 captured as 40 + 60 closes it");
    let (status, all) = get(&pos, "/captures");
    assert_eq!(status, 200);
    let ids: Vec<u64> = all.as_array().expect("list").iter().filter_map(|c| c["capture_id"].as_u64()).collect();
    for id in [a, b, c] {
        assert!(ids.contains(&id), "GET captures lists {id}: {ids:?}");
    }

    let unknown = post(&pos, &format!("/authorization/{first}/capture/123456789/return"), json!({"amount": 1.0}));
    assert_eq!(error(&unknown), (404, "not_found"), "a return against a capture nobody made");
    let elsewhere = post(&pos, &format!("/authorization/{first}/capture/{c}/return"), json!({"amount": 1.0}));
    assert_eq!(error(&elsewhere), (404, "not_found"), "a capture of another authorization");
    let (status, returned, _) = post(
        &pos,
        &format!("/authorization/{first}/capture/{a}/return"),
        json!({"amount": 10.0, "reference": "RMA-1"}),
    );
    assert_eq!((status, &returned["capture_id"], &returned["reference"]), (200, &json!(a), &json!("RMA-1")));
    let (_, again, _) = post(&pos, &format!("/authorization/{first}/capture/{a}/return"), json!({"amount": 1.0}));
    assert_ne!(again["return_id"], returned["return_id"], "every return has an id of its own");
}

#[test]
fn an_approved_application_opens_an_account_that_lookup_and_search_find() {
    let pos = pos();
    let apply = |first: &str, middle: &str| {
        let body = json!({
            "tos_agreement": true, "account_type": "consumer", "first_name": first, "middle_name": middle,
            "last_name": "Roy", "dob": "1988-08-08", "email": "roy@example.com", "phone_number": 5145550199_u64,
            "address_1": "5 rue Peel", "city": "Montréal", "province": "QC", "postal_code": "H3C2G9",
            "verification_code": 2222
        });
        post(&pos, "/apply", body)
    };
    let (_, first, _) = apply("Léa", "A-RR_H");
    let (_, second, _) = apply("Noah", "A-RR_XX");
    assert_eq!((&first["apply_status"], &first["risk_rating"]), (&json!("approved"), &json!("H")));
    let (a, b) =
        (first["account_number"].as_u64().expect("account"), second["account_number"].as_u64().expect("account"));
    assert_ne!(a, b, "every approval opens an account of its own");
    assert_ne!(first["customer_id"], second["customer_id"]);
    assert_eq!(a.to_string().len(), 14, "account numbers have 14 digits: {a}");

    let (status, opened) = get(&pos, &format!("/customers/lookup?account_number={a}"));
    assert_eq!(status, 200, "the new account is found: {opened}");
    assert_eq!(
        (&opened["first_name"], &opened["city"], &opened["risk_rating"]),
        (&json!("Léa"), &json!("Montréal"), &json!("H"))
    );
    assert_eq!(opened["customer_id"], first["customer_id"]);
    let (_, by_name) = get(&pos, "/customers/search?first_name=Noah&last_name=Roy&dob=1988-08-08");
    assert_eq!(by_name[0]["account_number"], json!(b), "search finds it: {by_name}");
    assert_eq!(by_name[0]["risk_rating"], json!("Z"));
    // And it can buy at once.
    assert_eq!(post(&pos, "/transactions", purchase(a, "regular_purchase", 100.0)).0, 200);
    assert_eq!(available(&pos, a), 4900.0);
}

#[test]
fn an_interest_quote_is_for_the_account_and_the_amount_sent() {
    let pos = pos();
    let account = 30000000000002_u64; // Marie Tremblay
    let (_, holder) = get(&pos, &format!("/customers/lookup?account_number={account}"));
    for version in ["v2.5", "v2.5.1"] {
        let path = format!("/pos-api/{version}/client-id/demo/accounts/{account}/calculate-interest");
        let answer = common::call_json(&pos, Method::POST, &path, &HeaderMap::new(), &json!({"amount": 234.45}));
        let (status, quote, _) = check(&pos, Method::POST, &path, answer);
        assert_eq!(status, 200, "{version}: {quote}");
        assert_eq!((&quote["account_number"], &quote["amount"]), (&json!(account), &json!(234.45)), "{version}");
        let customer = &quote["customer"];
        for field in ["first_name", "last_name", "available_credit"] {
            assert_eq!(customer[field], holder[field], "{version}: {field} agrees with lookup");
        }
        assert_eq!(customer["category_type"], "preferred", "risk rating M is preferred");
        let terms: Vec<(u64, f64)> = quote["promotional_purchase"]
            .as_array()
            .expect("plans")
            .iter()
            .flat_map(|plan| plan["terms"].as_array().expect("terms").clone())
            .map(|t| (t["term"].as_u64().expect("term"), t["term_amount"].as_f64().expect("amount")))
            .collect();
        assert!(terms.contains(&(12, 19.54)), "{version}: 234.45 over 12 months is 19.54 a month: {terms:?}");
        for (term, amount) in &terms {
            assert!(*term <= 24 && amount * (*term as f64) <= 234.45 * 1.2 + 0.01, "{version}: {term} x {amount}");
        }
    }
    let unknown = common::call_json(
        &pos,
        Method::POST,
        "/pos-api/v2.5.1/client-id/demo/accounts/99999999/calculate-interest",
        &HeaderMap::new(),
        &json!({"amount": 10.0}),
    );
    assert_eq!(unknown.status, 404);
}

#[test]
fn a_repeated_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let pos = pos();
    let account = 30000000000004_u64; // Liam O'Connor: $5,000 available
    let path = format!("{BASE}/transactions");
    let send = |key: &str, amount: f64| {
        let mut headers = HeaderMap::new();
        headers.insert("x-idempotency-key", HeaderValue::from_str(key).expect("header"));
        let response =
            common::call_json(&pos, Method::POST, &path, &headers, &purchase(account, "regular_purchase", amount));
        let replayed = response.headers.iter().any(|(n, v)| n == "idempotent-replayed" && v == "true");
        let (status, body, _) = check(&pos, Method::POST, &path, response);
        (status, body, replayed)
    };
    let (status, first, replayed) = send("till-7-0001", 250.0);
    assert_eq!((status, replayed), (200, false), "{first}");
    let (status, again, replayed) = send("till-7-0001", 250.0);
    assert_eq!((status, replayed), (200, true));
    assert_eq!(again, first, "the same answer, the same transaction_id");
    assert_eq!(available(&pos, account), 4750.0, "charged once");
    let (status, changed, _) = send("till-7-0001", 300.0);
    // The API's documented error (checked against its schema), naming the header.
    assert_eq!(status, 409, "{changed}");
    assert_eq!(changed["field_errors"][0]["param"], "x-idempotency-key", "{changed}");
    let (status, other, replayed) = send("till-7-0002", 250.0);
    assert_eq!((status, replayed), (200, false));
    assert_ne!(other["transaction_id"], first["transaction_id"], "a new key is a new purchase");
    assert_eq!(available(&pos, account), 4500.0);
}

/// An authorization request on `account` for `amount` with this financing option.
fn authorization(account: u64, amount: f64, auto_capture: bool, financing: Value) -> Value {
    json!({"account_number": account, "amount": amount, "auto_capture": auto_capture, "financing_option": financing})
}

#[test]
fn plans_set_the_terms_and_both_versions_show_one_authorization() {
    let pos = pos();
    let account = 30000000000004; // Liam O'Connor: $5,000 available
    let plan_301 = json!({"transaction_type": "promotional_purchase", "plan_id": 301, "term": 24});
    let (status, created, _) = post(&pos, "/authorization?lang=fr", authorization(account, 1000.0, false, plan_301));
    assert_eq!(status, 200, "{created}");
    let financing = &created["financing_option"];
    assert_eq!((&financing["plan_id"], &financing["term"]), (&json!(301), &json!(24)), "the plan sent is kept");
    assert_eq!(
        (&financing["apr"], &financing["term_amount"]),
        (&json!(0.0999), &json!(49.99)),
        "24 × 49.99 ≈ 1,199.80"
    );
    assert_eq!(created["message"], "Approuvée.", "lang=fr answers French");
    assert_eq!(available(&pos, account), 3800.2, "the amount and its interest (1,199.80) are held");

    let id = created["authorization_id"].as_u64().expect("id");
    let (_, v25) = get(&pos, &format!("/authorization/{id}"));
    assert_eq!(v25, created, "a read answers what the create answered");
    let path = format!("/pos-api/v2.5.1/client-id/demo/authorization/{id}");
    let read = common::call(&pos, Method::GET, &path, &HeaderMap::new());
    let (_, v251, _) = check(&pos, Method::GET, &path, read);
    let newer = &v251["financing_option"];
    assert_eq!((&newer["plan_id"], &newer["term"], &newer["term_amount"]), (&json!(301), &json!(24), &json!(49.99)));
    assert_eq!((&newer["annual_rates"]["rate"], &newer["plan_name"]), (&json!(0.0999), &json!("24 months at 9.99%")));
    assert_eq!(newer["annual_rates"]["message"], "Intérêt simple sur le montant financé.");
    assert_eq!((&v251["amount"], &v251["status"]), (&v25["amount"], &v25["status"]), "one object, two views");

    let unoffered = json!({"transaction_type": "promotional_purchase", "plan_id": 101, "term": 24});
    let refused = post(&pos, "/authorization", authorization(account, 10.0, false, unoffered));
    assert_eq!(error(&refused), (409, "plan_term_not_available"));
    let no_term = json!({"transaction_type": "promotional_purchase", "plan_id": 101});
    assert_eq!(
        error(&post(&pos, "/authorization", authorization(account, 10.0, false, no_term))),
        (409, "plan_term_not_set")
    );
    assert_eq!(available(&pos, account), 3800.2, "refusals hold nothing");

    let regular = json!({"transaction_type": "regular_purchase"});
    let (status, captured, _) = post(&pos, "/authorization", authorization(account, 200.0, true, regular));
    assert_eq!(
        (status, &captured["status"], &captured["remaining_authorization_amount"]),
        (200, &json!("closed"), &json!(0))
    );
    let capture_id = &captured["captures"][0]["capture_id"];
    let (_, all) = get(&pos, "/captures");
    let listed = all.as_array().expect("list").iter().find(|c| c["capture_id"] == *capture_id);
    assert!(
        listed.is_some_and(|c| c["authorization_id"] == captured["authorization_id"]),
        "auto_capture lists its capture"
    );
}

#[test]
fn releases_returns_and_refunds_give_credit_back_within_what_is_owed() {
    let pos = pos();
    let account = 30000000000004;
    let plan_301 = json!({"transaction_type": "promotional_purchase", "plan_id": 301, "term": 24});
    let (_, created, _) = post(&pos, "/authorization", authorization(account, 1000.0, false, plan_301));
    let id = created["authorization_id"].as_u64().expect("id");
    assert_eq!(post(&pos, &format!("/authorization/{id}/release"), json!({"amount": 500.0})).0, 200);
    assert_eq!(available(&pos, account), 4400.1, "a release frees what it held: 500 and its interest");
    let (_, capture, _) = post(&pos, &format!("/authorization/{id}/capture"), json!({"amount": 500.0}));
    assert_eq!(capture["status"], "closed");
    assert_eq!(available(&pos, account), 4400.1, "a capture turns the hold into a charge");

    let refund = |amount: f64| post(&pos, &format!("/accounts/{account}/refund"), json!({"amount": amount}));
    let too_much = refund(500.01);
    assert_eq!(error(&too_much), (409, "refunds_limit_exceeded_amount"), "the account owes 500");
    assert_eq!(refund(200.0).0, 200);
    assert_eq!(available(&pos, account), 4600.1);
    assert_eq!(error(&refund(300.01)), (409, "refunds_limit_exceeded_amount"), "300 is owed now");
    let capture_id = capture["capture_id"].as_u64().expect("capture id");
    let returned = post(&pos, &format!("/authorization/{id}/capture/{capture_id}/return"), json!({"amount": 100.0}));
    assert_eq!(returned.0, 200, "{}", returned.1);
    assert_eq!(available(&pos, account), 4720.08, "a return frees 100 and its interest");
    assert_eq!(error(&refund(200.01)), (409, "refunds_limit_exceeded_amount"), "a return lowers what is owed");
    assert_eq!(error(&post(&pos, "/accounts/99999999/refund", json!({"amount": 1.0}))), (404, "not_found"));
}

#[test]
fn amounts_are_cents_and_only_quebec_accounts_close() {
    let pos = pos();
    let (status, wrong, _) = post(&pos, "/transactions", purchase(12345678, "regular_purchase", 10.005));
    assert_eq!(
        (status, &wrong["error"], &wrong["field_errors"][0]["param"]),
        (409, &json!("wrong_inputs"), &json!("amount"))
    );
    let regular = json!({"transaction_type": "regular_purchase"});
    assert_eq!(
        error(&post(&pos, "/authorization", authorization(12345678, 0.001, false, regular))),
        (409, "wrong_inputs")
    );
    assert_eq!(post(&pos, "/transactions", purchase(12345678, "regular_purchase", 10.1)).0, 200, "cents are fine");

    let (status, outside, _) = post(&pos, "/accounts/12345678/close", json!({}));
    assert_eq!((status, &outside["error"]), (409, &json!("wrong_inputs")), "an Ontario account: {outside}");
    assert_eq!(post(&pos, "/accounts/30000000000002/close", json!({})).0, 200, "Marie Tremblay, QC");
    let (_, closed) = get(&pos, "/customers/lookup?account_number=30000000000002");
    assert_eq!(closed["account_status"], "C", "{closed}");
    assert!(closed.get("account_status_reason_code").is_none(), "C has no documented reason code");
    let refused = post(&pos, "/transactions", purchase(30000000000002, "regular_purchase", 10.0));
    assert_eq!(error(&refused), (409, "user_not_able_to_purchase"), "a closed account refuses");
    assert_eq!(error(&post(&pos, "/accounts/99999999/close", json!({}))), (404, "not_found"));
}

#[test]
fn lists_answer_newest_first_within_the_dates_asked_for() {
    let pos = pos();
    let regular = json!({"transaction_type": "regular_purchase"});
    let ids: Vec<Value> = (0..2)
        .map(|_| {
            post(&pos, "/authorization", authorization(12345678, 10.0, false, regular.clone())).1["authorization_id"]
                .clone()
        })
        .collect();
    let listed = |query: &str| -> Vec<Value> {
        let (status, list) = get(&pos, &format!("/authorizations{query}"));
        assert_eq!(status, 200, "{list}");
        list.as_array().expect("a list").iter().map(|a| a["authorization_id"].clone()).collect()
    };
    let fixtures = [json!(1000000000000002_u64), json!(1000000000000001_u64)];
    assert_eq!(listed(""), [ids[1].clone(), ids[0].clone(), fixtures[1].clone(), fixtures[0].clone()], "newest first");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(listed(&format!("?start_date={today}")), [ids[1].clone(), ids[0].clone()], "made today");
    assert_eq!(listed("?end_date=2026-01-04"), [fixtures[0].clone()], "the day the closed fixture was made");
    assert_eq!(listed("?start_date=2026-01-05&end_date=2026-01-05"), [fixtures[1].clone()]);
}
