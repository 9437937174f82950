//! Versioned routing: v2.5.1 overrides some operations and inherits the rest; deprecated
//! operations and versions answer with `Deprecation`, `Sunset` and a successor `Link`; calls to
//! them are counted per application; unknown versions list the supported ones.

use sandgate_testkit as common;

use common::TestSandgate;

#[test]
fn deprecated_operations_and_versions_carry_lifecycle_headers() {
    let yaml = "sandgate:\n  versions:\n    pos-api:\n      \"2.5\": {deprecated_at: 2022-04-13, sunset: 2027-06-30, successor: \"2.5.1\"}\n";
    let sandgate = TestSandgate::start_with(None, yaml);
    let token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let base = format!("{}/pos-api", sandgate.training);
    let id = &sandgate.client_id;

    let old = common::get(&format!("{base}/v2.5/client-id/{id}/i18n"), Some(&token));
    assert_eq!(old.status(), 200);
    assert_eq!(old.headers()["deprecation"], "@1649808000");
    assert_eq!(old.headers()["sunset"], "Wed, 30 Jun 2027 00:00:00 GMT");
    assert_eq!(old.headers()["link"], "</pos-api/v2.5.1>; rel=\"successor-version\"");

    let new = common::get(&format!("{base}/v2.5.1/client-id/{id}/i18n"), Some(&token));
    assert_eq!(new.status(), 200, "inherited from v2.5");
    assert!(new.headers().get("deprecation").is_none());

    let missing = common::get(&format!("{base}/v3/client-id/{id}/i18n"), Some(&token));
    let body = common::assert_problem(missing, 404, "unsupported-version");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("v2.5, v2.5.1")), "{body}");

    let metrics =
        common::get_with(&format!("{}/metrics", sandgate.admin), &sandgate.operator_token(), &[]).text().expect("text");
    let app = sandgate.demo_app_id();
    assert!(
        metrics.contains(&format!("sandgate_deprecated_calls_total{{application=\"{app}\",version=\"2.5\"}} 1")),
        "{metrics}"
    );
    // Gateway and backend time apart, per operation; the build is named.
    for series in [
        "sandgate_request_duration_seconds_count{environment=\"training\",operation=\"getI18n\"} 2",
        "sandgate_upstream_duration_seconds_count{environment=\"training\",operation=\"getI18n\"} 2",
        "sandgate_build_info{version=\"",
        // Process metrics, under the names every dashboard knows.
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_open_fds ",
    ] {
        assert!(metrics.contains(series), "{series} missing in {metrics}");
    }
}

#[test]
fn an_operation_deprecated_in_the_spec_points_at_its_override() {
    let sandgate = TestSandgate::start(None);
    let token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let url = |version: &str| {
        format!(
            "{}/pos-api/v{version}/client-id/{}/accounts/12345678/calculate-interest",
            sandgate.training, sandgate.client_id
        )
    };
    let post = |url: String| {
        common::http()
            .post(url)
            .header("authorization", format!("Bearer {token}"))
            .header("x-reference-id", "r")
            .json(&serde_json::json!({"amount": 234.45}))
            .send()
            .expect("send")
    };
    let old = post(url("2.5"));
    assert_eq!(old.status(), 200);
    assert_eq!(old.headers()["deprecation"], "@1632268800", "deprecated by release 21.10.0");
    assert_eq!(old.headers()["link"], "</pos-api/v2.5.1>; rel=\"successor-version\"");
    let new = post(url("2.5.1"));
    assert_eq!(new.status(), 200);
    assert!(new.headers().get("deprecation").is_none());
}
