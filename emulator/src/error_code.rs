//! `Prefer: example=<code>` for an error code the spec documents only as an enum value of an
//! error answer (see [`sandgate_openapi::error_codes`]): the documented body of that code, its
//! message from the scenario files' `messages` in the request's language, fabricated elsewhere.
//! So every documented outcome of an operation can be reached on purpose, not only the named
//! examples.

use serde_json::Value;

use crate::prefer::Applied;
use crate::{EmuRequest, EmuResponse, Emulator};
use sandgate_openapi::generate::Program;
use sandgate_openapi::router::OperationId;
use sandgate_openapi::validate::ParsedRequest;

/// The properties that carry an error's message.
const MESSAGE_FIELDS: [&str; 6] = ["error_description", "message", "detail", "description", "error_message", "msg"];

/// Whether the integer `status` fits `property` (its type, `enum` and bounds).
fn admits(property: &Value, status: u16) -> bool {
    let integer = matches!(property.get("type").and_then(Value::as_str), Some("integer" | "number"));
    let listed = property.get("enum").and_then(Value::as_array).is_none_or(|e| e.contains(&Value::from(status)));
    let bound = |key: &str| property.get(key).and_then(Value::as_f64);
    let within = bound("minimum").is_none_or(|m| f64::from(status) >= m)
        && bound("maximum").is_none_or(|m| f64::from(status) <= m);
    integer && listed && within
}

impl Emulator {
    /// The answer for the documented error `code` of operation `id` (with `status`, when the
    /// client also asked for one); `None` when the operation documents no such code.
    pub(crate) fn documented_error(
        &self,
        req: &EmuRequest<'_>,
        id: OperationId,
        parsed: &ParsedRequest,
        code: &str,
        status: Option<u16>,
    ) -> Option<EmuResponse> {
        let op = &self.apis[id.api].operations[id.op];
        let documented = sandgate_openapi::error_codes::documented(op);
        let found = documented.iter().find(|c| c.code == code && status.is_none_or(|s| s == c.status))?;
        let program = Program::compile(found.body, &op.schemas, &self.sets[id.api][id.op]).ok()?;
        let mut body = program.generate(self.seed_for(req, id));
        let object = body.as_object_mut()?;
        object.insert(found.field.to_owned(), Value::String(code.to_owned()));
        let properties = found.body.get("properties").and_then(Value::as_object);
        let defs = &op.schemas.defs;
        // The message in every property that carries one (a problem's `title` and `detail` too).
        let message = self.messages[id.api].get(code).and_then(|texts| crate::scenario::localize(texts, parsed));
        for (name, property) in properties.into_iter().flatten() {
            let Some(property) = sandgate_openapi::shape::deref(property, defs) else { continue };
            let field = name.as_str();
            if field == found.field {
                continue;
            }
            if let (Some(message), true) = (&message, MESSAGE_FIELDS.contains(&field) || field == "title") {
                object.insert(name.clone(), message.clone());
            } else if matches!(field, "status" | "code" | "status_code") && admits(property, found.status) {
                // A status repeated in the body says the status the answer has.
                object.insert(name.clone(), Value::from(found.status));
            }
        }
        let media_type = self.answers[id.api][id.op].for_status(found.status).and_then(|a| a.media_type.clone());
        let mut applied = Applied::default();
        applied.push("example", code);
        let headers = applied.header().map(|value| ("preference-applied".into(), value)).into_iter().collect();
        Some(EmuResponse {
            status: found.status,
            content_type: media_type,
            headers,
            body: serde_json::to_vec(&body).unwrap_or_default(),
        })
    }
}
