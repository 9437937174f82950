//! Rate limits per application and environment (GCRA): answers carry `RateLimit-*` headers;
//! over the plan's burst the answer is 429 `rate-limited` with `Retry-After`, counted in metrics.

use sandgate_testkit as common;

use common::TestSandgate;

#[test]
fn over_the_burst_gets_429_with_retry_after() {
    let yaml = "sandgate:\n  rate_limits:\n    default_plan: tiny\n    plans:\n      tiny: {per_second: 1, burst: 3}\n";
    let sandgate = TestSandgate::start_with(None, yaml);
    let token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let url = format!("{}/pos-api/v2.5/client-id/{}/i18n", sandgate.training, sandgate.client_id);
    let first = common::get(&url, Some(&token));
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["ratelimit-limit"], "3");
    assert_eq!(first.headers()["ratelimit-remaining"], "2");
    assert_eq!(common::get(&url, Some(&token)).status(), 200);
    assert_eq!(common::get(&url, Some(&token)).status(), 200);
    let limited = common::get(&url, Some(&token));
    let retry: u64 = limited.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=2).contains(&retry), "retry after {retry}");
    assert_eq!(limited.headers()["ratelimit-remaining"], "0");
    common::assert_problem(limited, 429, "rate-limited");

    // PRODUCTION has its own budget for the same application.
    let prod_token =
        common::access_token(&sandgate.production, &sandgate.production_client_id, &sandgate.production_client_secret);
    let prod_url = format!("{}/pos-api/v2.5/client-id/{}/i18n", sandgate.production, sandgate.production_client_id);
    common::assert_problem(common::get(&prod_url, Some(&prod_token)), 503, "no-upstream");

    let metrics =
        common::get_with(&format!("{}/metrics", sandgate.admin), &sandgate.operator_token(), &[]).text().expect("text");
    assert!(
        metrics.contains("sandgate_denials_total{environment=\"training\",reason=\"rate-limited\"} 1"),
        "{metrics}"
    );
}
