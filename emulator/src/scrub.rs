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
    start_claimed(emulator, schedule, Box::new(|_| true));
}

/// Decides whether this process runs the scrub due at the given time (RFC 3339): several nodes on
/// one state store must scrub it once, not once each.
pub type Claim = Box<dyn Fn(&str) -> bool + Send>;

/// [`start`], running each due scrub only when `claim` wins it for this process.
pub fn start_claimed(emulator: &Arc<Emulator>, schedule: ScrubSchedule, claim: Claim) {
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
        run_due(&emulator, &due.to_rfc3339(), &claim);
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the scrub schedule");
    }
}

/// Runs the scrub due at `due` if `claim` gives it to this process; whether it ran.
fn run_due(emulator: &Emulator, due: &str, claim: &Claim) -> bool {
    if !claim(due) {
        tracing::info!(due, "the scheduled scrub is another node's");
        return false;
    }
    match emulator.scrub(ScrubScope::All) {
        Ok(removed) => tracing::info!(removed, "scheduled scrub of the emulator's state"),
        Err(e) => tracing::error!(error = %e, "scheduled scrub failed; the next one is tomorrow"),
    }
    true
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

    #[test]
    fn a_due_scrub_runs_only_where_it_is_claimed() {
        let emulator = Emulator::new(Vec::new(), crate::EmulatorOptions::default()).expect("emulator");
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = std::sync::Arc::clone(&asked);
        let elsewhere: Claim = Box::new(move |due| {
            seen.lock().expect("lock").push(due.to_owned());
            false
        });
        assert!(!run_due(&emulator, "2026-11-21T03:00:00+00:00", &elsewhere), "another node won it");
        assert_eq!(*asked.lock().expect("lock"), ["2026-11-21T03:00:00+00:00"], "claimed by its due time");
        let ours: Claim = Box::new(|_: &str| true);
        assert!(run_due(&emulator, "2026-11-22T03:00:00+00:00", &ours));
    }
}
