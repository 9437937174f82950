//! The real `sandgate up` binary: `--json` prints working TRAINING credentials, Ctrl-C (SIGINT)
//! stops it cleanly, and a restart reuses the demo credential without showing the secret again.

use sandgate_testkit as common;

use crate::process::{start, Up};

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn up(data_dir: &std::path::Path, extra: &[&str]) -> Up {
    let (mut command, ports) = crate::process::sandgate(&["up", "--json"], data_dir);
    command.args(extra);
    start(command, ports)
}

fn interrupt_and_wait(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().expect("kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sandgate up did not stop within 10 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn up_json_credentials_work_and_ctrl_c_stops_cleanly() {
    let temp = common::temp_dir("up");
    let data_dir = temp.path();

    let first = up(data_dir, &[]);
    let banner = &first.banner;
    for key in ["training_url", "production_url", "admin_url", "client_id", "client_secret"] {
        assert!(banner[key].is_string(), "{key} missing in {banner}");
    }
    let (base, id, secret) = (
        banner["training_url"].as_str().unwrap_or_default(),
        banner["client_id"].as_str().unwrap_or_default(),
        banner["client_secret"].as_str().unwrap_or_default(),
    );
    let token = common::access_token(base, id, secret);
    let search =
        format!("{base}/pos-api/v2.5/client-id/{id}/customers/search?first_name=John&last_name=Smith&dob=1980-01-01");
    assert_eq!(common::get(&search, Some(&token)).status(), 200);
    assert!(interrupt_and_wait(first.child).success(), "Ctrl-C must exit with status 0");

    let second = up(data_dir, &[]);
    assert_eq!(second.banner["client_id"], id, "the demo credential is reused");
    assert!(second.banner["client_secret"].is_null(), "the secret is shown only once");
    let base = second.banner["training_url"].as_str().unwrap_or_default();
    assert!(common::access_token(base, id, secret).len() > 20, "the old secret still works");
    assert!(interrupt_and_wait(second.child).success());

    let third = up(data_dir, &["--reset-demo"]);
    let new_secret = third.banner["client_secret"].as_str().expect("a new secret after --reset-demo").to_owned();
    let base = third.banner["training_url"].as_str().unwrap_or_default().to_owned();
    let old = common::token_request(&base, &[("client_id", id), ("client_secret", secret)]);
    common::assert_problem(old, 400, "invalid-client");
    assert!(common::access_token(&base, id, &new_secret).len() > 20);
    assert!(interrupt_and_wait(third.child).success());
}

#[test]
fn up_with_a_busy_port_fails_at_once_naming_the_listener() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr").to_string();
    let temp = common::temp_dir("up-busy");
    let data_dir = temp.path();
    let output = Command::new(env!("CARGO_BIN_EXE_sandgate"))
        .args(["up", "--data-dir"])
        .arg(data_dir)
        .args(["--admin-listen", &addr, "--training-listen", &common::free_port().to_string()])
        .args(["--production-listen", &common::free_port().to_string()])
        .args(["--portal-listen", &common::free_port().to_string()])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&addr) && stderr.contains("admin"), "{stderr}");
}

#[test]
fn config_typo_stops_start_naming_the_key() {
    let temp = common::temp_dir("up-cfg");
    let dir = temp.path();
    let file = dir.join("sandgate.yaml");
    std::fs::write(&file, "sandgate:\n  token:\n    ttl_sec: 60\n").expect("write");
    let output =
        Command::new(env!("CARGO_BIN_EXE_sandgate")).args(["up", "--config"]).arg(&file).output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ttl_sec") && stderr.contains("sandgate.token"), "{stderr}");
}

#[test]
fn every_subcommand_has_help_and_contract_usage_errors_exit_2() {
    for sub in
        ["up", "gateway", "emulator", "contract", "contract replay", "admin", "admin apps create", "admin activity"]
    {
        let output =
            Command::new(env!("CARGO_BIN_EXE_sandgate")).args(sub.split(' ')).arg("--help").output().expect("run");
        assert!(output.status.success(), "{sub} --help");
        assert!(!output.stdout.is_empty());
    }
    let output = Command::new(env!("CARGO_BIN_EXE_sandgate")).arg("contract").output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--spec is required"));
    let output = Command::new(env!("CARGO_BIN_EXE_sandgate"))
        .args(["contract", "--spec", "no/such/spec.yaml", "--base-url", "http://127.0.0.1:9"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no/such/spec.yaml"));
}

#[test]
fn logs_never_hold_secrets_and_sighup_reloads_the_config() {
    let temp = common::temp_dir("up-logs");
    let dir = temp.path();
    let config = dir.join("sandgate.yaml");
    std::fs::write(&config, "sandgate:\n  log:\n    format: json\n").expect("write");
    let ports = [common::free_port(), common::free_port(), common::free_port()];
    let stderr = std::fs::File::create(dir.join("stderr.log")).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandgate"))
        .args(["up", "--json", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--specs-dir")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs"))
        .args(["--training-listen", &ports[0].to_string(), "--production-listen", &ports[1].to_string()])
        .args(["--admin-listen", &ports[2].to_string()])
        .args(["--portal-listen", &common::free_port().to_string()])
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("banner");
    let banner: serde_json::Value = serde_json::from_str(&line).expect("json banner");
    for port in ports {
        common::wait_listening(port);
    }
    let (base, id, secret) = (
        banner["training_url"].as_str().unwrap_or_default().to_owned(),
        banner["client_id"].as_str().unwrap_or_default().to_owned(),
        banner["client_secret"].as_str().unwrap_or_default().to_owned(),
    );
    let token = common::access_token(&base, &id, &secret);
    let url = format!("{base}/pos-api/v2.5/client-id/{id}/i18n?secret_in_query=1");
    assert_eq!(common::get(&url, Some(&token)).status(), 200);
    common::assert_problem(common::get(&url, Some("forged.token.value")), 401, "token-malformed");

    // SIGHUP re-reads the file: v2.5 retired now.
    std::fs::write(
        &config,
        "sandgate:\n  log:\n    format: json\n  versions:\n    pos-api:\n      \"2.5\": {retired: true}\n",
    )
    .expect("write");
    assert!(Command::new("kill").args(["-HUP", &child.id().to_string()]).status().expect("kill").success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while common::get(&url, Some(&token)).status() != 410 {
        assert!(Instant::now() < deadline, "SIGHUP did not reload the configuration");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(interrupt_and_wait(child).success());

    let logs = std::fs::read_to_string(dir.join("stderr.log")).expect("logs");
    let access: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "sandgate::access")
        .collect();
    assert!(access.len() >= 3, "one JSON access-log line per request: {logs}");
    assert!(access.iter().all(|l| l["fields"]["request_id"].is_string()), "{logs}");
    for needle in [secret.as_str(), token.as_str(), "forged.token.value", "secret_in_query"] {
        assert!(!logs.contains(needle), "the log holds {needle:?}:\n{logs}");
    }
}

#[test]
fn up_works_from_an_empty_folder_with_the_built_in_specs() {
    let temp = common::temp_dir("up-anywhere");
    let ports = [common::free_port(), common::free_port(), common::free_port()];
    let mut command = Command::new(env!("CARGO_BIN_EXE_sandgate"));
    let state_home = temp.path().join("state");
    command.current_dir(temp.path()).env("XDG_STATE_HOME", &state_home).args(["up", "--json"]);
    for (flag, port) in ["--training-listen", "--production-listen", "--admin-listen"].iter().zip(ports) {
        command.args([flag.to_string(), port.to_string()]);
    }
    command.args(["--portal-listen".to_owned(), common::free_port().to_string()]);
    let Up { child, banner } = start(command, ports);
    let (base, id) =
        (banner["training_url"].as_str().unwrap_or_default(), banner["client_id"].as_str().unwrap_or_default());
    let token = common::access_token(base, id, banner["client_secret"].as_str().unwrap_or_default());
    let search =
        format!("{base}/pos-api/v2.5/client-id/{id}/customers/search?first_name=John&last_name=Smith&dob=1980-01-01");
    assert_eq!(common::get(&search, Some(&token)).status(), 200, "served from the specs inside the binary");
    assert!(interrupt_and_wait(child).success());
    assert!(!temp.path().join(".sandgate").exists(), "nothing written into the folder it ran from");
    let data: Vec<String> = std::fs::read_dir(state_home.join("sandgate"))
        .expect("the data directory is $XDG_STATE_HOME/sandgate")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(data.iter().any(|name| name.starts_with("builtin-specs-")), "{data:?}");
}
