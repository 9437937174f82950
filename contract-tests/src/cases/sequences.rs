//! Stateful sequences: create → read / update / delete (→ read again), and a whole object's
//! lifecycle (create → list → read → update → read → delete → read), from what the emulator's
//! state inference finds in the paths, and OpenAPI `links`, so that ids flow from one response
//! into the next request.

use serde_json::Value;

use sandgate_openapi::infer::{Action, Resource};
use sandgate_openapi::{Api, ParamLocation, StatusKey};

use super::encode::{encode, Draft};
use super::values::OperationValues;
use super::{Auth, Binding, Case, Expect, Step};

/// The CRUD sequences of one API whose tested step is a selected operation.
pub fn crud(
    api_index: usize,
    api: &Api,
    resources: &[Option<Resource>],
    values: &[Option<OperationValues>],
    selected: &dyn Fn(usize) -> bool,
    seed: u64,
) -> Vec<(usize, Case)> {
    let mut out = Vec::new();
    for (create, resource, create_values) in creates(resources, values) {
        let Some(first_draft) = first_valid(api, create, create_values, seed) else { continue };
        let same = |r: &Option<Resource>| {
            r.as_ref().filter(|r| r.collection == resource.collection && r.id_param.is_some()).cloned()
        };
        let read = resources.iter().position(|r| same(r).is_some_and(|r| r.action == Action::Read));
        for (index, item) in resources.iter().enumerate() {
            let Some(item) = same(item) else { continue };
            let Some(item_values) = values[index].as_ref() else { continue };
            // Each case creates its own object: fields that must be unique must not collide.
            let item_seed = seed ^ crate::plan::hash(&api.operations[index].label());
            let create_draft =
                first_valid(api, create, create_values, item_seed).unwrap_or_else(|| first_draft.clone());
            let id = Binding {
                marker: "sandgate-bound-0-id".to_owned(),
                step: 0,
                expression: format!("$response.body#/{}", item.id_field),
            };
            let setup = setup_step(api_index, api, create, &create_draft);
            let created = (create, &create_draft);
            let step = |op: usize, expect: Expect, vals: &OperationValues| {
                bound_step(api_index, api, op, vals, created, &item, &id, expect, seed)
            };
            match item.action {
                Action::Read if selected(index) => {
                    out.push((
                        index,
                        case("read after create", vec![setup, step(index, Expect::Created, item_values)]),
                    ));
                }
                Action::Update | Action::Replace if selected(index) => {
                    out.push((
                        index,
                        case("update after create", vec![setup, step(index, Expect::Valid, item_values)]),
                    ));
                }
                Action::Delete => {
                    let after = read.and_then(|r| values[r].as_ref().map(|v| (r, v)));
                    if let Some((read, read_values)) = after.filter(|(r, _)| selected(*r) || selected(index)) {
                        // The delete must succeed for "still there" to mean anything.
                        let steps = vec![
                            setup,
                            step(index, Expect::Setup, item_values),
                            step(read, Expect::Deleted, read_values),
                        ];
                        out.push((read, case("read after delete", steps)));
                    } else if selected(index) {
                        out.push((
                            index,
                            case("delete after create", vec![setup, step(index, Expect::Valid, item_values)]),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// One long sequence per collection, as a client lives with an object: create → list → read →
/// update → read → delete → read. The list then holds at least the created object, so a list
/// that drops one of its required fields is found whatever else ran before; the second read
/// shows what the update left. Made where the collection has a read and at least two of list,
/// update and delete, and any of its operations is selected; reported on the create.
pub fn lifecycle(
    api_index: usize,
    api: &Api,
    resources: &[Option<Resource>],
    values: &[Option<OperationValues>],
    selected: &dyn Fn(usize) -> bool,
    seed: u64,
) -> Vec<(usize, Case)> {
    let mut out = Vec::new();
    for (create, resource, create_values) in creates(resources, values) {
        let member = |action: Action, item: bool| {
            resources.iter().enumerate().find_map(|(index, r)| {
                let r = r.as_ref().filter(|r| {
                    r.collection == resource.collection && r.action == action && r.id_param.is_some() == item
                })?;
                Some((index, r.clone(), values[index].as_ref()?))
            })
        };
        let Some(read) = member(Action::Read, true) else { continue };
        let list = member(Action::List, false);
        let update = member(Action::Update, true).or_else(|| member(Action::Replace, true));
        let delete = member(Action::Delete, true);
        let present = [&list, &update, &delete].iter().filter(|m| m.is_some()).count();
        let indexes = [Some(create), Some(read.0), list.as_ref().map(|m| m.0), update.as_ref().map(|m| m.0)];
        let touches_selected = indexes.into_iter().chain([delete.as_ref().map(|m| m.0)]).flatten().any(selected);
        if present < 2 || !touches_selected {
            continue;
        }
        let lifecycle_seed = seed ^ crate::plan::hash("lifecycle") ^ crate::plan::hash(&api.operations[create].label());
        let Some(draft) = first_valid(api, create, create_values, lifecycle_seed) else { continue };
        let id = Binding {
            marker: "sandgate-bound-0-id".to_owned(),
            step: 0,
            expression: format!("$response.body#/{}", read.1.id_field),
        };
        let created = (create, &draft);
        let step = |(op, item, vals): &(usize, Resource, &OperationValues), expect: Expect| {
            bound_step(api_index, api, *op, vals, created, item, &id, expect, lifecycle_seed)
        };
        let mut steps = vec![setup_step(api_index, api, create, &draft)];
        if let Some(list) = &list {
            steps.push(step(list, Expect::Valid));
        }
        steps.push(step(&read, Expect::Created));
        if let Some(update) = &update {
            steps.push(step(update, Expect::Valid));
            steps.push(step(&read, Expect::Created));
        }
        if let Some(delete) = &delete {
            // The delete must succeed for "gone" to mean anything.
            steps.push(step(delete, Expect::Setup));
            steps.push(step(&read, Expect::Deleted));
        }
        out.push((create, case(&format!("lifecycle of {}", resource.collection), steps)));
    }
    out
}

/// The sequences OpenAPI `links` describe: the source operation, then the linked one with its
/// parameters taken from the source's answer.
pub fn links(
    api_index: usize,
    api: &Api,
    values: &[Option<OperationValues>],
    selected: &dyn Fn(usize) -> bool,
    seed: u64,
) -> Vec<(usize, Case)> {
    let mut out = Vec::new();
    for (source, op) in api.operations.iter().enumerate() {
        let Some(source_values) = values[source].as_ref() else { continue };
        for response in op.responses.iter().filter(|r| matches!(r.status, StatusKey::Code(200..=299))) {
            for link in &response.links {
                let target = api.operations.iter().position(|o| o.operation_id.as_deref() == Some(&link.operation_id));
                let Some(target) = target.filter(|t| selected(*t)) else { continue };
                // Each link creates its own source object: a name unique per object (partners,
                // applications) must not collide between the links of one source.
                let link_seed = seed ^ crate::plan::hash(&link.name);
                let (Some(target_values), Some(source_draft)) =
                    (values[target].as_ref(), first_valid(api, source, source_values, link_seed))
                else {
                    continue;
                };
                let target_op = &api.operations[target];
                let mut draft = target_values.draft(target_op, link_seed, false);
                let mut bindings = Vec::new();
                for (name, expression) in &link.parameters {
                    // `path.id` / `query.id` name the location; a bare name is any location.
                    let (wanted, name) = match name.split_once('.') {
                        Some(("path", n)) => (Some(ParamLocation::Path), n),
                        Some(("query", n)) => (Some(ParamLocation::Query), n),
                        Some(("header", n)) => (Some(ParamLocation::Header), n),
                        Some(("cookie", n)) => (Some(ParamLocation::Cookie), n),
                        _ => (None, name.as_str()),
                    };
                    let Some(index) = target_op
                        .parameters
                        .iter()
                        .position(|p| p.name == name && wanted.is_none_or(|w| w == p.location))
                    else {
                        continue;
                    };
                    let value = match expression.as_str() {
                        Some(e) if e.starts_with("$response.") => {
                            let marker = format!("sandgate-bound-0-{}", bindings.len());
                            bindings.push(Binding { marker: marker.clone(), step: 0, expression: e.to_owned() });
                            Value::String(marker)
                        }
                        Some(e) if e.starts_with("$request.path.") => {
                            let wanted = &e["$request.path.".len()..];
                            let found = source_draft
                                .params
                                .iter()
                                .find(|(i, _)| op.parameters.get(*i).is_some_and(|p| p.name == wanted));
                            match found {
                                Some((_, v)) => v.clone(),
                                None => continue,
                            }
                        }
                        // Other runtime expressions (`$request.query.x`, `$url`…) are not followed:
                        // the parameter keeps its generated value rather than the expression's text.
                        Some(e) if e.starts_with('$') => continue,
                        _ => expression.clone(),
                    };
                    draft.params.retain(|(i, _)| *i != index);
                    draft.params.push((index, value));
                }
                let setup = setup_step(api_index, api, source, &source_draft);
                let request = encode(api, target_op, &draft).request;
                let linked = Step {
                    operation: target_op.label(),
                    api: api_index,
                    op: target,
                    request,
                    bindings,
                    expect: Expect::Valid,
                    auth: Auth::Default,
                };
                out.push((target, case(&format!("link {} from {}", link.name, op.label()), vec![setup, linked])));
            }
        }
    }
    out
}

/// The links a spec leaves unsaid, inferred as Schemathesis does: a `POST` whose answer
/// describes the object it made (`POST /partners/{partner_id}/applications` answering `id`)
/// feeds each operation with a path parameter named for it (`application_id` from `id`) or for
/// one of its answer's fields (`client_id` from `client_id`). Explicit `links` between the two
/// and the object's own item path (the CRUD sequences' business) are left out.
pub fn inferred(
    api_index: usize,
    api: &Api,
    values: &[Option<OperationValues>],
    selected: &dyn Fn(usize) -> bool,
    seed: u64,
) -> Vec<(usize, Case)> {
    let mut out = Vec::new();
    for (source, op) in api.operations.iter().enumerate() {
        let Some(source_values) = values[source].as_ref().filter(|_| op.method == http::Method::POST) else {
            continue;
        };
        let Some(fields) = answered_fields(op) else { continue };
        for (target, target_op) in api.operations.iter().enumerate() {
            let Some(target_values) = values[target].as_ref().filter(|_| selected(target) && target != source) else {
                continue;
            };
            let explicit = op
                .responses
                .iter()
                .flat_map(|r| &r.links)
                .any(|l| target_op.operation_id.as_ref() == Some(&l.operation_id));
            if explicit || target_op.path.starts_with(&format!("{}/{{", op.path)) {
                continue;
            }
            let field_for = |name: &str| inferred_pointer(op, &fields, name);
            let link_seed = seed ^ crate::plan::hash(&op.label()) ^ crate::plan::hash(&target_op.label());
            let Some(source_draft) = first_valid(api, source, source_values, link_seed) else { continue };
            let mut draft = target_values.draft(target_op, link_seed, false);
            let mut bindings = Vec::new();
            for (index, param) in target_op.parameters.iter().enumerate() {
                if param.location != ParamLocation::Path {
                    continue;
                }
                let value = match field_for(&param.name) {
                    Some(field) => {
                        let marker = format!("sandgate-bound-0-{}", bindings.len());
                        bindings.push(Binding {
                            marker: marker.clone(),
                            step: 0,
                            expression: format!("$response.body#{field}"),
                        });
                        Value::String(marker)
                    }
                    // A parent the source was sent to is the target's parent too.
                    None => match source_draft
                        .params
                        .iter()
                        .find(|(i, _)| op.parameters.get(*i).is_some_and(|p| p.name == param.name))
                    {
                        Some((_, value)) => value.clone(),
                        None => continue,
                    },
                };
                draft.params.retain(|(i, _)| *i != index);
                draft.params.push((index, value));
            }
            if bindings.is_empty() {
                continue;
            }
            let linked = Step {
                operation: target_op.label(),
                api: api_index,
                op: target,
                request: encode(api, target_op, &draft).request,
                bindings,
                expect: Expect::Valid,
                auth: Auth::Default,
            };
            let steps = vec![setup_step(api_index, api, source, &source_draft), linked];
            out.push((target, case(&format!("inferred link from {}", op.label()), steps)));
        }
    }
    out
}

/// Where the answer of `source` (a `POST`, documenting `fields`) holds a value for a path
/// parameter `name`: its own id for a parameter named for the object it made (`application_id`
/// from `/id` or `/application/id` of `POST …/applications`), else a field of that name, unless
/// the field only echoes one of the source's own path parameters.
pub(super) fn inferred_pointer(source: &sandgate_openapi::Operation, fields: &[String], name: &str) -> Option<String> {
    let stem = source.path.rsplit('/').find(|s| !s.starts_with('{')).map(singular).unwrap_or_default();
    let echoes = source.parameters.iter().any(|p| p.location == ParamLocation::Path && p.name == name);
    let named_for_object = !stem.is_empty() && (name == format!("{stem}_id") || name == format!("{stem}Id"));
    let own_id = ["/id".to_owned(), format!("/{stem}/id")];
    let by_id = fields.iter().find(|f| named_for_object && own_id.contains(f));
    let by_name = fields.iter().find(|f| f.rsplit('/').next() == Some(name) && !echoes);
    by_id.or(by_name).cloned()
}

/// The fields a `POST`'s success answer documents, as JSON pointers: its top-level fields, and
/// those of the objects it holds (`/application/id` where the object made comes wrapped).
pub(super) fn answered_fields(op: &sandgate_openapi::Operation) -> Option<Vec<String>> {
    let response = op.responses.iter().find(|r| matches!(r.status, StatusKey::Code(200..=201)))?;
    let media = response.content.iter().find(|m| m.media_type.contains("json"))?;
    let defs = &op.schemas.defs;
    let properties = |schema: &Value| {
        let schema = sandgate_openapi::shape::deref(schema, defs).unwrap_or(schema);
        schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default()
    };
    let mut out = Vec::new();
    for (name, property) in properties(media.schema.as_ref()?) {
        out.push(format!("/{name}"));
        out.extend(properties(&property).keys().map(|inner| format!("/{name}/{inner}")));
    }
    (!out.is_empty()).then_some(out)
}

/// `applications` → `application`, `entities` → `entity`, `addresses` → `address`.
fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = word.strip_suffix("sses").or_else(|| word.strip_suffix("xes")) {
        format!("{stem}{}", &word[stem.len()..word.len() - 2])
    } else {
        word.strip_suffix('s').unwrap_or(word).to_owned()
    }
}

/// The operations that create objects, with their resource and generators.
fn creates<'a>(
    resources: &'a [Option<Resource>],
    values: &'a [Option<OperationValues>],
) -> impl Iterator<Item = (usize, &'a Resource, &'a OperationValues)> {
    resources.iter().enumerate().filter_map(|(create, resource)| {
        let resource = resource.as_ref().filter(|r| r.action == Action::Create)?;
        Some((create, resource, values[create].as_ref()?))
    })
}

fn case(title: &str, steps: Vec<Step>) -> Case {
    Case { title: title.to_owned(), steps }
}

/// The first of a few drafts that passes validation.
pub(super) fn first_valid(api: &Api, op: usize, values: &OperationValues, seed: u64) -> Option<Draft> {
    let operation = &api.operations[op];
    // Every parameter first (the fullest object); then only what is required, which a schema
    // with many constraints admits more often.
    (0..16u64)
        .map(|i| values.draft(operation, seed.wrapping_add(i), i < 8))
        .find(|d| values.valid(api, operation, d).is_some())
}

fn setup_step(api_index: usize, api: &Api, op: usize, draft: &Draft) -> Step {
    let operation = &api.operations[op];
    Step {
        operation: operation.label(),
        api: api_index,
        op,
        request: encode(api, operation, draft).request,
        bindings: Vec::new(),
        expect: Expect::Setup,
        auth: Auth::Default,
    }
}

/// A step on the created item: its id from the create's answer, its parent path parameters as
/// the create sent them.
#[allow(clippy::too_many_arguments)]
fn bound_step(
    api_index: usize,
    api: &Api,
    op: usize,
    values: &OperationValues,
    (create, create_draft): (usize, &Draft),
    item: &Resource,
    id: &Binding,
    expect: Expect,
    seed: u64,
) -> Step {
    let operation = &api.operations[op];
    let create_op = &api.operations[create];
    let mut draft = values.draft(operation, seed, false);
    for (index, param) in operation.parameters.iter().enumerate() {
        if param.location != ParamLocation::Path {
            continue;
        }
        let value = if Some(&param.name) == item.id_param.as_ref() {
            Some(Value::String(id.marker.clone()))
        } else {
            let created = create_draft
                .params
                .iter()
                .find(|(i, _)| create_op.parameters.get(*i).is_some_and(|p| p.name == param.name));
            created.map(|(_, v)| v.clone())
        };
        if let Some(value) = value {
            draft.params.retain(|(i, _)| *i != index);
            draft.params.push((index, value));
        }
    }
    // A read or delete sends no body; an update or replace sends a fresh valid one.
    if matches!(item.action, Action::Read | Action::Delete) {
        draft.body = None;
    }
    Step {
        operation: operation.label(),
        api: api_index,
        op,
        request: encode(api, operation, &draft).request,
        bindings: vec![id.clone()],
        expect,
        auth: Auth::Default,
    }
}
