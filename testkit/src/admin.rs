//! A client of the control-plane API for tests: every JSON answer with a 2xx status is checked
//! against `specs/control-plane/v1.yaml` (the documented response schema for that status).

#![allow(dead_code)]

use std::path::PathBuf;

use reqwest::Method;
use serde_json::Value;

/// The control-plane spec, loaded once per test binary.
pub fn spec() -> &'static sandgate_emulator::Emulator {
    static SPEC: std::sync::OnceLock<sandgate_emulator::Emulator> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs/control-plane/v1.yaml");
        let apis = sandgate_openapi::load_file(&file).expect("control-plane spec loads");
        sandgate_emulator::Emulator::new(apis, sandgate_emulator::EmulatorOptions::default()).expect("spec compiles")
    })
}

/// Calls the admin API as `token`.
pub struct Admin {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// Bearer token (operator token or member key); `None` sends none.
    pub token: Option<String>,
}

impl Admin {
    /// Sends one request; returns the status and the JSON body (`Null` when not JSON).
    pub fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = super::http().request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().expect("admin API answers");
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let text = response.text().expect("body");
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) && content_type.starts_with("application/json") {
            let route = path.split('?').next().unwrap_or(path);
            let http_method = http::Method::from_bytes(method.as_str().as_bytes()).expect("method");
            let schema = spec()
                .response_schema(&http_method, route, status)
                .unwrap_or_else(|| panic!("{method} {route} {status} is not documented in the control-plane spec"));
            let validator =
                jsonschema::options().should_validate_formats(true).build(&schema).expect("schema compiles");
            let errors: Vec<String> =
                validator.iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(errors.is_empty(), "{method} {route} {status} does not match the spec: {errors:?}\n{value:#}");
        }
        if !(200..300).contains(&status) {
            assert!(
                content_type.starts_with("application/problem+json"),
                "{method} {path}: {status} {content_type} {text}"
            );
        }
        (status, value)
    }

    /// GET.
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None)
    }

    /// POST with a JSON body.
    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body))
    }

    /// The same client with another token.
    pub fn as_(&self, token: &str) -> Admin {
        Admin { base: self.base.clone(), token: Some(token.to_owned()) }
    }
}
