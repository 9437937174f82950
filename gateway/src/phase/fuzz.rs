//! Property-based fuzzing of the request path: arbitrary methods, paths (built from the pieces
//! attacks are made of: encoded separators, dot segments, other tenants' ids), query strings and
//! headers run through every phase that reads the request before it is forwarded. No input may
//! panic, and what passes keeps the invariants the checks promise.
//!
//! CI runs `SANDGATE_FUZZ_CASES` cases (default 512); the longer job in CONTRIBUTING.md sets it to
//! 200 000.

use std::sync::OnceLock;

use http::Method;
use pingora::http::RequestHeader;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

use crate::phase;
use crate::table::limits::Limits;
use crate::table::routes::{RouteTable, Selected};
use crate::table::scopes::Scopes;
use crate::table::EnvTables;
use crate::table::Upstream;
use crate::token::cache::TokenCache;
use crate::token::{Grant, TokenIssuer};
use sandgate_core::environment::Environment;

struct World {
    routes: RouteTable,
    scopes: Scopes,
    env: EnvTables,
    token: String,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
        let apis = sandgate_openapi::load_dir(&specs).expect("specs");
        let scopes = Scopes::from_apis(&apis);
        let routes = RouteTable::new(&apis, &Default::default(), &scopes);
        let issuer = TokenIssuer::new(Environment::PRODUCTION, &[9; 32], 1200)
            .knowing([Environment::TRAINING, Environment::PRODUCTION]);
        let grant =
            Grant { client_id: "prd_1", app: "app_1", partner: "ptn_1", scope: "merchant", generation: 0, chain: "c" };
        let token = issuer.mint(&grant).expect("mint").access_token;
        let env = EnvTables {
            env: Environment::PRODUCTION,
            upstream: Upstream::None,
            issuer,
            token_cache: TokenCache::default(),
            hosts: Vec::new(),
            route_metrics: Default::default(),
        };
        World { routes, scopes, env, token }
    })
}

fn cases() -> u32 {
    std::env::var("SANDGATE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "pos-api", "other-api", "v2.5", "v2.5.1", "v9", "client-id", "prd_1", "prd_2", "trn_1", "oauth",
            "token", "customers", "search", "i18n", "accounts", "12345678", "authorization", "authorizations",
            "close", "capture", "..", ".", "%2e%2E", "%2F", "..%2F..%2Fprd_2", "%5C", "\\", "%00", "%", "%zz",
            "a%2fb", "", "é", "%C3%A9",
        ])
        .prop_map(str::to_owned),
        1 => "[ -~]{0,12}",
    ]
}

/// Paths that route, so that mutations of them reach the later phases.
const VALID: [&str; 5] = [
    "/pos-api/v2.5/client-id/prd_1/customers/search",
    "/pos-api/v2.5/client-id/prd_1/i18n",
    "/pos-api/v2.5/client-id/prd_1/authorization/A1",
    "/pos-api/v2.5.1/client-id/prd_1/accounts/12345678/close",
    "/pos-api/v2.5/client-id/prd_1/authorizations",
];

fn path() -> impl Strategy<Value = String> {
    let random = prop::collection::vec(segment(), 0..9).prop_map(|segments| format!("/{}", segments.join("/")));
    let mutated =
        (prop::sample::select(VALID.to_vec()), prop::option::of((0usize..8, segment()))).prop_map(|(valid, change)| {
            let mut segments: Vec<String> = valid.split('/').map(str::to_owned).collect();
            if let Some((at, replacement)) = change {
                let at = 1 + at % (segments.len() - 1);
                segments[at] = replacement;
            }
            segments.join("/")
        });
    prop_oneof![1 => random, 3 => mutated]
}

fn query() -> impl Strategy<Value = Option<String>> {
    let pair = (
        prop::sample::select(vec![
            "first_name",
            "last_name",
            "dob",
            "status",
            "debug",
            "x_sandgate_partner",
            "a[b]",
            "",
        ]),
        "[ -~&&[^#&]]{0,10}",
    )
        .prop_map(|(k, v)| format!("{k}={v}"));
    prop::option::of(prop::collection::vec(pair, 0..5).prop_map(|pairs| pairs.join("&")))
}

fn header() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        4 => prop::sample::select(vec![
            "authorization", "upgrade", "connection", "http2-settings", "x-sandgate-partner", "x_sandgate_partner",
            "content-length", "transfer-encoding", "host", "x-forwarded-for", "forwarded", "x-real-ip",
            "x-reference-id", "origin", "referer", "x-http-method-override", "cookie", "content-type",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_-]{1,12}",
    ];
    let value = prop_oneof![
        2 => prop::sample::select(vec![
            "Bearer TOKEN", "Bearer ", "Basic abc", "websocket", "h2c", "Upgrade", "close, upgrade", "chunked", "5",
            "-1", "99999999999999999999", "127.0.0.1", "10.0.0.1, ::1", "[::1]:80", "https://shop.example.com",
            "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11", "",
        ])
        .prop_map(str::to_owned),
        1 => "[ -~]{0,40}",
    ];
    (name, value)
}

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![Method::GET, Method::POST, Method::PATCH, Method::DELETE, Method::OPTIONS, Method::HEAD])
}

/// Runs every pre-forwarding phase; returns whether the request would be forwarded.
fn run_phases(req: &mut RequestHeader) -> bool {
    let world = world();
    let limits = Limits::default();
    let peer = std::net::Ipv4Addr::LOCALHOST.into();
    let host = req.headers.get(http::header::HOST).map(|h| h.as_bytes().to_vec());
    if phase::environment::check(&world.env, host.as_deref()).is_err()
        || phase::hygiene::check(req, &limits, false, None).is_err()
    {
        return false;
    }
    let addr = phase::client_addr::resolve(peer, &req.headers, &[]);
    let path = req.uri.path().to_owned();
    let Ok(routed) = phase::route::select(&world.routes, &req.method, &path) else { return false };
    let Selected::Operation(id) = routed.selected else {
        // The token endpoint answers in place; it is fuzzed up to its upgrade check here.
        let _ = phase::route::check_upgrade(None, &req.headers);
        return false;
    };
    let policy = world.routes.policy(id);
    if phase::route::check_upgrade(Some(policy), &req.headers).is_err()
        || phase::route::check_required_headers(policy, &req.headers).is_err()
    {
        return false;
    }
    let Ok(principal) = phase::auth::authenticate(&req.headers, &world.env, &world.scopes) else { return false };
    if phase::auth::check_client(routed.client_id(), &principal).is_err() {
        return false;
    }
    let _ = phase::trust::origin_of(&req.headers);
    if phase::route::check_parameters(policy, &routed.params, req, false).is_err() {
        return false;
    }
    let forwarding = phase::upstream_request::Forwarding {
        env: Environment::PRODUCTION,
        principal: Some(&principal),
        request_id: "fuzz",
        host: "backend",
        client_addr: Some(addr),
        query: Some(&policy.query),
    };
    phase::upstream_request::prepare(req, &forwarding).is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_request_path_never_panics_and_what_passes_is_clean(
        method in method(),
        path in path(),
        query in query(),
        headers in prop::collection::vec(header(), 0..8),
        with_token in any::<bool>(),
    ) {
        let target = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let Ok(mut req) = RequestHeader::build(method, target.as_bytes(), None) else { return Ok(()) };
        let _ = req.append_header("host", "gateway");
        if with_token {
            let _ = req.append_header("authorization", format!("Bearer {}", world().token));
            let _ = req.append_header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11");
        }
        for (name, value) in &headers {
            let value = value.replace("TOKEN", &world().token);
            let _ = req.append_header(name.clone(), value);
        }
        let sent_upgrade = req.headers.contains_key(http::header::UPGRADE);
        if run_phases(&mut req) {
            let forwarded = req.uri.path();
            prop_assert!(!forwarded.split('/').any(|s| s == ".." || s == "."), "dot segment forwarded: {forwarded}");
            let lower = forwarded.to_ascii_lowercase();
            prop_assert!(!lower.contains("%2f") && !lower.contains("%5c") && !forwarded.contains('\\'), "{forwarded}");
            let api = forwarded.trim_start_matches('/').split('/').next().unwrap_or_default();
            prop_assert!(world().routes.serves(api), "{forwarded}: not an API the specs describe");
            prop_assert!(!sent_upgrade, "an undocumented upgrade was forwarded");
            prop_assert!(req.headers.get("authorization").is_none());
            for (name, value) in req.headers.iter() {
                let name = name.as_str();
                if name.starts_with("x_sandgate") || name == "x-sandgate-partner" {
                    prop_assert_eq!(value.as_bytes(), b"ptn_1", "{} survived", name);
                }
            }
            prop_assert_eq!(req.headers.get_all("x-sandgate-partner").iter().count(), 1);
        }
    }
}

/// A reference for the property: a plain valid request does pass all the phases.
#[test]
fn a_plain_valid_request_passes_every_phase() {
    let path = "/pos-api/v2.5/client-id/prd_1/customers/search?first_name=Ann&last_name=Lee&dob=1990-02-03";
    let mut req = RequestHeader::build(Method::GET, path.as_bytes(), None).expect("request");
    req.append_header("host", "gateway").expect("h");
    req.append_header("authorization", format!("Bearer {}", world().token)).expect("h");
    req.append_header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11").expect("h");
    assert!(run_phases(&mut req), "the fuzz harness must be able to reach the end of the path");
}

/// The generators must reach the end of the path often enough for the properties to bite.
#[test]
fn generated_requests_reach_the_end_of_the_path() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (path(), query(), prop::collection::vec(header(), 0..3));
    let mut passed = 0;
    for _ in 0..400 {
        let (path, query, headers) = strategy.new_tree(&mut runner).expect("value").current();
        let target = query.map_or(path.clone(), |q| format!("{path}?{q}"));
        let Ok(mut req) = RequestHeader::build(Method::GET, target.as_bytes(), None) else { continue };
        req.append_header("host", "gateway").expect("h");
        req.append_header("authorization", format!("Bearer {}", world().token)).expect("h");
        req.append_header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11").expect("h");
        for (name, value) in headers {
            let _ = req.append_header(name, value);
        }
        passed += u32::from(run_phases(&mut req));
    }
    assert!(passed >= 20, "only {passed} of 400 generated requests passed every phase");
}
