//! The state every data-plane listener of one process shares: the swappable tables, the
//! application directory, the store, the metrics, the keys, the token throttle and what is shared
//! with other nodes. How a reload
//! rebuilds the tables is the process's business (`sandgate-cli`'s `reload`).

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::directory::Directory;
use crate::metrics::Metrics;
use crate::table::Tables;
use crate::token::throttle::FailureThrottle;
use sandgate_cluster::{Freshness, RedisLink};
use sandgate_store::keys::KeyRing;
use sandgate_store::Store;

/// Shared by every listener and the admin API.
#[derive(Debug)]
pub struct Shared {
    /// The current tables; requests take a snapshot.
    pub tables: ArcSwap<Tables>,
    /// Applications and revocations.
    pub directory: Arc<Directory>,
    /// The store.
    pub store: Arc<Store>,
    /// Metrics.
    pub metrics: Metrics,
    /// Keys (secret hash, signing keys).
    pub keys: KeyRing,
    /// Failed token requests.
    pub throttle: FailureThrottle,
    /// The Redis several nodes share, when configured (rate budgets, the change bus).
    pub redis: Option<Arc<RedisLink>>,
    /// How current the directory is known to be (`/readyz`).
    pub freshness: Arc<Freshness>,
    /// Set on SIGTERM: `/readyz` answers 503 while requests are still served.
    pub draining: std::sync::atomic::AtomicBool,
}
