//! Emulator hot path: one in-memory request through route → fabricate → serialise.
//!
//! Run: `cargo bench -p sandgate-benches --bench emulator`.
//!
//! 2026-11-21, 2-core machine, release profile, criterion medians: customers_search 10.5 µs,
//! calculate_interest_v2_5_1 43.0 µs (a large nested body), unknown_route_404 1.06 µs.

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, Method};
use sandgate_emulator::{EmuRequest, Emulator, EmulatorOptions};

fn emulator_handle(c: &mut Criterion) {
    let emulator = Emulator::from_dir(&sandgate_benches::specs_dir(), EmulatorOptions::default()).expect("specs load");
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("emulator_handle");
    for (name, method, path, query) in [
        ("customers_search", Method::GET, "/pos-api/v2.5/client-id/demo/customers/search", Some("first_name=John")),
        (
            "calculate_interest_v2_5_1",
            Method::POST,
            "/pos-api/v2.5.1/client-id/demo/accounts/123/calculate-interest",
            None,
        ),
        ("unknown_route_404", Method::GET, "/pos-api/v2.5/client-id/demo/nothing", None),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| emulator.handle(&EmuRequest { method: &method, path, query, headers: &headers, body: b"" }))
        });
    }
    group.finish();
}

criterion_group!(benches, emulator_handle);
criterion_main!(benches);
