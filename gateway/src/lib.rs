//! Sandgate's data plane: a Pingora proxy in front of the partner APIs, with the token endpoint.
//!
//! [`Gateway`] implements Pingora's `ProxyHttp`; each hook makes one call into [`phase`], in the
//! order documented there. One `Gateway` serves one environment (one listener), so the
//! environment is known before the first byte is read. `sandgate-cli`'s `assembly` puts the
//! listeners, the emulator, the store and the control plane together into one process;
//! `sandgate up` runs it.
//!
//! Run it: `./sandgate up` (README), then follow the curls it prints.

pub mod config;
pub mod ctx;
pub mod directory;
pub mod error;
pub mod metrics;
pub mod phase;
pub mod principal;
pub mod state;
pub mod table;
pub mod token;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::proxy::FailToProxy;
use pingora::upstreams::peer::HttpUpstreamRequestPolicy;
use sandgate_core::problem::ProblemKind;

use ctx::RequestCtx;
use phase::forward::Forward;
use phase::token::{TokenContext, TokenRequest};
use sandgate_core::environment::Environment;
use state::Shared;
use table::routes::Selected;
use table::Upstream;

/// One environment's listener. All listeners share [`Shared`].
#[derive(Debug)]
pub struct Gateway {
    /// The environment of this listener.
    pub env: Environment,
    /// Tables, directory, store, metrics.
    pub shared: Arc<Shared>,
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new()
    }

    async fn early_request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<()> {
        ctx.span = phase::trace::start(self.env, session.req_header());
        let tables = self.shared.tables.load_full();
        session.set_read_timeout(Some(Duration::from_secs(tables.limits.read_timeout_secs)));
        // Never turn keep-alive back on where the parser turned it off (e.g. CL + TE).
        ctx.keepalive_off = session.get_keepalive().is_none();
        if !ctx.keepalive_off {
            session.set_keepalive(Some(tables.limits.idle_timeout_secs));
        }
        ctx.tables = Some(tables);
        Ok(())
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        let tables = Arc::clone(ctx.tables.get_or_insert_with(|| self.shared.tables.load_full()));
        let env = tables.env(self.env);
        ctx.request_id = phase::request_id::assign(session.get_header_bytes(phase::request_id::HEADER).into());
        let peer =
            session.client_addr().and_then(|a| a.as_inet()).map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.ip());
        let req = session.req_header();
        phase::environment::check(env, req.headers.get(http::header::HOST).map(|h| h.as_bytes()))?;
        let raw_head = req.headers.contains_key(http::header::TRANSFER_ENCODING).then(|| session.to_h1_raw());
        phase::hygiene::check(req, &tables.limits, ctx.keepalive_off, raw_head.as_deref())?;
        let addr = phase::client_addr::resolve(peer, &req.headers, &tables.trusted_proxies);
        ctx.client_addr = Some(addr);
        if req.method == http::Method::GET && req.uri.path() == phase::jwks::PATH {
            let body = serde_json::to_vec(&env.issuer.jwks()).unwrap_or_default();
            let headers = [("cache-control".into(), "public, max-age=300".to_owned())];
            write_response(session, 200, Some("application/jwk-set+json"), &headers, body).await?;
            return Ok(true);
        }
        if let Some(preflight) = phase::cors::preflight(&req.method, &req.headers) {
            let answer = phase::cors::answer(&tables.routes, &self.shared.directory, req.uri.path(), &preflight)?;
            phase::cors::write(session, answer).await?;
            return Ok(true);
        }
        let routed = phase::route::select(&tables.routes, &req.method, req.uri.path())?;
        let routed = tables.routes.disambiguate(routed, &req.headers, req.uri.query())?;
        ctx.selected = Some(routed.selected);
        let id = match routed.selected {
            Selected::Token(index) => {
                phase::trace::routed(&ctx.span, "POST", "token");
                phase::route::check_upgrade(None, &req.headers)?;
                return self.token_endpoint(session, ctx, index).await;
            }
            Selected::Operation(id) => id,
        };
        let policy = tables.routes.policy(id);
        phase::trace::routed(&ctx.span, req.method.as_str(), &policy.label);
        ctx.upgrade = phase::route::check_upgrade(Some(policy), &req.headers)?;
        phase::route::check_required_headers(policy, &req.headers)?;
        let principal = phase::auth::authenticate(&req.headers, env, &tables.scopes)?;
        ctx.principal = Some(Arc::clone(&principal));
        let app = phase::auth::check_revocation(&principal, &self.shared.directory)?;
        phase::auth::check_client(routed.client_id(), &principal)?;
        phase::trace::passed(&ctx.span, "auth");
        phase::trust::check(&app.trust, addr, phase::trust::origin_of(&req.headers))?;
        ctx.cors_origin = phase::trust::browser_origin(&app.trust, &req.headers);
        phase::scope::check(policy, &principal, &app)?;
        phase::trace::passed(&ctx.span, "trust and scope");
        let (admission, verdict) = phase::rate_limit::admit(&tables.limiter, self.env, &app).await;
        if admission.fallback.is_some() {
            self.shared.metrics.rate_limit_fallbacks.inc();
        }
        ctx.admission = Some(admission);
        verdict?;
        phase::trace::passed(&ctx.span, "rate limit");
        ctx.app = Some(app);
        match phase::forward::select(&env.upstream, self.env)? {
            Forward::Proxy => {
                let refuse = tables.limits.refuse_undocumented_query;
                phase::route::check_parameters(policy, &routed.params, session.req_header(), refuse)?;
                // Keeps the body of a request that may be tried again (`phase::retry`).
                if session.req_header().method.is_idempotent() {
                    session.as_mut().enable_retry_buffering();
                }
                Ok(false)
            }
            Forward::Emulator(emulator) => {
                let limit = tables.limits.max_body_bytes;
                phase::training::answer(session, ctx, emulator, self.env, &principal, limit).await
            }
        }
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if let (Some(chunk), Some(tables)) = (body.as_ref(), &ctx.tables) {
            phase::hygiene::count_body(&mut ctx.body_bytes, chunk.len(), &tables.limits)?;
        }
        Ok(())
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut RequestCtx) -> Result<Box<HttpPeer>> {
        let now = std::time::Instant::now();
        ctx.upstream_started = Some(now);
        let Some(Upstream::Http(pool)) = ctx.tables.as_ref().map(|t| &t.env(self.env).upstream) else {
            // request_filter answers every other case; reaching here is a bug, not a client error.
            return Err(Error::explain(ErrorType::InternalError, "no HTTP upstream for this environment"));
        };
        let deadline = *ctx.upstream_deadline.get_or_insert(now + pool.total_timeout());
        let left = deadline.saturating_duration_since(now);
        if left.is_zero() {
            return Err(Error::new_up(ErrorType::ReadTimedout));
        }
        let Some((index, peer)) = pool.pick(&ctx.tried) else {
            return Err(Error::explain(ErrorType::ConnectNoRoute, "no backend endpoint resolves"));
        };
        let mut peer = table::pool::Pool::within(peer, left);
        ctx.endpoint = Some(index);
        ctx.attempts += 1;
        phase::trace::passed(&ctx.span, "upstream chosen");
        if ctx.upgrade {
            peer.options.http_upstream_request_policy = HttpUpstreamRequestPolicy::standard();
        }
        Ok(peer)
    }

    fn fail_to_connect(
        &self,
        session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        e: Box<Error>,
    ) -> Box<Error> {
        self.after_failed_attempt(session, ctx, e)
    }

    fn error_while_proxy(
        &self,
        _peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut RequestCtx,
        _client_reused: bool,
    ) -> Box<Error> {
        self.after_failed_attempt(session, ctx, e)
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        req: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let Some(tables) = ctx.tables.as_ref() else {
            return Err(Error::explain(ErrorType::InternalError, "upstream request without tables"));
        };
        let host = match (&tables.env(self.env).upstream, ctx.endpoint) {
            (Upstream::Http(pool), Some(index)) => pool.endpoints.get(index).map_or("", |e| e.authority.as_str()),
            _ => "",
        };
        let forwarding = phase::upstream_request::Forwarding {
            env: self.env,
            principal: ctx.principal.as_deref(),
            request_id: &ctx.request_id,
            host,
            client_addr: ctx.client_addr,
            query: ctx.route().map(|id| &tables.routes.policy(id).query),
        };
        phase::upstream_request::prepare(req, &forwarding)?;
        phase::trace::hand_on(&ctx.span, req);
        Ok(())
    }

    /// Cuts an answer still streaming when the backend's total time has run out (the partner's
    /// connection closes; the log and metrics say `upstream-timeout`).
    fn upstream_response_body_filter(
        &self,
        _session: &mut Session,
        _body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<Option<Duration>> {
        match ctx.upstream_deadline {
            Some(deadline) if std::time::Instant::now() > deadline => Err(Error::new_up(ErrorType::ReadTimedout)),
            _ => Ok(None),
        }
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if let Some(started) = ctx.upstream_started {
            ctx.upstream = Some((resp.status.as_u16(), started.elapsed()));
        }
        for (name, value) in phase::response::headers(ctx) {
            resp.insert_header(name, value)?;
        }
        Ok(())
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut RequestCtx) -> FailToProxy {
        if ctx.request_id.is_empty() {
            ctx.request_id = phase::request_id::new_id();
        }
        if error::client_gone(e) {
            return FailToProxy { error_code: 0, can_reuse_downstream: false };
        }
        let kind = error::kind_of(e);
        if session.response_written().is_some() {
            // The backend's head (and maybe part of its body) is already on its way: anything
            // written now would splice a problem into that body. Closing without the body's end
            // is how HTTP says "incomplete" (no final chunk, or fewer bytes than Content-Length).
            return FailToProxy { error_code: kind.status(), can_reuse_downstream: false };
        }
        // A rejection before forwarding leaves the connection in a clean state; keep it, unless
        // the request itself was malformed (smuggling, oversize).
        let clean = matches!(e.etype(), ErrorType::CustomCode(..))
            && !matches!(
                kind,
                ProblemKind::InvalidRequest | ProblemKind::PayloadTooLarge | ProblemKind::HeadersTooLarge
            )
            && kind.status() < 500;
        if !clean {
            // Said before the header is written, so the answer carries `Connection: close`: a
            // client that was told keep-alive would send its next request into a closed socket.
            session.set_keepalive(None);
        }
        let mut extra = phase::response::headers(ctx);
        extra.retain(|(name, _)| *name != phase::request_id::HEADER);
        let written = match phase::fail::render(e, &ctx.request_id, &extra) {
            Ok((header, body)) => {
                let ok = session.write_response_header(Box::new(header), false).await.is_ok();
                ok && session.write_response_body(Some(Bytes::from(body)), true).await.is_ok()
            }
            Err(_) => false,
        };
        FailToProxy { error_code: kind.status(), can_reuse_downstream: clean && written }
    }

    fn suppress_error_log(&self, _session: &Session, _ctx: &RequestCtx, _error: &Error) -> bool {
        // Pingora's error line carries the whole request line, query string included; faults are
        // logged by `phase::log::fault` instead (path only), rejections by the access log.
        true
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        if let (Some(index), Some(Upstream::Http(pool))) =
            (ctx.endpoint.take(), ctx.tables.as_ref().map(|t| &t.env(self.env).upstream))
        {
            let backend_status = ctx.upstream.map(|(status, _)| status);
            pool.finished(index, e.is_some() || backend_status.is_some_and(phase::retry::is_backend_failure));
        }
        let req = session.req_header();
        let reason = e.map(|e| e.etype().as_str());
        if let Some(e) = e {
            phase::log::fault(self.env, req.method.as_str(), req.uri.path(), ctx, e);
        }
        let sent = session.as_downstream().body_bytes_sent();
        phase::trace::finish(&ctx.span, status, ctx.client_id(), ctx.upstream.map(|(status, _)| status));
        phase::log::access(self.env, req, status, sent, ctx, reason, &self.shared.metrics);
        phase::log::denial(self.env, req.method.as_str(), req.uri.path(), status, ctx, reason, &self.shared.store);
    }
}

impl Gateway {
    /// A failed attempt at the backend: see `phase::retry`.
    fn after_failed_attempt(&self, session: &mut Session, ctx: &mut RequestCtx, e: Box<Error>) -> Box<Error> {
        let Some(Upstream::Http(pool)) = ctx.tables.clone().map(|t| t.env(self.env).upstream.clone()) else { return e };
        let truncated = session.as_ref().retry_buffer_truncated();
        let method = session.req_header().method.clone();
        let e = phase::retry::after_failure(&pool, ctx, &method, truncated, e);
        if e.retry() {
            self.shared.metrics.upstream_retries.with_label_values(&[self.env.as_str()]).inc();
        }
        e
    }

    async fn token_endpoint(&self, session: &mut Session, ctx: &mut RequestCtx, version: u32) -> Result<bool> {
        if session.req_header().method != http::Method::POST {
            return Err(error::reject(ProblemKind::MethodNotAllowed, "the token endpoint accepts only POST"));
        }
        let tables = Arc::clone(ctx.tables.get_or_insert_with(|| self.shared.tables.load_full()));
        let body = read_body(session, tables.limits.max_body_bytes).await?;
        let headers = &session.req_header().headers;
        let header = |name| headers.get(name).and_then(|v: &http::HeaderValue| v.to_str().ok()).map(str::to_owned);
        let (content_type, authorization) = (header(http::header::CONTENT_TYPE), header(http::header::AUTHORIZATION));
        let origin = phase::trust::origin_of(headers).map(<[u8]>::to_vec);
        let (shared, env, request_id) = (Arc::clone(&self.shared), self.env, ctx.request_id.clone());
        let client_addr = ctx.client_addr.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
        // The store is blocking SQLite; keep it off the proxy's worker threads.
        let answer = tokio::task::spawn_blocking(move || {
            phase::token::handle(
                TokenContext {
                    env,
                    environments: &tables.environments,
                    store: &shared.store,
                    hasher: &shared.keys.secret_hash,
                    issuer: &tables.env(env).issuer,
                    scopes: tables.routes.token_scopes(version),
                    directory: &shared.directory,
                    throttle: &shared.throttle,
                    client_addr,
                    origin: origin.as_deref(),
                },
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
        let mut headers: Vec<(Cow<'static, str>, String)> =
            vec![(phase::request_id::HEADER.into(), ctx.request_id.clone())];
        if let Some(retry) = answer.retry_after {
            headers.push(("retry-after".into(), retry.to_string()));
        }
        headers.push(("cache-control".into(), "no-store".to_owned()));
        write_response(session, answer.status, Some(answer.content_type), &headers, answer.body).await?;
        Ok(true)
    }
}

/// Reads the whole request body, refusing more than `limit` bytes.
async fn read_body(session: &mut Session, limit: usize) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = session.read_request_body().await? {
        if body.len() + chunk.len() > limit {
            return Err(error::reject(
                ProblemKind::PayloadTooLarge,
                format!("the request body may be at most {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Writes a complete response with `Content-Type`, `Content-Length` and `headers`.
async fn write_response(
    session: &mut Session,
    status: u16,
    content_type: Option<&str>,
    headers: &[(Cow<'static, str>, String)],
    body: Vec<u8>,
) -> Result<()> {
    let mut header = ResponseHeader::build(status, Some(3 + headers.len()))?;
    if let Some(content_type) = content_type {
        header.insert_header("content-type", content_type)?;
    }
    header.insert_header("content-length", body.len())?;
    for (name, value) in headers {
        match name {
            Cow::Borrowed(name) => header.insert_header(*name, value.as_str())?,
            Cow::Owned(name) => header.insert_header(name.clone(), value.as_str())?,
        };
    }
    session.write_response_header(Box::new(header), body.is_empty()).await?;
    if !body.is_empty() {
        session.write_response_body(Some(Bytes::from(body)), true).await?;
    }
    Ok(())
}
