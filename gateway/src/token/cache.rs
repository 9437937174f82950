//! A verified-token cache, so a token's signature is checked once, not on every request.
//!
//! Direct-mapped: a keyed hash of the token picks one of [`SLOTS`] slots, each an `ArcSwapOption`
//! (one atomic load per lookup, no lock). A hit needs the whole token to be equal, compared in
//! constant time, and the token to be unexpired. Revocation is not cached: it is checked against
//! the directory on every request.
//!
//! Every request pays for the lookup, so both halves are chosen for speed (issue 16): the slot
//! hash is aHash with random keys rather than the standard library's SipHash, and the comparison
//! takes eight bytes per step.

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
    hasher: ahash::RandomState,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").field("slots", &self.slots.len()).finish_non_exhaustive()
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache { slots: (0..SLOTS).map(|_| ArcSwapOption::empty()).collect(), hasher: ahash::RandomState::new() }
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
        (same_token(&entry.token, token) && entry.principal.expires_at > now).then(|| Arc::clone(&entry.principal))
    }

    /// Remembers a verified token.
    pub fn put(&self, token: &[u8], principal: Arc<Principal>) {
        self.slot(token).store(Some(Arc::new(Entry { token: token.into(), principal })));
    }
}

/// Whether `a` and `b` are equal, in a time that depends on their length only. `subtle` compares
/// slices a byte at a time behind an optimisation barrier each; this folds the difference of
/// eight bytes per step with no branch on the data, and leaves only the final test to `subtle`.
fn same_token(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let ((a_words, a_rest), (b_words, b_rest)) = (a.as_chunks::<8>(), b.as_chunks::<8>());
    let mut difference = 0u64;
    for (x, y) in a_words.iter().zip(b_words) {
        difference |= u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y);
    }
    for (x, y) in a_rest.iter().zip(b_rest) {
        difference |= u64::from(x ^ y);
    }
    bool::from(difference.ct_eq(&0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(expires_at: u64) -> Arc<Principal> {
        let scope_set = crate::table::scopes::ScopeSet(1);
        let principal =
            Principal::new("trn_1".into(), "app".into(), "ptn".into(), "merchant".into(), scope_set, expires_at);
        Arc::new(principal.expect("header-safe ids"))
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

    #[test]
    fn tokens_differing_in_any_one_byte_are_different() {
        let token: Vec<u8> = (0..=255u8).cycle().take(301).collect();
        assert!(same_token(&token, &token.clone()));
        for at in 0..token.len() {
            let mut other = token.clone();
            other[at] ^= 0x20;
            assert!(!same_token(&token, &other), "byte {at} differs");
        }
        assert!(!same_token(&token, &token[..300]), "a prefix is not the token");
        assert!(same_token(b"", b""));
    }
}
