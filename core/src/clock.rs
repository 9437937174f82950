//! Time as Sandgate's stores read it: the system clock, or in tests one that can be moved
//! forward, so an expiry is tested by advancing the clock rather than by sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;

    /// Now, in whole seconds since the Unix epoch.
    fn now_unix(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The system clock moved forward by what a test advanced it: time still passes, and a test can
/// jump over an expiry.
#[derive(Debug, Default)]
pub struct AdvancedClock {
    ahead_millis: AtomicI64,
}

impl AdvancedClock {
    /// Moves this clock `by` further ahead.
    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.ahead_millis.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for AdvancedClock {
    fn now_millis(&self) -> i64 {
        SystemClock.now_millis().saturating_add(self.ahead_millis.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_runs_ahead_of_the_system_clock_by_what_it_was_advanced() {
        let clock = AdvancedClock::default();
        let before = SystemClock.now_unix();
        clock.advance(Duration::from_secs(3600));
        let ahead = clock.now_unix() - before;
        assert!((3600..=3601).contains(&ahead), "{ahead}");
    }
}
