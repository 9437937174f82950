//! How current this node's view of the store is: when it last confirmed its directory matches
//! the store, and whether its change bus is connected. A node that cannot confirm for longer
//! than the configured staleness says so on `/readyz` (503) rather than serve stale grants.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// This node's freshness.
#[derive(Debug)]
pub struct Freshness {
    started: Instant,
    /// Whether a change bus is configured at all (one node on its own needs none).
    uses_bus: bool,
    bus_connected: AtomicBool,
    /// Milliseconds after `started` when the bus last went up or down.
    bus_changed_ms: AtomicU64,
    /// Milliseconds after `started` of the last confirmed match with the store.
    confirmed_ms: AtomicU64,
}

impl Freshness {
    /// Fresh now; `uses_bus`: whether a lost bus makes the node stale.
    pub fn new(uses_bus: bool) -> Freshness {
        Freshness {
            started: Instant::now(),
            uses_bus,
            bus_connected: AtomicBool::new(false),
            bus_changed_ms: AtomicU64::new(0),
            confirmed_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The directory was compared with the store (and reloaded if it differed).
    pub fn confirmed(&self) {
        self.confirmed_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// The bus subscription is live.
    pub fn bus_up(&self) {
        if !self.bus_connected.swap(true, Ordering::Relaxed) {
            self.bus_changed_ms.store(self.now_ms(), Ordering::Relaxed);
            tracing::info!("change bus connected");
        }
    }

    /// The bus subscription is lost.
    pub fn bus_down(&self) {
        if self.bus_connected.swap(false, Ordering::Relaxed) {
            self.bus_changed_ms.store(self.now_ms(), Ordering::Relaxed);
            tracing::error!("change bus lost: revocations on other nodes reach this one only at its next resync");
        }
    }

    /// Whether the bus is connected (false when none is configured).
    pub fn bus_connected(&self) -> bool {
        self.bus_connected.load(Ordering::Relaxed)
    }

    /// Why this node is stale beyond `max`, or `None` when it is fresh enough to serve.
    pub fn stale(&self, max: Duration) -> Option<String> {
        self.stale_at(self.now_ms(), u64::try_from(max.as_millis()).unwrap_or(u64::MAX))
    }

    fn stale_at(&self, now_ms: u64, max_ms: u64) -> Option<String> {
        let since_confirmed = now_ms.saturating_sub(self.confirmed_ms.load(Ordering::Relaxed));
        if since_confirmed > max_ms {
            return Some(format!("the directory was last confirmed against the store {since_confirmed} ms ago"));
        }
        let since_bus_change = now_ms.saturating_sub(self.bus_changed_ms.load(Ordering::Relaxed));
        if self.uses_bus && !self.bus_connected() && since_bus_change > max_ms {
            return Some(format!("the change bus has been unreachable for {since_bus_change} ms"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_stale_once_it_cannot_confirm_or_hear_for_longer_than_allowed() {
        let node = Freshness::new(true);
        node.confirmed_ms.store(1_000, Ordering::Relaxed);
        assert_eq!(node.stale_at(1_000, 1_000), None, "a new node's bus gets the grace period too");
        assert!(node.stale_at(2_500, 1_000).is_some_and(|why| why.contains("confirmed")));
        node.confirmed_ms.store(2_400, Ordering::Relaxed);
        assert!(node.stale_at(2_500, 1_000).is_some_and(|why| why.contains("bus")), "no bus for 2.5 s");
        node.bus_connected.store(true, Ordering::Relaxed);
        assert_eq!(node.stale_at(2_500, 1_000), None);
        let alone = Freshness::new(false);
        alone.confirmed_ms.store(2_400, Ordering::Relaxed);
        assert_eq!(alone.stale_at(2_500, 1_000), None, "a node without a bus never waits for one");
    }
}
