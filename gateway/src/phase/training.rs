//! The TRAINING hop: the request, read whole (body capped at `limits.max_body_bytes`), answered by
//! the emulator in-process as this partner's tenant, with the response phase's headers. No
//! loopback connection, no second parse (see DESIGN.md "The TRAINING hop").

use std::borrow::Cow;
use std::sync::Arc;

use pingora::prelude::*;
use sandgate_core::environment::Environment;
use sandgate_emulator::state::Tenant;
use sandgate_emulator::{EmuRequest, Emulator};

use crate::ctx::RequestCtx;
use crate::principal::Principal;

/// Answers the request from `emulator`; always `Ok(true)` (the response is written) unless the
/// client or the body limit fails it.
pub async fn answer(
    session: &mut Session,
    ctx: &mut RequestCtx,
    emulator: &Arc<Emulator>,
    env: Environment,
    principal: &Principal,
    max_body_bytes: usize,
) -> Result<bool> {
    let body = crate::read_body(session, max_body_bytes).await?;
    ctx.body_bytes = body.len();
    let req = session.req_header();
    let started = std::time::Instant::now();
    let answer = if emulator.state_is_remote() {
        // The state is in PostgreSQL: its round trips must not hold one of Pingora's workers
        // (and every request queued on it), so the emulator answers on the blocking pool.
        let (emulator, method, uri, headers) =
            (Arc::clone(emulator), req.method.clone(), req.uri.clone(), req.headers.clone());
        let (partner, application) = (principal.partner.clone(), principal.application.clone());
        tokio::task::spawn_blocking(move || {
            emulator.handle(&EmuRequest {
                method: &method,
                path: uri.path(),
                query: uri.query(),
                headers: &headers,
                body: &body,
                tenant: Some(Tenant { environment: env.as_str(), partner: &partner }),
                application: Some(&application),
            })
        })
        .await
        .map_err(|e| Error::because(ErrorType::InternalError, "the emulator failed", e))?
    } else {
        emulator.handle(&EmuRequest {
            method: &req.method,
            path: req.uri.path(),
            query: req.uri.query(),
            headers: &req.headers,
            body: &body,
            tenant: Some(Tenant { environment: env.as_str(), partner: principal.partner.as_str() }),
            application: Some(principal.application.as_str()),
        })
    };
    ctx.upstream = Some((answer.status, started.elapsed()));
    let mut headers: Vec<(Cow<'static, str>, String)> =
        super::response::headers(ctx).into_iter().map(|(name, value)| (name.into(), value)).collect();
    headers.extend(answer.headers);
    crate::write_response(session, answer.status, answer.content_type.as_deref(), &headers, answer.body).await?;
    Ok(true)
}
