//! A restart must not drop traffic: SIGTERM turns `/readyz` 503 at once while the node keeps
//! serving for `shutdown.drain_secs` (the load balancer stops sending meanwhile), then it stops
//! accepting, lets requests in flight finish and exits 0.

use sandgate_testkit as common;

use std::time::{Duration, Instant};

use crate::process::gateway;

#[test]
fn sigterm_makes_the_node_unready_serves_through_the_drain_then_exits_0() {
    let temp = common::temp_dir("drain");
    let config = temp.path().join("sandgate.yaml");
    std::fs::write(&config, "sandgate:\n  shutdown: {drain_secs: 2, grace_secs: 5}\n").expect("config");
    let mut node = gateway(&temp.path().join("data"), Some(&config));
    let readyz = |node: &crate::process::Node| {
        common::http().get(format!("{}/readyz", node.admin)).send().map(|r| r.status().as_u16())
    };
    assert_eq!(readyz(&node).expect("readyz"), 200);

    let sent = std::process::Command::new("kill").args(["-TERM", &node.child.id().to_string()]).status();
    assert!(sent.expect("kill").success());
    let signalled = Instant::now();
    while readyz(&node).expect("the admin listener still answers") != 503 {
        assert!(signalled.elapsed() < Duration::from_millis(1500), "still ready after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Still serving partners while draining: an unknown route gets its problem answer, not a reset.
    let answer = common::get(&format!("{}/pos-api/v2.5/nowhere", node.training), None);
    assert_eq!(answer.status(), 404, "the data port serves through the drain");
    assert!(signalled.elapsed() < Duration::from_secs(2), "the checks above ran inside the drain");

    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = node.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "not stopped 15 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "a drained stop exits 0: {status}");
    assert!(signalled.elapsed() >= Duration::from_secs(2), "stopped before the drain ended");
}
