//! TLS termination: with a certificate and key configured, the listener speaks HTTPS.

use sandgate_testkit as common;

use std::process::Command;

use common::TestSandgate;

#[test]
fn tls_listener_serves_https() {
    let temp = common::temp_dir("tls");
    let dir = temp.path();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("cert");
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).expect("write");
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).expect("write");
    let yaml = format!(
        "sandgate:\n  environments:\n    production:\n      tls: {{cert_file: {}, key_file: {}}}\n",
        dir.join("cert.pem").display(),
        dir.join("key.pem").display()
    );
    let sandgate = TestSandgate::start_with(None, &yaml);
    let https = sandgate.production.replace("http://", "https://");
    let output = Command::new("curl")
        .args(["-s", "--cacert"])
        .arg(dir.join("cert.pem"))
        .args([
            "-X",
            "POST",
            &format!("{https}/pos-api/v2.5/oauth/token"),
            "-d",
            "client_id=x",
            "-d",
            "client_secret=y",
        ])
        .output()
        .expect("curl runs");
    let body: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("HTTPS answer: {output:?}"));
    assert_eq!(body["type"], "urn:sandgate:problem:invalid-client", "{body}");
    let plain = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(&sandgate.production)
        .output()
        .expect("curl");
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200", "plain HTTP is not served on the TLS port");
}
