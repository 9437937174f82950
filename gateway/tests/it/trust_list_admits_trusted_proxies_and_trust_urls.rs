//! The trust list's positive side: a client behind a configured trusted proxy is judged by its
//! real address (right-most untrusted `X-Forwarded-For` hop), and a trust URL admits a browser
//! origin; edits take effect on the next request.

use sandgate_testkit as common;

use common::TestSandgate;

#[test]
fn trusted_proxy_xff_and_trust_urls_are_admitted() {
    let sandgate = TestSandgate::start_with(None, "sandgate:\n  trusted_proxies: [127.0.0.0/8]\n");
    let token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let url = format!("{}/pos-api/v2.5/client-id/{}/i18n", sandgate.training, sandgate.client_id);

    sandgate.set_trust_list(&["192.0.2.0/24"]);
    assert_eq!(
        common::get_with(&url, &token, &[("x-forwarded-for", "192.0.2.5")]).status(),
        200,
        "real client is trusted"
    );
    let spoofed = common::get_with(&url, &token, &[("x-forwarded-for", "192.0.2.5, 203.0.113.1")]);
    common::assert_problem(spoofed, 403, "untrusted-client");
    common::assert_problem(common::get_with(&url, &token, &[]), 403, "untrusted-client");

    sandgate.set_trust_list(&["https://shop.example.com"]);
    assert_eq!(common::get_with(&url, &token, &[("origin", "https://shop.example.com")]).status(), 200);
    assert_eq!(common::get_with(&url, &token, &[("referer", "https://shop.example.com/checkout")]).status(), 200);
    common::assert_problem(
        common::get_with(&url, &token, &[("origin", "http://shop.example.com")]),
        403,
        "untrusted-client",
    );

    sandgate.set_trust_list(&["::ffff:127.0.0.1"]);
    assert_eq!(common::get_with(&url, &token, &[]).status(), 200, "an IPv4-mapped entry admits the IPv4 peer");
}
