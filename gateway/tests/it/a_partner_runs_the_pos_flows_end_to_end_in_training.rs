//! A payments partner's first week against TRAINING, through the real gateway: the flows of the
//! POS reference (lookup → verify → calculate-interest → authorize → capture → return → refund,
//! and apply → new account → purchase), where every answer agrees with every earlier one: the
//! account a search finds is the one lookup, the quote and the authorization name; the quoted
//! term amount is the authorization's; the credit moves by exactly what each step holds or frees.

use sandgate_testkit as common;

use common::TestSandgate;
use serde_json::{json, Value};

const REFERENCE: &str = "5d1c2b3a-0f9e-4d8c-8b7a-6a5b4c3d2e1f";

struct Partner {
    base: String,
    token: String,
}

impl Partner {
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut request =
            common::http().request(method, url).bearer_auth(&self.token).header("x-reference-id", REFERENCE);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().expect("the gateway answers");
        (response.status().as_u16(), response.json().unwrap_or(Value::Null))
    }

    fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(reqwest::Method::POST, path, Some(body));
        assert_eq!(status, 200, "POST {path}: {answer}");
        answer
    }

    fn available(&self, account: u64) -> f64 {
        self.get(&format!("/customers/lookup?account_number={account}"))["available_credit"].as_f64().expect("credit")
    }
}

#[test]
fn every_answer_agrees_with_every_earlier_one() {
    let sandgate = TestSandgate::start(None);
    let token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let pos = Partner { base: format!("{}/pos-api/v2.5/client-id/{}", sandgate.training, sandgate.client_id), token };

    // Find the customer, read the account back, verify them.
    let found = pos.get("/customers/search?first_name=aisha&last_name=KHAN&dob=1990-03-22");
    let account = found[0]["account_number"].as_u64().expect("an account");
    let details = pos.get(&format!("/customers/lookup?account_number={account}"));
    assert_eq!(
        (&details["first_name"], &details["available_credit"]),
        (&json!("Aisha"), &found[0]["available_credit"])
    );
    let card = details["customer_id"].clone();
    assert_eq!(
        pos.get(&format!("/customers/lookup?customer_id={}", card.as_str().unwrap_or_default()))["account_number"],
        account
    );
    let verify =
        json!({"format": "security_question", "security_qid": 3, "security_answer": "sandbox", "request_id": "r-1"});
    assert_eq!(pos.call(reqwest::Method::POST, &format!("/account/{account}/verify"), Some(verify)).0, 200);

    // Quote, then authorize the quoted plan: the authorization's term amount is the quote's.
    let quote = pos.post(&format!("/accounts/{account}/calculate-interest"), json!({"amount": 1200.0}));
    assert_eq!((&quote["customer"]["first_name"], &quote["account_number"]), (&json!("Aisha"), &json!(account)));
    let plan = quote["promotional_purchase"].as_array().and_then(|plans| plans.iter().find(|p| p["plan_id"] == 301));
    let quoted = &plan.expect("plan 301 quoted")["terms"][0];
    let financing = json!({"transaction_type": "promotional_purchase", "plan_id": 301, "term": quoted["term"]});
    let authorization = pos.post(
        "/authorization",
        json!({"account_number": account, "amount": 1200.0, "auto_capture": false, "reference": "ORDER-1", "financing_option": financing}),
    );
    assert_eq!(authorization["financing_option"]["term_amount"], quoted["term_amount"], "{authorization}");
    assert_eq!(authorization["reference"], "ORDER-1");
    let id = authorization["authorization_id"].as_u64().expect("id");
    assert_eq!(pos.available(account), 3560.24, "5,000 less 1,200 with 9.99% over 24 months (1,439.76)");
    assert_eq!(pos.get(&format!("/authorization/{id}")), authorization, "read back as created");

    // Capture part, release the rest, return some, refund some: each moves what it should.
    let capture = pos.post(&format!("/authorization/{id}/capture"), json!({"amount": 1000.0, "reference": "SHIP-1"}));
    let capture_id = capture["capture_id"].as_u64().expect("capture id");
    let release = pos.post(&format!("/authorization/{id}/release"), json!({"amount": 200.0}));
    assert_eq!((&release["status"], &release["remaining_authorization_amount"]), (&json!("closed"), &json!(0)));
    assert_eq!(pos.available(account), 3800.2, "the release frees 200 and its interest");
    let stored = pos.get(&format!("/authorization/{id}"));
    assert_eq!(stored["captures"][0]["capture_id"], capture_id, "{stored}");
    let listed = pos.get("/captures");
    assert_eq!(listed[0]["capture_id"], capture_id, "newest first: {listed}");
    let returned = pos.post(
        &format!("/authorization/{id}/capture/{capture_id}/return"),
        json!({"amount": 100.0, "reference": "RMA-1"}),
    );
    assert_eq!((&returned["capture_id"], &returned["reference"]), (&json!(capture_id), &json!("RMA-1")));
    assert_eq!(pos.available(account), 3920.18);
    let (status, refused) =
        pos.call(reqwest::Method::POST, &format!("/accounts/{account}/refund"), Some(json!({"amount": 900.01})));
    assert_eq!((status, &refused["error"]), (409, &json!("refunds_limit_exceeded_amount")), "the account owes 900");
    pos.post(&format!("/accounts/{account}/refund"), json!({"amount": 900.0}));
    assert_eq!(pos.available(account), 4820.18);

    // Apply, find the new account, buy with it.
    let applicant = json!({"first_name": "Nora", "middle_name": "A-RR_L", "last_name": "Lindqvist", "dob": "1988-08-08",
        "email": "nora@example.com", "phone_number": 4165550199_u64, "address_1": "1 Yonge St", "city": "Toronto",
        "province": "ON", "postal_code": "M5E1W7", "account_type": "consumer", "tos_agreement": true,
        "verification_code": 2222});
    let (status, approved) = pos.call(reqwest::Method::POST, "/apply", Some(applicant));
    assert_eq!((status, &approved["apply_status"]), (200, &json!("approved")), "{approved}");
    let new_account = approved["account_number"].as_u64().expect("a new account");
    let (_, found) =
        pos.call(reqwest::Method::GET, "/customers/search?first_name=Nora&last_name=Lindqvist&dob=1988-08-08", None);
    assert_eq!(found[0]["account_number"], new_account, "search finds the new account");
    let purchase = pos.post(
        "/transactions",
        json!({"account_number": new_account, "transaction_type": "regular_purchase", "amount": 250.0, "verification_code": 1234}),
    );
    assert_eq!((&purchase["customer_name"], &purchase["total_amount"]), (&json!("Nora"), &json!(250.0)));
    assert_eq!(pos.available(new_account), 4750.0);
}
