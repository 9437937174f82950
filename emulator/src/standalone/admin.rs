//! The admin listener of `sandgate emulator` run alone (`--admin-listen`), on its own port as the
//! control plane's is: the webhook delivery log and the on-demand scrub, in the control plane's
//! shapes, so QA can script against either.
//!
//! - `GET /v1/webhook-deliveries[?status=pending|delivered|failed]`: `{deliveries: [...]}`, newest
//!   first, every attempt with its time, status code, error and duration.
//! - `POST /v1/emulator/scrub` with `{}`, `{environment}` or `{environment, partner_id}`: removes
//!   those objects now; answers what was removed and when the next scheduled scrub is.
//! - `GET /healthz` (alive), `GET /readyz` (the state store answers, else 503) and
//!   `GET /metrics` (Prometheus: requests by method and status, their duration, build).
//!
//! With `--token` given, requests need one of those tokens as a bearer; without, the listener is
//! as open as the data port (bind it to loopback).

use std::sync::Arc;

use crate::state::{ScrubScope, Tenant};
use crate::Emulator;
use async_trait::async_trait;
use http::{Method, Response, StatusCode};
use pingora::apps::http_app::{HttpServer, ServeHttp};
use pingora::protocols::http::ServerSession;
use pingora::services::listening::Service;
use sandgate_core::problem::{problem_body, ProblemKind, PROBLEM_JSON};
use sandgate_openapi::validate::security::accepts;
use serde_json::{json, Value};

use super::delivery::DeliveryLog;

/// Largest scrub body read.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// The admin app.
pub struct StandaloneAdmin {
    /// The emulator whose objects a scrub removes.
    pub emulator: Arc<Emulator>,
    /// The deliveries shown.
    pub log: DeliveryLog,
    /// Bearer tokens accepted (none: every request is).
    pub tokens: Vec<String>,
    /// What the data port counted.
    pub metrics: super::metrics::StandaloneMetrics,
}

/// A Pingora service serving `admin` on `addr`.
pub fn service(admin: StandaloneAdmin, addr: &str) -> Service<HttpServer<StandaloneAdmin>> {
    let mut service = Service::new("sandgate emulator admin".to_owned(), HttpServer::new_app(admin));
    service.add_tcp(addr);
    service
}

type Answer = (StatusCode, &'static str, Vec<u8>);

fn problem(kind: ProblemKind, detail: &str, field: Option<&str>) -> Answer {
    let errors = field.map(|f| json!([{"pointer": f, "message": detail}]));
    let extra = errors.map(|errors| serde_json::Map::from_iter([("errors".to_owned(), errors)]));
    let status = StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, PROBLEM_JSON, problem_body(kind, detail, None, extra))
}

fn ok(body: &Value) -> Answer {
    (StatusCode::OK, "application/json", body.to_string().into_bytes())
}

impl StandaloneAdmin {
    fn authorised(&self, session: &ServerSession) -> bool {
        let header = session.req_header().headers.get(http::header::AUTHORIZATION);
        let presented = header.and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        self.tokens.is_empty() || presented.is_some_and(|token| accepts(&self.tokens, token))
    }

    fn deliveries(&self, query: Option<&str>) -> Answer {
        let mut status = None;
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match (name.as_ref(), value.as_ref()) {
                ("status", "pending" | "delivered" | "failed") => status = Some(value.into_owned()),
                ("status", _) => {
                    let detail = format!("status {value:?} is not one of pending, delivered, failed");
                    return problem(ProblemKind::InvalidRequest, &detail, Some("status"));
                }
                _ => {
                    let detail = format!("unknown query parameter {name:?}; the only one is status");
                    return problem(ProblemKind::InvalidRequest, &detail, Some(&name));
                }
            }
        }
        ok(&json!({"deliveries": self.log.list(status.as_deref())}))
    }

    fn scrub(&self, body: &[u8]) -> Answer {
        let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            match serde_json::from_slice(body) {
                Ok(value) => value,
                Err(e) => return problem(ProblemKind::InvalidRequest, &format!("malformed JSON: {e}"), Some("")),
            }
        };
        let Some(fields) = request.as_object() else {
            return problem(ProblemKind::InvalidRequest, "the body is an object", Some(""));
        };
        if let Some(unknown) = fields.keys().find(|k| !matches!(k.as_str(), "environment" | "partner_id")) {
            let detail = format!("unknown field {unknown:?}; a scrub takes environment and partner_id");
            return problem(ProblemKind::InvalidRequest, &detail, Some(&format!("/{unknown}")));
        }
        let text = |name: &str| fields.get(name).map(|v| v.as_str().ok_or(name.to_owned())).transpose();
        let (environment, partner) = match (text("environment"), text("partner_id")) {
            (Ok(environment), Ok(partner)) => (environment, partner),
            (Err(field), _) | (_, Err(field)) => {
                return problem(
                    ProblemKind::InvalidRequest,
                    &format!("{field} is a string"),
                    Some(&format!("/{field}")),
                )
            }
        };
        let scope = match (environment, partner) {
            (None, None) => ScrubScope::All,
            (Some(environment), None) => ScrubScope::Environment(environment),
            (Some(environment), Some(partner)) => ScrubScope::Tenant(Tenant { environment, partner }),
            (None, Some(_)) => {
                let detail = "partner_id needs environment: a partner's objects are kept per environment";
                return problem(ProblemKind::InvalidRequest, detail, Some("/environment"));
            }
        };
        match self.emulator.scrub(scope) {
            Ok(removed) => ok(&json!({
                "removed": removed,
                "environment": environment,
                "partner_id": partner,
                "next_scheduled_scrub": self.emulator.next_scrub().map(|at| at.to_rfc3339()),
            })),
            Err(e) => {
                tracing::error!(error = %e, "scrub failed");
                let detail = "the emulator's store could not be scrubbed; nothing was removed";
                problem(ProblemKind::StoreUnavailable, detail, None)
            }
        }
    }
}

#[async_trait]
impl ServeHttp for StandaloneAdmin {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let (status, content_type, body) = if !self.authorised(session) {
            problem(ProblemKind::Unauthenticated, "a bearer token given to --token is required", None)
        } else {
            let (method, path) = (session.req_header().method.clone(), session.req_header().uri.path().to_owned());
            let query = session.req_header().uri.query().map(str::to_owned);
            match (path.as_str(), method) {
                ("/healthz", Method::GET) => ok(&json!({"status": "ok"})),
                ("/readyz", Method::GET) => match self.emulator.state_answers() {
                    true => ok(&json!({"status": "ready"})),
                    false => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "application/json",
                        br#"{"status":"state store unavailable"}"#.to_vec(),
                    ),
                },
                ("/metrics", Method::GET) => (StatusCode::OK, "text/plain; version=0.0.4", self.metrics.render()),
                ("/v1/webhook-deliveries", Method::GET) => self.deliveries(query.as_deref()),
                ("/v1/emulator/scrub", Method::POST) => match read_body(session).await {
                    Some(body) => self.scrub(&body),
                    None => {
                        problem(ProblemKind::InvalidRequest, "the body could not be read or is over 16 KiB", Some(""))
                    }
                },
                ("/v1/webhook-deliveries" | "/v1/emulator/scrub", method) => {
                    let detail = format!("{method} is not served for {path}");
                    problem(ProblemKind::MethodNotAllowed, &detail, None)
                }
                _ => problem(ProblemKind::UnknownRoute, &format!("no admin route {path}"), None),
            }
        };
        let mut response = Response::builder()
            .status(status)
            .header("content-type", content_type)
            .header("content-length", body.len());
        if status == StatusCode::METHOD_NOT_ALLOWED {
            let allow = if session.req_header().uri.path() == "/v1/emulator/scrub" { "POST" } else { "GET" };
            response = response.header("allow", allow);
        }
        response.body(body).unwrap_or_else(|_| Response::new(Vec::new()))
    }
}

async fn read_body(session: &mut ServerSession) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = session.read_request_body().await.ok()? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}
