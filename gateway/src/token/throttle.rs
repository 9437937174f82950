//! Throttles token requests: failed ones per guessing address, successful mints per client.
//!
//! Failures are counted against the address that sent them, never against the client id it
//! claimed: client ids appear in every URL, so counting per id would let anyone lock a victim out
//! with a few wrong secrets. IPv6 addresses count per /64 (one host usually holds a whole /64, so
//! a per-/128 key would let it rotate addresses for free). A correct secret is checked before the
//! throttle and always works; a blocked address only gets 429 for its wrong guesses.
//!
//! Mints are limited per client id (each one signs two tokens and writes an activity row); only
//! the holder of the secret can spend that budget.
//!
//! GCRA (governor) per key; idle keys are pruned, so the state stays bounded by the number of
//! addresses seen in the last minutes. The token endpoint is not the hot path. With a shared
//! Redis the budgets are Redis's, so a guesser gains nothing by spreading over several nodes;
//! while Redis does not answer, each node counts on its own again.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use sandgate_cluster::{BudgetKey, RedisLink};

/// Failures allowed in a burst per address.
pub const FAILURE_BURST: u32 = 10;
/// Failures refilled per minute per address.
pub const FAILURES_PER_MINUTE: u32 = 10;
/// Tokens a client may mint in a burst.
pub const MINT_BURST: u32 = 60;
/// Mints refilled per minute per client.
pub const MINTS_PER_MINUTE: u32 = 60;
/// Prune idle keys after this many recorded events.
const PRUNE_EVERY: u32 = 1024;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// The throttle.
pub struct FailureThrottle {
    failures: Keyed<IpAddr>,
    mints: Keyed<String>,
    events: AtomicU32,
    clock: DefaultClock,
    /// The budgets every node shares, when there is a Redis.
    shared: Option<std::sync::Arc<RedisLink>>,
}

impl std::fmt::Debug for FailureThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FailureThrottle")
    }
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

impl Default for FailureThrottle {
    fn default() -> Self {
        FailureThrottle::with_quotas(quota(FAILURES_PER_MINUTE, FAILURE_BURST), quota(MINTS_PER_MINUTE, MINT_BURST))
    }
}

/// The key an address is counted under: itself for IPv4, its /64 for IPv6.
pub fn guesser_key(addr: IpAddr) -> IpAddr {
    match addr.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

impl FailureThrottle {
    /// A throttle with these budgets for failures (per address) and mints (per client).
    pub fn with_quotas(failures: Quota, mints: Quota) -> FailureThrottle {
        FailureThrottle {
            failures: RateLimiter::keyed(failures),
            mints: RateLimiter::keyed(mints),
            events: AtomicU32::new(0),
            clock: DefaultClock::default(),
            shared: None,
        }
    }

    /// The default budgets, kept in Redis through `link` (shared by every node).
    pub fn shared(link: std::sync::Arc<RedisLink>) -> FailureThrottle {
        FailureThrottle { shared: Some(link), ..FailureThrottle::default() }
    }

    /// Spends one unit of the shared budget `name`: `None` when there is none or Redis did not
    /// answer (the caller counts locally then), else `Some(Err(seconds))` when spent.
    fn spend_shared(&self, name: String, per_minute: u32, burst: u32) -> Option<Result<(), u64>> {
        let link = self.shared.as_ref()?;
        let key = BudgetKey { name, interval: std::time::Duration::from_secs(60) / per_minute, burst };
        match link.spend_blocking(&key) {
            Ok(budget) if budget.allowed => Some(Ok(())),
            Ok(budget) => Some(Err(budget.retry_after.as_secs().max(1))),
            Err(e) => {
                tracing::warn!(error = %e, "shared token throttle unavailable; counting on this node");
                None
            }
        }
    }

    /// Records a wrong secret sent from `addr`; `Some(seconds)` when its budget is spent, the
    /// time until the next wrong guess is answered as such again (a spent budget is not charged).
    pub fn record_failure(&self, addr: IpAddr) -> Option<u64> {
        let key = guesser_key(addr);
        if let Some(verdict) = self.spend_shared(format!("throttle:fail:{key}"), FAILURES_PER_MINUTE, FAILURE_BURST) {
            return verdict.err();
        }
        let verdict = self.failures.check_key(&key);
        self.maybe_prune();
        verdict.err().map(|not_until| not_until.wait_time_from(self.clock.now()).as_secs().max(1))
    }

    /// Spends one mint of `client_id`; `Err(seconds)` when its budget is spent.
    pub fn admit_mint(&self, client_id: &str) -> Result<(), u64> {
        if let Some(verdict) = self.spend_shared(format!("throttle:mint:{client_id}"), MINTS_PER_MINUTE, MINT_BURST) {
            return verdict;
        }
        let verdict = self
            .mints
            .check_key(&client_id.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_secs().max(1));
        self.maybe_prune();
        verdict
    }

    /// Keys currently tracked (failures, mints), for tests and metrics.
    pub fn tracked(&self) -> usize {
        self.failures.len() + self.mints.len()
    }

    /// Drops keys whose budget is full again (they hold nothing a new key would not).
    pub fn prune(&self) {
        self.failures.retain_recent();
        self.failures.shrink_to_fit();
        self.mints.retain_recent();
        self.mints.shrink_to_fit();
    }

    fn maybe_prune(&self) {
        if self.events.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn failures_past_the_burst_block_the_guessing_address_only() {
        let throttle = FailureThrottle::default();
        let guesser = ip("192.0.2.1");
        for _ in 0..FAILURE_BURST {
            assert_eq!(throttle.record_failure(guesser), None);
        }
        assert!(throttle.record_failure(guesser).is_some(), "the guessing address is blocked");
        assert_eq!(throttle.record_failure(ip("192.0.2.2")), None, "another address is not");
    }

    #[test]
    fn ipv6_guessers_are_counted_per_slash_64() {
        let throttle = FailureThrottle::default();
        for i in 0..FAILURE_BURST {
            throttle.record_failure(ip(&format!("2001:db8:1:2::{:x}", i + 1)));
        }
        assert!(throttle.record_failure(ip("2001:db8:1:2::ffff")).is_some(), "the whole /64 is blocked");
        assert_eq!(throttle.record_failure(ip("2001:db8:1:3::1")), None, "the next /64 is not");
        assert_eq!(guesser_key(ip("::ffff:192.0.2.9")), ip("192.0.2.9"), "IPv4-mapped counts as IPv4");
    }

    #[test]
    fn mints_are_limited_per_client() {
        let throttle = FailureThrottle::default();
        for _ in 0..MINT_BURST {
            assert!(throttle.admit_mint("trn_a").is_ok());
        }
        assert!(throttle.admit_mint("trn_a").is_err(), "the burst is spent");
        assert!(throttle.admit_mint("trn_b").is_ok(), "another client is not affected");
    }

    #[test]
    fn prune_forgets_addresses_whose_budget_refilled() {
        // A budget that refills in a millisecond, so the test need not wait minutes.
        let fast = Quota::per_second(NonZeroU32::new(1000).expect("nonzero"));
        let throttle = FailureThrottle::with_quotas(fast, fast);
        for i in 0..100 {
            throttle.record_failure(IpAddr::from([10, 0, 0, i]));
            throttle.admit_mint(&format!("trn_{i}")).expect("within budget");
        }
        assert_eq!(throttle.tracked(), 200);
        std::thread::sleep(Duration::from_millis(20));
        throttle.prune();
        assert_eq!(throttle.tracked(), 0, "idle keys are dropped");
    }

    #[test]
    fn guesses_spread_over_nodes_spend_one_shared_budget() {
        let prefix = sandgate_testkit::redis::key_prefix("throttle");
        let node = || FailureThrottle::shared(sandgate_testkit::redis::link(&prefix));
        let nodes = [node(), node()];
        for i in 0..FAILURE_BURST as usize {
            assert_eq!(nodes[i % 2].record_failure(ip("198.51.100.7")), None, "guess {i} is within the budget");
        }
        assert!(nodes[0].record_failure(ip("198.51.100.7")).is_some(), "both nodes spent one budget");
        assert!(nodes[1].record_failure(ip("198.51.100.7")).is_some());
        assert_eq!(nodes[1].record_failure(ip("198.51.100.8")), None, "another address is not blocked");
        assert_eq!(nodes[0].tracked(), 0, "nothing is counted in the process while Redis answers");
    }
}
