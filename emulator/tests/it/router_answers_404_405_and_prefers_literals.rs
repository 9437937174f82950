//! Routing as a client sees it: literal segments beat templates, an unknown path is a 404
//! problem, a known path with the wrong method is a 405 problem with `Allow`.

use crate::common;

use http::{HeaderMap, Method};
use sandgate_core::problem::{ProblemKind, PROBLEM_JSON};

#[test]
fn literal_segment_wins_over_template() {
    let emulator = common::emulator("fixtures/routing.yaml");
    let headers = HeaderMap::new();
    let summary = common::call(&emulator, Method::GET, "/routing/v1/items/summary", &headers);
    assert_eq!(common::json(&summary)["kind"], "summary");
    let item = common::call(&emulator, Method::GET, "/routing/v1/items/42", &headers);
    assert_eq!(common::json(&item)["kind"], "item");
}

#[test]
fn unknown_path_gets_404_problem() {
    let emulator = common::emulator("fixtures/routing.yaml");
    let response = common::call(&emulator, Method::GET, "/routing/v1/nothing", &HeaderMap::new());
    assert_eq!(response.status, 404);
    assert_eq!(response.content_type.as_deref(), Some(PROBLEM_JSON));
    assert_eq!(common::json(&response)["type"], ProblemKind::UnknownRoute.type_uri());
}

#[test]
fn wrong_method_gets_405_with_allow() {
    let emulator = common::emulator("fixtures/routing.yaml");
    let response = common::call(&emulator, Method::POST, "/routing/v1/items/42", &HeaderMap::new());
    assert_eq!(response.status, 405);
    assert_eq!(common::json(&response)["type"], ProblemKind::MethodNotAllowed.type_uri());
    let allow = response.headers.iter().find(|(name, _)| *name == "allow").map(|(_, v)| v.as_str());
    assert_eq!(allow, Some("GET, DELETE"));
}

#[test]
fn operation_without_body_answers_its_status_empty() {
    let emulator = common::emulator("fixtures/routing.yaml");
    let response = common::call(&emulator, Method::DELETE, "/routing/v1/items/42", &HeaderMap::new());
    assert_eq!(response.status, 204);
    assert!(response.body.is_empty());
    assert_eq!(response.content_type, None);
}

#[test]
fn v2_5_1_overrides_some_operations_and_inherits_the_rest() {
    let emulator = common::emulator("pos-api/v2.5.1.yaml");
    let headers = HeaderMap::new();
    let interest = common::call_json(
        &emulator,
        Method::POST,
        "/pos-api/v2.5.1/client-id/c/accounts/123/calculate-interest",
        &headers,
        &serde_json::json!({"amount": 100.0}),
    );
    assert_eq!(interest.status, 200);
    let body = String::from_utf8_lossy(&interest.body);
    assert!(!body.contains("\"apr\""), "v2.5.1 replaces apr: {body}");
    let inherited = common::call(
        &emulator,
        Method::GET,
        "/pos-api/v2.5.1/client-id/c/customers/search?first_name=A&last_name=B&dob=1980-01-01",
        &headers,
    );
    assert_eq!(inherited.status, 200, "customers/search is inherited from v2.5");
    let op = emulator.operation(&Method::GET, "/pos-api/v2.5.1/client-id/c/customers/search").expect("inherited");
    assert!(op.inherited_from.as_ref().is_some_and(|f| f.ends_with("v2.5.yaml")));
}
