//! Units a node has taken from a shared (Redis) budget ahead of use: a busy budget then costs
//! Redis one call per lease, not one per request. A lease is small (about 10 ms of the plan's rate,
//! at most a tenth of its burst) and short-lived (100 ms), and its units are debited in Redis when
//! taken, so leasing never admits more than the plan; unused units expire, which can only admit
//! a little less. Plans slow enough that Redis's cost does not matter lease one unit: no change.
//! A budget Redis found empty is remembered as empty until Redis said a unit comes back, so a
//! client hammering a spent budget costs Redis nothing more (never admits more either).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How much of a plan's rate one lease covers.
const LEASE_SPAN: Duration = Duration::from_millis(10);
/// How long leased units stay usable.
const LEASE_TTL: Duration = Duration::from_millis(100);
/// Shards of the table, so workers rarely wait on one another.
const SHARDS: usize = 16;

/// Units to lease at once for a plan whose units come back every `interval`, with `burst`.
pub(crate) fn lease_units(interval: Duration, burst: u32) -> u32 {
    let per_span = (LEASE_SPAN.as_nanos() / interval.as_nanos().max(1)).min(u128::from(u32::MAX)) as u32;
    per_span.min(burst / 10).max(1)
}

#[derive(Debug)]
struct Lease {
    left: u32,
    until: Instant,
    /// The budget's remaining units when the lease was taken (for `RateLimit-Remaining`).
    remaining: u32,
    /// Redis found the budget empty: refuse until `until`.
    empty: bool,
}

/// What a node holds of a budget before asking Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// One leased unit, spent; the remaining units to report.
    Unit(u32),
    /// The budget is empty for this long yet (Redis said so).
    Empty(Duration),
    /// Nothing: ask Redis.
    Nothing,
}

/// Leases by budget (a hash of environment, plan and application).
#[derive(Debug)]
pub(crate) struct Leases {
    shards: Vec<Mutex<HashMap<u64, Lease>>>,
}

impl Default for Leases {
    fn default() -> Leases {
        Leases { shards: (0..SHARDS).map(|_| Mutex::default()).collect() }
    }
}

impl Leases {
    fn shard(&self, key: u64) -> std::sync::MutexGuard<'_, HashMap<u64, Lease>> {
        let shard = &self.shards[(key % SHARDS as u64) as usize];
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Spends one leased unit of `key`, or says the budget is known to be empty.
    pub(crate) fn take(&self, key: u64, now: Instant) -> Held {
        let mut shard = self.shard(key);
        let Some(lease) = shard.get_mut(&key) else { return Held::Nothing };
        if lease.until <= now {
            shard.remove(&key);
            return Held::Nothing;
        }
        if lease.empty {
            return Held::Empty(lease.until - now);
        }
        if lease.left == 0 {
            shard.remove(&key);
            return Held::Nothing;
        }
        lease.left -= 1;
        Held::Unit(lease.remaining + lease.left)
    }

    /// Remembers that `key`'s budget is empty until `retry_after` from `now`.
    pub(crate) fn empty_for(&self, key: u64, now: Instant, retry_after: Duration) {
        if !retry_after.is_zero() {
            self.shard(key).insert(key, Lease { left: 0, until: now + retry_after, remaining: 0, empty: true });
        }
    }

    /// Keeps `left` units of `key` for the next requests.
    pub(crate) fn put(&self, key: u64, left: u32, now: Instant, remaining: u32) {
        if left > 0 {
            self.shard(key).insert(key, Lease { left, until: now + LEASE_TTL, remaining, empty: false });
        }
    }

    /// Drops expired leases.
    pub(crate) fn retain_recent(&self, now: Instant) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, lease| lease.until > now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_plans_lease_several_units_slow_ones_one() {
        assert_eq!(lease_units(Duration::from_secs(1) / 50, 100), 1, "50/s: one unit, as without leases");
        assert_eq!(lease_units(Duration::from_secs(1) / 10_000, 20_000), 100, "10 ms of 10 000/s");
        assert_eq!(lease_units(Duration::from_secs(1) / 10_000, 200), 20, "never more than a tenth of the burst");
        let leases = Leases::default();
        let now = Instant::now();
        leases.put(7, 2, now, 50);
        assert_eq!(leases.take(7, now), Held::Unit(51));
        assert_eq!(leases.take(7, now), Held::Unit(50));
        assert_eq!(leases.take(7, now), Held::Nothing, "spent");
        leases.put(8, 5, now, 0);
        assert_eq!(leases.take(8, now + LEASE_TTL), Held::Nothing, "expired");
        leases.empty_for(9, now, Duration::from_millis(30));
        assert_eq!(leases.take(9, now + Duration::from_millis(10)), Held::Empty(Duration::from_millis(20)));
        assert_eq!(leases.take(9, now + Duration::from_millis(30)), Held::Nothing, "Redis is asked again");
    }
}
