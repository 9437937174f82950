//! The pipeline, stripe-mock style, top to bottom in [`Emulator::handle`]: route → validate the
//! request → choose the response (`Prefer`) → business rules (scenarios) → act on the state →
//! fabricate → raise events → answer, with the documented headers and the scrub schedule.

use http::Method;
use serde_json::Value;

use crate::compile::AnswerBody;
use crate::events::Event;
use crate::fabricated::BodyKey;
use crate::prefer::Preference;
use crate::refusal::{problem, state_unavailable};
use crate::scenario;
use crate::seed::{fnv1a, FNV_OFFSET};
use crate::state::act::Acted;
use crate::state::Tenant;
use crate::{events, prefer, scrub};
use crate::{EmuRequest, EmuResponse, Emulator, SEED_HEADER};
use sandgate_core::problem::ProblemKind;
use sandgate_openapi::router::{OperationId, RouteMatch};
use sandgate_openapi::validate::{ParsedRequest, Verdict};

impl Emulator {
    /// Answers one request. Never panics on request input; every failure is an HTTP answer, and
    /// every answer carries `Sandgate-Next-Scrub` when scrubs are scheduled.
    pub fn handle(&self, req: &EmuRequest<'_>) -> EmuResponse {
        let mut response = match self.router.find(req.method, req.path) {
            RouteMatch::Found(id, path_params) => {
                // Operations on one path told apart by a header or query parameter (AWS's
                // `/#X-Amz-Target=…` keys) are the one the request names.
                let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                // One that names none of them is validated as the first (whose own header then
                // fails its check, naming what to send).
                let id = self.router.disambiguate(id, header, req.query).unwrap_or(id);
                let mut response = self.answer(req, id, &path_params);
                self.add_documented_headers(id, &mut response, req);
                response
            }
            RouteMatch::MethodNotAllowed(allowed) => {
                let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
                let detail = format!("{} is not served for {}; allowed: {allow}", req.method, req.path);
                let mut response = problem(ProblemKind::MethodNotAllowed, &detail);
                response.headers.push(("allow".into(), allow));
                response
            }
            RouteMatch::NotFound => {
                let detail = format!("no operation matches {} {}", req.method, req.path);
                problem(ProblemKind::UnknownRoute, &detail)
            }
        };
        if let Some(next) = self.next_scrub() {
            let when = next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            response.headers.push((scrub::NEXT_SCRUB_HEADER.into(), when));
        }
        response
    }

    /// Adds the headers the spec documents for the answer's status that it does not carry yet,
    /// fabricated from their schemas (a client may rely on a documented header being there).
    pub(crate) fn add_documented_headers(&self, id: OperationId, response: &mut EmuResponse, req: &EmuRequest<'_>) {
        let Some(answer) = self.answers[id.api][id.op].for_status(response.status) else { return };
        if answer.headers.is_empty() {
            return;
        }
        let seed = self.seed_for(req, id);
        for (index, (name, program)) in answer.headers.iter().enumerate() {
            if response.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                continue;
            }
            let value = match program.generate(seed.wrapping_add(index as u64)) {
                Value::String(text) => text,
                Value::Null => continue,
                other => other.to_string(),
            };
            response.headers.push((name.clone(), value));
        }
    }

    /// The answer to a request routed to operation `id`.
    pub(crate) fn answer(&self, req: &EmuRequest<'_>, id: OperationId, path_params: &[(&str, &str)]) -> EmuResponse {
        // ---- authenticate (behind the gateway, a request with a tenant already is)
        let op = &self.apis[id.api].operations[id.op];
        if req.tenant.is_none() {
            if let Err(refused) =
                sandgate_openapi::validate::security::check(&op.security, req.headers, req.query, &self.options.tokens)
            {
                return self.unauthorized(id, refused.detail());
            }
        }
        // ---- validate the request
        let checks = match self.checks(id) {
            Ok(checks) => checks,
            Err(detail) => return problem(ProblemKind::Internal, detail),
        };
        let parsed = match checks.request.check(path_params, req.query, req.headers, req.body) {
            Verdict::Valid(parsed) => parsed,
            Verdict::Invalid(violations) => return checks.error.respond(req.method, req.path, &violations),
            Verdict::UnsupportedMediaType(documented) => {
                let sent = req.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("none");
                // 415 when the spec documents it; otherwise the error it documents for a bad
                // request, so that every answer stays within the spec.
                if op.response_for(415).is_some_and(|r| r.status != sandgate_openapi::StatusKey::Default) {
                    let detail = format!("Content-Type {sent} is not accepted here; send one of {documented:?}");
                    return problem(ProblemKind::UnsupportedMediaType, &detail);
                }
                let violation = sandgate_openapi::validate::Violation {
                    location: sandgate_openapi::validate::In::Header,
                    name: "content-type".to_owned(),
                    message: format!("is not a media type this operation takes; send one of {documented:?}"),
                    value: Some(serde_json::Value::String(sent.to_owned())),
                };
                return checks.error.respond(req.method, req.path, &[violation]);
            }
        };
        // ---- a repeated idempotency key: the first answer again, or a refusal for another body
        let key = match self.idempotency(req, id, &parsed) {
            Ok(None) => None,
            Ok(Some(crate::idempotency::Seen::New(key))) => Some(key),
            Ok(Some(crate::idempotency::Seen::Replay(response))) => return response,
            Ok(Some(crate::idempotency::Seen::Conflict(violation))) => {
                return checks.error.respond_refusal(req.method, req.path, &[violation])
            }
            Err(e) => return state_unavailable(&e),
        };
        // ---- answer, then raise the events it caused
        let mut events = Vec::new();
        let response = self.respond(req, id, &parsed, &mut events);
        if let Some(key) = &key {
            if let Err(e) = self.remember(req, key, &response) {
                return state_unavailable(&e);
            }
        }
        if (200..300).contains(&response.status) {
            self.callbacks(req, id, &parsed, &response, &mut events);
        }
        if let (false, Some(sink)) = (events.is_empty(), &self.options.events) {
            sink.emit(self.tenant(req), req.application, events);
        }
        response
    }

    /// Everything after validation: `Prefer`, business rules, state, fabrication.
    pub(crate) fn respond(
        &self,
        req: &EmuRequest<'_>,
        id: OperationId,
        parsed: &ParsedRequest,
        events: &mut Vec<Event>,
    ) -> EmuResponse {
        // ---- choose the response (the default success, or what `Prefer` asks for)
        let preference = match Preference::from_headers(req.headers) {
            Ok(preference) => preference,
            Err(detail) => return problem(ProblemKind::InvalidRequest, &detail),
        };
        let answers = &self.answers[id.api][id.op];
        let (status, answer) = match preference.code {
            None => (answers.default.status, &*answers.default),
            Some(code) => match answers.for_status(code) {
                Some(answer) => (code, answer),
                None => {
                    let op = &self.apis[id.api].operations[id.op];
                    let detail = format!("Prefer: code={code}: {} documents {}", op.label(), answers.documented());
                    return problem(ProblemKind::InvalidRequest, &detail);
                }
            },
        };
        // ---- the media type, among those documented, that the client accepts
        // (Without an `Accept` header, the first documented: nothing to allocate per request.)
        let accept = req.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok());
        let chosen = match accept {
            None => 0,
            Some(accept) => {
                let offered: Vec<&str> = answer
                    .media_type
                    .iter()
                    .map(String::as_str)
                    .chain(answer.others.iter().map(|o| o.content_type.as_str()))
                    .collect();
                match crate::media::negotiate(accept, &offered) {
                    Some(index) => index,
                    None if offered.is_empty() => 0,
                    None => {
                        let detail = format!("Accept: {accept}: this answer is documented as {offered:?}");
                        return problem(ProblemKind::NotAcceptable, &detail);
                    }
                }
            }
        };
        let json_offered = usize::from(answer.media_type.is_some());
        if let Some(other) = chosen.checked_sub(json_offered).and_then(|i| answer.others.get(i)) {
            return self.other_media(req, id, status, other);
        }
        // An error code the spec documents only as an enum value (`Prefer: example=not_enough_credit`).
        if let Some(name) = &preference.example {
            if !answer.examples.iter().any(|(n, _)| n == name) {
                if let Some(response) = self.documented_error(req, id, parsed, name, preference.code) {
                    return response;
                }
            }
        }
        // An outcome the client picked skips the business rules and the state.
        let picked = preference.code.is_some() || preference.example.is_some();
        let mut applied = prefer::Applied::default();
        if let Some(code) = preference.code {
            applied.push("code", &code.to_string());
        }
        // ---- fixtures the partner should find, then business rules (unless `Prefer` picked one)
        if !self.fixtures.is_empty() {
            let (scenarios, stateful) = (&self.scenarios[id.api][id.op], &self.stateful[id.api][id.op]);
            let touches = |collection: &str| {
                stateful.as_ref().is_some_and(|s| s.resource.collection == collection)
                    || scenarios.iter().any(|s| s.touches(collection))
            };
            let api = self.apis[id.api].name();
            if let Err(e) = self.fixtures.ensure(self.state.as_ref(), self.tenant(req), api, &touches, &parsed.path) {
                return state_unavailable(&e);
            }
        }
        if !picked {
            for scenario in &self.scenarios[id.api][id.op] {
                match scenario.run(&self.apis[id.api], parsed, self.state.as_ref(), self.tenant(req)) {
                    Ok(None) => {}
                    Ok(Some((scenario::Answer::Continue, event))) => events.extend(event),
                    Ok(Some((outcome, event))) => {
                        events.extend(event);
                        return self.scenario_answer(id, scenario, outcome, self.seed_for(req, id));
                    }
                    Err(e) => return state_unavailable(&e),
                }
            }
        }
        // ---- act on the state (unless the client picked an outcome with `Prefer`)
        if let (false, Some(stateful)) = (picked, &self.stateful[id.api][id.op]) {
            return match stateful.act(self.state.as_ref(), self.tenant(req), parsed, self.seed_for(req, id)) {
                Ok(Acted::Done(body)) => {
                    let bodiless = matches!(status, 204 | 205 | 304) || answer.media_type.is_none();
                    let body = match body {
                        Some(value) if !bodiless => serde_json::to_vec(&value).unwrap_or_default(),
                        _ => Vec::new(),
                    };
                    let content_type = if body.is_empty() { None } else { answer.media_type.clone() };
                    EmuResponse { status, content_type, headers: Vec::new(), body }
                }
                Ok(Acted::NotFound(detail)) => self.not_found(id, &detail),
                Ok(Acted::NoFreeId(detail)) => problem(ProblemKind::Conflict, &detail),
                Err(e) => state_unavailable(&e),
            };
        }
        // ---- fill the body: a named example, the spec's example, or fabricated data
        let example = match &preference.example {
            Some(name) => match answer.examples.iter().find(|(n, _)| n == name) {
                Some((_, value)) => {
                    applied.push("example", name);
                    Some(value)
                }
                None => {
                    let names: Vec<&str> = answer.examples.iter().map(|(n, _)| n.as_str()).collect();
                    let op = &self.apis[id.api].operations[id.op];
                    let codes: Vec<&str> =
                        sandgate_openapi::error_codes::documented(op).iter().map(|c| c.code).collect();
                    let detail = format!(
                        "Prefer: example={name}: the {status} response has the examples {names:?}; the documented error codes are {codes:?}"
                    );
                    return problem(ProblemKind::InvalidRequest, &detail);
                }
            },
            None if preference.dynamic == Some(false) => {
                let first = answer.examples.first().map(|(_, v)| v);
                if first.is_some() {
                    applied.push("dynamic", "false");
                }
                first
            }
            None => None,
        };
        // 204, 205 and 304 never carry a body, whatever the spec says.
        let bodiless = matches!(status, 204 | 205 | 304);
        let body = match (example, &answer.body) {
            _ if bodiless => Vec::new(),
            (Some(example), _) | (None, AnswerBody::Example(example)) => {
                serde_json::to_vec(example).unwrap_or_default()
            }
            (None, AnswerBody::Empty) => Vec::new(),
            (None, AnswerBody::Generate(program)) => {
                if preference.dynamic == Some(true) {
                    applied.push("dynamic", "true");
                }
                let key = BodyKey { api: id.api, op: id.op, status, seed: self.seed_for(req, id) };
                self.fabricated.get_or_make(key, || serde_json::to_vec(&program.generate(key.seed)).unwrap_or_default())
            }
        };
        let content_type = if body.is_empty() { None } else { answer.media_type.clone() };
        let headers = applied.header().map(|value| ("preference-applied".into(), value)).into_iter().collect();
        EmuResponse { status, content_type, headers, body }
    }

    /// An answer in a documented media type other than JSON: the spec's example for it, else a
    /// value fabricated from its schema, written as its kind.
    fn other_media(
        &self,
        req: &EmuRequest<'_>,
        id: OperationId,
        status: u16,
        other: &crate::compile::OtherMedia,
    ) -> EmuResponse {
        let seed = self.seed_for(req, id);
        let value = match (&other.example, &other.program) {
            (Some(example), _) => example.clone(),
            (None, Some(program)) => program.generate(seed),
            (None, None) => Value::String("sandbox".to_owned()),
        };
        let body = if matches!(status, 204 | 205 | 304) {
            Vec::new()
        } else {
            crate::media::write(other.kind, &value, &other.root, seed)
        };
        let content_type = (!body.is_empty()).then(|| other.content_type.clone());
        EmuResponse { status, content_type, headers: Vec::new(), body }
    }

    /// Raises the operation's OpenAPI callbacks after a successful answer: each to the URL its
    /// runtime expression names, with a body fabricated from its schema.
    pub(crate) fn callbacks(
        &self,
        req: &EmuRequest<'_>,
        id: OperationId,
        parsed: &ParsedRequest,
        response: &EmuResponse,
        events: &mut Vec<Event>,
    ) {
        let compiled = &self.callbacks[id.api][id.op];
        if compiled.is_empty() {
            return;
        }
        let response_body: Option<Value> = serde_json::from_slice(&response.body).ok();
        for (callback, program) in compiled {
            let Some(url) = events::expand(&callback.url, req, parsed, response.status, response_body.as_ref()) else {
                continue;
            };
            let seed = self.seed_for(req, id) ^ fnv1a(FNV_OFFSET, callback.name.as_bytes());
            let payload = program.as_ref().map_or(Value::Null, |p| p.generate(seed));
            events.push(Event { name: callback.name.clone(), payload, url: Some(url) });
        }
    }

    /// Whose state a request reads: its tenant, else the configured default.
    pub(crate) fn tenant<'a>(&'a self, req: &EmuRequest<'a>) -> Tenant<'a> {
        req.tenant.unwrap_or(Tenant {
            environment: &self.options.default_environment,
            partner: &self.options.default_partner,
        })
    }

    /// The seed of one request: the configured seed, the operation and the request's own
    /// identity (method, path, query), or the `x-sandgate-seed` header when sent.
    pub(crate) fn seed_for(&self, req: &EmuRequest<'_>, id: OperationId) -> u64 {
        if let Some(seed) = req.headers.get(SEED_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()) {
            return seed;
        }
        let mut hash = fnv1a(FNV_OFFSET ^ self.options.seed, req.method.as_str().as_bytes());
        hash = fnv1a(hash, req.path.as_bytes());
        hash = fnv1a(hash, req.query.unwrap_or_default().as_bytes());
        hash ^ ((id.api as u64) << 32 | id.op as u64)
    }
}
