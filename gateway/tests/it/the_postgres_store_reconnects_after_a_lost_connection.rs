//! A node on the PostgreSQL store whose connection is cut (a server restart, a failover) says the
//! store is unavailable for at most the call that found out, half-writes nothing, and connects
//! again by itself.

use sandgate_testkit as common;

use std::time::Duration;

use common::postgres::TestDatabase;
use common::TestSandgate;

#[test]
fn a_cut_connection_is_opened_again_on_the_next_call() {
    let database = TestDatabase::create("lost");
    let sandgate = TestSandgate::start_with(None, &format!("sandgate:\n  store: {{url: '{}'}}\n", database.url));
    let url = sandgate.shared.tables.load().settings.store_url.clone().expect("on PostgreSQL");
    let operator = sandgate.operator_token();
    let partners = || common::get_with(&format!("{}/v1/partners", sandgate.admin), &operator, &[]).status().as_u16();
    assert_eq!(partners(), 200);

    common::postgres::disconnect_all(&url);
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(partners());
        if statuses.last() == Some(&200) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(statuses.last(), Some(&200), "the store never came back: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 503), "a lost connection is 503, nothing else: {statuses:?}");
    let ready = common::http().get(format!("{}/readyz", sandgate.admin)).send().expect("readyz");
    assert_eq!(ready.status(), 200);
}

/// PostgreSQL unreachable for a while (not just one cut connection): every call answers 503 at
/// once instead of hanging, `/readyz` says the store is unavailable, and the node comes back by
/// itself (back-off capped at 5 s) once the server answers again.
#[test]
fn an_unreachable_store_is_503_and_not_ready_until_it_returns() {
    let database = TestDatabase::create("down");
    let relay = common::relay::CuttableRelay::start(&database.url);
    let sandgate = TestSandgate::start_with(None, &format!("sandgate:\n  store: {{url: '{}'}}\n", relay.url));
    let operator = sandgate.operator_token();
    let partners = || common::get_with(&format!("{}/v1/partners", sandgate.admin), &operator, &[]);
    let ready = || common::http().get(format!("{}/readyz", sandgate.admin)).send().expect("readyz");
    assert_eq!(partners().status(), 200);

    relay.cut();
    for _ in 0..5 {
        let down = partners();
        assert_eq!(down.status(), 503, "a store that cannot be reached is 503");
        let problem: serde_json::Value = down.json().expect("problem+json");
        assert_eq!(problem["type"].as_str().map(|t| t.ends_with("store-unavailable")), Some(true), "{problem}");
    }
    let not_ready = ready();
    assert_eq!(not_ready.status(), 503);
    assert_eq!(not_ready.json::<serde_json::Value>().expect("json")["status"], "store unavailable");

    relay.restore();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    // Each connection comes back on its first call after its back-off (at most 5 s).
    while partners().status() != 200 || ready().status() != 200 {
        assert!(std::time::Instant::now() < deadline, "the node never reconnected to PostgreSQL");
        std::thread::sleep(Duration::from_millis(100));
    }
}
