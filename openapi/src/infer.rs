//! Decides what each operation does to the state, from paths and methods, as REST reads:
//! `POST /things` creates, `GET /things` lists, and `GET|PUT|PATCH|DELETE /things/{id}` read,
//! replace, update and delete, when the API has both the collection's `POST` and the item path.
//!
//! `x-sandgate-resource` on an operation overrides it: `false` keeps the operation stateless;
//! `{action: list, collection: /other/{x}/things, id_field: thing_id}` names the action, the
//! collection (a path template of the same API) and the object's id field. A create may add
//! `set: {status: open, remaining: '{{request.body.amount}}', date: '{{now}}'}`: fields the server
//! sets, as templates (see `template`) over the request; a list may add `order: newest_first`
//! (the default is creation order, oldest first).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::shape::{fields, Field};
use crate::template::text;
use crate::{Api, Operation};

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stores a new object made from the request body.
    Create,
    /// Answers with a stored object, or 404.
    Read,
    /// Replaces an object with the request body (creating it when absent).
    Replace,
    /// Merges the request body into a stored object (RFC 7396), or 404.
    Update,
    /// Removes a stored object, or 404.
    Delete,
    /// Pages through the collection.
    List,
}

impl Action {
    fn parse(text: &str) -> Option<Action> {
        Some(match text {
            "create" => Action::Create,
            "read" => Action::Read,
            "replace" => Action::Replace,
            "update" => Action::Update,
            "delete" => Action::Delete,
            "list" => Action::List,
            _ => return None,
        })
    }
}

/// An operation's part in the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// What it does.
    pub action: Action,
    /// The API's name (versions of one API share their objects).
    pub api: String,
    /// The collection's path template (`/client-id/{client_id}/authorization`).
    pub collection: String,
    /// The path parameter holding the object's id (item operations).
    pub id_param: Option<String>,
    /// The object's field holding its id.
    pub id_field: String,
    /// Server-set fields of a created object, as templates.
    pub set: Option<serde_json::Map<String, Value>>,
    /// A list answers the newest objects first (`order: newest_first`).
    pub newest_first: bool,
}

impl Resource {
    /// The collection's key for one request: the API name and the template with the request's
    /// path parameters filled in.
    pub fn collection_key(&self, path: &serde_json::Map<String, Value>) -> String {
        collection_key(&self.api, &self.collection, path)
    }
}

/// The key of collection `template` of API `api` for one request's path parameters: versions of
/// an API share it, and `{client_id}` in the template keeps clients apart.
pub fn collection_key(api: &str, template: &str, path: &serde_json::Map<String, Value>) -> String {
    let mut key = format!("{api}:");
    for segment in template.split('/').filter(|s| !s.is_empty()) {
        key.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => key.push_str(&path.get(name).map(text).unwrap_or_default()),
            None => key.push_str(segment),
        }
    }
    key
}

/// The resource of every operation of `api` (`None`: stateless). Fails on a malformed override,
/// naming the operation's JSON pointer.
pub fn infer(api: &Api) -> Result<Vec<Option<Resource>>, (String, String)> {
    let name = api.name();
    let paths = Paths::of(api);
    api.operations
        .iter()
        .map(|op| resource(api, &paths, name, op).map_err(|e| (format!("{}/x-sandgate-resource", op.pointer), e)))
        .collect()
}

/// What `infer` asks of every operation's path, read once: looked up per operation instead of
/// scanning all of them (Microsoft Graph's 11,000 operations made that 500 million comparisons).
struct Paths<'a> {
    /// Paths (without a trailing slash) that have a `POST`.
    creates: HashSet<&'a str>,
    /// The parameter of the first item path under each collection (`/pets` → `petId`).
    item_params: HashMap<&'a str, &'a str>,
    /// Per collection, in document order, the operations on it or on its items.
    members: HashMap<&'a str, Vec<usize>>,
    /// `id_field`'s answers, per collection and id parameter.
    id_fields: std::cell::RefCell<HashMap<(String, Option<String>), String>>,
}

impl<'a> Paths<'a> {
    fn of(api: &'a Api) -> Paths<'a> {
        let mut paths = Paths {
            creates: HashSet::new(),
            item_params: HashMap::new(),
            members: HashMap::new(),
            id_fields: Default::default(),
        };
        for (index, op) in api.operations.iter().enumerate() {
            let trimmed = op.path.trim_end_matches('/');
            if op.method == http::Method::POST {
                paths.creates.insert(trimmed);
            }
            let (parent, param) = split_item(&op.path);
            if let Some(param) = param {
                paths.item_params.entry(parent).or_insert(param);
            }
            paths.members.entry(parent).or_default().push(index);
            if trimmed != parent {
                paths.members.entry(trimmed).or_default().push(index);
            }
        }
        paths
    }
}

fn resource(api: &Api, paths: &Paths<'_>, name: &str, op: &Operation) -> Result<Option<Resource>, String> {
    let (parent, id_param) = split_item(&op.path);
    let (action, collection) = match &op.resource {
        Some(Value::Bool(false)) => return Ok(None),
        Some(Value::Object(spec)) => {
            let action = spec
                .get("action")
                .and_then(Value::as_str)
                .and_then(Action::parse)
                .ok_or("action must be one of create, read, replace, update, delete, list")?;
            let collection = match spec.get("collection") {
                Some(Value::String(template)) => template.trim_end_matches('/').to_owned(),
                Some(_) => return Err("collection must be a path template".into()),
                None if id_param.is_some() || action == Action::Create || action == Action::List => parent.to_owned(),
                None => op.path.clone(),
            };
            (action, collection)
        }
        Some(_) => return Err("must be false or an object with an action".into()),
        None => match inferred(paths, op, parent, id_param.is_some()) {
            Some(action) => (action, parent.to_owned()),
            None => return Ok(None),
        },
    };
    let item_action = matches!(action, Action::Read | Action::Replace | Action::Update | Action::Delete);
    let id_param = match (item_action, id_param) {
        (true, Some(param)) => Some(param.to_owned()),
        (true, None) => return Err(format!("{action:?} needs a path ending in {{id}}")),
        (false, _) => None,
    };
    let spec_field = op.resource.as_ref().and_then(|r| r.get("id_field")).and_then(Value::as_str);
    // Every operation of a collection names the id alike: a create or list looks at the item path.
    let item_param = id_param.clone().or_else(|| paths.item_params.get(collection.as_str()).map(|p| (*p).to_owned()));
    let id_field = match spec_field {
        Some(field) => field.to_owned(),
        None => {
            let key = (collection.clone(), item_param.clone());
            let known = paths.id_fields.borrow().get(&key).cloned();
            known.unwrap_or_else(|| {
                let found = id_field(api, paths, &collection, item_param.as_deref());
                paths.id_fields.borrow_mut().insert(key, found.clone());
                found
            })
        }
    };
    let set = match op.resource.as_ref().and_then(|r| r.get("set")) {
        None => None,
        Some(Value::Object(fields)) if action == Action::Create => Some(fields.clone()),
        Some(_) => return Err("set must be an object, and only a create sets fields".into()),
    };
    let newest_first = match op.resource.as_ref().and_then(|r| r.get("order")) {
        None => false,
        Some(Value::String(order)) if action == Action::List && order == "newest_first" => true,
        Some(Value::String(order)) if action == Action::List && order == "oldest_first" => false,
        Some(_) => return Err("order is newest_first or oldest_first, and only a list has one".into()),
    };
    Ok(Some(Resource { action, api: name.to_owned(), collection, id_param, id_field, set, newest_first }))
}

/// `/a/{x}/b/{id}` → (`/a/{x}/b`, Some(`id`)); a path not ending in a parameter is its own parent.
fn split_item(path: &str) -> (&str, Option<&str>) {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, last)) if last.starts_with('{') && last.ends_with('}') => {
            (parent, Some(&last[1..last.len() - 1]))
        }
        _ => (trimmed, None),
    }
}

fn inferred(paths: &Paths<'_>, op: &Operation, collection: &str, is_item: bool) -> Option<Action> {
    if !paths.creates.contains(collection) || !paths.item_params.contains_key(collection) {
        return None;
    }
    Some(match (&op.method, is_item) {
        (&http::Method::POST, false) => Action::Create,
        (&http::Method::GET, false) => Action::List,
        (&http::Method::GET, true) => Action::Read,
        (&http::Method::PUT, true) => Action::Replace,
        (&http::Method::PATCH, true) => Action::Update,
        (&http::Method::DELETE, true) => Action::Delete,
        _ => return None,
    })
}

/// The object field holding the id: the id parameter's own name, else its name without the
/// collection's (`issue_number` → `number`), else `id`, else a field named after the collection
/// (`authorization_id`, `authorizationId`), else the parameter's name.
fn id_field(api: &Api, paths: &Paths<'_>, collection: &str, id_param: Option<&str>) -> String {
    let mut known: Vec<Field> = Vec::new();
    let members = paths.members.get(collection).map(Vec::as_slice).unwrap_or_default();
    for op in members.iter().map(|index| &api.operations[*index]) {
        if let Some(schema) = op.default_success().and_then(|r| r.json()).and_then(|m| m.schema.as_ref()) {
            known.extend(fields(schema, &op.schemas.defs));
        }
    }
    let has = |name: &str| known.iter().any(|f| f.name == name);
    let singular = collection.rsplit('/').next().unwrap_or_default().trim_end_matches('s');
    // `issue_number` in `/issues/{issue_number}` names the field `number`; `petId`, `id`.
    let stem = id_param.and_then(|p| {
        let head = p.get(..singular.len()).filter(|h| h.eq_ignore_ascii_case(singular))?;
        let rest = p[head.len()..].trim_start_matches(['_', '-']);
        let mut chars = rest.chars();
        chars.next().map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
    });
    let candidates = [
        id_param.map(str::to_owned),
        stem,
        Some("id".to_owned()),
        Some(format!("{singular}_id")),
        Some(format!("{singular}Id")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|name| has(name))
        .or_else(|| id_param.map(str::to_owned))
        .unwrap_or_else(|| "id".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_paths_split_into_collection_and_parameter() {
        assert_eq!(split_item("/users/{u}/pets/{petId}"), ("/users/{u}/pets", Some("petId")));
        assert_eq!(split_item("/users/{u}/pets"), ("/users/{u}/pets", None));
    }

    #[test]
    fn collection_key_fills_parameters() {
        let resource = Resource {
            action: Action::List,
            api: "pets".into(),
            collection: "/users/{u}/pets".into(),
            id_param: None,
            id_field: "id".into(),
            set: None,
            newest_first: false,
        };
        let path = serde_json::json!({"u": 7}).as_object().cloned().unwrap_or_default();
        assert_eq!(resource.collection_key(&path), "pets:/users/7/pets");
    }
}
