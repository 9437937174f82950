//! Limiter: GCRA rate limits per application and environment, one budget per plan: in this
//! process (governor), or in Redis shared by every node (`rate_limits.backend: redis`), with the
//! local budget as the configured fallback while Redis does not answer.
//!
//! A busy shared budget is spent through short leases of a few units (`lease`), so Redis sees
//! one call per lease, not per request.
//!
//! Local keys are 64-bit keyed hashes of (environment, application), so admission inserts no
//! `String`. Idle keys are dropped by [`Limiter::retain_recent`], called periodically.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::lease::{lease_units, Held, Leases};
use crate::config::{PlanConfig, RateLimitBackend, RateLimitConfig, WhenRedisFails};
use sandgate_cluster::{BudgetKey, RedisLink};
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
    /// When the shared budget could not be asked: the `when_redis_fails` rule the verdict
    /// followed instead.
    pub fallback: Option<WhenRedisFails>,
}

/// One plan: its local limiter, and its size for the shared budget.
struct Plan {
    local: KeyedLimiter,
    burst: u32,
    interval: Duration,
}

/// The shared budget, the units leased from it, and what to do without it.
struct SharedBudget {
    link: std::sync::Arc<RedisLink>,
    when_down: WhenRedisFails,
    leases: Leases,
}

/// Rate limiters of every plan.
pub struct Limiter {
    plans: HashMap<String, Plan>,
    default_plan: String,
    shared: Option<SharedBudget>,
    hasher: std::collections::hash_map::RandomState,
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").field("plans", &self.plans.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl Limiter {
    /// Local limiters of `plans`; `default_plan` serves applications whose plan is unknown.
    pub fn new(plans: &BTreeMap<String, PlanConfig>, default_plan: &str) -> Limiter {
        let plans = plans
            .iter()
            .map(|(name, plan)| {
                let rate = NonZeroU32::new(plan.per_second).unwrap_or(NonZeroU32::MIN);
                let burst = NonZeroU32::new(plan.burst).unwrap_or(NonZeroU32::MIN);
                let local = RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
                    .with_middleware::<StateInformationMiddleware>();
                let interval = Duration::from_secs(1) / rate.get();
                (name.clone(), Plan { local, burst: burst.get(), interval })
            })
            .collect();
        Limiter {
            plans,
            default_plan: default_plan.to_owned(),
            shared: None,
            hasher: Default::default(),
            clock: DefaultClock::default(),
        }
    }

    /// The limiter `config` describes: budgets in Redis (through `link`) when its backend is
    /// `redis`, else in this process.
    pub fn configured(config: &RateLimitConfig, link: Option<&std::sync::Arc<RedisLink>>) -> Limiter {
        let mut limiter = Limiter::new(&config.plans, &config.default_plan);
        if let (RateLimitBackend::Redis, Some(link)) = (config.backend, link) {
            let link = std::sync::Arc::clone(link);
            limiter.shared = Some(SharedBudget { link, when_down: config.when_redis_fails, leases: Leases::default() });
        }
        limiter
    }

    /// Spends one request of `application` in `env` under `plan`.
    pub async fn admit(&self, env: Environment, application: &str, plan: &str) -> Admission {
        let (name, plan) = match self.plans.get_key_value(plan) {
            Some(found) => found,
            None => match self.plans.get_key_value(&self.default_plan) {
                Some(found) => found,
                None => return Admission { allowed: true, limit: 0, remaining: 0, reset_secs: 0, fallback: None },
            },
        };
        let key_hash = self.key_hash(env, name, application);
        let Some(shared) = &self.shared else { return admit_locally(&self.clock, key_hash, plan) };
        let now = std::time::Instant::now();
        match shared.leases.take(key_hash, now) {
            Held::Unit(remaining) => {
                let remaining = remaining.min(plan.burst);
                return Admission { allowed: true, limit: plan.burst, remaining, reset_secs: 0, fallback: None };
            }
            Held::Empty(retry_after) => {
                let reset_secs = ceil_secs(retry_after);
                return Admission { allowed: false, limit: plan.burst, remaining: 0, reset_secs, fallback: None };
            }
            Held::Nothing => {}
        }
        let key = BudgetKey {
            name: format!("rl:{}:{name}:{application}", env.as_str()),
            interval: plan.interval,
            burst: plan.burst,
        };
        match shared.link.spend_units(&key, lease_units(plan.interval, plan.burst)).await {
            Ok(budget) => {
                let leased = budget.spent.saturating_sub(1); // one is this request's
                if budget.allowed {
                    shared.leases.put(key_hash, leased, now, budget.remaining);
                } else {
                    shared.leases.empty_for(key_hash, now, budget.retry_after);
                }
                Admission {
                    allowed: budget.allowed,
                    limit: plan.burst,
                    remaining: budget.remaining.saturating_add(leased).min(plan.burst),
                    reset_secs: ceil_secs(budget.retry_after),
                    fallback: None,
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, mode = ?shared.when_down, "shared rate budget unavailable");
                let fallback = Some(shared.when_down);
                match shared.when_down {
                    WhenRedisFails::Local => Admission { fallback, ..admit_locally(&self.clock, key_hash, plan) },
                    mode => {
                        let allowed = mode == WhenRedisFails::Allow;
                        Admission { allowed, limit: plan.burst, remaining: 0, reset_secs: 1, fallback }
                    }
                }
            }
        }
    }

    fn key_hash(&self, env: Environment, plan: &str, application: &str) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        env.hash(&mut hasher);
        plan.hash(&mut hasher);
        application.hash(&mut hasher);
        hasher.finish()
    }

    /// Forgets keys that have been idle long enough to be back at full burst.
    pub fn retain_recent(&self) {
        for plan in self.plans.values() {
            plan.local.retain_recent();
        }
        if let Some(shared) = &self.shared {
            shared.leases.retain_recent(std::time::Instant::now());
        }
    }
}

/// Spends one request of the budget `key` in this process.
fn admit_locally(clock: &DefaultClock, key: u64, plan: &Plan) -> Admission {
    match plan.local.check_key(&key) {
        Ok(snapshot) => Admission {
            allowed: true,
            limit: plan.burst,
            remaining: snapshot.remaining_burst_capacity(),
            reset_secs: 0,
            fallback: None,
        },
        Err(not_until) => {
            let wait = not_until.wait_time_from(clock.now());
            Admission { allowed: false, limit: plan.burst, remaining: 0, reset_secs: ceil_secs(wait), fallback: None }
        }
    }
}

fn ceil_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> RateLimitConfig {
        RateLimitConfig {
            plans: BTreeMap::from([("tiny".to_owned(), PlanConfig { per_second: 1, burst: 2 })]),
            default_plan: "tiny".into(),
            ..RateLimitConfig::default()
        }
    }

    #[tokio::test]
    async fn admit_over_burst_rejects_with_reset() {
        let limiter = Limiter::configured(&tiny(), None);
        let first = limiter.admit(Environment::TRAINING, "app_1", "tiny").await;
        assert!(first.allowed);
        assert_eq!((first.limit, first.remaining), (2, 1));
        assert!(limiter.admit(Environment::TRAINING, "app_1", "tiny").await.allowed);
        let third = limiter.admit(Environment::TRAINING, "app_1", "tiny").await;
        assert!(!third.allowed);
        assert_eq!(third.reset_secs, 1);
        let other_env = limiter.admit(Environment::PRODUCTION, "app_1", "tiny").await;
        assert!(other_env.allowed, "environments have separate budgets");
        let unknown = limiter.admit(Environment::TRAINING, "app_2", "unknown-plan").await;
        assert!(unknown.allowed, "unknown plan uses the default");
    }

    #[tokio::test]
    async fn nodes_on_one_redis_spend_one_budget() {
        let prefix = sandgate_testkit::redis::key_prefix("limiter");
        let connect = || sandgate_testkit::redis::link(&prefix);
        let config = RateLimitConfig { backend: RateLimitBackend::Redis, ..tiny() };
        let nodes = [Limiter::configured(&config, Some(&connect())), Limiter::configured(&config, Some(&connect()))];
        let first = nodes[0].admit(Environment::TRAINING, "app_1", "tiny").await;
        assert_eq!((first.allowed, first.limit, first.remaining, first.fallback), (true, 2, 1, None));
        assert!(nodes[1].admit(Environment::TRAINING, "app_1", "tiny").await.allowed);
        let third = nodes[0].admit(Environment::TRAINING, "app_1", "tiny").await;
        assert!(!third.allowed, "the second node spent the same budget");
        assert_eq!(third.reset_secs, 1);
        assert!(nodes[1].admit(Environment::PRODUCTION, "app_1", "tiny").await.allowed, "per environment");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn without_redis_each_rule_decides_as_configured_and_says_so() {
        let relay = sandgate_testkit::relay::CuttableRelay::start(&sandgate_testkit::redis::redis_url());
        let prefix = sandgate_testkit::redis::key_prefix("fallback");
        let link = RedisLink::connect("redis.url", &relay.url, &prefix, Duration::from_millis(200)).expect("redis");
        let link = std::sync::Arc::new(link);
        let limiter = |when_redis_fails| {
            let config = RateLimitConfig { backend: RateLimitBackend::Redis, when_redis_fails, ..tiny() };
            Limiter::configured(&config, Some(&link))
        };
        let (local, allow, deny) =
            (limiter(WhenRedisFails::Local), limiter(WhenRedisFails::Allow), limiter(WhenRedisFails::Deny));
        assert_eq!(deny.admit(Environment::TRAINING, "app_1", "tiny").await.fallback, None, "Redis answers");
        relay.cut();
        let refused = deny.admit(Environment::TRAINING, "app_1", "tiny").await;
        assert_eq!((refused.allowed, refused.fallback), (false, Some(WhenRedisFails::Deny)));
        let admitted = allow.admit(Environment::TRAINING, "app_1", "tiny").await;
        assert_eq!((admitted.allowed, admitted.fallback), (true, Some(WhenRedisFails::Allow)));
        let mut counted = Vec::new();
        for _ in 0..3 {
            counted.push(local.admit(Environment::TRAINING, "app_1", "tiny").await.allowed);
        }
        assert_eq!(counted, [true, true, false], "counted on this node: the plan's burst of 2");
    }

    #[tokio::test]
    async fn a_busy_budget_is_leased_never_overspent() {
        let prefix = sandgate_testkit::redis::key_prefix("lease");
        let url = sandgate_testkit::redis::redis_url();
        let link =
            std::sync::Arc::new(RedisLink::connect("redis.url", &url, &prefix, Duration::from_secs(2)).expect("redis"));
        let config = RateLimitConfig {
            plans: BTreeMap::from([("busy".to_owned(), PlanConfig { per_second: 10_000, burst: 1_000 })]),
            default_plan: "busy".into(),
            backend: RateLimitBackend::Redis,
            ..RateLimitConfig::default()
        };
        let nodes = [Limiter::configured(&config, Some(&link)), Limiter::configured(&config, Some(&link))];
        let started = std::time::Instant::now();
        let mut admitted = 0_u32;
        // Within the burst: leased, a small fraction of the admissions reach Redis.
        for i in 0..800 {
            admitted += u32::from(nodes[i % 2].admit(Environment::PRODUCTION, "app_1", "busy").await.allowed);
        }
        assert_eq!(admitted, 800, "within the burst every request is admitted");
        assert!(link.budget_calls() < 800 / 5, "{} Redis calls for 800 admissions", link.budget_calls());
        // Past it: never more than the burst and what came back meanwhile.
        for i in 0..3_000 {
            admitted += u32::from(nodes[i % 2].admit(Environment::PRODUCTION, "app_1", "busy").await.allowed);
        }
        let refilled = (started.elapsed().as_secs_f64() * 10_000.0).ceil() as u32;
        assert!(admitted <= 1_000 + refilled, "{admitted} admitted: more than the burst and the refill ({refilled})");
        assert!(admitted >= 1_000 - 2 * lease_units(Duration::from_secs(1) / 10_000, 1_000), "{admitted}: too few");
    }
}
