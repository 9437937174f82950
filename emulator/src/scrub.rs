//! Scrub: TRAINING data is fake and wiped daily, as the reference API's TRAINING environment is.
//! A scrub removes every object in its scope in one store operation, so a reader sees all of it
//! or none of it; a request in flight is never failed by it (it reads before or after).
//!
//! The schedule is a time of day (UTC); every emulator answer says when the next scrub is in the
//! `Sandgate-Next-Scrub` header, so a partner's test suite can tell why its objects are gone.

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};

use crate::error::EmulatorError;
use crate::state::ScrubScope;
use crate::Emulator;

/// The response header with the next scheduled scrub (RFC 3339, UTC).
pub const NEXT_SCRUB_HEADER: &str = "sandgate-next-scrub";

/// When scheduled scrubs happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrubSchedule {
    /// The time of day, UTC.
    pub at: NaiveTime,
}

impl ScrubSchedule {
    /// Parses `HH:MM` (UTC).
    pub fn parse(text: &str) -> Result<ScrubSchedule, EmulatorError> {
        NaiveTime::parse_from_str(text.trim(), "%H:%M")
            .map(|at| ScrubSchedule { at })
            .map_err(|_| EmulatorError::ScrubTime(text.to_owned()))
    }

    /// The first scheduled scrub strictly after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.date_naive().and_time(self.at).and_utc();
        if today > now {
            today
        } else {
            today + chrono::Duration::days(1)
        }
    }
}

/// Runs the scheduled scrubs of `emulator` on a thread of their own until the emulator is
/// dropped. Each scrub removes every tenant's objects and is logged with the count.
pub fn start(emulator: &Arc<Emulator>, schedule: ScrubSchedule) {
    let weak: Weak<Emulator> = Arc::downgrade(emulator);
    let spawned = std::thread::Builder::new().name("sandgate-scrub".into()).spawn(move || loop {
        let due = schedule.next_after(Utc::now());
        // Wake at least every minute to notice the emulator is gone (and clock changes).
        loop {
            let left = (due - Utc::now()).to_std().unwrap_or_default();
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_secs(60)));
            if weak.strong_count() == 0 {
                return;
            }
        }
        let Some(emulator) = weak.upgrade() else { return };
        match emulator.scrub(ScrubScope::All) {
            Ok(removed) => tracing::info!(removed, "scheduled scrub of the emulator's state"),
            Err(e) => tracing::error!(error = %e, "scheduled scrub failed; the next one is tomorrow"),
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the scrub schedule");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_scrub_is_today_if_still_ahead_else_tomorrow() {
        let schedule = ScrubSchedule::parse("03:00").expect("parses");
        let before = "2026-11-21T02:59:59Z".parse::<DateTime<Utc>>().expect("time");
        assert_eq!(schedule.next_after(before).to_rfc3339(), "2026-11-21T03:00:00+00:00");
        let at = "2026-11-21T03:00:00Z".parse::<DateTime<Utc>>().expect("time");
        assert_eq!(schedule.next_after(at).to_rfc3339(), "2026-11-22T03:00:00+00:00");
        assert!(ScrubSchedule::parse("25:00").is_err());
    }
}
