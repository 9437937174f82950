//! Work that must happen once across nodes (the daily scrub): the first node to claim a name in
//! Redis does it; the claim expires by itself.

use std::sync::Arc;
use std::time::Duration;

use crate::link::RedisLink;
use crate::ClusterError;

impl RedisLink {
    /// Claims `name` for `ttl` (`SET … NX PX`): whether this caller won it. From a blocking thread.
    pub fn claim_once(self: &Arc<Self>, name: &str, ttl: Duration) -> Result<bool, ClusterError> {
        let link = Arc::clone(self);
        let key = self.key(&format!("claim:{name}"));
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.block_on(async move {
            let mut conn = link.conn.clone();
            let mut command = redis::cmd("SET");
            command.arg(&key).arg(1).arg("NX").arg("PX").arg(ttl_ms);
            let set = command.query_async::<Option<String>>(&mut conn);
            let won = tokio::time::timeout(link.timeout(), set)
                .await
                .map_err(|_| ClusterError::Timeout(link.timeout()))??;
            Ok(won.is_some())
        })
    }
}
