//! The real binary: `sandgate admin …` scripts the control plane over HTTP (JSON out, exit 1 with
//! the field on a refusal), concurrent writes neither corrupt nor lose anything, and after
//! `kill -9` in the middle of writes every acknowledged write is still there.

use sandgate_testkit as common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::process::gateway;

fn cli(data_dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sandgate"))
        .args(["admin", "--url", url, "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env_remove("SANDGATE_ADMIN_TOKEN")
        .env_remove("SANDGATE_ADMIN_URL")
        .output()
        .expect("run sandgate admin")
}

fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
fn cli_scripts_the_lifecycle_with_the_local_operator_token() {
    let temp = common::temp_dir("cli");
    let dir = temp.path();
    let running = gateway(dir, None);
    let url = running.admin.as_str();
    let partner = stdout_json(&cli(
        dir,
        url,
        &[
            "partners",
            "create",
            "--name",
            "Scripted",
            "--contact-name",
            "C",
            "--contact-email",
            "c@s.example",
            "--owner-name",
            "O",
            "--owner-email",
            "o@s.example",
        ],
    ));
    let partner_id = partner["partner"]["id"].as_str().expect("id");
    let app = stdout_json(&cli(
        dir,
        url,
        &[
            "apps",
            "create",
            "--partner",
            partner_id,
            "--name",
            "scripted-app",
            "--type",
            "hardware",
            "--permission",
            "read",
            "--scope",
            "merchant",
            "--trust",
            "127.0.0.0/8",
            "--entity",
            "merchant_location",
        ],
    ));
    let app_id = app["application"]["id"].as_str().expect("app id");
    let issued = stdout_json(&cli(dir, url, &["credentials", "issue", "--app", app_id, "--environment", "training"]));
    assert!(issued["client_secret"].as_str().is_some_and(|s| s.starts_with("trn_sk_")));

    let refused = cli(dir, url, &["credentials", "issue", "--app", app_id, "--environment", "production"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("409") && stderr.contains("[environment]"), "{stderr}");

    let csv = cli(dir, url, &["activity", "--app", app_id, "--csv"]);
    assert!(csv.status.success());
    let text = String::from_utf8_lossy(&csv.stdout);
    assert!(text.starts_with("seq,at,partner_id,application_id,actor,event,details\r\n"), "{text}");
    assert!(text.contains("credential.issued"));

    // Review to PRODUCTION, one credential revoked, a developer in and out, a connection, a scrub,
    // and the log paged: all scripted.
    let run = |args: &[&str]| stdout_json(&cli(dir, url, args));
    #[rustfmt::skip]
    run(&["review", "submit", "--app", app_id, "--overview", "POS terminals", "--justify",
          "merchant=terminals act for merchants, at their till", "--security-measures", "vault",
          "--post-deployment-plan", "on-call"]);
    let approved = run(&["review", "approve", app_id]);
    assert_eq!(approved["review"]["status"], "approved", "{approved}");
    assert!(approved.get("client_secret").is_none(), "the operator never sees the PRODUCTION secret");
    let issued = run(&["credentials", "issue", "--app", app_id, "--environment", "production"]);
    let production = issued["credential"]["client_id"].as_str().expect("PRODUCTION credential");
    assert!(production.starts_with("prd_"), "{issued}");
    assert_eq!(run(&["credentials", "revoke", production])["status"], "revoked");
    let invited = run(&["invitations", "create", "--app", app_id, "--email", "dev@s.example"]);
    let invitation = invited["invitation"]["id"].as_str().expect("invitation");
    let verified = run(&["invitations", "verify", invitation, "--otp", invited["otp"].as_str().expect("otp")]);
    let member = verified["member"]["id"].as_str().expect("member");
    assert_eq!(run(&["members", "revoke", "--partner", partner_id, member])["status"], "revoked");
    #[rustfmt::skip]
    let connected = run(&["connections", "connect", "--entity-type", "merchant_location", "--entity-id", "loc-1",
                          "--app", app_id]);
    assert_eq!(connected["connection"]["status"], "connected", "{connected}");
    assert!(run(&["emulator", "scrub", "--environment", "training"])["removed"].is_u64());
    let first = run(&["activity", "--partner", partner_id, "--event", "member.", "--limit", "1"]);
    let after = first["next_after"].as_i64().expect("a next page").to_string();
    let rest = run(&["activity", "--partner", partner_id, "--event", "member.", "--after", &after]);
    let events: Vec<&str> =
        rest["events"].as_array().into_iter().flatten().filter_map(|e| e["event"].as_str()).collect();
    assert!(events.contains(&"member.revoked"), "{rest}");

    let unreachable = Command::new(env!("CARGO_BIN_EXE_sandgate"))
        .args(["admin", "--url", &format!("http://{}", common::free_port()), "--token", "x", "me"])
        .output()
        .expect("run");
    assert_eq!(unreachable.status.code(), Some(2), "a connection failure is a usage error");
}

#[test]
fn concurrent_writes_and_kill_9_lose_no_acknowledged_write() {
    let temp = common::temp_dir("kill9");
    let dir = temp.path();
    let mut running = gateway(dir, None);
    let token = std::fs::read_to_string(dir.join("secrets/operator.token")).expect("token").trim().to_owned();
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let contended = Arc::new(Mutex::new(Vec::<u16>::new()));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (admin, token) = (running.admin.clone(), token.clone());
            let (acknowledged, contended) = (Arc::clone(&acknowledged), Arc::clone(&contended));
            std::thread::spawn(move || {
                let client = common::http_builder().timeout(Duration::from_secs(5)).build().expect("client");
                let create = |name: &str| {
                    client
                        .post(format!("{admin}/v1/partners"))
                        .bearer_auth(&token)
                        .json(&json!({"name": name, "contact": {"name": "c", "email": "c@k.example"}, "owner": {"name": "o", "email": "o@k.example"}}))
                        .send()
                        .map(|r| r.status().as_u16())
                };
                if let Ok(status) = create("contended") {
                    contended.lock().expect("lock").push(status);
                }
                for i in 0.. {
                    let name = format!("writer-{writer}-{i}");
                    match create(&name) {
                        Ok(201) => acknowledged.lock().expect("lock").push(name),
                        Ok(status) => panic!("{name}: unexpected {status}"),
                        Err(_) => return, // the process was killed
                    }
                }
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().expect("lock").len() < 200 {
        assert!(std::time::Instant::now() < deadline, "writers stalled");
        assert!(!writers.iter().all(|w| w.is_finished()), "every writer stopped before the kill");
        std::thread::sleep(Duration::from_millis(5));
    }
    running.child.kill().expect("kill -9");
    let _ = running.child.wait();
    for writer in writers {
        writer.join().expect("writer");
    }
    let mut statuses = contended.lock().expect("lock").clone();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409], "exactly one of four concurrent creates of one name wins");

    let restarted = gateway(dir, None);
    let listed: Value = common::http()
        .get(format!("{}/v1/partners", restarted.admin))
        .bearer_auth(&token)
        .send()
        .expect("list")
        .json()
        .expect("json");
    let names: std::collections::HashSet<&str> =
        listed["partners"].as_array().expect("partners").iter().filter_map(|p| p["name"].as_str()).collect();
    let acknowledged = acknowledged.lock().expect("lock");
    let missing: Vec<&String> = acknowledged.iter().filter(|n| !names.contains(n.as_str())).collect();
    assert!(missing.is_empty(), "{} acknowledged writes lost after kill -9: {missing:?}", missing.len());
    assert!(acknowledged.len() >= 200);
}
