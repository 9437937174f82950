//! Limiter: GCRA rate limits per application and environment (governor), one limiter per plan.
//!
//! Keys are 64-bit keyed hashes of (environment, application), so admission inserts no `String`.
//! Idle keys are dropped by [`Limiter::retain_recent`], called periodically.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::config::PlanConfig;
use sandgate_core::environment::Environment;

type KeyedLimiter = RateLimiter<u64, DefaultKeyedStateStore<u64>, DefaultClock, StateInformationMiddleware>;

/// The result of asking to spend one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The plan's burst size (`RateLimit-Limit`).
    pub limit: u32,
    /// Requests left right now (`RateLimit-Remaining`).
    pub remaining: u32,
    /// Seconds until a request is allowed again (`Retry-After`, `RateLimit-Reset`); 0 if allowed.
    pub reset_secs: u64,
}

/// Rate limiters of every plan.
pub struct Limiter {
    plans: HashMap<String, (KeyedLimiter, u32)>,
    default_plan: String,
    hasher: std::collections::hash_map::RandomState,
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").field("plans", &self.plans.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl Limiter {
    /// One limiter per plan; `default_plan` serves applications whose plan is unknown.
    pub fn new(plans: &BTreeMap<String, PlanConfig>, default_plan: &str) -> Limiter {
        let plans = plans
            .iter()
            .map(|(name, plan)| {
                let rate = NonZeroU32::new(plan.per_second).unwrap_or(NonZeroU32::MIN);
                let burst = NonZeroU32::new(plan.burst).unwrap_or(NonZeroU32::MIN);
                let limiter = RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
                    .with_middleware::<StateInformationMiddleware>();
                (name.clone(), (limiter, burst.get()))
            })
            .collect();
        Limiter {
            plans,
            default_plan: default_plan.to_owned(),
            hasher: Default::default(),
            clock: DefaultClock::default(),
        }
    }

    /// Spends one request of `application` in `env` under `plan`.
    pub fn admit(&self, env: Environment, application: &str, plan: &str) -> Admission {
        let Some((limiter, burst)) = self.plans.get(plan).or_else(|| self.plans.get(&self.default_plan)) else {
            return Admission { allowed: true, limit: 0, remaining: 0, reset_secs: 0 };
        };
        let mut hasher = self.hasher.build_hasher();
        env.hash(&mut hasher);
        application.hash(&mut hasher);
        match limiter.check_key(&hasher.finish()) {
            Ok(snapshot) => Admission {
                allowed: true,
                limit: *burst,
                remaining: snapshot.remaining_burst_capacity(),
                reset_secs: 0,
            },
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Admission { allowed: false, limit: *burst, remaining: 0, reset_secs: ceil_secs(wait) }
            }
        }
    }

    /// Forgets keys that have been idle long enough to be back at full burst.
    pub fn retain_recent(&self) {
        for (limiter, _) in self.plans.values() {
            limiter.retain_recent();
        }
    }
}

fn ceil_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admit_over_burst_rejects_with_reset() {
        let plans = BTreeMap::from([("tiny".to_owned(), PlanConfig { per_second: 1, burst: 2 })]);
        let limiter = Limiter::new(&plans, "tiny");
        let first = limiter.admit(Environment::TRAINING, "app_1", "tiny");
        assert!(first.allowed);
        assert_eq!((first.limit, first.remaining), (2, 1));
        assert!(limiter.admit(Environment::TRAINING, "app_1", "tiny").allowed);
        let third = limiter.admit(Environment::TRAINING, "app_1", "tiny");
        assert!(!third.allowed);
        assert_eq!(third.reset_secs, 1);
        assert!(limiter.admit(Environment::PRODUCTION, "app_1", "tiny").allowed, "environments have separate budgets");
        assert!(limiter.admit(Environment::TRAINING, "app_2", "unknown-plan").allowed, "unknown plan uses the default");
    }
}
