//! Cross-site request forgery: a form without the page's token, with another session's token, or
//! sent from another site is refused with 403 and changes nothing.

use sandgate_testkit::TestSandgate;

use crate::visitor::Visitor;

#[test]
fn forms_without_the_token_or_from_another_site_change_nothing() {
    let sandgate = TestSandgate::start(None);
    let mut owner = Visitor::sign_up(&sandgate, "Forgery Test", "owner@forgery.test");
    owner.get("/applications/new");
    let form = [("name", "forged-app"), ("type", "generic"), ("permission", "read"), ("scopes", "merchant")];

    let missing = owner.post_with("/applications/new", &form, &[], None);
    assert_eq!(missing.status, 403, "no token: {}", missing.body);
    let wrong = owner.post_with("/applications/new", &form, &[], Some("not-the-token"));
    assert_eq!(wrong.status, 403, "a wrong token");
    let token = owner.csrf.clone();
    let cross_site = owner.post_with("/applications/new", &form, &[("sec-fetch-site", "cross-site")], Some(&token));
    assert_eq!(cross_site.status, 403, "Sec-Fetch-Site: cross-site");
    let other_origin = owner.post_with("/applications/new", &form, &[("origin", "https://evil.example")], Some(&token));
    assert_eq!(other_origin.status, 403, "another Origin");

    // Another visitor's token does not work with this session either.
    let mut stranger = Visitor::sign_up(&sandgate, "Stranger Ltd", "owner@stranger.test");
    stranger.get("/applications/new");
    let borrowed = owner.post_with("/applications/new", &form, &[], Some(&stranger.csrf));
    assert_eq!(borrowed.status, 403, "another session's token");

    assert!(!owner.get("/applications").body.contains("forged-app"), "no refused form created anything");
    // The same form from the portal's own page works (`Origin: null` is what no-referrer pages send).
    let own = owner.post_with(
        "/applications/new",
        &form,
        &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        Some(&token),
    );
    assert_eq!(own.status, 303, "{}", own.body);
}

#[test]
fn every_page_carries_the_security_headers() {
    let sandgate = TestSandgate::start(None);
    let mut visitor = Visitor::new(&sandgate);
    for path in ["/", "/signin", "/signup", "/docs", "/no-such-page"] {
        let answer = visitor.get(path);
        let header = |name: &str| answer.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert!(
            !answer.body.contains("<script>") && !answer.body.contains(" style="),
            "{path}: no inline script or style"
        );
    }
    let cookie = visitor.get("/signin").headers;
    drop(cookie);
    assert!(visitor.cookies.iter().any(|(name, _)| name == "sg_csrf"), "signed-out forms get their token cookie");
}
