//! The change bus: after a committed control-plane write a node publishes the store's new
//! version; every node's subscription hears it and reloads its directory at once. A message
//! carries no data, only the version, so a lost or reordered message costs nothing: the next
//! comparison with the store (see `freshness`) catches up.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use crate::freshness::Freshness;
use crate::link::RedisLink;

/// Publishes and listens for store versions on one channel.
#[derive(Debug, Clone)]
pub struct ChangeBus {
    link: Arc<RedisLink>,
    channel: String,
    freshness: Arc<Freshness>,
}

/// Waits between attempts to resubscribe, doubling up to the maximum.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);

impl ChangeBus {
    /// A bus on `prefix:changes` of `link`, reporting its health to `freshness`.
    pub fn new(link: Arc<RedisLink>, freshness: Arc<Freshness>) -> ChangeBus {
        let channel = link.key("changes");
        ChangeBus { link, channel, freshness }
    }

    /// Tells every node that the store is at `version` (fire and forget: a node that misses it
    /// catches up on its next comparison).
    pub fn publish(&self, version: i64) {
        let Some(handle) = self.link.handle() else { return };
        let (link, channel) = (Arc::clone(&self.link), self.channel.clone());
        handle.spawn(async move {
            let mut conn = link.conn.clone();
            let sent = tokio::time::timeout(
                link.timeout(),
                redis::cmd("PUBLISH").arg(&channel).arg(version).query_async::<i64>(&mut conn),
            )
            .await;
            match sent {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, version, "could not publish a store change; other nodes catch up on their next resync"),
                Err(_) => tracing::warn!(version, "publishing a store change timed out; other nodes catch up on their next resync"),
            }
        });
    }

    /// Listens for versions until the process ends, calling `heard(version)` for each; after
    /// every (re)subscription `heard(None)` asks for a comparison with the store, since messages
    /// sent while unsubscribed are lost. Reconnects with back-off; the bus's state is kept in
    /// `freshness` (a node without its bus for too long is not ready).
    pub fn listen(&self, heard: impl Fn(Option<i64>) + Send + Sync + 'static) {
        let Some(handle) = self.link.handle() else { return };
        let (client, channel, freshness) =
            (self.link.client.clone(), self.channel.clone(), Arc::clone(&self.freshness));
        let timeout = self.link.timeout();
        handle.spawn(async move {
            let mut wait = RETRY_FIRST;
            loop {
                let subscribed = async {
                    let mut pubsub = tokio::time::timeout(timeout, client.get_async_pubsub())
                        .await
                        .map_err(|_| "connecting timed out".to_owned())?
                        .map_err(|e| e.to_string())?;
                    pubsub.subscribe(&channel).await.map_err(|e| e.to_string())?;
                    Ok::<_, String>(pubsub)
                };
                match subscribed.await {
                    Ok(pubsub) => {
                        freshness.bus_up();
                        wait = RETRY_FIRST;
                        heard(None);
                        let mut messages = pubsub.into_on_message();
                        while let Some(message) = messages.next().await {
                            heard(message.get_payload::<i64>().ok());
                        }
                        tracing::warn!("the change bus subscription ended; resubscribing");
                    }
                    Err(e) => tracing::warn!(error = %e, retry_in = ?wait, "cannot subscribe to the change bus"),
                }
                freshness.bus_down();
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        });
    }
}
