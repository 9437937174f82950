//! Keeps this node's application directory current with writes made through any node: after a
//! local write (reload, then publish the new version on the change bus), on a bus message (reload
//! when the version is newer), and on a timer (compare versions: the safety net for a lost
//! message, and the only way between nodes without Redis). Each success confirms freshness;
//! `/readyz` turns 503 when confirmations stop.

use std::sync::Arc;

use sandgate_cluster::{ChangeBus, Freshness};
use sandgate_gateway::directory::Directory;
use sandgate_gateway::metrics::Metrics;
use sandgate_store::Store;

/// What the directory needs to follow the store.
#[derive(Clone)]
pub(crate) struct NodeSync {
    pub(crate) directory: Arc<Directory>,
    pub(crate) freshness: Arc<Freshness>,
    pub(crate) metrics: Metrics,
    pub(crate) bus: Option<ChangeBus>,
}

impl NodeSync {
    /// Registers the local-write hook on `store` and starts listening on the bus.
    pub(crate) fn start(self, store: &Arc<Store>) {
        let local = self.clone();
        store.on_change(Box::new(move |store| {
            if local.reload(store) {
                if let Some(bus) = &local.bus {
                    bus.publish(local.directory.version());
                }
            }
        }));
        if let Some(bus) = self.bus.clone() {
            let store = Arc::clone(store);
            bus.listen(move |version| {
                if version.is_some_and(|v| v <= self.directory.version()) {
                    return; // our own write, or one we already read
                }
                let (sync, store) = (self.clone(), Arc::clone(&store));
                // The store is blocking; the bus runs on the Redis link's runtime.
                tokio::task::spawn_blocking(move || sync.catch_up(&store));
            });
        }
    }

    /// Compares the directory with the store and reloads it when the store moved on.
    pub(crate) fn catch_up(&self, store: &Store) {
        match store.directory_version() {
            Ok(version) if version == self.directory.version() => self.confirmed(),
            Ok(_) => {
                self.reload(store);
            }
            Err(e) => tracing::error!(error = %e, "cannot read the store's directory version; this node may be stale"),
        }
    }

    /// Reloads the directory; whether it worked.
    fn reload(&self, store: &Store) -> bool {
        match self.directory.reload(store) {
            Ok(took) => {
                self.metrics.revocation_lag.observe(took.as_secs_f64());
                self.confirmed();
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "directory reload failed; the previous one stays in force");
                false
            }
        }
    }

    fn confirmed(&self) {
        self.freshness.confirmed();
        self.metrics.directory_version.set(self.directory.version());
    }
}
