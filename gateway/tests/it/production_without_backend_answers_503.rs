//! PRODUCTION has no backend unless one is configured: a request that passes every check gets a
//! 503 problem saying so.

use sandgate_testkit as common;

use common::{assert_problem, TestSandgate};

#[test]
fn production_token_without_backend_gets_503_no_upstream() {
    let sandgate = TestSandgate::start(None);
    let (id, secret) = (&sandgate.production_client_id, &sandgate.production_client_secret);
    assert!(id.starts_with("prd_"), "a PRODUCTION credential is recognisable: {id}");
    let token = common::access_token(&sandgate.production, id, secret);
    let url = format!("{}/pos-api/v2.5/client-id/{id}/customers/search?first_name=A", sandgate.production);
    let body = assert_problem(common::get(&url, Some(&token)), 503, "no-upstream");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("upstream")), "{body}");

    // And the PRODUCTION token does not work at TRAINING.
    let at_training = url.replace(&sandgate.production, &sandgate.training);
    let body = assert_problem(common::get(&at_training, Some(&token)), 401, "token-wrong-environment");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("PRODUCTION")), "{body}");
}
