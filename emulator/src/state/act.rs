//! Carries out an operation's [`Resource`] action on the store and builds the success body:
//! stored fields over fabricated ones, so what the partner sent or was given before comes back.
//! A stored value that does not fit the answer's schema is mended where it fails (a field the
//! version lacks is dropped, one it needs is fabricated), so every answer conforms and keeps what
//! it can of what was stored.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::infer::{Action, Resource};
use super::{DateRange, PageRequest, StateStore, Tenant};
use crate::conform::Conforms;
use crate::error::EmulatorError;
use sandgate_openapi::generate::{CompiledSet, Program};
use sandgate_openapi::shape::{fields, list_items, strip_nested, Field};
use sandgate_openapi::template::text;
use sandgate_openapi::validate::ParsedRequest;
use sandgate_openapi::OpenApiError;
use sandgate_openapi::Operation;

/// The most objects a list answers with when neither the request nor the schema says.
const DEFAULT_PAGE: usize = 20;
/// Query parameters that page rather than filter.
const LIMIT_PARAMS: [&str; 4] = ["limit", "per_page", "page_size", "size"];
const OFFSET_PARAMS: [&str; 2] = ["offset", "skip"];
const CURSOR_PARAMS: [&str; 3] = ["starting_after", "after", "cursor"];
/// Query parameters that bound the items' date from below, and from above (inclusive).
const FROM_PARAMS: [&str; 5] = ["start_date", "from", "since", "created_after", "date_from"];
const TO_PARAMS: [&str; 5] = ["end_date", "to", "until", "created_before", "date_to"];
/// The item fields a date range applies to, in order of preference (else the first date field).
const DATE_FIELDS: [&str; 5] = ["created_at", "created", "createdAt", "date", "creation_date"];

/// An operation's compiled part in the state.
#[derive(Debug)]
pub struct Stateful {
    /// What it does to which collection.
    pub resource: Resource,
    /// Fabricates the success body's fields the store does not hold.
    body: Option<Program>,
    /// The success body's top-level fields (empty: take the stored object whole).
    fields: Vec<Field>,
    /// For lists: where the items go and how to fabricate one.
    list: Option<ListAnswer>,
    /// Checks the success body.
    conforms: Option<Conforms>,
    /// The success body's schema, for the `readOnly` and `writeOnly` marks below the top level.
    marks: Option<Marks>,
}

/// A schema's `readOnly` and `writeOnly` marks at every depth (the top level's are in `fields`).
#[derive(Debug)]
struct Marks {
    schema: Value,
    schemas: Arc<sandgate_openapi::SchemaSet>,
}

impl Marks {
    fn new(schema: &Value, op: &Operation) -> Marks {
        Marks { schema: schema.clone(), schemas: Arc::clone(&op.schemas) }
    }

    /// What a client sent, without what it may not set inside it.
    fn sent(&self, body: Option<&Value>) -> Option<Value> {
        let mut body = body?.clone();
        strip_nested(&mut body, &self.schema, &self.schemas.defs, "readOnly");
        Some(body)
    }

    /// An answer, without what is never answered inside it.
    fn answered(&self, body: &mut Value) {
        strip_nested(body, &self.schema, &self.schemas.defs, "writeOnly");
    }
}

#[derive(Debug)]
struct ListAnswer {
    /// The array's property, or `None` when the body is the array.
    field: Option<String>,
    item: Program,
    item_fields: Vec<Field>,
    item_conforms: Option<Conforms>,
    item_marks: Marks,
    max: usize,
    /// The items' field a date range applies to (see [`DATE_FIELDS`]).
    date_field: Option<String>,
}

/// What an action came to.
#[derive(Debug, PartialEq)]
pub enum Acted {
    /// Success, with this body (`None`: the documented success has no JSON body).
    Done(Option<Value>),
    /// No object with that id; the detail names it.
    NotFound(String),
    /// A create found no id the schema allows that is still free; the detail says so.
    NoFreeId(String),
}

impl Stateful {
    /// Compiles the body programs of `op` for `resource`.
    pub fn compile(resource: Resource, op: &Operation, set: &Arc<CompiledSet>) -> Result<Stateful, OpenApiError> {
        let schema = op.default_success().and_then(|r| r.json()).and_then(|m| m.schema.as_ref());
        let defs = &op.schemas.defs;
        let body = schema.map(|s| Program::compile(s, &op.schemas, set)).transpose()?;
        let list = match (resource.action, schema.and_then(|s| list_items(s, defs))) {
            (Action::List, Some((field, items, max))) => Some(ListAnswer {
                field,
                item: Program::compile(&items, &op.schemas, set)?,
                date_field: date_field(&fields(&items, defs)),
                item_fields: fields(&items, defs),
                item_conforms: Some(Conforms::new(&items, op)),
                item_marks: Marks::new(&items, op),
                max: max.and_then(|m| usize::try_from(m).ok()).unwrap_or(DEFAULT_PAGE),
            }),
            _ => None,
        };
        let fields = schema.map(|s| fields(s, defs)).unwrap_or_default();
        let conforms = schema.map(|s| Conforms::new(s, op));
        let marks = schema.map(|s| Marks::new(s, op));
        Ok(Stateful { resource, body, fields, list, conforms, marks })
    }

    /// Performs the action for one valid request.
    pub fn act(
        &self,
        store: &dyn StateStore,
        tenant: Tenant<'_>,
        request: &ParsedRequest,
        seed: u64,
    ) -> Result<Acted, EmulatorError> {
        let collection = self.resource.collection_key(&request.path);
        let id = self.resource.id_param.as_ref().and_then(|p| request.path.get(p));
        // What the client sent, without the nested fields it may not set: read once, used by
        // every action that stores it.
        let sent_body = self.sent(request.body.as_ref());
        let sent = sent_body.as_ref().and_then(Value::as_object);
        let field = self.resource.id_field.as_str();
        match self.resource.action {
            Action::Create => {
                let count = store.count(tenant, &collection)? as u64;
                let fabricated = self.fabricate(seed ^ mix(count));
                // A client-chosen id (the field is not readOnly) is kept.
                let chosen = sent.and_then(|s| s.get(field)).filter(|_| !self.is_read_only(field));
                if let Some(id_value) = chosen {
                    let (answered, stored) = self.created(request, sent, &fabricated, id_value.clone());
                    store.put(tenant, &collection, &text(id_value), &stored)?;
                    return Ok(Acted::Done(self.body.as_ref().map(|_| answered)));
                }
                // Otherwise the server picks an id that fits the schema and that no object of the
                // collection has had since the last scrub; taking it is atomic, so concurrent
                // creates never share one and a deleted object's id is never handed out again.
                let mut candidates = IdCandidates::new(fabricated.get(field).cloned(), seed ^ mix(count));
                while let Some(id_value) =
                    candidates.next(|attempt| self.fabricate(seed ^ mix(count + attempt * 7919)).remove(field))
                {
                    let (answered, stored) = self.created(request, sent, &fabricated, id_value.clone());
                    if answered.get(field).is_some_and(|answered| *answered != id_value) {
                        continue; // the schema refused it (beyond a maximum): the answer would differ
                    }
                    if store.insert_new(tenant, &collection, &text(&id_value), &stored)? {
                        return Ok(Acted::Done(self.body.as_ref().map(|_| answered)));
                    }
                }
                Ok(Acted::NoFreeId(format!(
                    "no free {field} for a new object of {collection}: the ids its schema allows are taken \
                     or were used since the last scrub (scrub the sandbox to start afresh)"
                )))
            }
            Action::Read | Action::Delete | Action::Update => {
                let id = id.map(text).unwrap_or_default();
                let Some(mut object) = store.get(tenant, &collection, &id)? else {
                    return Ok(Acted::NotFound(self.missing(&id)));
                };
                match self.resource.action {
                    Action::Delete => {
                        store.delete(tenant, &collection, &id)?;
                    }
                    Action::Update => {
                        merge_patch(&mut object, sent_body.as_ref().unwrap_or(&Value::Null), field, &self.fields);
                        store.put(tenant, &collection, &id, &object)?;
                    }
                    _ => {}
                }
                Ok(Acted::Done(self.answer(Some(&object), seed)))
            }
            Action::Replace => {
                let id_text = id.map(text).unwrap_or_default();
                let previous = store.get(tenant, &collection, &id_text)?;
                let mut object = Map::new();
                // Fields the server sets survive a replace; everything else comes from the body.
                for (name, value) in previous.as_ref().and_then(Value::as_object).into_iter().flatten() {
                    if self.is_read_only(name) {
                        object.insert(name.clone(), value.clone());
                    }
                }
                for (name, value) in sent.into_iter().flatten() {
                    if !self.is_read_only(name) {
                        object.insert(name.clone(), value.clone());
                    }
                }
                let id_value = previous.as_ref().and_then(|p| p.get(field)).or(id).cloned().unwrap_or(Value::Null);
                object.insert(field.to_owned(), id_value);
                let object = Value::Object(object);
                store.put(tenant, &collection, &id_text, &object)?;
                Ok(Acted::Done(self.answer(Some(&object), seed)))
            }
            Action::List => {
                let Some(list) = &self.list else { return Ok(Acted::Done(self.answer(None, seed))) };
                let page = page_request(&request.query, list, self.resource.newest_first);
                let found = store.list(tenant, &collection, &page)?;
                // Whether another page follows this one: said where the answer documents it.
                let more = page.offset + found.items.len() < found.total;
                let items: Vec<Value> = found
                    .items
                    .iter()
                    .map(|stored| {
                        let id = stored.get(field).map(text).unwrap_or_default();
                        let fabricated =
                            list.item.generate(seed ^ crate::seed::fnv1a(crate::seed::FNV_OFFSET, id.as_bytes()));
                        let Some(stored) = stored.as_object() else { return fabricated };
                        let mut item = project(stored, &list.item_fields);
                        if let Some(conforms) = &list.item_conforms {
                            conforms.repair(&mut item, &fabricated);
                        }
                        list.item_marks.answered(&mut item);
                        item
                    })
                    .collect();
                Ok(Acted::Done(Some(match &list.field {
                    None => Value::Array(items),
                    Some(name) => {
                        let mut body = self.fabricate(seed);
                        body.insert(name.clone(), Value::Array(items));
                        if let Some(has_more) = body.get_mut("has_more").filter(|v| v.is_boolean()) {
                            *has_more = Value::Bool(more);
                        }
                        Value::Object(body)
                    }
                })))
            }
        }
    }

    /// A new object with `id_value`: what is answered, and what is stored (the answer, so a read
    /// repeats it, plus the request's other fields).
    fn created(
        &self,
        request: &ParsedRequest,
        sent: Option<&Map<String, Value>>,
        fabricated: &Map<String, Value>,
        id_value: Value,
    ) -> (Value, Value) {
        let field = self.resource.id_field.as_str();
        let mut object = fabricated.clone();
        for (name, value) in sent.into_iter().flatten() {
            if name != field && !self.is_read_only(name) {
                object.insert(name.clone(), value.clone());
            }
        }
        object.insert(field.to_owned(), id_value.clone());
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        for (name, template) in self.resource.set.iter().flatten() {
            let lookup = |key: &str| match key {
                "now" => Some(Value::String(now.clone())),
                "id" => Some(id_value.clone()),
                _ => key.strip_prefix("request.").and_then(|k| request.lookup(k)).cloned(),
            };
            if let Some(value) = sandgate_openapi::template::render(template, &lookup) {
                object.insert(name.clone(), value);
            }
        }
        let mut answered = self.project(&object);
        if let Some(conforms) = &self.conforms {
            conforms.repair(&mut answered, &Value::Object(fabricated.clone()));
        }
        if let Some(marks) = &self.marks {
            marks.answered(&mut answered);
        }
        let mut stored = object;
        if let Value::Object(answered) = &answered {
            stored.extend(answered.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        (answered, Value::Object(stored))
    }

    fn missing(&self, id: &str) -> String {
        let collection = self.resource.collection.rsplit('/').next().unwrap_or_default();
        format!(
            "no {collection} with {} {id:?} exists (create one first; sandbox data is scrubbed)",
            self.resource.id_field
        )
    }

    fn is_read_only(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name == name && f.read_only)
    }

    fn fabricate(&self, seed: u64) -> Map<String, Value> {
        match self.body.as_ref().map(|p| p.generate(seed)) {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// What a client sent, without the `readOnly` fields below the top level.
    fn sent(&self, body: Option<&Value>) -> Option<Value> {
        match &self.marks {
            Some(marks) => marks.sent(body),
            None => body.cloned(),
        }
    }

    fn project(&self, object: &Map<String, Value>) -> Value {
        project(object, &self.fields)
    }

    /// The success body: the stored object's documented fields; a field it lacks but the schema
    /// requires, or one that does not fit, is fabricated.
    fn answer(&self, stored: Option<&Value>, seed: u64) -> Option<Value> {
        let program = self.body.as_ref()?;
        let fabricated = program.generate(seed);
        let Some(stored) = stored.and_then(Value::as_object) else { return Some(fabricated) };
        let mut body = self.project(stored);
        if let Some(conforms) = &self.conforms {
            conforms.repair(&mut body, &fabricated);
        }
        if let Some(marks) = &self.marks {
            marks.answered(&mut body);
        }
        Some(body)
    }
}

/// Fabricated ids a create tries before stepping past a crowded integer range.
const FABRICATED_IDS: u64 = 24;
/// Then, for an integer id: steps of 1, 2, 4, … past the last one, up to 2^40.
const STEPPED_IDS: u64 = 41;

/// The ids a create tries, in order: the fabricated one, others fabricated with other seeds, then
/// (for an integer id, when the schema's usual range is crowded) ever larger steps past the last,
/// so a collection outgrows the 1–1000 a generator picks from instead of running out.
struct IdCandidates {
    /// Seeds the hex ids used when the schema has no such field.
    seed: u64,
    tried: u64,
    first: Option<Value>,
    last: Option<Value>,
}

impl IdCandidates {
    fn new(first: Option<Value>, seed: u64) -> IdCandidates {
        IdCandidates { seed, tried: 0, first, last: None }
    }

    /// The next id to try; `fabricate(attempt)` fabricates another (`None`: the schema has no
    /// such field, and a random hex id is used).
    fn next(&mut self, fabricate: impl FnOnce(u64) -> Option<Value>) -> Option<Value> {
        let attempt = self.tried;
        self.tried += 1;
        let hex_id = || Some(Value::String(format!("{:016x}", mix(self.seed ^ attempt))));
        let candidate = match attempt {
            0 => self.first.take().or_else(hex_id),
            _ if attempt < FABRICATED_IDS => fabricate(attempt).or_else(hex_id),
            _ if attempt < FABRICATED_IDS + STEPPED_IDS => {
                let step = 1i64 << (attempt - FABRICATED_IDS);
                self.last.as_ref().and_then(Value::as_i64).and_then(|n| n.checked_add(step)).map(Value::from)
            }
            _ => None,
        };
        self.last.clone_from(&candidate);
        candidate
    }
}

/// `object` restricted to the documented `fields` (all of it when none are documented).
/// The documented fields of a stored object, for an answer: never a `writeOnly` one (kept in the
/// store, as the backend would keep a password, but never sent back).
fn project(object: &Map<String, Value>, fields: &[Field]) -> Value {
    let keep = |name: &String| {
        let field = fields.iter().find(|f| f.name == *name);
        !field.is_some_and(|f| f.write_only) && (fields.is_empty() || field.is_some())
    };
    Value::Object(object.iter().filter(|(k, _)| keep(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// RFC 7396 merge patch at the top level and below; the id and read-only fields are kept.
fn merge_patch(target: &mut Value, patch: &Value, id_field: &str, fields: &[Field]) {
    let (Some(target), Some(patch)) = (target.as_object_mut(), patch.as_object()) else { return };
    for (name, value) in patch {
        if name == id_field || fields.iter().any(|f| f.name == *name && f.read_only) {
            continue;
        }
        match value {
            Value::Null => {
                target.remove(name);
            }
            Value::Object(_) => {
                let slot = target.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                merge_patch(slot, value, "", &[]);
            }
            other => {
                target.insert(name.clone(), other.clone());
            }
        }
    }
}

/// Paging and filters from the query: `limit` (or `per_page`, `page_size`, `size`) capped by the
/// schema's `maxItems`, `offset`/`skip` or 1-based `page`, a cursor (`starting_after`), equality
/// filters on any other query parameter named like an item field, and a date range
/// (`start_date`/`end_date`, `from`/`to`, `since`/`until`…) on the items' date field.
fn page_request(query: &Map<String, Value>, list: &ListAnswer, newest_first: bool) -> PageRequest {
    let number = |names: &[&str]| names.iter().find_map(|n| query.get(*n)).and_then(Value::as_u64).map(|n| n as usize);
    let limit = number(&LIMIT_PARAMS).unwrap_or(list.max).clamp(1, list.max.max(1));
    let offset = number(&OFFSET_PARAMS).or_else(|| number(&["page"]).map(|p| p.saturating_sub(1) * limit)).unwrap_or(0);
    let after = CURSOR_PARAMS.iter().find_map(|n| query.get(*n)).map(text);
    let paging = |name: &str| {
        LIMIT_PARAMS.contains(&name) || OFFSET_PARAMS.contains(&name) || CURSOR_PARAMS.contains(&name) || name == "page"
    };
    let filters = query
        .iter()
        .filter(|(name, _)| !paging(name) && list.item_fields.iter().any(|f| f.name == **name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let is_field = |name: &str| list.item_fields.iter().any(|f| f.name == name);
    let bound = |names: &[&str]| names.iter().filter(|n| !is_field(n)).find_map(|n| query.get(*n)).map(text);
    let ranges = match (&list.date_field, bound(&FROM_PARAMS), bound(&TO_PARAMS)) {
        (Some(field), from, to) if from.is_some() || to.is_some() => vec![DateRange { field: field.clone(), from, to }],
        _ => Vec::new(),
    };
    PageRequest { offset, limit, after, filters, ranges, newest_first }
}

/// The date field of list items a date range bounds: the first of [`DATE_FIELDS`] that is a date,
/// else the first date field.
fn date_field(item_fields: &[Field]) -> Option<String> {
    let dates = || item_fields.iter().filter(|f| f.timestamp);
    let preferred = DATE_FIELDS.iter().find_map(|name| dates().find(|f| f.name == *name));
    preferred.or_else(|| dates().next()).map(|f| f.name.clone())
}

fn mix(n: u64) -> u64 {
    // splitmix64: neighbouring counters give unrelated seeds.
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396_and_keeps_the_id() {
        let mut target = json!({"id": 1, "a": 1, "b": {"c": 1, "d": 2}, "e": 5});
        merge_patch(&mut target, &json!({"id": 9, "a": null, "b": {"c": null, "x": 3}, "e": [1]}), "id", &[]);
        assert_eq!(target, json!({"id": 1, "b": {"d": 2, "x": 3}, "e": [1]}));
    }
}
