//! Sandgate's test kit (dev-only): a real Sandgate (gateway, emulator, store) on ephemeral
//! loopback ports with a data directory of its own, stopped and removed on drop; HTTP helpers; a
//! control-plane client that checks answers against the spec; a partner's webhook receiver.
//! Used by the whole-process tests of every crate, so each crate's tests share one harness.

pub mod admin;
pub mod postgres;
pub mod receiver;
pub mod redis;
pub mod relay;
pub mod smtp;
pub mod tls_backend;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sandgate_cli::assembly::{self as server, Running};
use sandgate_core::environment::Environment;
use sandgate_gateway::config::{ConfigArgs, SandgateConfig};
use sandgate_store::DEMO_APPLICATION;

/// A blocking HTTP client. reqwest is built without a crypto provider of its own (Sandgate
/// installs ring's at start); test processes install it here.
pub fn http() -> reqwest::blocking::Client {
    http_builder().build().expect("HTTP client")
}

/// A blocking HTTP client builder (see [`http()`]).
pub fn http_builder() -> reqwest::blocking::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
}

/// A running Sandgate.
pub struct TestSandgate {
    running: Option<Running>,
    data_dir: tempfile::TempDir,
    /// `http://127.0.0.1:port` of the TRAINING listener.
    pub training: String,
    /// `http://127.0.0.1:port` of the PRODUCTION listener.
    pub production: String,
    /// `http://127.0.0.1:port` of the admin listener.
    pub admin: String,
    /// `http://127.0.0.1:port` of the developer portal.
    pub portal: String,
    /// The demo TRAINING client id.
    pub client_id: String,
    /// The demo TRAINING client secret.
    pub client_secret: String,
    /// A PRODUCTION credential of the same application.
    pub production_client_id: String,
    /// Its secret.
    pub production_client_secret: String,
    /// The emulator, for looking up response schemas.
    pub emulator: std::sync::Arc<sandgate_emulator::Emulator>,
    /// The process state (store, directory, metrics, reload).
    pub shared: std::sync::Arc<sandgate_gateway::state::Shared>,
    /// The store's clock: `clock.advance(…)` moves past an expiry or grace period without sleeping.
    pub clock: std::sync::Arc<sandgate_core::clock::AdvancedClock>,
    /// The PostgreSQL database of this instance (`SANDGATE_TEST_STORE=postgres`), dropped last.
    _database: Option<postgres::TestDatabase>,
}

/// A free loopback port (bound, read, released), never one handed out before in this process:
/// parallel tests would otherwise race for a port the kernel hands out again once released.
pub fn free_port() -> SocketAddr {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let addr = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("ephemeral port");
        if !given.contains(&addr.port()) {
            given.push(addr.port());
            return addr;
        }
    }
}

/// Waits until `addr` accepts connections (5 s deadline).
pub fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpStream::connect(addr) {
            Ok(_) => return,
            Err(e) if Instant::now() > deadline => panic!("{addr} is not listening after 5 s: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Submits the demo application for review, approves it and issues its PRODUCTION credential, as
/// the operator and then the partner would; returns the PRODUCTION client id and secret.
pub fn approve_for_production(
    store: &sandgate_store::Store,
    hasher: &sandgate_core::secret::SecretHash,
) -> (String, String) {
    let app = store.application_id(DEMO_APPLICATION).expect("store").expect("demo app");
    let submission = sandgate_store::Submission {
        overview: "demo".into(),
        scope_justifications: [("merchant", "tests"), ("customer", "tests")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        security_measures: "tests".into(),
        post_deployment_plan: "tests".into(),
    };
    store.submit_review("operator:test", &app, &submission).expect("submit");
    store.approve_review("operator:test", &app).expect("approve");
    let (credential, secret) = store.issue("member:test", &app, Environment::PRODUCTION, hasher).expect("issue");
    (credential.client_id, secret)
}

impl TestSandgate {
    /// Starts Sandgate; PRODUCTION proxies to `production_upstream` when given.
    pub fn start(production_upstream: Option<SocketAddr>) -> TestSandgate {
        TestSandgate::start_with(production_upstream, "")
    }

    /// Starts Sandgate with `yaml` (a `sandgate.yaml` text) as its config.
    pub fn start_with(production_upstream: Option<SocketAddr>, yaml: &str) -> TestSandgate {
        TestSandgate::start_full(production_upstream, yaml, None)
    }

    /// Starts Sandgate reading its config from `file` (so `POST /reload` re-reads it).
    pub fn start_with_file(file: &std::path::Path) -> TestSandgate {
        let yaml = std::fs::read_to_string(file).expect("config file");
        TestSandgate::start_full(None, &yaml, Some(file.to_path_buf()))
    }

    fn start_full(production_upstream: Option<SocketAddr>, yaml: &str, file: Option<PathBuf>) -> TestSandgate {
        let _ = tracing_log::LogTracer::init();
        // SANDGATE_TEST_LOG=error (a tracing filter) shows what the server logged, for debugging.
        let filter = std::env::var("SANDGATE_TEST_LOG").unwrap_or_else(|_| "warn,sandgate=off".into());
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        let data_dir = temp_dir("it");
        let mut config = SandgateConfig::parse(yaml).expect("test config parses");
        // A test that names its own store keeps it; the others run on the suite's engine.
        let database =
            (postgres::selected() && config.store.url.is_none()).then(|| postgres::TestDatabase::create("it"));
        let (training, production, admin, portal) = (free_port(), free_port(), free_port(), free_port());
        let args = ConfigArgs {
            data_dir: Some(data_dir.path().to_path_buf()),
            specs_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs")),
            training_listen: Some(training.to_string()),
            production_listen: Some(production.to_string()),
            admin_listen: Some(admin.to_string()),
            portal_listen: Some(portal.to_string()),
            production_upstream: production_upstream.map(|a| format!("http://{a}")),
            store: database.as_ref().map(|db| db.url.clone()),
            ..ConfigArgs::default()
        };
        // Several tests of one binary run in parallel; one worker each keeps them light. The
        // attack suite (alone in its binary) runs with two, as production does.
        if config.workers == 0 {
            config.workers = 1;
        }
        let settings = config.merge_args(&args).compile().expect("valid settings");
        let clock = std::sync::Arc::new(sandgate_core::clock::AdvancedClock::default());
        let prepared = server::prepare_with_clock(settings, file, args, clock.clone()).expect("prepare");
        let application = prepared.process.control.app_types.demo().expect("a spec describes the demo application");
        let demo = prepared
            .store()
            .ensure_demo(Environment::TRAINING, &prepared.keys().secret_hash, false, &application)
            .expect("demo");
        let prod = approve_for_production(prepared.store(), &prepared.keys().secret_hash);
        let emulator = prepared.emulator.clone().expect("TRAINING uses the emulator");
        let shared = std::sync::Arc::clone(&prepared.process.shared);
        let running = Running::start(server::build(&prepared, false).expect("build"));
        for addr in [training, production, admin, portal] {
            wait_listening(addr);
        }
        TestSandgate {
            running: Some(running),
            data_dir,
            training: format!("http://{training}"),
            production: format!("http://{production}"),
            admin: format!("http://{admin}"),
            portal: format!("http://{portal}"),
            client_id: demo.client_id,
            client_secret: demo.client_secret.expect("fresh secret"),
            production_client_id: prod.0,
            production_client_secret: prod.1,
            emulator,
            shared,
            clock,
            _database: database,
        }
    }

    /// The store.
    pub fn store(&self) -> &sandgate_store::Store {
        &self.shared.store
    }

    /// Replaces the demo application's trust list, as `PATCH /v1/applications/{id}` does.
    pub fn set_trust_list(&self, entries: &[&str]) {
        let patch = sandgate_store::AppPatch {
            trust_list: Some(entries.iter().map(|e| (*e).to_owned()).collect()),
            ..Default::default()
        };
        self.store().update_app("operator:test", &self.demo_app_id(), &patch).expect("update");
    }

    /// The local operator token.
    pub fn operator_token(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("secrets/operator.token"))
            .expect("operator token")
            .trim()
            .to_owned()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// The demo application's id.
    pub fn demo_app_id(&self) -> String {
        self.store().application_id(DEMO_APPLICATION).expect("store").expect("demo app")
    }
}

impl Drop for TestSandgate {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop();
        }
    }
}

/// `POST {base}/pos-api/v2.5/oauth/token` with a form body.
pub fn token_request(base: &str, form: &[(&str, &str)]) -> reqwest::blocking::Response {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    http()
        .post(format!("{base}/pos-api/v2.5/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
        .body(body)
        .send()
        .expect("token request")
}

/// A fresh access token for `client_id`/`secret` at `base`.
pub fn access_token(base: &str, client_id: &str, secret: &str) -> String {
    let response = token_request(
        base,
        &[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)],
    );
    assert_eq!(response.status(), 200, "token request failed");
    let body: serde_json::Value = response.json().expect("json");
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// GET with an optional bearer token.
pub fn get(url: &str, token: Option<&str>) -> reqwest::blocking::Response {
    let mut request = http().get(url).header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.send().expect("request")
}

/// Asserts a problem+json answer of `status` and `slug`; returns the body.
pub fn assert_problem(response: reqwest::blocking::Response, status: u16, slug: &str) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = response.json().expect("problem body");
    assert_eq!(body["type"], format!("urn:sandgate:problem:{slug}"), "{body}");
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "detail a person can act on: {body}");
    body
}

/// Sends `request` as raw bytes to `base` (`http://host:port`) and returns the whole answer.
pub fn raw_request(base: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// GET with a bearer token and extra headers; returns the response.
pub fn get_with(url: &str, token: &str, headers: &[(&str, &str)]) -> reqwest::blocking::Response {
    let mut request = http()
        .get(url)
        .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().expect("request")
}

/// A unique temporary directory for one test, removed when dropped.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("sandgate-{tag}-")).tempdir().expect("temp dir")
}

/// A `sandgate` child process, killed when the test ends however it ends.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary emulator` (the `sandgate` executable, `env!("CARGO_BIN_EXE_sandgate")` in the
/// crate that builds it) with `args` on a free port; returns it once it listens.
pub fn sandgate_emulator(binary: &str, args: &[&str]) -> (Child, SocketAddr) {
    let addr = free_port();
    let child = std::process::Command::new(binary)
        .arg("emulator")
        .args(args)
        .args(["--listen", &addr.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn sandgate emulator");
    wait_listening(addr);
    (Child(child), addr)
}
