//! The admin listener: health, readiness, metrics and reload now; the control-plane API later.
//! Never a data port.

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use sandgate_emulator::problem::{problem_body, ProblemKind, PROBLEM_JSON};
use serde_json::json;

use crate::state::Shared;

/// The admin app.
#[derive(Debug)]
pub struct AdminApp {
    /// The process's shared state.
    pub shared: Arc<Shared>,
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let path = session.req_header().uri.path().to_owned();
        let (status, content_type, body) = match (session.req_header().method.as_str(), path.as_str()) {
            ("GET", "/healthz") => (200, "application/json", json!({"status": "ok"})),
            ("GET", "/readyz") => {
                let store = Arc::clone(&self.shared.store);
                let ready = tokio::task::spawn_blocking(move || store.ping()).await.unwrap_or(false);
                let status = if ready { 200 } else { 503 };
                (status, "application/json", json!({"status": if ready { "ready" } else { "store unavailable" }}))
            }
            ("GET", "/metrics") => {
                return respond(200, "text/plain; version=0.0.4", self.shared.metrics.render());
            }
            ("POST", "/reload") => {
                let shared = Arc::clone(&self.shared);
                match tokio::task::spawn_blocking(move || shared.reload()).await {
                    Ok(Ok(report)) => {
                        (200, "application/json", json!({"reloaded": true, "needs_restart": report.needs_restart}))
                    }
                    Ok(Err(e)) => {
                        let detail = format!("configuration refused, the previous one stays in force: {e}");
                        return respond(
                            400,
                            PROBLEM_JSON,
                            problem_body(ProblemKind::InvalidRequest, &detail, None, None),
                        );
                    }
                    Err(_) => {
                        return respond(
                            500,
                            PROBLEM_JSON,
                            problem_body(ProblemKind::Internal, "reload failed", None, None),
                        )
                    }
                }
            }
            ("GET", "/") => (
                200,
                "application/json",
                json!({
                    "service": "sandgate admin",
                    "endpoints": ["GET /healthz", "GET /readyz", "GET /metrics", "POST /reload"],
                    "not_yet": "the control-plane API (partners, applications, credentials, review, activity log) is not implemented yet",
                }),
            ),
            _ => {
                let detail = format!(
                    "the admin listener serves /healthz, /readyz, /metrics and POST /reload; {path} is not one of them"
                );
                let body = problem_body(ProblemKind::UnknownRoute, &detail, None, None);
                return respond(404, PROBLEM_JSON, body);
            }
        };
        respond(status, content_type, serde_json::to_vec(&body).unwrap_or_default())
    }
}

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("content-length", body.len())
        .body(body)
        .unwrap_or_else(|_| Response::new(Vec::new()))
}
