//! The emulator's data port over HTTP.
//!
//! A Pingora `ServeHttp` app reads the request (body capped at [`MAX_BODY_BYTES`]), hands it to
//! [`Emulator::handle`] and writes the answer. Used by `sandgate emulator`, and by any gateway
//! (Sandgate's or another) that proxies to the emulator over HTTP.

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::{HttpServer, ServeHttp};
use pingora::protocols::http::ServerSession;
use pingora::services::listening::Service;

use super::metrics::StandaloneMetrics;
use crate::state::Tenant;
use crate::{EmuRequest, EmuResponse, Emulator};
use sandgate_core::problem::{problem_body, ProblemKind, PROBLEM_JSON};

/// Largest request body the HTTP front reads; larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The `ServeHttp` app around an [`Emulator`].
pub struct EmulatorApp {
    emulator: Arc<Emulator>,
    metrics: StandaloneMetrics,
}

/// A Pingora service that serves `emulator` on `addr` (e.g. `127.0.0.1:4010`), counting into
/// `metrics`.
pub fn service(emulator: Arc<Emulator>, metrics: StandaloneMetrics, addr: &str) -> Service<HttpServer<EmulatorApp>> {
    let app = EmulatorApp { emulator, metrics };
    let mut service = Service::new("sandgate emulator".to_owned(), HttpServer::new_app(app));
    service.add_tcp(addr);
    service
}

#[async_trait]
impl ServeHttp for EmulatorApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let started = std::time::Instant::now();
        let mut bytes_in = 0;
        let answer = match read_body(session).await {
            Ok(body) => {
                bytes_in = body.len();
                let header = session.req_header();
                // Behind the gateway these headers carry its verified identity (it strips any a
                // client sends); run alone, requests without them use the configured defaults.
                let identity = |name: &str| header.headers.get(name).and_then(|v| v.to_str().ok());
                let tenant = match (identity("x-sandgate-environment"), identity("x-sandgate-partner")) {
                    (Some(environment), Some(partner)) => Some(Tenant { environment, partner }),
                    _ => None,
                };
                self.emulator.handle(&EmuRequest {
                    method: &header.method,
                    path: header.uri.path(),
                    query: header.uri.query(),
                    headers: &header.headers,
                    body: &body,
                    tenant,
                    application: identity("x-sandgate-application"),
                })
            }
            Err(kind) => EmuResponse {
                status: kind.status(),
                content_type: Some(PROBLEM_JSON.to_owned()),
                headers: Vec::new(),
                body: problem_body(kind, "the request body could not be read or is larger than 1 MiB", None, None),
            },
        };
        let header = session.req_header();
        let (status, bytes_out) = (answer.status, answer.body.len());
        self.metrics.record(header.method.as_str(), header.uri.path(), status, started.elapsed(), bytes_in, bytes_out);
        into_http(answer)
    }
}

async fn read_body(session: &mut ServerSession) -> Result<Vec<u8>, ProblemKind> {
    let mut body = Vec::new();
    loop {
        match session.read_request_body().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(ProblemKind::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(_) => return Err(ProblemKind::InvalidRequest),
        }
    }
}

/// Converts an emulator answer into an `http::Response` with `Content-Type` and `Content-Length`.
pub fn into_http(answer: EmuResponse) -> Response<Vec<u8>> {
    let mut builder = Response::builder().status(answer.status).header("content-length", answer.body.len());
    if let Some(content_type) = &answer.content_type {
        builder = builder.header("content-type", content_type);
    }
    for (name, value) in &answer.headers {
        builder = builder.header(name.as_ref(), value);
    }
    builder.body(answer.body).unwrap_or_else(|_| {
        let mut fallback = Response::new(Vec::new());
        *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}
