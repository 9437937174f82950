//! The shop server of `tests/fixtures/shop.yaml`, as a `wiremock` responder: served correctly,
//! or broken in known ways (each one a violation `sandgate contract` must find).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The client credentials the shop's token endpoint accepts.
pub(crate) const CLIENT: (&str, &str) = ("shop-client", "shop-secret");
/// A token of another environment: the shop must refuse it.
pub(crate) const FOREIGN_TOKEN: &str = "prod-token";
/// A fixed token with every scope, for runs without client credentials.
pub(crate) const FIXED_TOKEN: &str = "test-token";

/// Every way the broken shop violates its spec: `(check id, operation)`.
pub(crate) const VIOLATIONS: [(&str, &str); 12] = [
    ("response_schema_conformance", "getItem"),    // id sent as a string
    ("response_schema_conformance", "listItems"),  // items without their required name
    ("response_headers_conformance", "listItems"), // X-Total-Count missing
    ("status_code_conformance", "getLegacy"),      // 202, undocumented
    ("content_type_conformance", "getReport"),     // text/plain, documented JSON
    ("not_a_server_error", "search"),              // 500 when limit is 100 (a boundary)
    ("negative_data_rejection", "createItem"),     // accepts any body
    ("max_response_time", "getSlow"),              // 400 ms, over a 200 ms budget
    ("ignored_auth", "getReport"),                 // answers without credentials
    ("use_after_free", "getItem"),                 // a deleted item is still there
    ("positive_data_acceptance", "search"),        // a q of 20 characters, the maximum, refused
    ("positive_data_acceptance", "createItem"),    // an empty note refused (the spec allows it)
];

/// What the broken shop also gets wrong when tokens are minted per scope and a foreign token is
/// at hand.
pub(crate) const TOKEN_VIOLATIONS: [(&str, &str); 2] = [
    ("scope_enforcement", "createItem"),     // a read-only token may create
    ("environment_separation", "getLegacy"), // another environment's token is accepted
];

/// The shop spec.
pub(crate) fn shop_spec() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop.yaml")
}

/// Starts a shop server, correct or broken, whose tokens last an hour.
pub(crate) async fn start(broken: bool) -> MockServer {
    start_with(broken, 3600).await.0
}

/// Starts a correct shop server that refuses every delete with 403 (documented).
pub(crate) async fn start_refusing_deletes() -> MockServer {
    let server = MockServer::start().await;
    let shop = Shop { refuses_deletes: true, ..Shop::new(false, 3600) };
    Mock::given(any()).respond_with(shop).mount(&server).await;
    server
}

/// Starts a shop server whose tokens last `expires_in` seconds; returns what its token endpoint
/// saw (the grant type of each request).
pub(crate) async fn start_with(broken: bool, expires_in: u64) -> (MockServer, Arc<Mutex<Vec<String>>>) {
    let server = MockServer::start().await;
    let shop = Shop::new(broken, expires_in);
    let grants = Arc::clone(&shop.grants);
    Mock::given(any()).respond_with(shop).mount(&server).await;
    (server, grants)
}

/// Issued access tokens with their scopes, and refresh tokens.
type Issued = (BTreeMap<String, Vec<String>>, Vec<String>);

struct Shop {
    broken: bool,
    refuses_deletes: bool,
    expires_in: u64,
    items: Mutex<BTreeMap<u64, Value>>,
    next_id: AtomicU64,
    tokens: Mutex<Issued>,
    grants: Arc<Mutex<Vec<String>>>,
}

impl Shop {
    fn new(broken: bool, expires_in: u64) -> Shop {
        let mut items = BTreeMap::new();
        items.insert(1, json!({"id": 1, "name": "seed", "price": 1.5}));
        let mut issued = BTreeMap::new();
        issued.insert(FIXED_TOKEN.to_owned(), vec!["read".to_owned(), "write".to_owned()]);
        Shop {
            broken,
            refuses_deletes: false,
            expires_in,
            items: Mutex::new(items),
            next_id: AtomicU64::new(2),
            tokens: Mutex::new((issued, Vec::new())),
            grants: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// `POST /oauth/token`: client credentials or a refresh token, optionally one scope.
    fn token(&self, request: &Request) -> ResponseTemplate {
        let form: BTreeMap<String, String> = form_urlencoded::parse(&request.body).into_owned().collect();
        let field = |name: &str| form.get(name).map(String::as_str);
        let grant = field("grant_type").unwrap_or_default();
        self.grants.lock().unwrap_or_else(|p| p.into_inner()).push(grant.to_owned());
        let scopes: Vec<String> = match field("scope") {
            None => vec!["read".to_owned(), "write".to_owned()],
            Some(scope @ ("read" | "write")) => vec![scope.to_owned()],
            Some(_) => return problem(400, "unknown scope"),
        };
        if field("client_id").is_none_or(|id| id.is_empty() || id.chars().count() > 40)
            || field("client_secret").is_some_and(|s| s.chars().count() > 80)
            || field("refresh_token").is_some_and(|s| s.chars().count() > 80)
        {
            return problem(400, "bad client fields");
        }
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let admitted = match grant {
            "client_credentials" => field("client_id") == Some(CLIENT.0) && field("client_secret") == Some(CLIENT.1),
            "refresh_token" => {
                field("client_id") == Some(CLIENT.0)
                    && tokens.1.iter().any(|r| Some(r.as_str()) == field("refresh_token"))
            }
            _ => return problem(400, "unsupported grant_type"),
        };
        if !admitted {
            return problem(401, "invalid client");
        }
        let n = tokens.0.len() + tokens.1.len();
        let (access, refresh) = (format!("tok-{n}"), format!("ref-{n}"));
        tokens.0.insert(access.clone(), scopes);
        tokens.1.push(refresh.clone());
        let body = json!({"access_token": access, "token_type": "bearer", "expires_in": self.expires_in, "refresh_token": refresh});
        json_answer(200, &body)
    }

    /// The scopes of the request's bearer token, if the shop issued it.
    fn scopes(&self, request: &Request) -> Option<Vec<String>> {
        let header = request.headers.get("authorization").and_then(|v| v.to_str().ok())?;
        let token = header.strip_prefix("Bearer ")?;
        if self.broken && token == FOREIGN_TOKEN {
            return Some(vec!["read".to_owned(), "write".to_owned()]);
        }
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).0.get(token).cloned()
    }

    fn items(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Value>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn problem(status: u16, title: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(json!({"title": title}).to_string().into_bytes(), "application/problem+json")
}

fn json_answer(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), "application/json")
}

fn query(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `Ok(None)` when absent, `Err` when present and not an integer in `min..=max`.
fn bounded(raw: Option<String>, min: i64, max: i64) -> Result<Option<i64>, ()> {
    match raw {
        None => Ok(None),
        Some(raw) => raw.parse::<i64>().ok().filter(|n| (min..=max).contains(n)).map(Some).ok_or(()),
    }
}

fn valid_item(body: &Value) -> bool {
    let Some(item) = body.as_object() else { return false };
    let name_ok = item.get("name").and_then(Value::as_str).is_some_and(|n| (1..=40).contains(&n.chars().count()));
    let price_ok = item.get("price").is_none_or(|p| p.as_f64().is_some_and(|p| p >= 0.0));
    let kind_ok = item.get("kind").is_none_or(|k| matches!(k.as_str(), Some("book" | "pen" | "lamp")));
    let note_ok = item.get("note").is_none_or(|n| n.is_null() || n.as_str().is_some_and(|n| n.chars().count() <= 200));
    name_ok && price_ok && kind_ok && note_ok
}

impl Respond for Shop {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().strip_prefix("/shop/v1").unwrap_or("").to_owned();
        let method = request.method.as_str().to_owned();
        if path == "/oauth/token" && method == "POST" {
            return self.token(request);
        }
        let scopes = self.scopes(request);
        let ignores_auth = self.broken && path == "/report";
        if scopes.is_none() && !ignores_auth {
            return problem(401, "credentials required");
        }
        let writes = matches!(method.as_str(), "POST" | "DELETE");
        if writes && !self.broken && !scopes.is_some_and(|s| s.iter().any(|s| s == "write")) {
            return problem(403, "the token lacks the write scope");
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["items"]) => {
                let Ok(limit) = bounded(query(request, "limit"), 1, 100) else { return problem(400, "limit") };
                let items: Vec<Value> = self
                    .items()
                    .values()
                    .take(limit.unwrap_or(100) as usize)
                    .map(|item| {
                        let mut item = item.clone();
                        if self.broken {
                            item.as_object_mut().map(|o| o.remove("name"));
                        }
                        item
                    })
                    .collect();
                let answer = json_answer(200, &Value::Array(items.clone()));
                if self.broken {
                    answer
                } else {
                    answer.insert_header("x-total-count", items.len().to_string().as_str())
                }
            }
            ("POST", ["items"]) => {
                let content_type = request.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
                if !self.broken && !content_type.starts_with("application/json") {
                    return problem(415, "JSON only");
                }
                let body: Value = match serde_json::from_slice(&request.body) {
                    Ok(body) => body,
                    Err(_) if self.broken => json!({}),
                    Err(_) => return problem(400, "malformed JSON"),
                };
                if !self.broken && !valid_item(&body) {
                    return problem(400, "invalid item");
                }
                if self.broken && body.get("note").and_then(Value::as_str) == Some("") {
                    let errors = json!([{"pointer": "/note", "detail": "must not be empty"}]);
                    let body = json!({"title": "invalid item", "errors": errors});
                    return ResponseTemplate::new(400)
                        .set_body_raw(body.to_string().into_bytes(), "application/problem+json");
                }
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let name = body.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).unwrap_or("unnamed");
                let name: String = name.chars().take(40).collect();
                let mut item = json!({"id": id, "name": name});
                if let Some(price) = body.get("price").and_then(Value::as_f64).filter(|p| *p >= 0.0) {
                    item["price"] = json!(price);
                }
                self.items().insert(id, item.clone());
                json_answer(201, &item)
            }
            (method @ ("GET" | "DELETE"), ["items", id]) => {
                let Some(id) = id.parse::<u64>().ok().filter(|id| *id >= 1) else { return problem(400, "id") };
                if method == "DELETE" && self.refuses_deletes {
                    return problem(403, "deletes are not allowed here");
                }
                if method == "DELETE" {
                    let removed = if self.broken { self.items().get(&id).cloned() } else { self.items().remove(&id) };
                    return match removed {
                        Some(_) => ResponseTemplate::new(204),
                        None => problem(404, "no such item"),
                    };
                }
                match self.items().get(&id) {
                    Some(item) if self.broken => {
                        let mut item = item.clone();
                        item["id"] = json!(id.to_string());
                        json_answer(200, &item)
                    }
                    Some(item) => json_answer(200, item),
                    None => problem(404, "no such item"),
                }
            }
            ("GET", ["search"]) => {
                let q = query(request, "q");
                // The broken shop is off by one at the longest q the spec allows.
                let longest = if self.broken { 19 } else { 20 };
                if !q.as_ref().is_some_and(|q| (1..=longest).contains(&q.chars().count())) {
                    return problem(400, "q");
                }
                let Ok(limit) = bounded(query(request, "limit"), 1, 100) else { return problem(400, "limit") };
                if self.broken && limit == Some(100) {
                    return ResponseTemplate::new(500).set_body_string("index out of range");
                }
                json_answer(200, &json!({"total": 0}))
            }
            ("GET", ["report"]) if self.broken => ResponseTemplate::new(200).set_body_string("items: 1"),
            ("GET", ["report"]) => json_answer(200, &json!({"items": self.items().len()})),
            ("GET", ["legacy"]) => json_answer(if self.broken { 202 } else { 200 }, &json!({"ok": true})),
            ("GET", ["slow"]) => {
                let answer = json_answer(200, &json!({"ok": true}));
                if self.broken {
                    answer.set_delay(Duration::from_millis(400))
                } else {
                    answer
                }
            }
            _ => problem(404, "no such route"),
        }
    }
}
