//! Control-plane writes against a real SQLite store (WAL, in a temp directory): what a token mint
//! costs with and without its activity-log entry, issuing a TRAINING credential (one transaction
//! with its log entry), and the gateway directory reload every directory-changing write triggers.
//!
//! Run: `cargo bench -p sandgate-benches --bench control_plane`.
//!
//! 2026-11-21, the 2-core CI-class machine, release profile, criterion medians (this box moves
//! ±30 % between runs): token_mint 4.5 µs; with its activity entry written inline 85 µs (19×),
//! queued for the background writer 21 µs (4.7×; under this saturating loop the queue is full
//! and the figure is the writer's batched throughput, ~48 000 events/s; an unsaturated send is a
//! channel push); credential lookup 18–30 µs; issuing a TRAINING credential (transaction +
//! activity entry) 0.19 ms; directory reload with ~30 000 credentials in the table 21 µs, 4.54 ms
//! before the partial index on revoked credentials (215× less).

use criterion::{criterion_group, criterion_main, Criterion};
use sandgate_core::environment::Environment;
use sandgate_core::secret::SecretHash;
use sandgate_gateway::directory::Directory;
use sandgate_gateway::table::scopes::Scopes;
use sandgate_gateway::token::{Grant, TokenIssuer};
use sandgate_store::{Store, WhenFull};

fn control_plane(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("sandgate-bench-control-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = Store::open(&dir).expect("store");
    let hasher = SecretHash::new([3; 32]);
    let scopes = ["merchant".to_owned()];
    let application = sandgate_store::DemoApplication { kind: "generic", scopes: &scopes, entities: &[] };
    let demo = store.ensure_demo(Environment::TRAINING, &hasher, false, &application).expect("demo");
    let app = store.application_id(sandgate_store::DEMO_APPLICATION).expect("store").expect("app");
    let partner = store.partner_id(sandgate_store::DEMO_PARTNER).expect("store").expect("partner");
    let issuer = TokenIssuer::new(Environment::TRAINING, &[7; 32], 1200);
    let details = serde_json::json!({"grant": "client_credentials", "scope": "merchant", "environment": "training"});
    let actor = format!("client:{}", demo.client_id);
    let grant = Grant {
        client_id: &demo.client_id,
        app: &app,
        partner: &partner,
        scope: "merchant",
        generation: 0,
        chain: "bench",
    };

    let mut group = c.benchmark_group("control_plane");
    group.bench_function("token_mint (baseline)", |b| b.iter(|| issuer.mint(&grant).ok()));
    group.bench_function("token_mint + activity entry", |b| {
        b.iter(|| {
            let pair = issuer.mint(&grant).ok();
            store.record_event(&actor, Some(&partner), Some(&app), "token.minted", details.clone()).ok();
            pair
        })
    });
    group.bench_function("credential lookup (token endpoint)", |b| b.iter(|| store.credential(&demo.client_id).ok()));
    group.bench_function("issue TRAINING credential", |b| {
        b.iter(|| store.issue("operator:bench", &app, Environment::TRAINING, &hasher).ok())
    });
    let apis = sandgate_openapi::load_dir(&sandgate_benches::specs_dir()).expect("specs");
    let directory = Directory::load(&store, Scopes::from_apis(&apis)).expect("directory");
    group.bench_function("directory reload (1 application)", |b| b.iter(|| directory.reload(&store).ok()));
    // Last: the writer drains its queue after the run and would slow any bench after it.
    let store = std::sync::Arc::new(store);
    store.start_activity_writer();
    group.bench_function("token_mint + activity entry queued for the background writer", |b| {
        b.iter(|| {
            let pair = issuer.mint(&grant).ok();
            store.record_event_queued(
                WhenFull::Wait,
                actor.clone(),
                Some(&partner),
                Some(&app),
                "token.minted",
                details.clone(),
            );
            pair
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same control-plane writes and reads on the embedded SQLite store (the baseline) and on
/// PostgreSQL (a fresh database on `SANDGATE_TEST_POSTGRES_URL`, default the local server), in
/// one run: what sharing the store between nodes costs per write.
fn store_engines(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = sandgate_db::testing::TestDatabase::create("bench");
    let clock = || std::sync::Arc::new(sandgate_core::clock::SystemClock);
    let engines = [
        ("sqlite (baseline)", Store::open(dir.path()).expect("SQLite store")),
        ("postgres", Store::open_postgres(&database.url, clock()).expect("PostgreSQL store")),
    ];
    let hasher = SecretHash::new([3; 32]);
    let scopes = ["merchant".to_owned()];
    let application = sandgate_store::DemoApplication { kind: "generic", scopes: &scopes, entities: &[] };
    let mut group = c.benchmark_group("store_engines");
    for (engine, store) in &engines {
        let demo = store.ensure_demo(Environment::TRAINING, &hasher, false, &application).expect("demo");
        let app = store.application_id(sandgate_store::DEMO_APPLICATION).expect("store").expect("app");
        group.bench_function(format!("issue TRAINING credential / {engine}"), |b| {
            b.iter(|| store.issue("operator:bench", &app, Environment::TRAINING, &hasher).ok())
        });
        group.bench_function(format!("credential lookup / {engine}"), |b| {
            b.iter(|| store.credential(&demo.client_id).ok())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3));
    targets = control_plane, store_engines
}
criterion_main!(benches);
