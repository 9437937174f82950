//! Matches a request path and method to an operation, using tables compiled at start-up.
//!
//! Sits between loading (`openapi`) and answering (`lib.rs`). Paths are the API's base path plus
//! the operation's template; at each segment a literal beats a template (`/captures` wins over
//! `/{id}`), so routes are sorted once and the first match wins.

use std::collections::HashMap;

use http::Method;

use crate::Api;

/// Index of an operation: `apis[api].operations[op]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperationId {
    /// Index into the emulator's APIs.
    pub api: usize,
    /// Index into that API's operations.
    pub op: usize,
}

/// The outcome of matching one request.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch<'r, 'p> {
    /// The operation, with the path parameters as `(name, raw value)`.
    Found(OperationId, Vec<(&'r str, &'p str)>),
    /// The path exists, but not for this method; these methods would match.
    MethodNotAllowed(Vec<Method>),
    /// No path template matches.
    NotFound,
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug)]
struct Route {
    id: OperationId,
    method: Method,
    segments: Vec<Segment>,
}

/// Longest path (in segments) the router matches; longer paths match nothing.
const MAX_SEGMENTS: usize = 32;

/// The compiled route table: routes grouped by their number of segments, so a request is only
/// compared with templates of its own length.
#[derive(Debug, Default)]
pub struct Router {
    /// `by_len[n]`: routes of `n` segments, literal-first order.
    by_len: Vec<Vec<Route>>,
    count: usize,
    /// Operations that share a method and path and are told apart by the fragment of their path
    /// key (`/#X-Amz-Target=Service.CreateThing`, `/tags/{arn}#tagKeys`): for each operation of
    /// such a group, the group.
    alternatives: HashMap<OperationId, Alternatives>,
}

/// Operations that share a method and path: those told apart by their key's fragment, and the
/// one whose key has none, if any.
#[derive(Debug, Clone)]
struct Alternatives {
    told_apart: Vec<(OperationId, Fragment)>,
    bare: Option<OperationId>,
}

/// An operation of a group that shares a method and path, with its key's fragment if any.
type Member = (OperationId, Option<Fragment>);

/// What a path key's fragment asks of a request: a header or query parameter `name`, equal to
/// `value` when one is given.
#[derive(Debug, Clone)]
struct Fragment {
    name: String,
    value: Option<String>,
}

impl Router {
    /// Compiles the routes of every operation of `apis`.
    pub fn new(apis: &[Api]) -> Router {
        let mut routes = Vec::new();
        let mut groups: HashMap<(usize, Method, &str), Vec<Member>> = HashMap::new();
        for (api_index, api) in apis.iter().enumerate() {
            for (op_index, op) in api.operations.iter().enumerate() {
                let id = OperationId { api: api_index, op: op_index };
                let (stripped, fragment) = match op.path.split_once('#') {
                    Some((path, fragment)) => (path, Some(fragment)),
                    None => (op.path.as_str(), None),
                };
                let fragment = fragment.filter(|f| !f.is_empty()).map(|f| match f.split_once('=') {
                    Some((name, value)) => Fragment { name: name.to_owned(), value: Some(value.to_owned()) },
                    None => Fragment { name: f.to_owned(), value: None },
                });
                groups.entry((api_index, op.method.clone(), stripped)).or_default().push((id, fragment));
                // A path key may carry a fragment or query after the path (`/tags/{arn}#tagKeys`,
                // AWS's way to tell operations apart): no request path has one, so it is left out.
                let path = op.path.split(['#', '?']).next().unwrap_or_default();
                let full = format!("{}{path}", api.base_path);
                let segments = split(&full)
                    .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Literal(s.to_owned()),
                    })
                    .collect();
                routes.push(Route { id, method: op.method.clone(), segments });
            }
        }
        // Literal segments sort before templates, position by position.
        routes.sort_by_cached_key(|r| r.segments.iter().map(|s| matches!(s, Segment::Param(_))).collect::<Vec<_>>());
        let count = routes.len();
        let mut by_len: Vec<Vec<Route>> = Vec::new();
        for route in routes {
            let len = route.segments.len();
            if by_len.len() <= len {
                by_len.resize_with(len + 1, Vec::new);
            }
            by_len[len].push(route);
        }
        let mut alternatives = HashMap::new();
        for members in groups.into_values().filter(|m| m.len() > 1 && m.iter().any(|(_, f)| f.is_some())) {
            let told_apart = members.iter().filter_map(|(id, f)| f.clone().map(|f| (*id, f))).collect();
            let bare = members.iter().find(|(_, f)| f.is_none()).map(|(id, _)| *id);
            let group = Alternatives { told_apart, bare };
            for (id, _) in &members {
                alternatives.insert(*id, group.clone());
            }
        }
        Router { by_len, count, alternatives }
    }

    /// The operation a request is for when several share its method and path and their path keys'
    /// fragments tell them apart: the first whose header (or query parameter) the fragment names
    /// is there, with the value it names if any; else the one whose key has no fragment. `id`
    /// when it has no such group; `None` when the request names none of the group's operations
    /// and every one of them needs naming (AWS's `POST /` without a known `X-Amz-Target`).
    pub fn disambiguate(
        &self,
        id: OperationId,
        header: impl Fn(&str) -> Option<String>,
        query: Option<&str>,
    ) -> Option<OperationId> {
        let Some(group) = self.alternatives.get(&id) else { return Some(id) };
        let query_value = |name: &str| {
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let fits = |fragment: &Fragment| {
            let sent = header(&fragment.name.to_ascii_lowercase()).or_else(|| query_value(&fragment.name));
            match (&fragment.value, sent) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(wanted), Some(sent)) => *wanted == sent,
            }
        };
        group.told_apart.iter().find(|(_, fragment)| fits(fragment)).map(|(member, _)| *member).or(group.bare)
    }

    /// Number of routes (for start-up logs).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Matches `path` (no query string) and `method`.
    pub fn find<'r, 'p>(&'r self, method: &Method, path: &'p str) -> RouteMatch<'r, 'p> {
        let mut buffer = [""; MAX_SEGMENTS];
        let mut len = 0;
        for part in split(path) {
            if len == MAX_SEGMENTS {
                return RouteMatch::NotFound;
            }
            buffer[len] = part;
            len += 1;
        }
        let parts = &buffer[..len];
        let mut allowed = Vec::new();
        for route in self.by_len.get(len).into_iter().flatten() {
            let fits = route.segments.iter().zip(parts).all(|(segment, part)| match segment {
                Segment::Literal(text) => text == part,
                Segment::Param(_) => !part.is_empty(),
            });
            if !fits {
                continue;
            }
            if route.method == method {
                let params = route
                    .segments
                    .iter()
                    .zip(parts)
                    .filter_map(|(segment, part)| match segment {
                        Segment::Param(name) => Some((name.as_str(), *part)),
                        Segment::Literal(_) => None,
                    })
                    .collect();
                return RouteMatch::Found(route.id, params);
            }
            if !allowed.contains(&route.method) {
                allowed.push(route.method.clone());
            }
        }
        if allowed.is_empty() {
            RouteMatch::NotFound
        } else {
            RouteMatch::MethodNotAllowed(allowed)
        }
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/').split('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fragment_or_query_in_a_path_key_is_not_part_of_the_route() {
        let doc = serde_json::json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {
                "/tags/{arn}": {"get": {"responses": {"200": {"description": "ok"}}}},
                "/tags/{arn}#tagKeys": {"delete": {"responses": {"204": {"description": "gone"}}}},
                "/?Action=List": {"post": {"responses": {"200": {"description": "ok"}}}}}});
        let api = crate::model::build_api(std::path::Path::new("t.yaml"), &doc).expect("builds");
        let router = Router::new(&[api]);
        assert!(
            matches!(router.find(&Method::DELETE, "/tags/arn%3Ax"), RouteMatch::Found(_, params) if params == [("arn", "arn%3Ax")])
        );
        assert!(matches!(router.find(&Method::GET, "/tags/a"), RouteMatch::Found(..)));
        assert!(matches!(router.find(&Method::POST, "/"), RouteMatch::Found(..)));
    }

    #[test]
    fn operations_on_one_path_are_told_apart_by_their_fragment() {
        let ok = serde_json::json!({"responses": {"200": {"description": "ok"}}});
        let doc = serde_json::json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {
                "/#X-Amz-Target=Svc.Create": {"post": ok.clone()},
                "/#X-Amz-Target=Svc.Delete": {"post": ok.clone()},
                "/tags/{arn}": {"delete": ok.clone()},
                "/tags/{arn}#tagKeys": {"delete": ok}}});
        let api = crate::model::build_api(std::path::Path::new("t.yaml"), &doc).expect("builds");
        let label = |id: OperationId| api.operations[id.op].path.clone();
        let router = Router::new(std::slice::from_ref(&api));
        let RouteMatch::Found(first, _) = router.find(&Method::POST, "/") else { panic!("routes") };
        let target = |value: &'static str| move |name: &str| (name == "x-amz-target").then(|| value.to_owned());
        let named = |id, header, query| router.disambiguate(id, header, query).map(label);
        assert_eq!(named(first, target("Svc.Delete"), None).as_deref(), Some("/#X-Amz-Target=Svc.Delete"));
        assert_eq!(named(first, target("Svc.Create"), None).as_deref(), Some("/#X-Amz-Target=Svc.Create"));
        assert_eq!(
            router.disambiguate(first, target("Svc.Other"), None),
            None,
            "nothing fits and every one needs naming"
        );
        let RouteMatch::Found(tags, _) = router.find(&Method::DELETE, "/tags/a") else { panic!("routes") };
        let none = |_: &str| None;
        assert_eq!(
            router.disambiguate(tags, none, Some("tagKeys=a")).map(label).as_deref(),
            Some("/tags/{arn}#tagKeys")
        );
        assert_eq!(
            router.disambiguate(tags, none, None).map(label).as_deref(),
            Some("/tags/{arn}"),
            "the key without one"
        );
    }
}
