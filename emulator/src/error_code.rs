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
use sandgate_openapi::validate::{In, ParsedRequest, Violation};
use sandgate_openapi::ParamLocation;

/// The properties that carry an error's message.
const MESSAGE_FIELDS: [&str; 6] = ["error_description", "message", "detail", "description", "error_message", "msg"];

/// A problem with a field the operation takes, for a documented list of field problems: its first
/// required body field (with the value sent), else its first parameter, else the body.
fn example_violation(op: &sandgate_openapi::Operation, parsed: &ParsedRequest) -> Violation {
    let defs = &op.schemas.defs;
    let body_schema = op.request_body.as_ref().and_then(|b| b.content.first()).and_then(|m| m.schema.as_ref());
    let required = body_schema.and_then(|s| sandgate_openapi::shape::deref(s, defs)).and_then(|s| s.get("required"));
    let first = required.and_then(Value::as_array).and_then(|r| r.first()).and_then(Value::as_str);
    let (location, name) = match (first, op.parameters.iter().find(|p| p.location != ParamLocation::Header)) {
        (Some(field), _) => (In::Body, format!("/{field}")),
        (None, Some(parameter)) => (in_of(parameter.location), parameter.name.clone()),
        (None, None) => (In::Body, String::new()),
    };
    let sent = match location {
        In::Body => parsed.lookup(&format!("body.{}", name.trim_start_matches('/'))),
        _ => None,
    };
    Violation { location, name, message: "Invalid value".to_owned(), value: sent.cloned() }
}

/// The validator's location of a parameter.
fn in_of(location: ParamLocation) -> In {
    match location {
        ParamLocation::Path => In::Path,
        ParamLocation::Query => In::Query,
        ParamLocation::Header => In::Header,
        ParamLocation::Cookie => In::Cookie,
    }
}

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
        let fabricated = program.generate(self.seed_for(req, id));
        let mut body = fabricated.clone();
        let object = body.as_object_mut()?;
        object.insert(found.field.to_owned(), Value::String(code.to_owned()));
        let properties = found.body.get("properties").and_then(Value::as_object);
        let defs = &op.schemas.defs;
        // The message in every property that carries one (a problem's `title` and `detail` too).
        let message = self.messages[id.api].get(code).and_then(|texts| crate::scenario::localize(texts, parsed));
        let example_violation = example_violation(op, parsed);
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
            } else if matches!(field, "url" | "path" | "instance" | "uri") {
                object.insert(name.clone(), Value::String(req.path.to_owned()));
            } else if let Some(list) =
                crate::answer::violation_list(field, property, defs, std::slice::from_ref(&example_violation))
            {
                // A list of field problems names a field the operation really takes.
                object.insert(name.clone(), list);
            }
        }
        // What the values above do not fit (a list item's required field) is mended back.
        crate::conform::Conforms::new(found.body, op).repair(&mut body, &fabricated);
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
