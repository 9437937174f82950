//! A verified-token cache, so a token's signature is checked once, not on every request.
//!
//! Direct-mapped: a keyed hash of the token picks one of [`SLOTS`] slots, each an `ArcSwapOption`
//! (one atomic load per lookup, no lock). A hit needs the whole token to be equal, compared in
//! constant time, and the token to be unexpired. Revocation is not cached: it is checked against
//! the directory on every request.

use std::hash::BuildHasher;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use subtle::ConstantTimeEq;

use crate::principal::Principal;

/// Number of slots (a power of two).
pub const SLOTS: usize = 4096;

#[derive(Debug)]
struct Entry {
    token: Box<[u8]>,
    principal: Arc<Principal>,
}

/// The cache of one environment's verified tokens.
pub struct TokenCache {
    slots: Box<[ArcSwapOption<Entry>]>,
    hasher: std::collections::hash_map::RandomState,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").field("slots", &self.slots.len()).finish_non_exhaustive()
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache { slots: (0..SLOTS).map(|_| ArcSwapOption::empty()).collect(), hasher: Default::default() }
    }
}

impl TokenCache {
    fn slot(&self, token: &[u8]) -> &ArcSwapOption<Entry> {
        &self.slots[self.hasher.hash_one(token) as usize & (SLOTS - 1)]
    }

    /// The principal of `token` if it was verified before and has not expired at `now` (Unix s).
    pub fn get(&self, token: &[u8], now: u64) -> Option<Arc<Principal>> {
        let guard = self.slot(token).load();
        let entry = guard.as_ref()?;
        let same = entry.token.len() == token.len() && bool::from(entry.token.ct_eq(token));
        (same && entry.principal.expires_at > now).then(|| Arc::clone(&entry.principal))
    }

    /// Remembers a verified token.
    pub fn put(&self, token: &[u8], principal: Arc<Principal>) {
        self.slot(token).store(Some(Arc::new(Entry { token: token.into(), principal })));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(expires_at: u64) -> Arc<Principal> {
        Arc::new(Principal {
            client_id: "trn_1".into(),
            application: "app".into(),
            partner: "ptn".into(),
            scopes: "merchant".into(),
            scope_set: crate::table::scopes::ScopeSet(1),
            expires_at,
        })
    }

    #[test]
    fn get_returns_only_the_same_unexpired_token() {
        let cache = TokenCache::default();
        cache.put(b"token-a", principal(100));
        assert!(cache.get(b"token-a", 99).is_some());
        assert!(cache.get(b"token-a", 100).is_none(), "expired");
        assert!(cache.get(b"token-b", 50).is_none());
        assert!(cache.get(b"token-", 50).is_none());
    }
}
