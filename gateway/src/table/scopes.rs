//! Scopes as bit sets: every scope name any spec (or the token endpoint) knows gets one bit at
//! start-up, so the per-request check is one AND.

use sandgate_openapi::Api;

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
    /// The token endpoint's scopes plus every name in the specs' `x-sandgate-scopes`.
    pub fn from_apis(apis: &[Api]) -> Scopes {
        let mut names: Vec<String> = crate::token::endpoint::SCOPES.iter().map(|s| (*s).to_owned()).collect();
        for name in apis.iter().flat_map(|a| &a.operations).flat_map(|o| o.scopes.iter().flatten()) {
            if !names.contains(name) && names.len() < 64 {
                names.push(name.clone());
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
