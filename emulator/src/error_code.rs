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
        let message = self.messages[id.api].get(code).and_then(|texts| crate::scenario::localize(texts, parsed));
        let message = message.as_ref().and_then(Value::as_str);
        // A list of field problems names a field the operation really takes.
        let violation = [example_violation(op, parsed)];
        let known = crate::answer::Known {
            status: found.status,
            message,
            title: message.unwrap_or(code),
            error: code,
            type_uri: None,
            path: req.path,
            violations: &violation,
        };
        crate::answer::fill(&mut body, found.body, &op.schemas.defs, &known);
        body.as_object_mut()?.insert(found.field.to_owned(), Value::String(code.to_owned()));
        // What the values above do not fit (an enum of statuses, a list item's field) is mended back.
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
