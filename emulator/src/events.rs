//! Events the sandbox raises for the partner: scenario webhooks (`then.webhook`) and OpenAPI
//! `callbacks`. The emulator only raises them; whoever runs it delivers them (the gateway queues
//! them in its outbox, which signs, retries and logs every attempt).

use std::sync::Arc;

use serde_json::Value;

use crate::state::Tenant;
use sandgate_openapi::template::text;

pub use sandgate_core::event::Event;

/// Takes the events of one request. Implementations must not block for long: they run on the
/// request path.
pub trait EventSink: Send + Sync + std::fmt::Debug {
    /// Delivers (or queues) `events` raised by a request of `tenant`'s `application`.
    fn emit(&self, tenant: Tenant<'_>, application: Option<&str>, events: Vec<Event>);
}

/// A shared sink.
pub type Sink = Arc<dyn EventSink>;

/// Expands the runtime expressions (`{$request.body#/callback_url}`, `{$request.query.name}`,
/// `{$request.header.name}`, `{$request.path.name}`, `{$response.body#/id}`, `{$url}`,
/// `{$method}`, `{$statusCode}`) in a callback URL. `None` when one has no value: no callback.
pub fn expand(
    template: &str,
    req: &crate::EmuRequest<'_>,
    parsed: &sandgate_openapi::validate::ParsedRequest,
    status: u16,
    response_body: Option<&Value>,
) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        let expression = &rest[start + 1..end];
        let value = match expression {
            "$url" => Some(format!("{}{}", req.path, req.query.map(|q| format!("?{q}")).unwrap_or_default())),
            "$method" => Some(req.method.to_string()),
            "$statusCode" => Some(status.to_string()),
            _ => {
                if let Some(pointer) = expression.strip_prefix("$request.body#") {
                    parsed.body.as_ref().and_then(|b| b.pointer(pointer)).map(text)
                } else if let Some(pointer) = expression.strip_prefix("$response.body#") {
                    response_body.and_then(|b| b.pointer(pointer)).map(text)
                } else if let Some(name) = expression.strip_prefix("$request.header.") {
                    req.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
                } else if let Some(name) = expression.strip_prefix("$request.") {
                    parsed.lookup(name).map(text)
                } else {
                    None
                }
            }
        };
        out.push_str(&value.filter(|v| !v.is_empty())?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}
