//! Three `sandgate gateway` processes on one PostgreSQL store and one Redis, as an operator runs
//! them behind a load balancer: a write through any node is in force on every node at once
//! (revocation in under a second), the rate plan holds across nodes, not per node, and a node
//! killed with -9 in the middle of writes loses no acknowledged write; a webhook is delivered once
//! although every node runs a delivery worker.

use sandgate_testkit as common;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::process::{gateway, Node};
use common::postgres::TestDatabase;

/// Three nodes on one PostgreSQL store (a database of their own) and one Redis, with `config`
/// plus the store's URL; the first creates the schema and the keys in `dir` (which every node
/// reads: they share one host here), the others open them. The nodes, the operator token and
/// the database (dropped last).
fn three_nodes(dir: &std::path::Path, config: &std::path::Path) -> (Vec<Node>, String, TestDatabase) {
    let database = TestDatabase::create("cluster");
    let yaml = std::fs::read_to_string(config).expect("config");
    std::fs::write(config, format!("{yaml}  store: {{url: '{}'}}\n", database.url)).expect("config");
    let first = gateway(dir, Some(config));
    let nodes = vec![first, gateway(dir, Some(config)), gateway(dir, Some(config))];
    let operator = std::fs::read_to_string(dir.join("secrets/operator.token")).expect("token").trim().to_owned();
    (nodes, operator, database)
}

/// A partner named `name` created through `partner_node`, and its application described by
/// `app` created through `app_node`; the application's id.
fn partner_with_app(partner_node: &Node, app_node: &Node, operator: &str, name: &str, app: Value) -> String {
    let partner = json!({"name": name, "contact": {"name": "c", "email": "c@cluster.example"},
                         "owner": {"name": "o", "email": "o@cluster.example"}});
    let partner = admin(partner_node, operator, "POST", "/v1/partners", Some(partner), 201);
    let partner_id = partner["partner"]["id"].as_str().expect("partner id");
    let path = format!("/v1/partners/{partner_id}/applications");
    let created = admin(app_node, operator, "POST", &path, Some(app), 201);
    created["application"]["id"].as_str().expect("app id").to_owned()
}

/// One operator call; the answer's JSON (the status must be `expected`).
fn admin(node: &Node, token: &str, method: &str, path: &str, body: Option<Value>, expected: u16) -> Value {
    let client = common::http();
    let mut request =
        client.request(method.parse().expect("method"), format!("{}{path}", node.admin)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().expect("admin call");
    let status = response.status().as_u16();
    let body: Value = response.json().unwrap_or(Value::Null);
    assert_eq!(status, expected, "{method} {path}: {body}");
    body
}

/// The value of an unlabelled metric on a node's `/metrics`.
fn metric(node: &Node, token: &str, name: &str) -> Option<f64> {
    let metrics = common::http().get(format!("{}/metrics", node.admin)).bearer_auth(token).send();
    let text = metrics.and_then(|m| m.text()).expect("metrics");
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The store version a node's directory holds (its `sandgate_directory_version` metric).
fn directory_version(node: &Node, token: &str) -> i64 {
    metric(node, token, "sandgate_directory_version").expect("sandgate_directory_version") as i64
}

/// Waits until every node's directory holds what `writer` wrote last (the change bus brings it
/// within milliseconds; this keeps the test from racing it).
fn wait_for_every_node(nodes: &[Node], writer: &Node, token: &str) {
    let written = directory_version(writer, token);
    let deadline = Instant::now() + Duration::from_secs(5);
    while nodes.iter().any(|node| directory_version(node, token) < written) {
        assert!(Instant::now() < deadline, "a node did not reach directory version {written} within 5 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn search(node: &Node, client_id: &str, token: &str) -> u16 {
    let url = format!(
        "{}/pos-api/v2.5/client-id/{client_id}/customers/search?first_name=John&last_name=Smith&dob=1980-01-01",
        node.training
    );
    common::get(&url, Some(token)).status().as_u16()
}

#[test]
fn three_nodes_share_writes_revocations_and_one_rate_budget() {
    let temp = common::temp_dir("cluster");
    let dir = temp.path().join("data");
    let config = temp.path().join("sandgate.yaml");
    let (burst, per_second) = (30_u32, 1_u32);
    std::fs::write(
        &config,
        format!(
            // A generous Redis timeout: on a box loaded by the rest of the suite a slow answer would
            // send a node to its local budget (`when_redis_fails: local`), which is not under test.
            "sandgate:\n  redis: {{url: '{}', key_prefix: '{}', timeout_ms: 2000}}\n  \
             rate_limits:\n    backend: redis\n    default_plan: standard\n    plans:\n      \
             standard: {{per_second: 50, burst: 100}}\n      tiny: {{per_second: {per_second}, burst: {burst}}}\n  \
             cluster: {{resync_ms: 30000, max_staleness_ms: 60000}}\n",
            common::redis::redis_url(),
            common::redis::key_prefix("cluster"),
        ),
    )
    .expect("config");
    let (nodes, operator, _database) = three_nodes(&dir, &config);

    // A partner and an application created through node 1, a token from node 2, a call through node 3.
    let app = json!({"name": "cluster-app", "type": "generic", "permission": "read_write",
                     "scopes": ["merchant", "customer"], "trust_list": ["127.0.0.0/8"]});
    let app_id = partner_with_app(&nodes[0], &nodes[0], &operator, "Cluster Partner", app);
    let issued = admin(
        &nodes[0],
        &operator,
        "POST",
        &format!("/v1/applications/{app_id}/credentials"),
        Some(json!({"environment": "training"})),
        201,
    );
    let client_id = issued["credential"]["client_id"].as_str().expect("client id").to_owned();
    let secret = issued["client_secret"].as_str().expect("secret").to_owned();
    let minted = common::token_request(
        &nodes[1].training,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("scope", "merchant"),
        ],
    );
    let (status, minted) = (minted.status().as_u16(), minted.text().unwrap_or_default());
    assert_eq!(status, 200, "node 2 mints a token for a credential issued on node 1: {minted}");
    let minted: Value = serde_json::from_str(&minted).expect("token JSON");
    let token = minted["access_token"].as_str().expect("access_token").to_owned();
    let url = format!(
        "{}/pos-api/v2.5/client-id/{client_id}/customers/search?first_name=John&last_name=Smith&dob=1980-01-01",
        nodes[2].training
    );
    let answer = common::get(&url, Some(&token));
    let status = answer.status().as_u16();
    assert_eq!(status, 200, "an application created on node 1 works on node 3: {}", answer.text().unwrap_or_default());

    // The TRAINING sandbox is one world too: an authorization created through node 3 is read
    // through node 1 and listed through node 2.
    let pos = |node: &Node| format!("{}/pos-api/v2.5.1/client-id/{client_id}", node.training);
    let reference = ("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11");
    let created: Value = common::http()
        .post(format!("{}/authorization", pos(&nodes[2])))
        .bearer_auth(&token)
        .header(reference.0, reference.1)
        .json(&json!({"amount": 42.5, "account_number": 12345678, "auto_capture": false,
                      "financing_option": {"transaction_type": "regular_purchase"}}))
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .expect("authorization created through node 3");
    let id = created["authorization_id"].as_u64().expect("authorization_id");
    let read = |node: &Node, path: &str| -> Value {
        let response =
            common::http().get(format!("{}{path}", pos(node))).bearer_auth(&token).header(reference.0, reference.1);
        response.send().and_then(|r| r.error_for_status()).and_then(|r| r.json()).expect("read")
    };
    assert_eq!(read(&nodes[0], &format!("/authorization/{id}")), created, "node 1 reads what node 3 created");
    let listed = read(&nodes[1], "/authorizations");
    assert!(listed.as_array().is_some_and(|all| all.contains(&created)), "node 2 lists it: {listed}");
    // (The nodes share one data folder here; on separate hosts only a shared database does this.)
    assert!(!dir.join("emulator.db").exists(), "TRAINING state lives in PostgreSQL, not in a file of one node");

    // 3× the plan spread over three nodes: admitted as one plan, not three.
    admin(&nodes[2], &operator, "PATCH", &format!("/v1/applications/{app_id}"), Some(json!({"plan": "tiny"})), 200);
    // Measured from when every node knows the plan: before that a node admits by the old one.
    wait_for_every_node(&nodes, &nodes[2], &operator);
    let started = Instant::now();
    let admitted = (0..3 * burst as usize).filter(|i| search(&nodes[i % 3], &client_id, &token) == 200).count();
    let allowed = f64::from(burst) + f64::from(per_second) * started.elapsed().as_secs_f64().ceil();
    let fallbacks: Vec<Option<f64>> =
        nodes.iter().map(|node| metric(node, &operator, "sandgate_rate_limit_fallbacks_total")).collect();
    assert!(
        (admitted as f64) <= allowed * 1.05 && admitted as u32 >= burst,
        "{admitted} requests admitted over three nodes; the plan allows {allowed} (local fallbacks: {fallbacks:?})"
    );

    // Revoked through node 3: refused on nodes 1 and 2 within a second.
    admin(&nodes[2], &operator, "POST", &format!("/v1/credentials/{client_id}/revoke"), None, 200);
    let revoked_at = Instant::now();
    for node in &nodes[..2] {
        while search(node, &client_id, &token) != 401 {
            assert!(revoked_at.elapsed() < Duration::from_secs(1), "node still admits a credential revoked elsewhere");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    for node in &nodes {
        let ready = common::http().get(format!("{}/readyz", node.admin)).send().expect("readyz");
        assert_eq!(ready.status(), 200, "every node is ready: its bus is up and its directory current");
    }
}

#[test]
fn a_webhook_is_delivered_once_and_a_killed_node_loses_no_acknowledged_write() {
    let (runtime, receiver) = common::receiver::start("/in", 204);
    let temp = common::temp_dir("cluster-once");
    let dir = temp.path().join("data");
    let config = temp.path().join("sandgate.yaml");
    std::fs::write(
        &config,
        format!(
            "sandgate:\n  redis: {{url: '{}', key_prefix: '{}'}}\n  control_plane:\n    \
             webhooks: {{first_retry_ms: 100, max_attempts: 4, timeout_secs: 2, allow_private_addresses: true}}\n",
            common::redis::redis_url(),
            common::redis::key_prefix("cluster-once"),
        ),
    )
    .expect("config");
    let (mut nodes, operator, _database) = three_nodes(&dir, &config);
    let app = json!({
        "name": "hooked-app", "type": "generic", "permission": "read_write", "scopes": ["merchant"],
        "entities": ["merchant_location"],
        "trust_list": ["127.0.0.0/8", receiver.uri()],
        "webhooks": [{"url": format!("{}/in", receiver.uri()), "events": ["integration.connected"]}]});
    let app_id = partner_with_app(&nodes[0], &nodes[1], &operator, "Hooked Partner", app);

    // Six events written through three nodes, each node's worker polling the one outbox.
    let entities: Vec<String> = (0..6).map(|i| format!("loc-{i}")).collect();
    for (i, entity) in entities.iter().enumerate() {
        let path = format!("/v1/entities/merchant_location/{entity}/connections/{app_id}");
        admin(&nodes[i % 3], &operator, "PUT", &path, None, 201);
    }
    common::receiver::received(&runtime, &receiver, entities.len());
    std::thread::sleep(std::time::Duration::from_millis(1500)); // time for a duplicate to show up
    let delivered = common::receiver::received(&runtime, &receiver, entities.len());
    let mut seen: Vec<String> = delivered
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .map(|event| event.to_string())
        .collect();
    assert_eq!(delivered.len(), entities.len(), "each event delivered once across three nodes: {seen:?}");
    seen.sort();
    for entity in &entities {
        assert_eq!(seen.iter().filter(|e| e.contains(&format!("\"{entity}\""))).count(), 1, "{entity}: {seen:?}");
    }

    // Writes through node 3, which is killed with -9 in the middle: every acknowledged one is kept,
    // and the other nodes serve on.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let writer = {
        let (admin_url, operator, acknowledged) = (nodes[2].admin.clone(), operator.clone(), acknowledged.clone());
        std::thread::spawn(move || {
            let client = common::http_builder().timeout(std::time::Duration::from_secs(5)).build().expect("client");
            for i in 0.. {
                let name = format!("killed-{i}");
                let sent = client
                    .post(format!("{admin_url}/v1/partners"))
                    .bearer_auth(&operator)
                    .json(&json!({"name": name, "contact": {"name": "c", "email": "c@k.example"},
                                  "owner": {"name": "o", "email": "o@k.example"}}))
                    .send();
                match sent.map(|r| r.status().as_u16()) {
                    Ok(201) => acknowledged.lock().expect("lock").push(name),
                    Ok(status) => panic!("{name}: unexpected {status}"),
                    Err(_) => return,
                }
            }
        })
    };
    while acknowledged.lock().expect("lock").len() < 50 {
        assert!(!writer.is_finished(), "the writer stopped before the kill");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut killed = nodes.pop().expect("node 3");
    killed.child.kill().expect("kill -9");
    let _ = killed.child.wait();
    writer.join().expect("writer");
    let listed = admin(&nodes[1], &operator, "GET", "/v1/partners", None, 200);
    let names: std::collections::HashSet<&str> =
        listed["partners"].as_array().expect("partners").iter().filter_map(|p| p["name"].as_str()).collect();
    let acknowledged = acknowledged.lock().expect("lock");
    let lost: Vec<&String> = acknowledged.iter().filter(|n| !names.contains(n.as_str())).collect();
    assert!(lost.is_empty(), "acknowledged writes lost with node 3: {lost:?}");
    let ready = common::http().get(format!("{}/readyz", nodes[0].admin)).send().expect("readyz");
    assert_eq!(ready.status(), 200, "the surviving nodes stay ready");
}

#[test]
fn one_time_password_guesses_spread_over_nodes_count_once() {
    let temp = common::temp_dir("cluster-otp");
    let (dir, config) = (temp.path().join("data"), temp.path().join("sandgate.yaml"));
    let yaml = format!(
        "sandgate:\n  redis: {{url: '{}', key_prefix: '{}'}}\n",
        common::redis::redis_url(),
        common::redis::key_prefix("cluster-otp")
    );
    std::fs::write(&config, yaml).expect("config");
    let (nodes, operator, _database) = three_nodes(&dir, &config);
    let app = json!({"name": "otp-app", "type": "generic", "permission": "read", "scopes": ["merchant"],
                     "trust_list": ["127.0.0.0/8"]});
    let app_id = partner_with_app(&nodes[0], &nodes[0], &operator, "OTP Partner", app);
    let path = format!("/v1/applications/{app_id}/invitations");
    let invited = admin(&nodes[0], &operator, "POST", &path, Some(json!({"email": "dev@otp.example"})), 201);
    let (id, otp) = (invited["invitation"]["id"].as_str().expect("id"), invited["otp"].as_str().expect("otp"));

    // Twelve wrong guesses at once, through three nodes: five are counted, then it is locked.
    let verify = |node: &Node, otp: &str| {
        common::http()
            .post(format!("{}/v1/invitations/{id}/verify", node.admin))
            .json(&json!({"otp": otp}))
            .send()
            .expect("verify")
            .status()
            .as_u16()
    };
    let (nodes_ref, verify) = (&nodes, &verify);
    let wrong: Vec<String> =
        (0..13).map(|i| format!("{:06}", (i * 7919) % 1_000_000)).filter(|guess| guess != otp).take(12).collect();
    let wrong = &wrong;
    let mut statuses: Vec<u16> = std::thread::scope(|scope| {
        let guesses: Vec<_> = (0..12).map(|i| scope.spawn(move || verify(&nodes_ref[i % 3], &wrong[i]))).collect();
        guesses.into_iter().map(|guess| guess.join().expect("guess")).collect()
    });
    statuses.sort_unstable();
    assert_eq!(statuses, [[410; 7].as_slice(), [422; 5].as_slice()].concat(), "five wrong guesses in all, then locked");
    assert_eq!(verify(&nodes[1], otp), 410, "the right password no longer opens a locked invitation");
}

/// A node whose `secrets/` was not copied from the others (its own fresh keys) refuses to join
/// the shared store, naming the key and what to do, instead of refusing every partner's secret
/// and token; with the keys copied, it starts.
#[test]
fn a_node_with_other_keys_refuses_to_join_until_they_are_copied() {
    let temp = common::temp_dir("keys");
    let database = TestDatabase::create("keys");
    let config = temp.path().join("sandgate.yaml");
    std::fs::write(&config, format!("sandgate:\n  store: {{url: '{}'}}\n", database.url)).expect("config");
    let first_dir = temp.path().join("first");
    let first = gateway(&first_dir, Some(&config));

    let other_dir = temp.path().join("other");
    let (mut command, _) =
        crate::process::sandgate(&["gateway", "--config", &config.display().to_string()], &other_dir);
    let mut child = command
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a node with keys of its own started on the shared store");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).expect("stderr");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("secret-hash") && stderr.contains("copy the secrets/"), "{stderr}");

    std::fs::remove_dir_all(other_dir.join("secrets")).expect("remove its keys");
    let copy = std::process::Command::new("cp")
        .arg("-a")
        .arg(first_dir.join("secrets"))
        .arg(other_dir.join("secrets"))
        .status()
        .expect("cp");
    assert!(copy.success());
    let second = gateway(&other_dir, Some(&config));
    let ready = common::http().get(format!("{}/readyz", second.admin)).send().expect("readyz");
    assert_eq!(ready.status(), 200);
    drop((first, second));
}
