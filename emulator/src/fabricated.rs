//! Fabricated bodies, kept serialised by operation, status and seed. Generation is a pure
//! function of the seed ("identical seeds give identical values", `Program::generate`), and the
//! seed of a request is its method, path and query (or `x-sandgate-seed`), so a request that
//! comes again — a partner's load test, a retry loop, a page polled — is answered from here
//! without generating and serialising again. Only the fabricate step uses it: scenario and
//! state answers depend on more than the seed.
//!
//! Direct-mapped, like the gateway's verified-token cache: a key picks one slot (one atomic load
//! to read it, no lock); a newer key in the same slot replaces the older.

use std::sync::Arc;

use arc_swap::ArcSwapOption;

/// Slots (a power of two).
const SLOTS: usize = 1024;

/// Larger bodies are generated every time: the cache stays under `SLOTS × MAX_BODY` (64 MiB).
const MAX_BODY: usize = 64 * 1024;

/// What identifies a fabricated body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyKey {
    pub api: usize,
    pub op: usize,
    pub status: u16,
    pub seed: u64,
}

impl BodyKey {
    fn slot(&self) -> usize {
        // The seed is already a hash of the request; fold the operation and status into it.
        let mixed = self.seed
            ^ (self.api as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (self.op as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ u64::from(self.status);
        (mixed ^ (mixed >> 29)) as usize & (SLOTS - 1)
    }
}

#[derive(Debug)]
struct Entry {
    key: BodyKey,
    body: Box<[u8]>,
}

/// The cache of one emulator.
#[derive(Debug)]
pub(crate) struct FabricatedBodies {
    slots: Box<[ArcSwapOption<Entry>]>,
}

impl Default for FabricatedBodies {
    fn default() -> Self {
        FabricatedBodies { slots: (0..SLOTS).map(|_| ArcSwapOption::empty()).collect() }
    }
}

impl FabricatedBodies {
    /// The body for `key`: from the cache, or made by `make` (and kept when small enough).
    pub(crate) fn get_or_make(&self, key: BodyKey, make: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
        let slot = &self.slots[key.slot()];
        if let Some(entry) = slot.load().as_ref().filter(|entry| entry.key == key) {
            return entry.body.to_vec();
        }
        let body = make();
        if body.len() <= MAX_BODY {
            slot.store(Some(Arc::new(Entry { key, body: body.clone().into_boxed_slice() })));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_made_once_per_key_and_kept_apart_from_other_keys() {
        let cache = FabricatedBodies::default();
        let key = BodyKey { api: 0, op: 3, status: 200, seed: 42 };
        let mut made = 0;
        let mut make = |text: &str| {
            made += 1;
            text.as_bytes().to_vec()
        };
        assert_eq!(cache.get_or_make(key, || make("first")), b"first");
        assert_eq!(cache.get_or_make(key, || make("again")), b"first", "the same key is not made again");
        let other = BodyKey { seed: 43, ..key };
        assert_eq!(cache.get_or_make(other, || make("other seed")), b"other seed");
        let status = BodyKey { status: 201, ..key };
        assert_eq!(cache.get_or_make(status, || make("other status")), b"other status");
        assert_eq!(made, 3);
        let large = BodyKey { seed: 7, ..key };
        let big = vec![b'x'; MAX_BODY + 1];
        assert_eq!(cache.get_or_make(large, || big.clone()).len(), MAX_BODY + 1);
        assert_eq!(cache.get_or_make(large, || b"made again".to_vec()), b"made again", "too large to keep");
    }
}
