//! When to try a failed delivery again: exponential back-off from a first delay, capped, with a
//! bounded number of attempts.

use std::time::Duration;

/// The retry policy of one kind of webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt; each later one doubles it.
    pub first_delay: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, 1 s doubling to at most 1 h (the last one about 2 min after the first).
    fn default() -> Self {
        RetryPolicy { max_attempts: 8, first_delay: Duration::from_secs(1), max_delay: Duration::from_secs(3600) }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1` after `attempts` failed ones, or `None` when the
    /// delivery has used up its attempts.
    pub fn next_delay(&self, attempts: u32) -> Option<Duration> {
        if attempts == 0 || attempts >= self.max_attempts {
            return (attempts == 0).then_some(Duration::ZERO);
        }
        let factor = 1u32.checked_shl(attempts - 1).unwrap_or(u32::MAX);
        Some(self.first_delay.saturating_mul(factor).min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_then_stop() {
        let policy =
            RetryPolicy { max_attempts: 6, first_delay: Duration::from_secs(2), max_delay: Duration::from_secs(10) };
        let delays: Vec<_> = (0..7).map(|n| policy.next_delay(n).map(|d| d.as_secs())).collect();
        assert_eq!(delays, [Some(0), Some(2), Some(4), Some(8), Some(10), Some(10), None]);
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let policy = RetryPolicy { max_attempts: u32::MAX, ..RetryPolicy::default() };
        assert_eq!(policy.next_delay(200), Some(policy.max_delay));
    }
}
