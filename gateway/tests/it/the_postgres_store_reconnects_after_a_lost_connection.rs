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
