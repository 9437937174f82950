//! Shared helpers for the emulator's tests: the repository's specs and in-memory requests.

#![allow(dead_code)]

use std::path::PathBuf;

use http::{HeaderMap, Method};
use sandgate_emulator::{EmuRequest, EmuResponse, Emulator, EmulatorOptions};

/// The repository's `specs/` folder.
pub(crate) fn specs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs")
}

/// An emulator over one spec file under `specs/`.
pub(crate) fn emulator(relative: &str) -> Emulator {
    let apis = sandgate_openapi::load_file(&specs_dir().join(relative)).expect("spec loads");
    Emulator::new(apis, EmulatorOptions::default()).expect("spec compiles")
}

/// The `x-reference-id` every POS operation requires, added to requests that do not set one.
pub(crate) const REFERENCE_ID: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

/// Sends one bodiless request in memory, with an `x-reference-id` and a token as a POS client
/// would.
pub(crate) fn call(emulator: &Emulator, method: Method, path_and_query: &str, headers: &HeaderMap) -> EmuResponse {
    send(emulator, method, path_and_query, headers, b"")
}

/// Sends one request with a JSON body in memory (and an `x-reference-id`).
pub(crate) fn call_json(
    emulator: &Emulator,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &serde_json::Value,
) -> EmuResponse {
    let mut headers = headers.clone();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    send(emulator, method, path_and_query, &headers, &serde_json::to_vec(body).expect("JSON"))
}

/// Sends one request in memory as given, adding only an `x-reference-id` and a bearer token
/// when missing (the POS operations require both).
pub(crate) fn send(
    emulator: &Emulator,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> EmuResponse {
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    let mut headers = headers.clone();
    if !headers.contains_key("x-reference-id") {
        headers.insert("x-reference-id", http::HeaderValue::from_static(REFERENCE_ID));
    }
    if !headers.contains_key(http::header::AUTHORIZATION) {
        headers.insert(http::header::AUTHORIZATION, http::HeaderValue::from_static("Bearer sandbox"));
    }
    emulator.handle(&EmuRequest {
        method: &method,
        path,
        query,
        headers: &headers,
        body,
        tenant: None,
        application: None,
    })
}

/// Parses a JSON body.
pub(crate) fn json(response: &EmuResponse) -> serde_json::Value {
    serde_json::from_slice(&response.body).expect("JSON body")
}
