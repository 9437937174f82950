//! Throttles failed token requests per client id and per address (GCRA on failures).
//!
//! Each failure spends one cell of the key's budget; once a key's budget is spent, its token
//! requests are refused with 429 before any secret is checked, until the budget refills. A
//! success spends nothing. The token endpoint is not the hot path, so a mutex is fine here.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Failures allowed in a burst per key.
pub const FAILURE_BURST: u32 = 10;
/// Failures refilled per minute per key.
pub const FAILURES_PER_MINUTE: u32 = 10;

/// The throttle.
pub struct FailureThrottle {
    failures: RateLimiter<u64, DefaultKeyedStateStore<u64>, DefaultClock>,
    blocked: Mutex<HashMap<u64, Instant>>,
    hasher: std::collections::hash_map::RandomState,
    clock: DefaultClock,
}

impl std::fmt::Debug for FailureThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FailureThrottle")
    }
}

impl Default for FailureThrottle {
    fn default() -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(FAILURES_PER_MINUTE).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(FAILURE_BURST).unwrap_or(NonZeroU32::MIN));
        FailureThrottle {
            failures: RateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
            hasher: Default::default(),
            clock: DefaultClock::default(),
        }
    }
}

impl FailureThrottle {
    fn keys(&self, addr: IpAddr, client_id: Option<&str>) -> [Option<u64>; 2] {
        [
            Some(self.hasher.hash_one(("addr", addr.to_canonical()))),
            client_id.map(|id| self.hasher.hash_one(("client", id))),
        ]
    }

    /// Seconds to wait if `addr` or `client_id` is blocked now.
    pub fn blocked_for(&self, addr: IpAddr, client_id: Option<&str>) -> Option<u64> {
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked.retain(|_, until| *until > now);
        self.keys(addr, client_id)
            .into_iter()
            .flatten()
            .filter_map(|key| blocked.get(&key))
            .map(|until| until.duration_since(now).as_secs() + 1)
            .max()
    }

    /// Records a failed attempt.
    pub fn record_failure(&self, addr: IpAddr, client_id: Option<&str>) {
        for key in self.keys(addr, client_id).into_iter().flatten() {
            if let Err(not_until) = self.failures.check_key(&key) {
                let wait = not_until.wait_time_from(self.clock.now()).max(Duration::from_secs(1));
                self.blocked.lock().unwrap_or_else(|p| p.into_inner()).insert(key, Instant::now() + wait);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_burst_block_address_and_client() {
        let throttle = FailureThrottle::default();
        let addr: IpAddr = "192.0.2.1".parse().expect("ip");
        for _ in 0..=FAILURE_BURST {
            assert_eq!(throttle.blocked_for(addr, Some("trn_a")), None);
            throttle.record_failure(addr, Some("trn_a"));
        }
        assert!(throttle.blocked_for(addr, None).is_some(), "the address is blocked");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        assert!(throttle.blocked_for(other, Some("trn_a")).is_some(), "the client id is blocked from anywhere");
        assert_eq!(throttle.blocked_for(other, Some("trn_b")), None);
    }
}
