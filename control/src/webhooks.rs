//! The webhook delivery worker: claims due deliveries from the store's outbox, signs each with the
//! application's current signing secret, sends it, and records the attempt and the next one's due
//! time (policy from `control_plane.webhooks`). Runs on the first worker; woken at once after a
//! connection change, and polls every second for retries.

use std::sync::Arc;
use std::time::Duration;

use pingora::server::ShutdownWatch;
use sandgate_emulator::state::Tenant;
use sandgate_webhooks::send::Envelope;
use sandgate_webhooks::{Destinations, RetryPolicy, Sender};

use crate::context::ControlContext;
use sandgate_store::DueDelivery;

/// The retry policy the configuration asks for.
pub fn policy(control: &ControlContext) -> (RetryPolicy, Duration) {
    let config = &control.settings.load().control_plane.webhooks;
    let policy = RetryPolicy {
        max_attempts: config.max_attempts,
        first_delay: Duration::from_millis(config.first_retry_ms),
        max_delay: Duration::from_secs(config.max_retry_secs),
    };
    (policy, Duration::from_secs(config.timeout_secs))
}

/// Delivers until shutdown.
pub async fn run(control: Arc<ControlContext>, mut shutdown: ShutdownWatch) {
    let (_, timeout) = policy(&control);
    let destinations = if control.settings.load().control_plane.webhooks.allow_private_addresses {
        Destinations::Any
    } else {
        Destinations::PublicOnly
    };
    let sender = match Sender::new(timeout, destinations) {
        Ok(sender) => sender,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not start; webhooks stay queued");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = control.webhook_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        // Keep going while full batches come back, so a burst drains without waiting for ticks.
        while deliver_batch(&control, &sender).await == BATCH {}
    }
}

const BATCH: usize = 32;

async fn deliver_batch(control: &Arc<ControlContext>, sender: &Sender) -> usize {
    let (policy, timeout) = policy(control);
    // The claim leases each delivery for longer than an attempt can take, so an overlapping
    // batch (or a restart mid-send) never sends one twice at once.
    let lease_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX).saturating_add(5_000);
    let store = Arc::clone(&control.store);
    let due = match tokio::task::spawn_blocking(move || store.claim_due_deliveries(BATCH as u32, lease_ms)).await {
        Ok(Ok(due)) => due,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not read the webhook outbox");
            return 0;
        }
        Err(_) => return 0,
    };
    let count = due.len();
    let mut sends = tokio::task::JoinSet::new();
    for delivery in due {
        let (control, sender) = (Arc::clone(control), sender.clone());
        sends.spawn(async move { attempt(&control, &sender, delivery, policy).await });
    }
    while sends.join_next().await.is_some() {}
    count
}

async fn attempt(control: &Arc<ControlContext>, sender: &Sender, delivery: DueDelivery, policy: RetryPolicy) {
    let secret = control.keys.webhook_secret(&delivery.application_id, delivery.webhook_generation);
    let number = delivery.attempts + 1;
    let envelope = Envelope {
        event_id: &delivery.event_id,
        event: &delivery.event,
        attempt: number,
        timestamp: u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0),
    };
    let outcome = sender.send(&delivery.url, secret.as_bytes(), envelope, delivery.payload.as_bytes()).await;
    let retry_in_ms = if outcome.delivered() {
        None
    } else {
        policy.next_delay(number).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    };
    if !outcome.delivered() {
        tracing::warn!(delivery = %delivery.id, url = %delivery.url, attempt = number, error = ?outcome.error, "webhook attempt failed");
    }
    let store = Arc::clone(&control.store);
    let recorded = tokio::task::spawn_blocking(move || {
        let recorded = sandgate_store::AttemptOutcome {
            status: outcome.status,
            error: outcome.error.as_deref(),
            duration: outcome.duration,
        };
        store.record_attempt(&delivery, &recorded, retry_in_ms)
    })
    .await;
    if !matches!(recorded, Ok(Ok(()))) {
        tracing::error!("could not record a webhook attempt; it will be retried after its lease");
    }
}

/// Takes the events the TRAINING emulator raises (scenario webhooks, OpenAPI callbacks) into the
/// outbox, where this worker signs, sends, retries and logs them like every other delivery.
#[derive(Debug)]
pub struct OutboxSink {
    /// The store holding the outbox.
    pub store: Arc<sandgate_store::Store>,
    /// Wakes the worker.
    pub wake: Arc<tokio::sync::Notify>,
}

impl sandgate_emulator::events::EventSink for OutboxSink {
    fn emit(&self, _tenant: Tenant<'_>, application: Option<&str>, events: Vec<sandgate_emulator::events::Event>) {
        let Some(application) = application else { return };
        match self.store.queue_sandbox_events(application, events) {
            Ok(0) => {}
            Ok(_) => self.wake.notify_one(),
            Err(e) => tracing::error!(error = %e, application, "sandbox events could not be queued"),
        }
    }
}
