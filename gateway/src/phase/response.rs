//! Response headers the gateway adds to every answered operation: version lifecycle
//! (`Deprecation` RFC 9745, `Sunset` RFC 8594, `Link: rel="successor-version"`), rate-limit
//! state (`RateLimit-*`), the request id, and for a trusted browser origin the CORS headers.

use crate::ctx::RequestCtx;
use crate::phase::rate_limit;

/// The headers to add for this request, as `(name, value)`.
pub fn headers(ctx: &RequestCtx) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(7);
    out.push((super::request_id::HEADER, ctx.request_id.clone()));
    if let Some(origin) = &ctx.cors_origin {
        out.push(("access-control-allow-origin", origin.clone()));
        out.push(("access-control-expose-headers", super::cors::EXPOSED_HEADERS.to_owned()));
        out.push(("vary", "origin".to_owned()));
    }
    if let (Some(tables), Some(id)) = (&ctx.tables, ctx.route()) {
        let policy = tables.routes.policy(id);
        if let Some(deprecation) = &policy.deprecation {
            out.push(("deprecation", deprecation.clone()));
        }
        if let Some(sunset) = &policy.sunset {
            out.push(("sunset", sunset.clone()));
        }
        if let Some(link) = &policy.successor_link {
            out.push(("link", link.clone()));
        }
    }
    if let Some(admission) = &ctx.admission {
        for (name, value) in rate_limit::headers(admission) {
            out.push((name, value.to_string()));
        }
        if !admission.allowed {
            out.push(("retry-after", admission.reset_secs.max(1).to_string()));
        }
    }
    out
}
