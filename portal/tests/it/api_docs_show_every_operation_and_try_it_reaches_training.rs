//! The API documentation: every operation of every served spec, its schemas and the magic TRAINING
//! values; "try it" only for a signed-in member with a TRAINING credential, and it reaches
//! TRAINING through the gateway.

use sandgate_testkit::TestSandgate;

use crate::visitor::Visitor;

#[test]
fn every_operation_is_documented_and_try_it_answers_from_training() {
    let sandgate = TestSandgate::start(None);
    let mut visitor = Visitor::new(&sandgate);
    let index = visitor.get("/docs");
    assert_eq!(index.status, 200);
    for api in sandgate.emulator.apis() {
        let slug = api.base_path.trim_matches('/').replace('/', "-");
        assert!(index.body.contains(&format!("/docs/{slug}")), "{slug} is listed");
        let page = visitor.get(&format!("/docs/{slug}"));
        assert_eq!(page.status, 200, "{slug}");
        for op in &api.operations {
            let shown = format!("{}{}</code>", api.base_path, op.path.replace('\'', "&#39;"));
            assert!(page.body.contains(&shown), "{slug}: {} {} is documented", op.method, op.path);
        }
        assert!(!page.body.contains("Try it against TRAINING"), "no try-it without a credential");
    }
    let pos = visitor.get("/docs/pos-api-v2.5");
    assert!(pos.body.contains("id=\"schema-AccountSummary\""), "component schemas are shown");
    assert!(pos.body.contains("href=\"#schema-AccountSummary\""), "operations link their schemas");
    assert!(pos.body.contains("A-RR_L") && pos.body.contains("100100100"), "the magic TRAINING values are listed");
    assert!(
        pos.body.contains("refunds_limit_exceeded_amount")
            && pos.body.contains("The refund is more than the account owes."),
        "every documented error code is listed with its message"
    );
    assert!(pos.body.contains("deprecated"), "deprecations are marked");

    // A member with a TRAINING credential tries the customer search.
    let mut owner = Visitor::sign_up(&sandgate, "Docs Co", "owner@docs.test");
    let created = owner.post("/sandbox", &[("trust_list", "127.0.0.1")]);
    assert_eq!(created.status, 201, "{}", created.body);
    let client_id =
        created.body.split("id=\"client-id\">").nth(1).and_then(|s| s.split('<').next()).expect("client id").to_owned();
    let page = owner.get("/docs/pos-api-v2.5");
    assert!(page.body.contains("Try it against TRAINING") && page.body.contains(&client_id));
    let search = sandgate
        .emulator
        .apis()
        .iter()
        .find(|api| api.base_path == "/pos-api/v2.5")
        .and_then(|api| api.operations.iter().position(|op| op.operation_id.as_deref() == Some("searchCustomers")))
        .expect("searchCustomers");
    let anchor = format!("op-{search}");
    let tried = owner.post(
        "/docs/pos-api-v2.5/try",
        &[
            ("operation", &anchor),
            ("client_id", &client_id),
            ("p.first_name", "John"),
            ("p.last_name", "Smith"),
            ("p.dob", "1980-01-01"),
        ],
    );
    assert_eq!(tried.status, 200, "{}", tried.body);
    let result = tried.body.split("class=\"result\"").nth(1).expect("the answer is shown");
    assert!(result.contains("→ 200 OK"), "TRAINING answered through the gateway: {result}");
    assert!(result.contains("&#34;last_name&#34;: &#34;Smith&#34;"), "the customer searched for: {result}");
    // Someone else's credential cannot be used.
    let mut other = Visitor::sign_up(&sandgate, "Other Docs", "owner@otherdocs.test");
    other.get("/docs/pos-api-v2.5");
    let refused = other.post("/docs/pos-api-v2.5/try", &[("operation", &anchor), ("client_id", &client_id)]);
    assert!(refused.body.contains("choose one of your TRAINING credentials"), "{}", refused.body);
}
