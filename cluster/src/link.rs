//! The connection to Redis: one auto-reconnecting multiplexed connection (concurrent commands
//! from every worker are pipelined on it) driven by a runtime of its own, so blocking callers
//! (the token endpoint runs on the blocking pool) and every listener's runtime can use it.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::ClusterError;

/// A live link to Redis with the key prefix of this deployment.
pub struct RedisLink {
    pub(crate) client: redis::Client,
    pub(crate) conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    /// Drives the connection, the bus subscription and calls from blocking threads. `None` only
    /// while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    /// After a failed command, calls fail at once until this instant (ms after `started`), so
    /// requests do not each wait a timeout while Redis is away; the connection manager
    /// reconnects meanwhile.
    open_again_ms: std::sync::atomic::AtomicU64,
    started: std::time::Instant,
    /// Budget scripts sent, for tests and benchmarks.
    pub(crate) calls: std::sync::atomic::AtomicU64,
}

/// How long calls fail fast after a failed one.
const BREAK_FOR: Duration = Duration::from_secs(1);

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisLink {
    /// Connects to `url` (a `redis://` URL given by config key `key`) and checks it answers
    /// within `timeout`; every key this link writes starts with `prefix:`.
    pub fn connect(key: &'static str, url: &str, prefix: &str, timeout: Duration) -> Result<RedisLink, ClusterError> {
        let fail = |source| ClusterError::Connect { key, url: sandgate_core::secret::redact_url_password(url), source };
        let client = redis::Client::open(url).map_err(fail)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sandgate-redis")
            .enable_all()
            .build()
            .map_err(|e| fail(redis::RedisError::from(e)))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        // On a thread of its own: `connect` may be called from inside another runtime.
        let connecting = client.clone();
        let conn = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    runtime.block_on(async {
                        let mut conn = connecting.get_connection_manager_with_config(config).await?;
                        redis::cmd("PING").query_async::<()>(&mut conn).await?;
                        Ok::<_, redis::RedisError>(conn)
                    })
                })
                .join()
        })
        .map_err(|_| ClusterError::Answer("the connecting thread panicked"))?
        .map_err(fail)?;
        Ok(RedisLink {
            client,
            conn,
            prefix: prefix.to_owned(),
            timeout,
            runtime: Some(runtime),
            open_again_ms: Default::default(),
            started: std::time::Instant::now(),
            calls: Default::default(),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// `Err` at once while a recent failure keeps the link broken.
    pub(crate) fn check_open(&self) -> Result<(), ClusterError> {
        if self.now_ms() < self.open_again_ms.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ClusterError::Broken(BREAK_FOR));
        }
        Ok(())
    }

    /// Records a failed command: calls fail fast for a while.
    pub(crate) fn trip(&self) {
        let until = self.now_ms() + u64::try_from(BREAK_FOR.as_millis()).unwrap_or(1000);
        self.open_again_ms.store(until, std::sync::atomic::Ordering::Relaxed);
    }

    /// `prefix:name`.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// How many budget scripts this link has sent.
    pub fn budget_calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How long a command may take before it counts as failed.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A handle to the link's own runtime.
    pub(crate) fn handle(&self) -> Option<tokio::runtime::Handle> {
        self.runtime.as_ref().map(|r| r.handle().clone())
    }

    /// Runs `work` on the link's runtime and waits for it from a thread that is not async (the
    /// blocking pool): at most the link's timeout.
    pub(crate) fn block_on<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, ClusterError>> + Send + 'static,
    ) -> Result<T, ClusterError> {
        let Some(handle) = self.handle() else { return Err(ClusterError::Timeout(self.timeout)) };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        handle.spawn(async move {
            let _ = tx.send(work.await);
        });
        // The command has its own timeout; the margin covers scheduling only.
        rx.recv_timeout(self.timeout + Duration::from_millis(50)).map_err(|_| ClusterError::Timeout(self.timeout))?
    }
}

impl Drop for RedisLink {
    fn drop(&mut self) {
        // Dropping a runtime inside another one panics; this works from anywhere.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
