//! Budgets shared by every node: GCRA kept in Redis, one atomic script per admission.
//!
//! The script reads Redis's own clock (`TIME`), so nodes with skewed clocks still share one
//! budget. The stored value is the theoretical arrival time in microseconds; it expires once the
//! key is back at full burst, so idle keys cost nothing.

use std::time::Duration;

use redis::Script;

use crate::link::RedisLink;
use crate::ClusterError;

/// GCRA: KEYS[1] the budget, ARGV[1] the emission interval (µs), ARGV[2] the burst, ARGV[3] the
/// most units to spend at once. Spends as many of them as the budget holds now (at least one, or
/// none). Returns {units spent (0: refused), remaining, retry after (µs) when refused}.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local units = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local available = math.floor((now + burst * interval - tat) / interval)
if available < 1 then
  return {0, 0, tat + interval - burst * interval - now}
end
local spent = math.min(units, available)
local new_tat = tat + interval * spent
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {spent, burst + math.floor((now - new_tat) / interval), 0}
";

/// Which budget to spend, and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetKey {
    /// Key name under the link's prefix (`rl:production:standard:app_…`).
    pub name: String,
    /// Time for one unit to come back.
    pub interval: Duration,
    /// Units that may be spent at once.
    pub burst: u32,
}

/// The verdict on spending units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Whether at least one unit was spent.
    pub allowed: bool,
    /// How many units were spent (0 when refused).
    pub spent: u32,
    /// Units left right now.
    pub remaining: u32,
    /// When refused: how long until one unit is back.
    pub retry_after: Duration,
}

/// Reads the script's answer.
fn budget(answer: Vec<i64>) -> Result<Budget, ClusterError> {
    let [spent, remaining, retry_us] = answer[..] else {
        return Err(ClusterError::Answer("three integers expected"));
    };
    Ok(Budget {
        allowed: spent >= 1,
        spent: u32::try_from(spent.max(0)).unwrap_or(0),
        remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
        retry_after: Duration::from_micros(u64::try_from(retry_us.max(0)).unwrap_or(0)),
    })
}

fn script() -> &'static Script {
    static SCRIPT: std::sync::OnceLock<Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(GCRA))
}

impl RedisLink {
    /// Spends one unit of `key` (from any async context).
    pub async fn spend(&self, key: &BudgetKey) -> Result<Budget, ClusterError> {
        self.spend_units(key, 1).await
    }

    /// Spends up to `units` of `key` at once (as many as it holds, at least one, or none): a node
    /// leases several units for its own use so that busy budgets cost Redis one call per lease,
    /// not one per request, even when the budget runs low.
    pub async fn spend_units(&self, key: &BudgetKey, units: u32) -> Result<Budget, ClusterError> {
        self.check_open()?;
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let answer = self.run_script(key, units.max(1)).await;
        if answer.is_err() {
            self.trip();
        }
        budget(answer?)
    }

    async fn run_script(&self, key: &BudgetKey, units: u32) -> Result<Vec<i64>, ClusterError> {
        let mut conn = self.conn.clone();
        let interval = u64::try_from(key.interval.as_micros()).unwrap_or(u64::MAX).max(1);
        let mut invocation = script().key(self.key(&key.name));
        invocation.arg(interval).arg(key.burst.max(1)).arg(units);
        let call = invocation.invoke_async(&mut conn);
        // EVALSHA, then EVAL once if the script cache was flushed (redis::Script does both).
        Ok(tokio::time::timeout(self.timeout(), call).await.map_err(|_| ClusterError::Timeout(self.timeout()))??)
    }

    /// [`RedisLink::spend`] from a blocking thread.
    pub fn spend_blocking(self: &std::sync::Arc<Self>, key: &BudgetKey) -> Result<Budget, ClusterError> {
        let link = std::sync::Arc::clone(self);
        let key = key.clone();
        self.block_on(async move { link.spend(&key).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_or_odd_answer_is_an_error_not_a_panic() {
        assert!(budget(vec![1, 2]).is_err());
        assert_eq!(
            budget(vec![0, -3, 1_500_000]).expect("three"),
            Budget { allowed: false, spent: 0, remaining: 0, retry_after: Duration::from_millis(1500) }
        );
    }
}
