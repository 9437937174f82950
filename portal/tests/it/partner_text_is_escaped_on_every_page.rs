//! Whatever a partner types is shown as text: names, descriptions, webhook URLs, contact details,
//! on the partner's pages, the operator's pages and in the CSV download.

use sandgate_testkit::TestSandgate;

use crate::visitor::Visitor;

const ATTACK: &str = "\"><script>alert(1)</script><img src=x onerror=alert(2)>";

#[test]
fn markup_in_partner_fields_is_rendered_inert() {
    let sandgate = TestSandgate::start(None);
    let mut owner = Visitor::sign_up(&sandgate, &format!("Evil {ATTACK}"), "owner@evil.test");
    let dashboard = owner.get("/");
    let shown = |body: &str| body.contains("&#60;script&#62;alert(1)") || body.contains("&lt;script&gt;alert(1)");
    assert!(shown(&dashboard.body), "the name is shown as text: {}", dashboard.body);
    let app = owner.create_app("evil-app", ATTACK);
    owner.get(&format!("/applications/{app}/edit"));
    let hook = "https://hooks.evil.test/x?a=<b>";
    let edited = owner.post(
        &format!("/applications/{app}/edit"),
        &[
            ("scopes", "merchant"),
            ("description", ATTACK),
            ("trust_list", "127.0.0.1/32\nhttps://hooks.evil.test"),
            ("webhooks", &format!("{hook} integration.connected")),
        ],
    );
    assert_eq!(edited.status, 303, "{}", edited.body);
    let operator = sandgate.operator_token();
    let mut op = Visitor::new(&sandgate);
    op.get("/operator/signin");
    assert_eq!(op.post("/operator/signin", &[("token", &operator)]).status, 303);
    for (who, page) in [
        ("owner app page", owner.get(&format!("/applications/{app}"))),
        ("owner edit page", owner.get(&format!("/applications/{app}/edit"))),
        ("owner dashboard", owner.get("/")),
        ("operator home", op.get("/operator")),
        ("operator app page", op.get(&format!("/operator/applications/{app}"))),
    ] {
        assert_eq!(page.status, 200, "{who}");
        assert!(!page.body.contains("<script>alert"), "{who}: raw script");
        assert!(!page.body.contains("<img src=x"), "{who}: raw image");
        assert!(!page.body.contains("?a=<b>"), "{who}: raw webhook URL");
    }
    // A redirect's notice is a fixed text chosen by code, never the query's.
    let notice = owner.get(&format!("/applications/{app}?done=%3Cscript%3Ealert(3)%3C/script%3E"));
    assert!(!notice.body.contains("alert(3)"));
}
