//! Emulator hot path: one in-memory request through route → validate → fabricate → serialise,
//! and request validation on its own.
//!
//! Run: `cargo bench -p sandgate-benches --bench emulator`.
//!
//! 2-core machine, release profile, criterion medians:
//! - 2026-11-21, before request validation (a bare `first_name` query, no header):
//!   customers_search 10.5 µs, calculate_interest_v2_5_1 43.0 µs, unknown_route_404 1.06 µs.
//! - 2026-11-21, with request validation (three query parameters, `x-reference-id`, a JSON body):
//!   customers_search 19.1 µs, calculate_interest_v2_5_1 50.0 µs, transaction_invalid_409
//!   19.7 µs, unknown_route_404 1.40 µs; validation alone: transaction_valid 4.1 µs (about a
//!   fifth of a request), transaction_4_violations 6.3 µs.
//! - 2026-11-21, with scenarios, state, security and events (the same requests, now with a bearer
//!   token): customers_search 17.0 µs, calculate_interest_v2_5_1 54.3 µs, transaction_invalid_409
//!   20.7 µs, unknown_route_404 1.29 µs; transaction_valid 4.2 µs, transaction_4_violations 6.1 µs.
//!   Start-up (load, check, compile): the POS specs 38.6 ms; GitHub's REST API (13 MB, 1,223
//!   operations) 1.49 s.
//! - 2026-11-21 (LTO off, 16 codegen units, both sides of the comparison alike): an operation's
//!   first request on GitHub's spec pays for compiling its request checks: 20 operations with a
//!   body 5.75 s, 287 ms each. Registering the components once per document and compiling every
//!   validator against that registry (instead of copying them into each) measured 5.67 s: no gain,
//!   so it was not kept. perf shows where the time goes: jsonschema validating each schema
//!   against the meta-schema (~20%, not switchable from outside the crate), extending the
//!   registry per validator, and compiling the closure of components each body reaches.
//! - 2026-12-07: validators are compiled with only the components their schemas reach
//!   (`SchemaSet::reachable`) instead of all of them. Measured over HTTP by
//!   `benches/load/first_request.py` (40 operations spread over GitHub's spec, release builds,
//!   the two binaries alternated in one run): first request median 89–100 ms before, 0.4–0.5 ms
//!   after (0.005×), slowest 236 ms before, 2.8 ms after; start-up and RSS unchanged.

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderValue, Method};
use sandgate_emulator::{EmuRequest, Emulator, EmulatorOptions};
use sandgate_openapi::validate::{RequestCheck, Verdict};

const SEARCH: &str = "/pos-api/v2.5/client-id/demo/customers/search";
const SEARCH_QUERY: &str = "first_name=John&last_name=Smith&dob=1980-01-01";
const TRANSACTIONS: &str = "/pos-api/v2.5/client-id/demo/transactions";
const PURCHASE: &[u8] = br#"{"transaction_type":"regular_purchase","amount":125.5,"verification_code":1234,"account_number":12345678,"request_id":"a1b2c3d4-0001","external_location_id":"00-12345"}"#;
const WRONG: &[u8] = br#"{"transaction_type":1,"amount":"ten","account_number":[],"request_id":1}"#;

fn pos_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-reference-id", HeaderValue::from_static("3f2504e0-4f89-41d3-9a0c-0305e82c3301"));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    // Run alone, the emulator asks for the bearer token the POS operations declare.
    headers.insert("authorization", HeaderValue::from_static("Bearer bench"));
    headers
}

fn emulator_handle(c: &mut Criterion) {
    let emulator = Emulator::from_dir(&sandgate_benches::specs_dir(), EmulatorOptions::default()).expect("specs load");
    let headers = pos_headers();
    let mut group = c.benchmark_group("emulator_handle");
    for (name, method, path, query, body) in [
        ("customers_search", Method::GET, SEARCH, Some(SEARCH_QUERY), &b""[..]),
        (
            "calculate_interest_v2_5_1",
            Method::POST,
            "/pos-api/v2.5.1/client-id/demo/accounts/123/calculate-interest",
            None,
            &br#"{"amount":234.45}"#[..],
        ),
        ("transaction_invalid_409", Method::POST, TRANSACTIONS, None, WRONG),
        ("unknown_route_404", Method::GET, "/pos-api/v2.5/client-id/demo/nothing", None, &b""[..]),
    ] {
        let request =
            EmuRequest { method: &method, path, query, headers: &headers, body, tenant: None, application: None };
        let status = emulator.handle(&request).status;
        assert!(matches!(status, 200 | 404 | 409), "{name}: {status} is not the outcome measured");
        group.bench_function(name, |b| b.iter(|| emulator.handle(&request)));
    }
    group.finish();
}

fn request_validation(c: &mut Criterion) {
    let emulator = Emulator::from_dir(&sandgate_benches::specs_dir(), EmulatorOptions::default()).expect("specs load");
    let headers = pos_headers();
    let transactions = emulator.operation(&Method::POST, TRANSACTIONS).expect("operation");
    let check = RequestCheck::compile(transactions).expect("compiles");
    let params = [("client_id", "demo")];
    let mut group = c.benchmark_group("request_validation");
    group.bench_function("transaction_valid", |b| {
        b.iter(|| assert!(matches!(check.check(&params, None, &headers, PURCHASE), Verdict::Valid(_))))
    });
    group.bench_function("transaction_4_violations", |b| {
        b.iter(|| assert!(matches!(check.check(&params, None, &headers, WRONG), Verdict::Invalid(_))))
    });
    group.finish();
}

/// Start-up: load and compile every document of a folder, as `sandgate emulator` does before it
/// serves (validators compile on each operation's first request).
fn startup(c: &mut Criterion) {
    use std::io::Read;
    let github = tempfile::tempdir().expect("temp dir");
    let gz = sandgate_benches::specs_dir().join("../emulator/tests/fixtures/github/api.github.com.json.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(gz).expect("fixture")).read_to_string(&mut text).expect("gunzip");
    std::fs::write(github.path().join("api.github.com.json"), text).expect("write");
    let stripe = tempfile::tempdir().expect("temp dir");
    let gz = sandgate_benches::specs_dir().join("../emulator/tests/fixtures/stripe/spec3.json.gz");
    let mut stripe_text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(gz).expect("fixture"))
        .read_to_string(&mut stripe_text)
        .expect("gunzip");
    std::fs::write(stripe.path().join("spec3.json"), stripe_text).expect("write");
    let mut group = c.benchmark_group("emulator_startup");
    group.sample_size(10);
    group.bench_function("pos_specs", |b| {
        b.iter(|| Emulator::from_dir(&sandgate_benches::specs_dir(), EmulatorOptions::default()).expect("loads"))
    });
    group.bench_function("stripe_4_9mb", |b| {
        b.iter(|| Emulator::from_dir(stripe.path(), EmulatorOptions::default()).expect("loads"))
    });
    group.bench_function("github_13mb", |b| {
        b.iter(|| Emulator::from_dir(github.path(), EmulatorOptions::default()).expect("loads"))
    });
    group.finish();

    // What an operation's first request pays: compiling its request checks (the components are
    // registered once per document, before the timed loop, as the first request of any operation
    // does). 20 operations with a body.
    let emulator = Emulator::from_dir(github.path(), EmulatorOptions::default()).expect("loads");
    let with_body: Vec<_> =
        emulator.apis()[0].operations.iter().filter(|op| op.request_body.is_some()).take(20).collect();
    RequestCheck::compile(with_body[0]).expect("compiles");
    let mut group = c.benchmark_group("emulator_first_request");
    group.sample_size(10);
    group.bench_function("github_checks_of_20_operations", |b| {
        b.iter(|| with_body.iter().map(|op| RequestCheck::compile(op).expect("compiles")).collect::<Vec<_>>())
    });
    group.finish();
}

criterion_group!(benches, emulator_handle, request_validation, startup);
criterion_main!(benches);
