//! Trust URLs are browser origins, so a browser must be able to call: a CORS preflight is answered
//! 204 for an origin some application trusts and a method the spec documents for the path, and
//! refused otherwise; the real answer allows the origin only when the caller's application
//! trusts it. Never a wildcard.

use sandgate_testkit as common;

use common::TestSandgate;

const SHOP: &str = "https://shop.example.com";

fn preflight(sandgate: &TestSandgate, path: &str, origin: &str, method: &str) -> reqwest::blocking::Response {
    common::http()
        .request(reqwest::Method::OPTIONS, format!("{}{path}", sandgate.training))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "authorization, x-reference-id")
        .send()
        .expect("preflight")
}

#[test]
fn preflights_follow_the_trust_urls_and_the_spec() {
    let sandgate = TestSandgate::start(None);
    let app = sandgate.demo_app_id();
    let patch =
        sandgate_store::AppPatch { trust_list: Some(vec!["127.0.0.0/8".into(), SHOP.into()]), ..Default::default() };
    sandgate.store().update_app("operator:test", &app, &patch).expect("trust the shop");
    let id = &sandgate.client_id;
    let path = format!("/pos-api/v2.5/client-id/{id}/customers/search");

    let allowed = preflight(&sandgate, &path, SHOP, "GET");
    assert_eq!(allowed.status(), 204);
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], SHOP);
    assert_eq!(headers["access-control-allow-methods"], "GET");
    let allowed_headers = headers["access-control-allow-headers"].to_str().expect("ascii");
    assert!(
        allowed_headers.contains("authorization") && allowed_headers.contains("x-reference-id"),
        "{allowed_headers}"
    );
    assert!(headers.get("access-control-allow-credentials").is_none());

    let stranger = preflight(&sandgate, &path, "https://evil.example", "GET");
    assert!(stranger.headers().get("access-control-allow-origin").is_none());
    common::assert_problem(stranger, 403, "untrusted-client");
    common::assert_problem(preflight(&sandgate, &path, SHOP, "DELETE"), 405, "method-not-allowed");
    let token_path = "/pos-api/v2.5/oauth/token";
    common::assert_problem(preflight(&sandgate, token_path, SHOP, "POST"), 403, "forbidden");

    // The real request: the shop's origin is allowed on the answer; another origin is not,
    // although the address alone passes the trust list.
    let token = common::access_token(&sandgate.training, id, &sandgate.client_secret);
    let url = format!("{}{path}?first_name=John&last_name=Smith&dob=1980-01-01", sandgate.training);
    let call = |origin: &str| {
        common::http()
            .get(&url)
            .header("origin", origin)
            .header("authorization", format!("Bearer {token}"))
            .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
            .send()
            .expect("call")
    };
    let from_shop = call(SHOP);
    assert_eq!(from_shop.status(), 200);
    assert_eq!(from_shop.headers()["access-control-allow-origin"], SHOP);
    let exposed = from_shop.headers()["access-control-expose-headers"].to_str().expect("ascii");
    assert!(exposed.contains("x-request-id") && exposed.contains("ratelimit-remaining"), "{exposed}");
    let elsewhere = call("https://evil.example");
    assert_eq!(elsewhere.status(), 200, "the address is trusted");
    assert!(elsewhere.headers().get("access-control-allow-origin").is_none(), "but the origin is not");
}
