//! `sandgate contract` as QA runs it: against `sandgate emulator` serving a spec it finds nothing
//! (exit 0, JUnit and JSON written); against an operator's production backend that drifted from
//! the spec (a `wiremock` stand-in) it finds the drift (exit 1), differential mode names where
//! the two servers' answers differ, and `replay` re-runs a recorded finding against any server.

use sandgate_testkit as common;

use std::path::Path;
use std::process::{Command, Output};

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SHOP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../contract-tests/tests/fixtures/shop.yaml");

fn emulator(token: &str) -> (common::Child, String) {
    let (child, addr) = common::sandgate_emulator(
        env!("CARGO_BIN_EXE_sandgate"),
        &["--specs", SHOP, "--token", token, "--scrub-at", "never"],
    );
    (child, format!("http://{addr}"))
}

fn contract(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sandgate"))
        .arg("contract")
        .args(args)
        .env("CI", "true")
        .env_remove("SANDGATE_BEARER")
        .output()
        .expect("run sandgate contract")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written")).expect("JSON report")
}

/// A production backend that answers every request `200 {"items": "many", "id": "seven"}`.
fn drifted_backend() -> (tokio::runtime::Runtime, MockServer) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime.block_on(MockServer::start());
    let answer = ResponseTemplate::new(200)
        .set_body_raw(br#"{"items": "many", "id": "seven", "name": "x"}"#.to_vec(), "application/json");
    runtime.block_on(Mock::given(any()).respond_with(answer).mount(&server));
    (runtime, server)
}

#[test]
fn the_emulator_passes_its_own_spec_and_reports_are_written() {
    let (_emulator, base) = emulator("qa-token");
    let temp = common::temp_dir("contract-ok");
    let (junit, json) = (temp.path().join("junit.xml"), temp.path().join("report.json"));
    let output = contract(&[
        "--spec",
        SHOP,
        "--base-url",
        &base,
        "--bearer",
        "qa-token",
        "--junit",
        junit.to_str().expect("utf-8"),
        "--json",
        json.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report = report(&json);
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(0), "{}", text(&output));
    assert!(report["cases"].as_u64().is_some_and(|n| n > 50), "{report}");
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.starts_with("<?xml") && xml.contains("<testsuite name=\"Shop 1\"") && xml.contains("failures=\"0\""));
    assert!(text(&output).contains("PASSED: 0 distinct violations"));
}

#[test]
fn drift_is_found_differences_are_named_and_findings_replay() {
    let (_emulator, training) = emulator("qa-token");
    let (_runtime, backend) = drifted_backend();
    let temp = common::temp_dir("contract-drift");
    let json = temp.path().join("report.json");
    let json_arg = json.to_str().expect("utf-8");

    // The drifted backend alone: wrong types and a status that is not refused where it must be.
    let output = contract(&["--spec", SHOP, "--base-url", &backend.uri(), "--bearer", "t", "--json", json_arg]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let found = report(&json);
    let checks: Vec<&str> =
        found["findings"].as_array().expect("findings").iter().filter_map(|f| f["check"].as_str()).collect();
    for check in ["response_schema_conformance", "negative_data_rejection", "ignored_auth"] {
        assert!(checks.contains(&check), "{check} not found: {checks:?}");
    }
    let first = &found["findings"][0];
    assert!(first["curl"][0].as_str().is_some_and(|c| c.starts_with("curl ")), "{first}");
    assert!(first["spec_hash"].as_str().is_some_and(|h| h.len() == 64));

    // Replay: still failing at the backend (exit 1), passing at the emulator (exit 0).
    let again = contract(&["replay", json_arg, "--finding", "1", "--bearer", "t"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(text(&again).contains("STILL FAILS"));
    let fixed = contract(&["replay", json_arg, "--finding", "1", "--base-url", &training, "--bearer", "qa-token"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
    assert!(text(&fixed).contains("passes now"));

    // Differential: the same requests to TRAINING and the backend; the differences are named.
    let diff = contract(&[
        "--spec",
        SHOP,
        "--base-url",
        &training,
        "--bearer",
        "qa-token",
        "--against",
        &backend.uri(),
        "--operation-id",
        "getReport",
        "--json",
        json_arg,
    ]);
    assert_eq!(diff.status.code(), Some(1), "{}", text(&diff));
    let differences = report(&json);
    let agree: Vec<&serde_json::Value> = differences["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == "responses_agree")
        .collect();
    assert!(
        agree.iter().any(|f| f["detail"].as_str().is_some_and(|d| d.contains("/items is number here, string at"))),
        "{agree:?}"
    );
    // Only the filtered operation ran.
    assert!(differences["operations"].as_array().is_some_and(|ops| ops.len() == 1));
}

#[test]
fn usage_and_spec_errors_exit_2_naming_the_problem() {
    let bad_check = contract(&["--spec", SHOP, "--base-url", "http://127.0.0.1:9", "--skip-check", "no_such_check"]);
    assert_eq!(bad_check.status.code(), Some(2));
    assert!(text(&bad_check).contains("no_such_check") && text(&bad_check).contains("status_code_conformance"));
    let no_match = contract(&["--spec", SHOP, "--base-url", "http://127.0.0.1:9", "--tag", "nothing-has-this-tag"]);
    assert_eq!(no_match.status.code(), Some(2));
    assert!(text(&no_match).contains("no operation matches"));
    let bad_url = contract(&["--spec", SHOP, "--base-url", "ftp://example"]);
    assert_eq!(bad_url.status.code(), Some(2));
}
