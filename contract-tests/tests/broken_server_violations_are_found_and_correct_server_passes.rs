//! `sandgate contract` against a shop server broken in ten known ways finds each with the right
//! check id and explains it; the same server done right gives no finding at all. The reports
//! (JUnit XML, JSON) are well-formed and a recorded finding replays.

mod common;

use std::time::Duration;

use quick_xml::events::Event;
use sandgate_contract::plan::PlanOptions;
use sandgate_contract::report::Report;
use sandgate_contract::run::{Credentials, Settings, Target};
use sandgate_contract::spec::{Filters, Specs};
use sandgate_contract::Job;

fn job(base_url: &str) -> Job {
    Job {
        specs: Specs::load(&[common::shop_spec()]).expect("shop spec loads"),
        options: PlanOptions { seed: 7, ..PlanOptions::default() },
        target: Target {
            base_url: base_url.to_owned(),
            credentials: Credentials::Bearer(common::FIXED_TOKEN.to_owned()),
            headers: Vec::new(),
            foreign_token: None,
        },
        against: None,
        settings: Settings {
            workers: 4,
            max_response_time: Duration::from_millis(200),
            max_time: None,
            skip: Vec::new(),
            rate_limit: None,
        },
        cases: None,
    }
}

fn found(report: &Report) -> Vec<(String, String)> {
    report.findings.iter().map(|f| (f.check.as_str().to_owned(), f.operation.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_known_violation_is_found_with_its_check_id() {
    let server = common::start(true).await;
    let report = sandgate_contract::check(job(&server.uri())).await.expect("runs");
    let found = found(&report);
    for (check, operation) in common::VIOLATIONS {
        assert!(
            found.iter().any(|(c, o)| c == check && o == operation),
            "{check} on {operation} not found; found: {found:?}"
        );
    }
    assert!(!report.passed());

    // Failures explain themselves: spec location, schema path, value, expected.
    let wrong_type = report
        .findings
        .iter()
        .find(|f| f.operation == "getItem" && f.check.as_str() == "response_schema_conformance")
        .expect("wrong type found");
    assert!(wrong_type.detail.contains("shop.yaml#/paths/~1items~1{id}/get/responses/200"), "{}", wrong_type.detail);
    assert!(wrong_type.detail.contains("properties/id/type"), "{}", wrong_type.detail);
    assert!(wrong_type.title.contains("/id"), "{}", wrong_type.title);
    let use_after_free = report.findings.iter().find(|f| f.check.as_str() == "use_after_free").expect("found");
    // The whole sequence is kept: create, delete, then the read that should have been a 404.
    assert_eq!(use_after_free.exchanges.len(), 3, "{:?}", use_after_free.curl);
    assert!(use_after_free.curl[0].contains("-X POST") && use_after_free.curl[1].contains("-X DELETE"));
    let server_error = report.findings.iter().find(|f| f.check.as_str() == "not_a_server_error").expect("found");
    assert!(server_error.curl.last().expect("curl").contains("limit=100"), "{:?}", server_error.curl);
    assert_eq!(server_error.spec_hash, report.spec_hash);
    assert_eq!(server_error.seed, 7);

    let refused = report
        .findings
        .iter()
        .find(|f| f.check.as_str() == "positive_data_acceptance" && f.operation == "search")
        .expect("found");
    assert!(refused.curl[0].contains(&format!("q={}", "a".repeat(20))), "the longest q: {:?}", refused.curl);
    // What the server enforces beyond its spec is named with what it said.
    let stricter: Vec<_> = report.stricter.iter().filter(|s| s.operation == "createItem").collect();
    assert!(
        stricter.iter().any(|s| s.fields.as_deref() == Some("/note")
            && s.reason == "/note: must not be empty"
            && s.tried.contains("empty string of body property note")),
        "{:#?}",
        report.stricter
    );
    let text = sandgate_contract::report::text::render(&report, None);
    assert!(text.contains("STRICTER THAN THE SPEC") && text.contains("/note: must not be empty"), "{text}");
    // No false positives among the findings: nothing on operations the server gets right.
    let allowed =
        |operation: &str| common::VIOLATIONS.iter().any(|(_, o)| *o == operation) || operation == "createItem";
    assert!(found.iter().all(|(_, o)| allowed(o)), "{found:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_server_gives_no_finding_and_covers_its_statuses() {
    let server = common::start(false).await;
    let report = sandgate_contract::check(job(&server.uri())).await.expect("runs");
    assert!(report.findings.is_empty(), "false positives: {:#?}", report.findings);
    let statuses = |operation: &str| {
        report.operations.iter().find(|o| o.operation == operation).map(|o| o.seen_statuses.clone()).unwrap_or_default()
    };
    // Valid, invalid, credential and stateful cases all ran.
    assert!(statuses("createItem").starts_with(&[201]), "{:?}", statuses("createItem"));
    for status in [400, 401, 415] {
        assert!(statuses("createItem").contains(&status), "createItem {status}: {:?}", statuses("createItem"));
    }
    for status in [200, 404] {
        assert!(statuses("getItem").contains(&status), "getItem {status}: {:?}", statuses("getItem"));
    }
    assert!(statuses("search").contains(&400));
    let checks: Vec<&str> = report.operations.iter().flat_map(|o| o.checks.keys().map(|c| c.as_str())).collect();
    for check in ["ensure_resource_availability", "use_after_free", "negative_data_rejection", "ignored_auth"] {
        assert!(checks.contains(&check), "{check} never ran");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junit_report_is_valid_junit_xml_with_one_testcase_per_operation_and_check() {
    let server = common::start(true).await;
    let report = sandgate_contract::check(job(&server.uri())).await.expect("runs");
    let xml = sandgate_contract::report::junit::render(&report).expect("renders");

    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut stack, mut testcases, mut failures, mut declared) = (Vec::<String>::new(), 0, 0, None);
    loop {
        let event =
            reader.read_event().unwrap_or_else(|e| panic!("malformed XML at {}: {e}", reader.buffer_position()));
        let (element, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let Some(element) = element else { continue };
        let name = String::from_utf8_lossy(element.name().as_ref()).into_owned();
        let attribute = |key: &str| {
            element
                .attributes()
                .filter_map(Result::ok)
                .find(|a| a.key.as_ref() == key.as_bytes())
                .map(|a| a.unescape_value().expect("attribute text").into_owned())
        };
        let parent = stack.last().map(String::as_str);
        match name.as_str() {
            "testsuites" => {
                assert_eq!(parent, None);
                declared = Some((
                    attribute("tests").expect("tests").parse::<usize>().expect("number"),
                    attribute("failures").expect("failures").parse::<usize>().expect("number"),
                ));
            }
            "testsuite" => {
                assert_eq!(parent, Some("testsuites"));
                for key in ["name", "tests", "failures", "errors", "skipped", "time"] {
                    assert!(attribute(key).is_some(), "testsuite without {key}");
                }
            }
            "testcase" => {
                assert_eq!(parent, Some("testsuite"));
                testcases += 1;
                assert!(attribute("name").is_some() && attribute("classname").is_some());
                attribute("time").expect("time").parse::<f64>().expect("time is a number");
            }
            "failure" => {
                assert_eq!(parent, Some("testcase"));
                failures += 1;
                assert!(attribute("message").is_some() && attribute("type").is_some());
            }
            "skipped" => assert_eq!(parent, Some("testcase")),
            other => panic!("unexpected element {other}"),
        }
        if !empty {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(declared, Some((testcases, failures)));
    let expected_cases: usize = report.operations.iter().map(|o| o.checks.len()).sum();
    assert_eq!(testcases, expected_cases);
    assert!(failures >= common::VIOLATIONS.len() - 1, "{failures} failures");
    assert!(xml.contains("type=\"use_after_free\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_finding_replays_against_any_base_url() {
    let broken = common::start(true).await;
    let correct = common::start(false).await;
    let report = sandgate_contract::check(job(&broken.uri())).await.expect("runs");
    let json = serde_json::to_string(&report).expect("serialises");
    let reread: Report = serde_json::from_str(&json).expect("JSON report reads back");
    let finding = reread.findings.iter().find(|f| f.check.as_str() == "use_after_free").expect("found").clone();

    let replay = |base_url: String| {
        let mut replay = job(&base_url);
        replay.cases = Some(vec![(0, 0, finding.case.clone())]);
        sandgate_contract::check(replay)
    };
    // A fresh broken server: the id comes from its own create answer, not the recorded one.
    let fresh = common::start(true).await;
    let again = replay(fresh.uri()).await.expect("replays");
    assert!(again.findings.iter().any(|f| f.check.as_str() == "use_after_free"), "{:?}", again.findings);
    let fixed = replay(correct.uri()).await.expect("replays");
    assert!(fixed.findings.is_empty(), "{:?}", fixed.findings);
}

/// A run with client credentials and another environment's token.
fn job_with_client(base_url: &str) -> Job {
    let mut job = job(base_url);
    job.target.credentials =
        Credentials::Client { id: common::CLIENT.0.to_owned(), secret: common::CLIENT.1.to_owned() };
    job.target.foreign_token = Some(common::FOREIGN_TOKEN.to_owned());
    job.options.foreign_token = true;
    job.options.scoped_tokens = true;
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_minted_refreshed_before_expiry_and_scoped() {
    // Tokens that expire at once: every request needs a fresh one, by refresh token.
    let (server, grants) = common::start_with(false, 0).await;
    let report = sandgate_contract::check(job_with_client(&server.uri())).await.expect("runs");
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let grants = grants.lock().expect("grants").clone();
    let refreshed = grants.iter().filter(|g| *g == "refresh_token").count();
    assert!(refreshed > 10, "tokens were not refreshed: {grants:?}");
    // Tokens that last: minted once for the run, once per scope, and reused.
    let (server, grants) = common::start_with(false, 3600).await;
    let report = sandgate_contract::check(job_with_client(&server.uri())).await.expect("runs");
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let minted = grants.lock().expect("grants").iter().filter(|g| *g == "client_credentials").count();
    let token_cases = report.operations.iter().find(|o| o.operation == "createToken").map_or(0, |o| o.checks.len());
    assert!(token_cases > 0);
    // The run's own tokens: the default one and one with only `read` (the token endpoint's own
    // cases add their client_credentials requests with made-up clients, refused with 401).
    let ran = |check: &str| report.operations.iter().any(|o| o.checks.keys().any(|c| c.as_str() == check));
    assert!(ran("scope_enforcement") && ran("environment_separation"), "{:?}", report.operations);
    assert!(minted >= 2, "{minted}");

    let broken = common::start_with(true, 3600).await.0;
    let report = sandgate_contract::check(job_with_client(&broken.uri())).await.expect("runs");
    let found = found(&report);
    for (check, operation) in common::TOKEN_VIOLATIONS {
        assert!(found.iter().any(|(c, o)| c == check && o == operation), "{check} on {operation}: {found:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_switched_off_for_one_operation_neither_runs_nor_fails_there() {
    let server = common::start(true).await;
    let mut skipping = job(&server.uri());
    let max_response_time = sandgate_contract::checks::CheckId::MaxResponseTime;
    skipping.settings.skip = vec![(max_response_time, Some("getSlow".to_owned()))];
    let report = sandgate_contract::check(skipping).await.expect("runs");
    assert!(!found(&report).contains(&("max_response_time".to_owned(), "getSlow".to_owned())));
    let checks_of = |operation: &str| {
        report.operations.iter().find(|o| o.operation == operation).map(|o| o.checks.clone()).unwrap_or_default()
    };
    assert!(!checks_of("getSlow").contains_key(&max_response_time), "switched off where asked");
    assert!(checks_of("getLegacy").contains_key(&max_response_time), "kept elsewhere");
    // Named by method and path instead of operationId.
    let mut everywhere = job(&server.uri());
    everywhere.settings.skip = vec![(max_response_time, Some("GET /slow".to_owned()))];
    let report = sandgate_contract::check(everywhere).await.expect("runs");
    assert!(report.findings.iter().all(|f| f.check != max_response_time));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_budget_stops_starting_cases_and_says_how_many_did_not_run() {
    let server = common::start(false).await;
    let mut budgeted = job(&server.uri());
    budgeted.settings.max_time = Some(Duration::ZERO);
    let report = sandgate_contract::check(budgeted).await.expect("runs");
    assert!(report.cases_not_run > 50, "{} not run", report.cases_not_run);
    assert!(report.cases < 10, "{} cases ran after the budget was spent", report.cases);
    let text = sandgate_contract::report::text::render(&report, None);
    assert!(text.contains(&format!("{} cases not run: the time budget (--max-time) ran out", report.cases_not_run)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_that_did_not_happen_is_no_use_after_free() {
    // Deletes are refused (403, documented): the item is rightly still there afterwards.
    let server = common::start_refusing_deletes().await;
    let report = sandgate_contract::check(job(&server.uri())).await.expect("runs");
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert!(
        report.cases_stopped.keys().any(|why| why.contains("deleteItem answered 403")),
        "the sequence stops at the refused delete: {:?}",
        report.cases_stopped
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_that_get_no_token_stop_the_run_instead_of_failing_every_operation() {
    let server = common::start(false).await;
    let mut wrong = job_with_client(&server.uri());
    wrong.target.credentials = Credentials::Client { id: common::CLIENT.0.to_owned(), secret: "wrong".to_owned() };
    let error = sandgate_contract::check(wrong).await.expect_err("a usage error, not a report");
    assert!(matches!(error, sandgate_contract::ContractError::NoToken { .. }), "{error:?}");
    let error = error.to_string();
    assert!(error.contains("cannot get a token") && error.contains("401"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_an_extra_header_and_filters_by_tag_path_and_method() {
    let server = common::start(false).await;
    let mut by_header = job(&server.uri());
    by_header.target.credentials = Credentials::None;
    by_header.target.headers = vec![("authorization".to_owned(), format!("Bearer {}", common::FIXED_TOKEN))];
    by_header.options.filters = Filters {
        tags: vec!["items".to_owned()],
        paths: vec![regex::Regex::new("^/items/").expect("regex")],
        methods: vec!["GET".to_owned()],
        ..Filters::default()
    };
    let report = sandgate_contract::check(by_header).await.expect("runs");
    let tested: Vec<&str> = report.operations.iter().map(|o| o.operation.as_str()).collect();
    assert_eq!(tested, ["getItem"], "tag items, path /items/…, method GET");
    assert!(report.findings.is_empty(), "the header carried the credentials: {:#?}", report.findings);
    // Without credentials means without the extra header too.
    let ignored_auth = &report.operations[0].checks[&sandgate_contract::checks::CheckId::IgnoredAuth];
    assert_eq!(ignored_auth.1, 0);
    assert!(ignored_auth.0 > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_named_by_url_is_fetched_with_the_files_its_refs_name() {
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let main = "openapi: 3.0.3\ninfo: {title: Pets, version: '1'}\nservers: [{url: /pets/v1}]\npaths:\n  /pets/{id}:\n    get:\n      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]\n      responses:\n        '200':\n          description: A pet.\n          content: {application/json: {schema: {$ref: 'parts/pet.yaml#/Pet'}}}\n";
    let pet = "Pet:\n  type: object\n  required: [name]\n  properties:\n    name: {type: string}\n    owner: {$ref: '../parts/owner.yaml'}\n";
    let owner = "type: object\nproperties:\n  email: {type: string, format: email}\n";
    let outside = main.replace("parts/pet.yaml#/Pet", "../elsewhere.yaml");
    for (route, text) in [
        ("/specs/pets.yaml", main.to_owned()),
        ("/specs/parts/pet.yaml", pet.to_owned()),
        ("/specs/parts/owner.yaml", owner.to_owned()),
        ("/specs/outside.yaml", outside),
    ] {
        Mock::given(path(route)).respond_with(ResponseTemplate::new(200).set_body_string(text)).mount(&server).await;
    }
    let base = server.uri();
    let fetched = tokio::task::spawn_blocking(move || {
        let ok = sandgate_contract::fetch::download(&format!("{base}/specs/pets.yaml"));
        let outside = sandgate_contract::fetch::download(&format!("{base}/specs/outside.yaml"));
        let missing = sandgate_contract::fetch::download(&format!("{base}/specs/missing.yaml"));
        (ok, outside, missing)
    })
    .await
    .expect("joins");
    let file = fetched.0.expect("the spec and both files it refers to are fetched");
    let specs = Specs::load(&[file]).expect("the fetched spec loads, its refs resolved");
    let op = &specs.apis[0].operations[0];
    let schema = op.responses[0].content[0].schema.as_ref().expect("schema");
    // Both files' schemas are in what the operation answers: the pet's name, its owner's email.
    let known = format!("{schema} {:?}", op.schemas.defs);
    assert!(known.contains("\"name\"") && known.contains("\"email\""), "{known}");
    let outside = fetched.1.expect_err("a ref out of the spec's folder is refused").to_string();
    assert!(outside.contains("outside the folder"), "{outside}");
    let missing = fetched.2.expect_err("a missing spec is an error").to_string();
    assert!(missing.contains("404"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_violation_is_found_whatever_the_worker_count() {
    let mut seen = Vec::new();
    for workers in [1, 8] {
        let server = common::start(true).await;
        let mut job = job(&server.uri());
        job.settings.workers = workers;
        let report = sandgate_contract::check(job).await.expect("runs");
        // Response time depends on the load the workers make; every other finding must not.
        let mut found: Vec<(String, String)> =
            found(&report).into_iter().filter(|(check, _)| check != "max_response_time").collect();
        found.sort();
        found.dedup();
        for (check, operation) in common::VIOLATIONS.iter().filter(|(c, _)| *c != "max_response_time") {
            assert!(
                found.iter().any(|(c, o)| c == check && o == operation),
                "{workers} workers: {check} on {operation} not found; found: {found:?}"
            );
        }
        seen.push(found);
    }
    assert_eq!(seen[0], seen[1], "one worker and eight find the same violations");
}
