//! A node that loses the change bus cannot know whether another node revoked something: past
//! `cluster.max_staleness_ms` it says so on `/readyz` (503) so the load balancer takes it out,
//! instead of serving possibly stale grants silently.

use sandgate_testkit as common;

use std::time::{Duration, Instant};

#[test]
fn a_node_without_its_change_bus_is_not_ready() {
    let relay = common::relay::CuttableRelay::start(&common::redis::redis_url());
    let yaml = format!(
        "sandgate:\n  redis: {{url: '{}', key_prefix: '{}'}}\n  cluster: {{resync_ms: 100, max_staleness_ms: 400}}\n",
        relay.url,
        common::redis::key_prefix("readyz"),
    );
    let sandgate = common::TestSandgate::start_with(None, &yaml);
    let readyz = || common::http().get(format!("{}/readyz", sandgate.admin)).send().expect("readyz");
    let deadline = Instant::now() + Duration::from_secs(5);
    while readyz().status() != 200 {
        assert!(Instant::now() < deadline, "the node never became ready with its bus up");
        std::thread::sleep(Duration::from_millis(20));
    }
    relay.cut();
    let cut_at = Instant::now();
    loop {
        let answer = readyz();
        if answer.status() == 503 {
            let body: serde_json::Value = answer.json().expect("json");
            assert_eq!(body["status"], "stale", "{body}");
            assert!(body["detail"].as_str().is_some_and(|d| d.contains("change bus")), "{body}");
            break;
        }
        assert!(cut_at.elapsed() < Duration::from_secs(5), "still ready 5 s after losing the bus");
        std::thread::sleep(Duration::from_millis(20));
    }
    let healthz = common::http().get(format!("{}/healthz", sandgate.admin)).send().expect("healthz");
    assert_eq!(healthz.status(), 200, "alive, only not ready");
}
