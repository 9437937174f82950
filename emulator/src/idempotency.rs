//! Idempotency keys: an API that declares `x-sandgate-idempotency-header: <name>` (document level)
//! gets, on every operation that documents that header, what partners rely on in production:
//! a request repeated with the same key and the same body gets the first successful answer back
//! (marked `Idempotent-Replayed: true`) without acting again; the same key with another body is
//! refused with the API's documented error naming the header. Answers are kept per tenant in the
//! state store until the scrub.

use serde_json::{json, Value};

use crate::request::{EmuRequest, EmuResponse};
use crate::seed::{fnv1a, FNV_OFFSET};
use crate::state::StateResult;
use crate::Emulator;
use sandgate_openapi::router::OperationId;
use sandgate_openapi::validate::{In, ParsedRequest, Violation};
use sandgate_openapi::ParamLocation;

/// The header marking a replayed answer.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// A request's idempotency key, where it is in force.
pub(crate) struct Key {
    /// The header's name.
    header: String,
    /// The key sent.
    value: String,
    /// Where answers of this operation are kept.
    collection: String,
    /// A hash of the body as parsed (the same parameters in another order hash alike).
    body_hash: String,
}

/// What a key found.
pub(crate) enum Seen {
    /// Nothing yet: answer, then [`Emulator::remember`].
    New(Key),
    /// The first answer, to send again.
    Replay(EmuResponse),
    /// The same key with another body.
    Conflict(Violation),
}

impl Emulator {
    /// Looks the request's idempotency key up; `None` when the API declares none, the operation
    /// does not document the header or the request does not send it.
    pub(crate) fn idempotency(
        &self,
        req: &EmuRequest<'_>,
        id: OperationId,
        parsed: &ParsedRequest,
    ) -> StateResult<Option<Seen>> {
        let api = &self.apis[id.api];
        let Some(header) = api.extensions.get("x-sandgate-idempotency-header").and_then(Value::as_str) else {
            return Ok(None);
        };
        let op = &api.operations[id.op];
        let documented =
            op.parameters.iter().any(|p| p.location == ParamLocation::Header && p.name.eq_ignore_ascii_case(header));
        let sent = req.headers.get(header).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
        let (true, Some(value)) = (documented, sent) else { return Ok(None) };
        let body = parsed.body.as_ref().map(Value::to_string).unwrap_or_default();
        let key = Key {
            header: header.to_owned(),
            value: value.to_owned(),
            // Per version: a replay answers in the shape of the version asked.
            collection: format!("{}/_idempotency/{}", api.base_path, op.label()),
            body_hash: format!("{:016x}", fnv1a(FNV_OFFSET, body.as_bytes())),
        };
        let Some(kept) = self.state.get(self.tenant(req), &key.collection, &key.value)? else {
            return Ok(Some(Seen::New(key)));
        };
        if kept["body_hash"].as_str() != Some(key.body_hash.as_str()) {
            return Ok(Some(Seen::Conflict(Violation {
                location: In::Header,
                name: key.header,
                message: "was already used with another body; a retry must send the same body (or use a new key)"
                    .to_owned(),
                value: Some(Value::String(key.value)),
            })));
        }
        let status = kept["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(200);
        let content_type = kept["content_type"].as_str().map(str::to_owned);
        let body = kept["body"].as_str().unwrap_or_default().as_bytes().to_vec();
        let headers = vec![(REPLAYED_HEADER.into(), "true".to_owned())];
        Ok(Some(Seen::Replay(EmuResponse { status, content_type, headers, body })))
    }

    /// Keeps a successful answer under its key (failures are not kept: a retry may succeed).
    pub(crate) fn remember(&self, req: &EmuRequest<'_>, key: &Key, response: &EmuResponse) -> StateResult<()> {
        if !(200..300).contains(&response.status) {
            return Ok(());
        }
        let kept = json!({
            "body_hash": key.body_hash,
            "status": response.status,
            "content_type": response.content_type,
            "body": String::from_utf8_lossy(&response.body),
        });
        self.state.insert_new(self.tenant(req), &key.collection, &key.value, &kept).map(drop)
    }
}
