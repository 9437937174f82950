//! Scopes as bit sets: every scope name any spec knows (its token endpoint's `scope` values and
//! its operations' `x-sandgate-scopes`) gets one bit at start-up, so the per-request check is one
//! AND. Which scopes a token may carry is read from the spec, never named in code.

use http::Method;
use sandgate_openapi::{shape, Api, Operation};

/// A set of scopes (up to 64 distinct names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeSet(pub u64);

impl ScopeSet {
    /// Every scope.
    pub const ALL: ScopeSet = ScopeSet(u64::MAX);

    /// Whether the two sets share a scope.
    pub fn intersects(self, other: ScopeSet) -> bool {
        self.0 & other.0 != 0
    }
}

/// The scope names in use, in bit order.
#[derive(Debug, Clone, Default)]
pub struct Scopes {
    names: Vec<String>,
}

impl Scopes {
    /// Every token scope the specs' token endpoints offer, plus every name in their
    /// `x-sandgate-scopes`.
    pub fn from_apis(apis: &[Api]) -> Scopes {
        let mut names: Vec<String> = Vec::new();
        let token_scopes = apis.iter().flat_map(|api| TokenScopes::of(api).names);
        let operation_scopes = apis.iter().flat_map(|a| &a.operations).flat_map(|o| o.scopes.iter().flatten()).cloned();
        for name in token_scopes.chain(operation_scopes) {
            if !names.contains(&name) && names.len() < 64 {
                names.push(name);
            }
        }
        Scopes { names }
    }

    /// The set of `list` (unknown names are ignored: they can never be granted).
    pub fn set_of<S: AsRef<str>>(&self, list: &[S]) -> ScopeSet {
        ScopeSet(
            list.iter()
                .filter_map(|s| self.names.iter().position(|n| n == s.as_ref()))
                .fold(0, |acc, bit| acc | 1 << bit),
        )
    }

    /// The set of a space-separated scope string (a token's `scope`).
    pub fn parse(&self, text: &str) -> ScopeSet {
        self.set_of(&text.split_ascii_whitespace().collect::<Vec<_>>())
    }
}

/// The scopes a token of one API version may carry and the one it gets when the request names
/// none: the `enum` and `default` of the `scope` field of its token endpoint's request body
/// (`POST …/oauth/token`). An API whose spec names no scopes mints tokens without any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenScopes {
    /// Scopes a client may ask for.
    pub names: Vec<String>,
    /// The scope of a request that names none.
    pub default: Option<String>,
}

/// The operation `api` documents for its token endpoint, `POST /oauth/token` under its base path:
/// the gateway answers that path itself (see `RouteTable::select`).
pub fn token_operation(api: &Api) -> Option<&Operation> {
    api.operations.iter().find(|op| op.method == Method::POST && op.path.ends_with("/oauth/token"))
}

impl TokenScopes {
    /// The token scopes `api` documents.
    pub fn of(api: &Api) -> TokenScopes {
        let scope = token_operation(api).and_then(|op| {
            let defs = &op.schemas.defs;
            let body = op.request_body.as_ref()?.content.iter().find_map(|media| media.schema.as_ref())?;
            shape::deref(shape::child(body, defs, "scope")?, defs)
        });
        let Some(scope) = scope else { return TokenScopes::default() };
        let names = scope["enum"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).map(str::to_owned);
        TokenScopes { names: names.collect(), default: scope["default"].as_str().map(str::to_owned) }
    }
}
