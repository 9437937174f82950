//! Shared helpers for the emulator's tests: the repository's specs and in-memory requests.

#![allow(dead_code)]

use std::path::PathBuf;

use http::{HeaderMap, Method};
use sandgate_emulator::{EmuRequest, EmuResponse, Emulator, EmulatorOptions};

/// The repository's `specs/` folder.
pub fn specs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs")
}

/// An emulator over one spec file under `specs/`.
pub fn emulator(relative: &str) -> Emulator {
    let apis = sandgate_emulator::openapi::load_file(&specs_dir().join(relative)).expect("spec loads");
    Emulator::new(apis, EmulatorOptions::default()).expect("spec compiles")
}

/// Sends one bodiless request in memory.
pub fn call(emulator: &Emulator, method: Method, path_and_query: &str, headers: &HeaderMap) -> EmuResponse {
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    emulator.handle(&EmuRequest { method: &method, path, query, headers, body: b"" })
}

/// Parses a JSON body.
pub fn json(response: &EmuResponse) -> serde_json::Value {
    serde_json::from_slice(&response.body).expect("JSON body")
}
