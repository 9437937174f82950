//! Sequences of any length: an operation whose path names objects gets them made first, by the
//! operations whose answers provide them (explicit `links`, or links inferred by name), each of
//! those in turn getting what its own path names, up to `MAX_DEPTH` operations deep. Only chains
//! of two operations or more before the tested one are made here: one-step sequences are
//! `sequences::links` and `sequences::inferred`.

use serde_json::Value;

use sandgate_openapi::{Api, ParamLocation, StatusKey};

use super::encode::{encode, Draft};
use super::sequences::{answered_fields, first_valid, inferred_pointer};
use super::values::OperationValues;
use super::{Auth, Binding, Case, Expect, Step};

/// Most operations a chain runs before the tested one.
const MAX_DEPTH: usize = 4;

/// An operation whose answer holds a value for another's path parameter.
#[derive(Debug, Clone)]
struct Provider {
    /// The operation that answers it.
    source: usize,
    /// Where in its answer's body (a JSON pointer).
    pointer: String,
    /// How sure the link is: 0 an explicit link, 1 the id of the object the source made, 2 a
    /// field of the same name in its answer.
    rank: u8,
}

/// An operation of a chain with the values bound into its path.
struct Planned {
    op: usize,
    draft: Draft,
    bound: Vec<(usize, Binding)>,
}

/// What chain-building reads.
struct Context<'a> {
    api: &'a Api,
    values: &'a [Option<OperationValues>],
    /// `providers[op][param]`: who can give `op.parameters[param]` a value, explicit links first.
    providers: &'a [Vec<Vec<Provider>>],
    seed: u64,
}

/// The chains of `api` that end in a selected operation.
pub fn chains(
    api_index: usize,
    api: &Api,
    values: &[Option<OperationValues>],
    selected: &dyn Fn(usize) -> bool,
    seed: u64,
) -> Vec<(usize, Case)> {
    let providers = providers(api);
    let mut out = Vec::new();
    for (target, op) in api.operations.iter().enumerate() {
        let Some(target_values) = values[target].as_ref().filter(|_| selected(target)) else { continue };
        // Each chain makes its own objects: names that must be unique must not collide.
        let cx = Context { api, values, providers: &providers, seed: seed ^ crate::plan::hash(&op.label()) };
        let mut steps = Vec::new();
        let bound = satisfy(&cx, target, MAX_DEPTH, &mut vec![target], &mut steps);
        if steps.len() < 2 || bound.is_empty() {
            continue;
        }
        let draft = target_values.draft(op, seed ^ crate::plan::hash(&op.label()), false);
        let route: Vec<String> = steps.iter().map(|s| api.operations[s.op].label()).collect();
        let mut encoded: Vec<Step> =
            steps.into_iter().map(|s| step(api_index, api, s.op, s.draft, s.bound, Expect::Setup)).collect();
        encoded.push(step(api_index, api, target, draft, bound, Expect::Valid));
        let title = format!("chain {} → {}", route.join(" → "), op.label());
        out.push((target, Case { title, steps: encoded }));
    }
    out
}

/// Binds each path parameter of `op` to the answer of a provider, adding the provider (and what
/// it needs, `depth` deep at most) to `steps` unless an earlier step is already that provider.
/// `waiting` are the operations whose needs are being met, never their own providers.
fn satisfy(
    cx: &Context<'_>,
    op: usize,
    depth: usize,
    waiting: &mut Vec<usize>,
    steps: &mut Vec<Planned>,
) -> Vec<(usize, Binding)> {
    let mut out = Vec::new();
    for (index, param) in cx.api.operations[op].parameters.iter().enumerate() {
        if param.location != ParamLocation::Path {
            continue;
        }
        for provider in &cx.providers[op][index] {
            if waiting.contains(&provider.source) {
                continue;
            }
            let step = match steps.iter().position(|s| s.op == provider.source) {
                Some(step) => step,
                None => {
                    let before = steps.len();
                    let source = &cx.api.operations[provider.source];
                    let made = cx.values[provider.source].as_ref().and_then(|values| {
                        first_valid(cx.api, provider.source, values, cx.seed ^ crate::plan::hash(&source.label()))
                    });
                    let Some(draft) = made.filter(|_| depth > 0) else { continue };
                    waiting.push(provider.source);
                    let bound = satisfy(cx, provider.source, depth - 1, waiting, steps);
                    waiting.pop();
                    // A provider whose own path could not be bound would answer 404: try the next.
                    if bound.len() < path_params(&cx.api.operations[provider.source]) {
                        steps.truncate(before);
                        continue;
                    }
                    steps.push(Planned { op: provider.source, draft, bound });
                    steps.len() - 1
                }
            };
            let marker = format!("sandgate-bound-{step}-{index}");
            out.push((index, Binding { marker, step, expression: format!("$response.body#{}", provider.pointer) }));
            break;
        }
    }
    out
}

/// How many path parameters an operation has.
fn path_params(op: &sandgate_openapi::Operation) -> usize {
    op.parameters.iter().filter(|p| p.location == ParamLocation::Path).count()
}

/// A step of a chain: its draft with the bound path parameters replaced by their markers.
fn step(
    api_index: usize,
    api: &Api,
    op: usize,
    mut draft: Draft,
    bound: Vec<(usize, Binding)>,
    expect: Expect,
) -> Step {
    for (index, binding) in &bound {
        draft.params.retain(|(i, _)| i != index);
        draft.params.push((*index, Value::String(binding.marker.clone())));
    }
    let operation = &api.operations[op];
    Step {
        operation: operation.label(),
        api: api_index,
        op,
        request: encode(api, operation, &draft).request,
        bindings: bound.into_iter().map(|(_, b)| b).collect(),
        expect,
        auth: Auth::Default,
    }
}

/// Who can give each path parameter of each operation a value: the sources of explicit links
/// that name it with `$response.body#…`, then `POST`s whose answer provides it by name.
fn providers(api: &Api) -> Vec<Vec<Vec<Provider>>> {
    let mut out: Vec<Vec<Vec<Provider>>> =
        api.operations.iter().map(|op| vec![Vec::new(); op.parameters.len()]).collect();
    let path_param = |target: usize, name: &str| {
        let name = name.strip_prefix("path.").unwrap_or(name);
        api.operations[target].parameters.iter().position(|p| p.location == ParamLocation::Path && p.name == name)
    };
    for (source, op) in api.operations.iter().enumerate() {
        for response in op.responses.iter().filter(|r| matches!(r.status, StatusKey::Code(200..=299))) {
            for link in &response.links {
                let target = api.operations.iter().position(|o| o.operation_id.as_deref() == Some(&link.operation_id));
                let Some(target) = target.filter(|t| *t != source) else { continue };
                for (name, expression) in &link.parameters {
                    let pointer = expression.as_str().and_then(|e| e.strip_prefix("$response.body#"));
                    if let (Some(index), Some(pointer)) = (path_param(target, name), pointer) {
                        out[target][index].push(Provider { source, pointer: pointer.to_owned(), rank: 0 });
                    }
                }
            }
        }
    }
    for (source, op) in api.operations.iter().enumerate().filter(|(_, op)| op.method == http::Method::POST) {
        let Some(fields) = answered_fields(op) else { continue };
        for (target, target_op) in api.operations.iter().enumerate().filter(|(t, _)| *t != source) {
            for (index, param) in target_op.parameters.iter().enumerate() {
                if param.location != ParamLocation::Path || out[target][index].iter().any(|p| p.source == source) {
                    continue;
                }
                if let Some(pointer) = inferred_pointer(op, &fields, &param.name) {
                    let rank = if pointer.ends_with("/id") { 1 } else { 2 };
                    out[target][index].push(Provider { source, pointer, rank });
                }
            }
        }
    }
    // The provider that needs least comes first, the surest link among equals: short chains of
    // operations that make the object, not a walk through every operation that names its id.
    for providers in out.iter_mut().flatten() {
        providers.sort_by_key(|p| (path_params(&api.operations[p.source]), p.rank));
    }
    out
}
