//! Delivery for `sandgate emulator` run alone, where there is no control plane and no outbox:
//! callbacks go to the URL the request named, scenario webhooks to `--webhook-url`; each is signed
//! with `--webhook-secret` (`Sandgate-Signature`, as the gateway's), retried with the default
//! back-off on a thread of its own, and every attempt is logged (the delivery log of this mode).

use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sandgate_emulator::events::{Event, EventSink};
use sandgate_emulator::state::Tenant;
use sandgate_webhooks::send::Envelope;
use sandgate_webhooks::{Destinations, RetryPolicy, Sender};

/// Where and how the standalone emulator delivers.
#[derive(Debug, Clone)]
pub struct DirectDelivery {
    /// Receiver of scenario webhooks (`None`: they are dropped, callbacks still go out).
    pub webhook_url: Option<String>,
    /// The signing secret.
    pub secret: String,
    /// Whether loopback and private addresses may be called (local receivers).
    pub allow_private: bool,
    /// Retries.
    pub retry: RetryPolicy,
}

/// Hands events to the delivery thread without waiting for it.
#[derive(Debug)]
pub struct DirectSink {
    queue: mpsc::Sender<Event>,
}

impl DirectSink {
    /// Starts the delivery thread.
    pub fn start(delivery: DirectDelivery) -> std::io::Result<DirectSink> {
        let (queue, events) = mpsc::channel::<Event>();
        std::thread::Builder::new().name("sandgate-deliveries".into()).spawn(move || {
            // Nothing is set up before the first event: the HTTP client loads the system's root
            // certificates, work that would otherwise compete with loading the specs at start-up.
            let Ok(first) = events.recv() else { return };
            // One worker runs the deliveries (and their back-off sleeps) while this thread waits
            // for the next event.
            let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => return tracing::error!(error = %e, "webhook deliveries cannot start"),
            };
            let destinations = if delivery.allow_private { Destinations::Any } else { Destinations::PublicOnly };
            let sender = match Sender::new(Duration::from_secs(10), destinations) {
                Ok(sender) => sender,
                Err(e) => return tracing::error!(error = %e, "webhook client cannot start"),
            };
            for event in std::iter::once(first).chain(events) {
                let Some(url) = event.url.clone().or_else(|| delivery.webhook_url.clone()) else { continue };
                let (sender, secret, retry) = (sender.clone(), delivery.secret.clone(), delivery.retry);
                runtime.spawn(async move { deliver(&sender, &url, secret.as_bytes(), retry, event).await });
            }
        })?;
        Ok(DirectSink { queue })
    }
}

impl EventSink for DirectSink {
    fn emit(&self, _tenant: Tenant<'_>, _application: Option<&str>, events: Vec<Event>) {
        for event in events {
            if self.queue.send(event).is_err() {
                tracing::error!("webhook delivery thread is gone; event dropped");
            }
        }
    }
}

async fn deliver(sender: &Sender, url: &str, secret: &[u8], retry: RetryPolicy, event: Event) {
    let event_id = format!("evt_{}", uuid::Uuid::new_v4().simple());
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let body = serde_json::json!({"id": event_id, "type": event.name, "created_at": created, "data": event.payload})
        .to_string();
    let mut attempts = 0;
    while let Some(delay) = retry.next_delay(attempts) {
        tokio::time::sleep(delay).await;
        attempts += 1;
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let envelope = Envelope { event_id: &event_id, event: &event.name, attempt: attempts, timestamp };
        let attempt = sender.send(url, secret, envelope, body.as_bytes()).await;
        tracing::info!(event = %event.name, %event_id, url, attempt = attempts, status = ?attempt.status, error = ?attempt.error, "webhook attempt");
        if attempt.delivered() {
            return;
        }
    }
    tracing::warn!(event = %event.name, %event_id, url, attempts, "webhook given up");
}
