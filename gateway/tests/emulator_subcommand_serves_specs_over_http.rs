//! `sandgate emulator` runs the emulator standalone over HTTP, so any gateway can proxy to it.

mod common;

use std::process::{Command, Stdio};

#[test]
fn emulator_subcommand_answers_spec_operations_and_404s() {
    let addr = common::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandgate"))
        .args(["emulator", "--specs", concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/fixtures/pets-min.yaml")])
        .args(["--listen", &addr.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    common::wait_listening(addr);

    let pets = common::get(&format!("http://{addr}/pets-api/v1/pets"), None);
    assert_eq!(pets.status(), 200);
    assert_eq!(pets.headers()["content-type"], "application/json");
    let body: serde_json::Value = pets.json().expect("json");
    assert!(body.is_array(), "{body}");
    common::assert_problem(common::get(&format!("http://{addr}/pets-api/v1/nothing"), None), 404, "unknown-route");

    let _ = child.kill();
    let _ = child.wait();
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
