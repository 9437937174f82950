//! Sandgate's gateway: a Pingora proxy in front of the partner APIs, the token endpoint, and the
//! `sandgate` command (see `main.rs`).
//!
//! [`Gateway`] implements Pingora's `ProxyHttp`; each hook makes one call into [`phase`], in the
//! order documented there. One `Gateway` serves one environment (one listener), so the
//! environment is known before the first byte is read. [`server`] assembles the listeners, the
//! emulator and the store into one process; `sandgate up` runs it.
//!
//! Run it: `./sandgate up` (README), then follow the curls it prints.

pub mod admin;
pub mod config;
pub mod ctx;
pub mod environment;
pub mod error;
pub mod phase;
pub mod secrets;
pub mod server;
pub mod store;
pub mod token;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::proxy::FailToProxy;
use sandgate_emulator::problem::ProblemKind;
use sandgate_emulator::EmuRequest;

use ctx::RequestCtx;
use environment::Environment;
use phase::forward::{Forward, Upstream};
use phase::route::Target;
use secrets::SecretHash;
use store::Store;
use token::endpoint::{TokenContext, TokenRequest};
use token::TokenIssuer;

/// Everything one environment's listener needs, shared by all its requests.
#[derive(Debug)]
pub struct Gateway {
    /// The environment of this listener.
    pub env: Environment,
    /// Where requests that pass go.
    pub upstream: Upstream,
    /// This environment's token issuer.
    pub issuer: Arc<TokenIssuer>,
    /// Hashes client secrets.
    pub hasher: SecretHash,
    /// The credential store.
    pub store: Arc<Store>,
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new()
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        ctx.request_id = phase::request_id::assign(session.get_header_bytes(phase::request_id::HEADER).into());
        let target = phase::route::classify(session.req_header().uri.path())?;
        ctx.target = Some(target.clone());
        let path_client_id = match target {
            Target::Token => return self.token_endpoint(session, ctx).await,
            Target::Api { client_id } => client_id,
        };
        let principal = phase::auth::authenticate(&session.req_header().headers, &self.issuer)?;
        ctx.client_id = Some(principal.client_id.clone());
        phase::auth::check_client(path_client_id.as_deref(), &principal)?;
        ctx.principal = Some(principal);
        match phase::forward::select(&self.upstream, self.env)? {
            Forward::Proxy => Ok(false),
            Forward::Emulator(emulator) => {
                let body = read_body(session).await?;
                let req = session.req_header();
                let answer = emulator.handle(&EmuRequest {
                    method: &req.method,
                    path: req.uri.path(),
                    query: req.uri.query(),
                    headers: &req.headers,
                    body: &body,
                });
                let content_type = answer.content_type.as_deref();
                write_response(session, answer.status, content_type, &answer.headers, answer.body, &ctx.request_id)
                    .await?;
                Ok(true)
            }
        }
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut RequestCtx) -> Result<Box<HttpPeer>> {
        match &self.upstream {
            Upstream::Http(peer) => Ok(peer.clone()),
            // request_filter answers every other case; reaching here is a bug, not a client error.
            _ => Err(Error::explain(ErrorType::InternalError, "no HTTP upstream for this environment")),
        }
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        req: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let host = match &self.upstream {
            Upstream::Http(peer) => peer.sni.as_str(),
            _ => "",
        };
        phase::upstream_request::prepare(req, self.env, ctx.principal.as_ref(), &ctx.request_id, host)
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        resp.insert_header(phase::request_id::HEADER, ctx.request_id.as_str())
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut RequestCtx) -> FailToProxy {
        if ctx.request_id.is_empty() {
            ctx.request_id = uuid::Uuid::new_v4().to_string();
        }
        let dead = matches!(e.etype(), ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed)
            && *e.esource() == ErrorSource::Downstream;
        if dead {
            return FailToProxy { error_code: 0, can_reuse_downstream: false };
        }
        let kind = error::kind_of(e);
        let written = match phase::fail::render(e, &ctx.request_id) {
            Ok((header, body)) => {
                let ok = session.write_response_header(Box::new(header), false).await.is_ok();
                ok && session.write_response_body(Some(Bytes::from(body)), true).await.is_ok()
            }
            Err(_) => false,
        };
        // A rejection before forwarding leaves the connection in a clean state; keep it.
        let clean = written && kind.status() < 500 && matches!(e.etype(), ErrorType::CustomCode(..));
        FailToProxy { error_code: kind.status(), can_reuse_downstream: clean }
    }

    fn suppress_error_log(&self, _session: &Session, _ctx: &RequestCtx, error: &Error) -> bool {
        // Rejections are answered and logged in the access log; the error log keeps real faults.
        matches!(error.etype(), ErrorType::CustomCode(..))
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let req = session.req_header();
        phase::log::access(self.env, req.method.as_str(), req.uri.path(), status, ctx, e.map(|e| e.etype().as_str()));
    }
}

impl Gateway {
    async fn token_endpoint(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        if session.req_header().method != http::Method::POST {
            return Err(error::reject(ProblemKind::MethodNotAllowed, "the token endpoint accepts only POST"));
        }
        let body = read_body(session).await?;
        let header = |name| {
            session.req_header().headers.get(name).and_then(|v: &http::HeaderValue| v.to_str().ok()).map(str::to_owned)
        };
        let (content_type, authorization) = (header("content-type"), header("authorization"));
        let (store, issuer, hasher, env) =
            (Arc::clone(&self.store), Arc::clone(&self.issuer), self.hasher.clone(), self.env);
        let request_id = ctx.request_id.clone();
        // The store is blocking SQLite; keep it off the proxy's worker threads.
        let answer = tokio::task::spawn_blocking(move || {
            token::endpoint::handle(
                TokenContext { env, store: &store, hasher: &hasher, issuer: &issuer },
                &TokenRequest {
                    content_type: content_type.as_deref(),
                    authorization: authorization.as_deref(),
                    body: &body,
                    request_id: &request_id,
                },
            )
        })
        .await
        .map_err(|e| Error::because(ErrorType::InternalError, "token endpoint task failed", e))?;
        ctx.client_id = answer.client_id;
        write_response(session, answer.status, Some(answer.content_type), &[], answer.body, &ctx.request_id).await?;
        Ok(true)
    }
}

/// Reads the whole request body, refusing more than `forward::MAX_BODY_BYTES`.
async fn read_body(session: &mut Session) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = session.read_request_body().await? {
        if body.len() + chunk.len() > phase::forward::MAX_BODY_BYTES {
            return Err(error::reject(ProblemKind::PayloadTooLarge, "the request body is larger than 1 MiB"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Writes a complete response with `Content-Type`, `Content-Length` and `x-request-id`.
async fn write_response(
    session: &mut Session,
    status: u16,
    content_type: Option<&str>,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
    request_id: &str,
) -> Result<()> {
    let mut header = ResponseHeader::build(status, Some(4 + headers.len()))?;
    if let Some(content_type) = content_type {
        header.insert_header("content-type", content_type)?;
    }
    header.insert_header("content-length", body.len())?;
    header.insert_header(phase::request_id::HEADER, request_id)?;
    for (name, value) in headers {
        header.insert_header(*name, value.as_str())?;
    }
    session.write_response_header(Box::new(header), body.is_empty()).await?;
    if !body.is_empty() {
        session.write_response_body(Some(Bytes::from(body)), true).await?;
    }
    Ok(())
}
