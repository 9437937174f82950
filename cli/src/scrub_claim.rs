//! Several nodes share one TRAINING state: the daily scrub is claimed in Redis so that one node
//! runs it, not each. Without Redis (one node) every scrub is this node's; when Redis does not
//! answer the node scrubs anyway (scrubbing twice is harmless, not scrubbing is not).

use std::sync::Arc;
use std::time::Duration;

use sandgate_cluster::RedisLink;
use sandgate_emulator::scrub::Claim;

/// How long a claim on one day's scrub is kept (less than a day, so tomorrow's is free).
const CLAIM_TTL: Duration = Duration::from_secs(20 * 3600);

/// The claim the scrub schedule asks before each scrub.
pub(crate) fn scrub_claim(link: Option<Arc<RedisLink>>) -> Claim {
    match link {
        None => Box::new(|_| true),
        Some(link) => Box::new(move |due| match link.claim_once(&format!("scrub:{due}"), CLAIM_TTL) {
            Ok(won) => won,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim the scheduled scrub in Redis; scrubbing here");
                true
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_node_of_several_wins_each_scrub() {
        let prefix = sandgate_testkit::redis::key_prefix("scrub");
        let node = || scrub_claim(Some(sandgate_testkit::redis::link(&prefix)));
        let (first, second) = (node(), node());
        assert!(first("2026-12-07T03:00:00+00:00"));
        assert!(!second("2026-12-07T03:00:00+00:00"), "the same scrub is claimed once");
        assert!(second("2026-12-08T03:00:00+00:00"), "the next day's is free again");
        assert!(scrub_claim(None)("2026-12-07T03:00:00+00:00"), "alone, every scrub is ours");
    }
}
