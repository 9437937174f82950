//! Gateway hot path: the per-request phase functions on prebuilt inputs (no sockets), and the
//! bearer-token check with and without the verified-token cache.
//!
//! Run: `cargo bench -p sandgate-benches --bench gateway_phases`.
//!
//! 2026-11-21, this project's 2-core CI-class machine, release profile (fat LTO), criterion
//! medians (warm-up 1 s, 3 s): route_select 0.67 µs (0.99 µs before routes were grouped by
//! length and dot-segment checks stopped allocating); auth_cached_token 0.81 µs vs
//! auth_verify_signature 4.85 µs (the cache is 6.0× cheaper); client_addr_resolve 16 ns;
//! trust_check 19 ns; rate_limit_admit 111 ns. The cached check's cost is the constant-time
//! comparison of the whole token; route_select compares every template of the same length.
//!
//! 2026-12-06, same machine and profile, one run: route_select 0.23 µs, auth_cached_token 0.37 µs,
//! auth_verify_signature 2.56 µs; what issue 15 added to a PRODUCTION request: check_upgrade
//! 0.037 µs (0.16× route_select), check_parameters 1.29 µs (5.7×: the emulator's validator over
//! three query parameters, a header and the path, on the parameters route_select already read),
//! upstream_request::prepare 2.86 µs (12.6×, 7.0× the RequestHeader clone measured beside it:
//! namespace and forwarding-header scan, X-Forwarded-For/Forwarded, undocumented-query drop, and
//! Pingora's header-map inserts, which the old prepare also made; it was not measured before).
//! Between three runs of this bench the same function moved by up to 20 %: compare within a run.

use std::net::IpAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, Method};
use sandgate_core::environment::Environment;
use sandgate_core::trust_list::TrustList;
use sandgate_gateway::config::{parse_cidr, PlanConfig, RateLimitBackend, RateLimitConfig};
use sandgate_gateway::table::limiter::Limiter;
use sandgate_gateway::table::routes::{RouteTable, Selected};
use sandgate_gateway::table::scopes::Scopes;
use sandgate_gateway::table::EnvTables;
use sandgate_gateway::table::Upstream;
use sandgate_gateway::token::cache::TokenCache;
use sandgate_gateway::token::{Grant, TokenIssuer};

fn phases(c: &mut Criterion) {
    let apis = sandgate_openapi::load_dir(&sandgate_benches::specs_dir()).expect("specs");
    let scopes = Scopes::from_apis(&apis);
    let routes = RouteTable::new(&apis, &Default::default(), &scopes);
    let env = EnvTables {
        env: Environment::PRODUCTION,
        upstream: Upstream::None,
        issuer: TokenIssuer::new(Environment::PRODUCTION, &[7; 32], 1200),
        token_cache: TokenCache::default(),
        hosts: Vec::new(),
        route_metrics: Default::default(),
    };
    let token = env
        .issuer
        .mint(&Grant {
            client_id: "prd_1",
            app: "app_1",
            partner: "ptn_1",
            scope: "merchant",
            generation: 0,
            chain: "bench",
        })
        .expect("mint")
        .access_token;
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().expect("header"));
    let trust = TrustList::parse("10.0.0.0/8 127.0.0.0/8 https://shop.example.com").expect("trust");
    let plans = [("bench".to_owned(), PlanConfig { per_second: 1_000_000_000, burst: 1_000_000_000 })].into();
    let limiter = Limiter::new(&plans, "bench");
    // The same admission against the shared budget in Redis (rate_limits.backend: redis), when one
    // answers (SANDGATE_BENCH_REDIS_URL, else 127.0.0.1:6379): the round trip is the difference.
    let redis_url = std::env::var("SANDGATE_BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("sandgate-bench:{}", std::process::id());
    let shared_limiter = sandgate_cluster::RedisLink::connect("redis", &redis_url, &prefix, Duration::from_secs(1))
        .map(|link| {
            let config = RateLimitConfig {
                plans: plans.clone(),
                default_plan: "bench".into(),
                backend: RateLimitBackend::Redis,
                ..RateLimitConfig::default()
            };
            Limiter::configured(&config, Some(&std::sync::Arc::new(link)))
        });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let peer: IpAddr = "127.0.0.1".parse().expect("ip");
    let trusted = vec![parse_cidr("10.0.0.0/8").expect("cidr")];
    let path = "/pos-api/v2.5/client-id/prd_1/customers/search";

    let mut group = c.benchmark_group("gateway_phases");
    group.bench_function("route_select", |b| {
        b.iter(|| sandgate_gateway::phase::route::select(&routes, &Method::GET, path).map(|r| r.selected).ok())
    });
    group.bench_function("auth_cached_token", |b| {
        b.iter(|| sandgate_gateway::phase::auth::authenticate(&headers, &env, &scopes).ok())
    });
    group.bench_function("auth_verify_signature (cache miss baseline)", |b| {
        b.iter(|| env.issuer.verify_access(&token).ok())
    });
    group.bench_function("client_addr_resolve", |b| {
        b.iter(|| sandgate_gateway::phase::client_addr::resolve(peer, &headers, &trusted))
    });
    group.bench_function("trust_check", |b| {
        b.iter(|| sandgate_gateway::phase::trust::check(&trust, peer, None).is_ok())
    });
    group.bench_function("rate_limit_admit", |b| {
        b.iter(|| runtime.block_on(limiter.admit(Environment::PRODUCTION, "app_1", "bench")))
    });
    match &shared_limiter {
        Ok(shared) => group.bench_function("rate_limit_admit (redis)", |b| {
            b.iter(|| runtime.block_on(shared.admit(Environment::PRODUCTION, "app_1", "bench")))
        }),
        Err(e) => {
            eprintln!("rate_limit_admit (redis) skipped: {e}");
            &mut group
        }
    };

    // What the security work added to a PRODUCTION request (issue 15), beside route_select above.
    let target = format!("{path}?first_name=Ann&last_name=Lee&dob=1990-02-03&debug=1");
    let mut request = pingora::http::RequestHeader::build("GET", target.as_bytes(), None).expect("request");
    for (name, value) in [
        ("host", "gateway"),
        ("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11"),
        ("authorization", "Bearer abc"),
        ("x-sandgate-partner", "forged"),
        ("user-agent", "bench"),
        ("accept", "application/json"),
    ] {
        request.append_header(name, value).expect("header");
    }
    let routed = sandgate_gateway::phase::route::select(&routes, &Method::GET, path).expect("the bench path routes");
    let Selected::Operation(id) = routed.selected else { panic!("an operation") };
    let policy = routes.policy(id);
    group.bench_function("check_upgrade (none asked)", |b| {
        b.iter(|| sandgate_gateway::phase::route::check_upgrade(Some(policy), &request.headers).is_ok())
    });
    group.bench_function("check_parameters (PRODUCTION, 3 query + 1 header + path)", |b| {
        b.iter(|| sandgate_gateway::phase::route::check_parameters(policy, &routed.params, &request, false).is_ok())
    });
    let principal = sandgate_gateway::principal::Principal::new(
        "prd_1".into(),
        "app_1".into(),
        "ptn_1".into(),
        "merchant".into(),
        scopes.parse("merchant"),
        u64::MAX,
    )
    .expect("header-safe ids");
    group.bench_function("upstream_request::prepare (strip, XFF, drop undocumented query)", |b| {
        b.iter_batched(
            || request.clone(),
            |mut req| {
                let forwarding = sandgate_gateway::phase::upstream_request::Forwarding {
                    env: Environment::PRODUCTION,
                    principal: Some(&principal),
                    request_id: "req-1",
                    host: "backend:8080",
                    client_addr: Some(peer),
                    query: Some(&policy.query),
                };
                sandgate_gateway::phase::upstream_request::prepare(&mut req, &forwarding).is_ok()
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("RequestHeader clone (the batch set-up above, for scale)", |b| b.iter(|| request.clone()));
    group.finish();
}

criterion_group!(benches, phases);
criterion_main!(benches);
