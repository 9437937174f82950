//! `Principal`: who is calling, as a verified token proves it. A leaf: the context, the token
//! cache and the phases all name it, and it names only the scope set.

use crate::table::scopes::ScopeSet;

/// Who is calling, as proven by a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Client id.
    pub client_id: String,
    /// Application id.
    pub application: String,
    /// Partner id.
    pub partner: String,
    /// Space-separated scopes, as in the token.
    pub scopes: String,
    /// The same scopes as a set.
    pub scope_set: ScopeSet,
    /// Token expiry (Unix seconds).
    pub expires_at: u64,
}
