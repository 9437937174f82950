//! What several Sandgate nodes share through Redis: budgets that hold across nodes (GCRA, one
//! atomic script per admission), the change bus that tells every node that the store changed, and
//! claims on work that must happen once (the daily scrub).
//!
//! The store stays the source of truth: the bus only says "version N was committed", and a node
//! that missed a message still finds the new version when it next compares (`freshness`).

mod budget;
mod bus;
mod claim;
mod freshness;
mod link;

pub use budget::{Budget, BudgetKey};
pub use bus::ChangeBus;
pub use freshness::Freshness;
pub use link::RedisLink;

/// What can go wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Redis could not be reached at start (the config key and URL are named, so the operator
    /// knows what to fix).
    #[error("{key}: cannot reach Redis at {url}: {source}")]
    Connect {
        /// The config key or flag that gave the URL.
        key: &'static str,
        /// The URL, without its password.
        url: String,
        /// Why.
        source: redis::RedisError,
    },
    /// A command failed (connection lost, script error).
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("redis: no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// A recent command failed; calls fail at once for this long instead of each waiting.
    #[error("redis: a recent command failed; not retried for {0:?}")]
    Broken(std::time::Duration),
    /// The answer was not what the script returns.
    #[error("redis: unexpected answer from the budget script: {0}")]
    Answer(&'static str),
}
