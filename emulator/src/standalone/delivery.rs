//! Delivery for `sandgate emulator` run alone, where there is no control plane and no outbox:
//! callbacks go to the URL the request named, scenario webhooks to `--webhook-url`; each is signed
//! with `--webhook-secret` (`Sandgate-Signature`, as the gateway's), retried with the default
//! back-off on a thread of its own, and every attempt is kept in this mode's [`DeliveryLog`]
//! (served by `--admin-listen`, see `super::admin`) and logged.

use std::collections::VecDeque;
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{SecondsFormat, Utc};

use crate::events::{Event, EventSink};
use crate::state::Tenant;
use sandgate_webhooks::send::Envelope;
use sandgate_webhooks::{Destinations, RetryPolicy, Sender};

pub use sandgate_core::delivery::{Delivery, DeliveryAttempt};

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

/// The application named in this mode's deliveries.
pub const STANDALONE: &str = "standalone";

/// How many deliveries the log keeps (the oldest go first).
pub const LOG_CAPACITY: usize = 1000;

/// The deliveries of this mode, newest first, with every attempt, in memory (a restart empties
/// it, as it does the in-memory state). The control plane's delivery type, with the application
/// `standalone` (this mode has no applications).
#[derive(Debug, Clone, Default)]
pub struct DeliveryLog {
    deliveries: Arc<Mutex<VecDeque<Delivery>>>,
}

impl DeliveryLog {
    fn with<T>(&self, f: impl FnOnce(&mut VecDeque<Delivery>) -> T) -> T {
        // A panic elsewhere while holding the lock leaves a log that is still well-formed.
        f(&mut self.deliveries.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn begin(&self, delivery: Delivery) {
        self.with(|log| {
            log.push_front(delivery);
            log.truncate(LOG_CAPACITY);
        });
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut Delivery)) {
        self.with(|log| log.iter_mut().find(|d| d.id == id).map(change));
    }

    /// The deliveries, newest first; only those in `status` when given.
    pub fn list(&self, status: Option<&str>) -> Vec<Delivery> {
        self.with(|log| log.iter().filter(|d| status.is_none_or(|s| d.status == s)).cloned().collect())
    }
}

fn rfc3339(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn after(at: chrono::DateTime<Utc>, delay: Duration) -> String {
    rfc3339(chrono::TimeDelta::from_std(delay).ok().and_then(|d| at.checked_add_signed(d)).unwrap_or(at))
}

/// Hands events to the delivery thread without waiting for it.
#[derive(Debug)]
pub struct DirectSink {
    queue: mpsc::Sender<Event>,
}

impl DirectSink {
    /// Starts the delivery thread.
    pub fn start(delivery: DirectDelivery, log: DeliveryLog) -> std::io::Result<DirectSink> {
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
                let (sender, secret, retry, log) =
                    (sender.clone(), delivery.secret.clone(), delivery.retry, log.clone());
                runtime.spawn(async move { deliver(&sender, &url, secret.as_bytes(), retry, event, &log).await });
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

async fn deliver(sender: &Sender, url: &str, secret: &[u8], retry: RetryPolicy, event: Event, log: &DeliveryLog) {
    let event_id = format!("evt_{}", uuid::Uuid::new_v4().simple());
    let id = format!("dlv_{}", uuid::Uuid::new_v4().simple());
    let created = Utc::now();
    let body =
        serde_json::json!({"id": event_id, "type": event.name, "created_at": rfc3339(created), "data": event.payload})
            .to_string();
    let first = retry.next_delay(0).map(|delay| after(created, delay));
    log.begin(Delivery {
        id: id.clone(),
        application_id: STANDALONE.to_owned(),
        event_id: event_id.clone(),
        event: event.name.clone(),
        url: url.to_owned(),
        status: "pending".to_owned(),
        attempts: Vec::new(),
        created_at: rfc3339(created),
        next_attempt_at: first,
    });
    let mut attempts = 0;
    while let Some(delay) = retry.next_delay(attempts) {
        tokio::time::sleep(delay).await;
        attempts += 1;
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let envelope = Envelope { event_id: &event_id, event: &event.name, attempt: attempts, timestamp };
        let at = Utc::now();
        let attempt = sender.send(url, secret, envelope, body.as_bytes()).await;
        tracing::info!(event = %event.name, %event_id, url, attempt = attempts, status = ?attempt.status, error = ?attempt.error, "webhook attempt");
        let next = retry.next_delay(attempts).map(|delay| after(Utc::now(), delay));
        let delivered = attempt.delivered();
        log.update(&id, |delivery| {
            delivery.attempts.push(DeliveryAttempt {
                attempt: i64::from(attempts),
                at: rfc3339(at),
                status_code: attempt.status.map(i64::from),
                error: attempt.error.clone(),
                duration_ms: i64::try_from(attempt.duration.as_millis()).unwrap_or(i64::MAX),
            });
            let status = match (delivered, &next) {
                (true, _) => "delivered",
                (false, Some(_)) => "pending",
                (false, None) => "failed",
            };
            delivery.status = status.to_owned();
            delivery.next_attempt_at = if delivered { None } else { next.clone() };
        });
        if delivered {
            return;
        }
    }
    tracing::warn!(event = %event.name, %event_id, url, attempts, "webhook given up");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_delivery_is_retried_then_logged_as_failed_with_every_attempt() {
        let receiver = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(wiremock::ResponseTemplate::new(500))
            .expect(3)
            .mount(&receiver)
            .await;
        let retry = RetryPolicy {
            max_attempts: 3,
            first_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
        };
        let (sender, log) =
            (Sender::new(Duration::from_secs(5), Destinations::Any).expect("client"), DeliveryLog::default());
        let event = Event { name: "authorization.captured".into(), payload: serde_json::json!({"id": 1}), url: None };
        deliver(&sender, &receiver.uri(), b"whsec_t", retry, event, &log).await;

        let failed = log.list(Some("failed"));
        assert_eq!(failed.len(), 1, "{:?}", log.list(None));
        let codes: Vec<_> = failed[0].attempts.iter().map(|a| (a.attempt, a.status_code)).collect();
        assert_eq!(codes, [(1, Some(500)), (2, Some(500)), (3, Some(500))]);
        assert!(failed[0].next_attempt_at.is_none() && failed[0].attempts.iter().all(|a| a.error.is_some()));
        assert!(log.list(Some("delivered")).is_empty());
    }

    #[test]
    fn the_log_keeps_the_newest_deliveries() {
        let log = DeliveryLog::default();
        for n in 0..LOG_CAPACITY + 5 {
            log.begin(Delivery {
                id: format!("dlv_{n}"),
                application_id: STANDALONE.into(),
                event_id: format!("evt_{n}"),
                event: "e".into(),
                url: "http://x".into(),
                status: "pending".into(),
                attempts: Vec::new(),
                created_at: String::new(),
                next_attempt_at: None,
            });
        }
        let all = log.list(None);
        assert_eq!((all.len(), all[0].id.as_str()), (LOG_CAPACITY, format!("dlv_{}", LOG_CAPACITY + 4).as_str()));
    }
}
