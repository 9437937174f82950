//! `sandgate emulator` runs the emulator standalone over HTTP, so any gateway can proxy to it.

use sandgate_testkit as common;

use std::process::Command;

#[test]
fn emulator_subcommand_answers_spec_operations_and_404s() {
    let (_emulator, addr) = common::sandgate_emulator(
        env!("CARGO_BIN_EXE_sandgate"),
        &["--specs", concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/fixtures/pets-min.yaml")],
    );

    let pets = common::get(&format!("http://{addr}/pets-api/v1/pets"), None);
    assert_eq!(pets.status(), 200);
    assert_eq!(pets.headers()["content-type"], "application/json");
    let body: serde_json::Value = pets.json().expect("json");
    assert!(body.is_array(), "{body}");
    common::assert_problem(common::get(&format!("http://{addr}/pets-api/v1/nothing"), None), 404, "unknown-route");
}

#[test]
fn emulator_subcommand_refuses_a_broken_spec_naming_file_and_pointer() {
    let temp = common::temp_dir("emu-broken");
    let dir = temp.path();
    let file = dir.join("broken.yaml");
    std::fs::write(
        &file,
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses: 7\n",
    )
    .expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_sandgate"))
        .args(["emulator", "--specs"])
        .arg(&file)
        .args(["--listen", &common::free_port().to_string()])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.yaml") && stderr.contains("/paths/~1x/get/responses"), "{stderr}");
}

#[test]
fn check_names_what_would_break_the_spec_and_passes_our_own_specs() {
    let temp = common::temp_dir("emu-check");
    let file = temp.path().join("closed.yaml");
    std::fs::write(
        &file,
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: /t/v1}]\npaths:\n  /x:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Both'}\ncomponents:\n  schemas:\n    Both:\n      allOf:\n        - {type: object, additionalProperties: false, properties: {a: {type: string}}}\n        - {type: object, required: [b], properties: {b: {type: string}}}\n    Code: {type: string, pattern: '^(?!aws:).+$'}\n",
    )
    .expect("write");
    let run = |specs: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_sandgate"))
            .args(["emulator", "--check", "--specs"])
            .arg(specs)
            .output()
            .expect("run")
    };
    let output = run(&file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("error: ") && stdout.contains("closed.yaml#/components/schemas/Both/allOf/1"), "{stdout}");
    assert!(stdout.contains("warning: ") && stdout.contains("/components/schemas/Code/pattern"), "{stdout}");
    let ours = run(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs")));
    let stdout = String::from_utf8_lossy(&ours.stdout);
    assert_eq!(ours.status.code(), Some(0), "our specs have no error: {stdout}");
}

#[test]
fn run_alone_it_checks_tokens_keeps_state_and_delivers_signed_webhooks() {
    let (runtime, receiver) = common::receiver::start("/hooks", 200);
    let hooks = format!("{}/hooks", receiver.uri());
    let admin = common::free_port().to_string();
    let (_emulator, addr) = common::sandgate_emulator(
        env!("CARGO_BIN_EXE_sandgate"),
        &[
            "--admin-listen",
            &admin,
            "--specs",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../specs"),
            "--token",
            "qa-token",
            "--scrub-at",
            "never",
            "--webhook-url",
            &hooks,
            "--webhook-secret",
            "whsec_qa",
            "--allow-private-webhooks",
        ],
    );
    let base = format!("http://{addr}/pos-api/v2.5.1/client-id/qa");
    let post = |url: String, token: &str, body: serde_json::Value| {
        common::http()
            .post(url)
            .bearer_auth(token)
            .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
            .json(&body)
            .send()
            .expect("answers")
    };
    let create = serde_json::json!({"amount": 20.0, "account_number": 12345678, "auto_capture": false,
                                    "financing_option": {"transaction_type": "regular_purchase"}});
    assert_eq!(post(format!("{base}/authorization"), "guess", create.clone()).status(), 401, "only --token passes");
    let authorization: serde_json::Value =
        post(format!("{base}/authorization"), "qa-token", create).json().expect("json");
    let id = authorization["authorization_id"].as_u64().expect("id");
    let captured = post(format!("{base}/authorization/{id}/capture"), "qa-token", serde_json::json!({"amount": 5.0}));
    assert_eq!(captured.status(), 200);
    assert!(captured.headers().contains_key("sandgate-scenario"));

    let requests = common::receiver::received(&runtime, &receiver, 1);
    let envelope = common::receiver::assert_signed(requests.first().expect("a webhook within 10 s"), "whsec_qa");
    assert_eq!(
        (envelope["type"].as_str(), &envelope["data"]["authorization_id"]),
        (Some("authorization.captured"), &serde_json::json!(id))
    );

    // The delivery log of this mode, on the admin listener, with the attempt the receiver took.
    let deliveries = format!("http://{admin}/v1/webhook-deliveries");
    let get = |url: &str, token: Option<&str>| {
        let request = common::http().get(url);
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        request.send().expect("admin answers")
    };
    assert_eq!(get(&deliveries, None).status(), 401, "--token guards the admin listener too");
    // Health, readiness and metrics of this mode, on the admin listener.
    assert_eq!(get(&format!("http://{admin}/healthz"), Some("qa-token")).status(), 200);
    let ready: serde_json::Value = get(&format!("http://{admin}/readyz"), Some("qa-token")).json().expect("json");
    assert_eq!(ready["status"], "ready");
    let metrics = get(&format!("http://{admin}/metrics"), Some("qa-token")).text().expect("text");
    for series in [
        "sandgate_emulator_requests_total{method=\"POST\",status=\"",
        "sandgate_emulator_request_duration_seconds_count{method=\"POST\"}",
        "sandgate_build_info{",
        "process_resident_memory_bytes ",
    ] {
        assert!(metrics.contains(series), "{series} missing in {metrics}");
    }
    assert_eq!(get(&deliveries, Some("guess")).status(), 401);
    let wrong_filter: serde_json::Value =
        get(&format!("{deliveries}?status=lost"), Some("qa-token")).json().expect("json");
    assert_eq!(wrong_filter["errors"][0]["pointer"], "status", "{wrong_filter}");
    // The receiver has the request a moment before the sender has its answer: poll.
    let mut log = serde_json::Value::Null;
    for _ in 0..50 {
        log = get(&format!("{deliveries}?status=delivered"), Some("qa-token")).json().expect("json");
        if log["deliveries"].as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let delivery = &log["deliveries"][0];
    assert_eq!(
        (delivery["event"].as_str(), delivery["url"].as_str()),
        (Some("authorization.captured"), Some(hooks.as_str()))
    );
    assert_eq!(delivery["event_id"], envelope["id"], "the id the receiver got");
    assert_eq!(
        (&delivery["attempts"][0]["attempt"], &delivery["attempts"][0]["status_code"]),
        (&serde_json::json!(1), &serde_json::json!(200))
    );
    assert!(delivery["next_attempt_at"].is_null(), "{delivery}");

    // An on-demand scrub of this partner's objects: the authorization is gone.
    let scrub = |body: serde_json::Value| {
        let request = common::http().post(format!("http://{admin}/v1/emulator/scrub")).bearer_auth("qa-token");
        request.json(&body).send().expect("admin answers")
    };
    assert_eq!(scrub(serde_json::json!({"partner_id": "standalone"})).status(), 400, "partner_id needs environment");
    let scrubbed: serde_json::Value =
        scrub(serde_json::json!({"environment": "training", "partner_id": "standalone"})).json().expect("json");
    assert!(scrubbed["removed"].as_u64().is_some_and(|n| n >= 1), "{scrubbed}");
    let read = common::http()
        .get(format!("{base}/authorization/{id}"))
        .bearer_auth("qa-token")
        .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
        .send()
        .expect("answers");
    assert_eq!(read.status(), 404, "scrubbed");
}
