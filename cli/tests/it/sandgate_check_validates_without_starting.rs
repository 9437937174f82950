//! `sandgate check` validates what `up` would read (file, flags, `SANDGATE__…` variables, specs)
//! without binding a port, as `nginx -t` does: exit 0 when valid, 1 naming the key when not.

use sandgate_testkit as common;

use std::process::{Command, Output};

fn check(config: &std::path::Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sandgate"));
    command
        .args(["check", "--config"])
        .arg(config)
        .arg("--specs-dir")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs"));
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run sandgate check")
}

#[test]
fn check_accepts_a_valid_file_and_names_the_key_of_a_wrong_one() {
    let temp = common::temp_dir("check");
    let good = temp.path().join("good.yaml");
    std::fs::write(&good, "sandgate:\n  environments:\n    production:\n      timeouts: {read_ms: 2000}\n")
        .expect("write");
    let ok = check(&good, &[]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("ok: "));

    let bad = temp.path().join("bad.yaml");
    std::fs::write(&bad, "sandgate:\n  redis: {url: 'http://cache:6379'}\n").expect("write");
    let refused = check(&bad, &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("redis.url"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // The environment is part of the configuration: a Redis backend without a Redis is refused.
    let refused = check(&good, &[("SANDGATE__RATE_LIMITS__BACKEND", "redis")]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("rate_limits.backend"), "{stderr}");
}
