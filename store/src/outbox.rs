//! The webhook outbox: deliveries are queued in the transaction of the change that causes them
//! (so none is lost to a crash between the two), sent by the delivery worker, and every attempt is
//! kept as the delivery log.

use sandgate_db::{params, Transaction};
use serde_json::{json, Value};

use super::activity::log_app_event;
use super::applications::Application;
use super::{new_id, now_rfc3339, Store, StoreError};
use sandgate_core::delivery::{Delivery, DeliveryAttempt};
use sandgate_core::event::Event;
use sandgate_core::trust_list::TrustList;

/// A delivery the worker should attempt now.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// Its id.
    pub id: String,
    /// The application (whose signing secret signs it).
    pub application_id: String,
    /// The event id.
    pub event_id: String,
    /// The event type.
    pub event: String,
    /// The receiver.
    pub url: String,
    /// The JSON body.
    pub payload: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The generation of the application's signing secret now (read with the claim).
    pub webhook_generation: i64,
}

/// Queues `event` for every webhook of `app` subscribed to it; returns how many were queued.
pub(crate) fn enqueue(tx: &Transaction<'_>, app: &Application, event: &str, data: Value) -> Result<usize, StoreError> {
    let urls: Vec<&str> = app
        .fields
        .webhooks
        .iter()
        .filter(|hook| hook.events.iter().any(|e| e == event))
        .map(|h| h.url.as_str())
        .collect();
    enqueue_to(tx, app, event, data, &urls)
}

/// Queues one event (one `evt_…` id) for each of `urls`.
fn enqueue_to(
    tx: &Transaction<'_>,
    app: &Application,
    event: &str,
    data: Value,
    urls: &[&str],
) -> Result<usize, StoreError> {
    let (event_id, now) = (new_id("evt"), now_rfc3339());
    let payload = json!({"id": event_id, "type": event, "created_at": now, "data": data}).to_string();
    for url in urls {
        tx.execute(
            "INSERT INTO webhook_deliveries (id, application_id, event_id, event, url, payload, status, next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?8)",
            params![new_id("dlv"), app.id, event_id, event, url, payload, now_millis(), now],
        )?;
    }
    Ok(urls.len())
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis_to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What one delivery attempt came to, as the sender saw it.
#[derive(Debug, Clone, Copy)]
pub struct AttemptOutcome<'a> {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why it failed; `None` when the receiver acknowledged it.
    pub error: Option<&'a str>,
    /// Time to the answer or the failure.
    pub duration: std::time::Duration,
}

impl Store {
    /// Queues the events the TRAINING emulator raised for application `app_id`: a named event to
    /// every subscription to it, a callback to the URL the request named when that URL's origin
    /// is on the application's trust list (anything else could make the sandbox call any host).
    /// Returns how many deliveries were queued.
    pub fn queue_sandbox_events(&self, app_id: &str, events: Vec<Event>) -> Result<usize, StoreError> {
        self.write_quiet(|tx| {
            let app = super::applications::application(tx, app_id)?;
            let trust = TrustList::parse(&app.fields.trust_list.join(" ")).unwrap_or_default();
            let mut queued = 0;
            for event in events {
                queued += match &event.url {
                    None => enqueue(tx, &app, &event.name, event.payload)?,
                    Some(url) if trust.admits_origin(url.as_bytes()) => {
                        enqueue_to(tx, &app, &event.name, event.payload, &[url.as_str()])?
                    }
                    Some(url) => {
                        let details = json!({"event": event.name, "url": url, "reason": "not on the trust list"});
                        log_app_event(tx, "emulator", app_id, "webhook.refused", details)?;
                        0
                    }
                };
            }
            Ok(queued)
        })
    }

    /// Claims up to `limit` pending deliveries whose next attempt is due (oldest first): each is
    /// leased for `lease_ms`, after which an unrecorded attempt becomes due again. On PostgreSQL
    /// the rows are taken `FOR UPDATE SKIP LOCKED`: nodes claiming at once get disjoint batches
    /// without waiting for each other or for the store's write lock.
    pub fn claim_due_deliveries(&self, limit: u32, lease_ms: i64) -> Result<Vec<DueDelivery>, StoreError> {
        self.write_rows(|conn| {
            let lock = if conn.is_postgres() { " FOR UPDATE OF d SKIP LOCKED" } else { "" };
            let mut statement = conn.prepare(&format!(
                "SELECT d.id, d.application_id, d.event_id, d.event, d.url, d.payload, d.attempts, a.webhook_generation
                 FROM webhook_deliveries d JOIN applications a ON a.id = d.application_id
                 WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 ORDER BY d.next_attempt_at LIMIT ?2{lock}"
            ))?;
            let rows = statement.query_map(params![now_millis(), limit], |r| {
                Ok(DueDelivery {
                    id: r.get(0)?,
                    application_id: r.get(1)?,
                    event_id: r.get(2)?,
                    event: r.get(3)?,
                    url: r.get(4)?,
                    payload: r.get(5)?,
                    attempts: r.get(6)?,
                    webhook_generation: r.get(7)?,
                })
            })?;
            let due = rows.collect::<sandgate_db::Result<Vec<_>>>()?;
            for delivery in &due {
                conn.execute(
                    "UPDATE webhook_deliveries SET next_attempt_at = ?1 WHERE id = ?2",
                    params![now_millis().saturating_add(lease_ms), delivery.id],
                )?;
            }
            Ok(due)
        })
    }

    /// Records one attempt: the receiver's status when it answered, the error when it failed
    /// (`None`: delivered), and how long it took. `retry_in_ms` schedules the next attempt, `None`
    /// ends the delivery (delivered when the attempt succeeded, failed otherwise).
    pub fn record_attempt(
        &self,
        delivery: &DueDelivery,
        attempt: &AttemptOutcome<'_>,
        retry_in_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        self.write_quiet(|tx| {
            let number = i64::from(delivery.attempts) + 1;
            let duration_ms = i64::try_from(attempt.duration.as_millis()).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (delivery_id, attempt) DO UPDATE SET at = excluded.at,
                    status_code = excluded.status_code, error = excluded.error, duration_ms = excluded.duration_ms",
                params![delivery.id, number, now_rfc3339(), attempt.status, attempt.error, duration_ms],
            )?;
            let (status, next) = match (attempt.error.is_none(), retry_in_ms) {
                (true, _) => ("delivered", None),
                (false, Some(ms)) => ("pending", Some(now_millis() + ms)),
                (false, None) => ("failed", None),
            };
            tx.execute(
                "UPDATE webhook_deliveries SET attempts = ?1, status = ?2, next_attempt_at = ?3 WHERE id = ?4",
                params![number, status, next, delivery.id],
            )?;
            if status != "pending" {
                log_app_event(
                tx,
                "system",
                &delivery.application_id,
                &format!("webhook.{status}"),
                    json!({"delivery_id": delivery.id, "event": delivery.event, "url": delivery.url, "attempts": number}),
                )?;
            }
            Ok(())
        })
    }

    /// The delivery log of an application, newest first.
    pub fn deliveries(&self, app_id: &str) -> Result<Vec<Delivery>, StoreError> {
        self.read(|conn| {
            super::applications::application(conn, app_id)?;
            let mut statement = conn.prepare(
                "SELECT id, application_id, event_id, event, url, status, created_at, next_attempt_at
                 FROM webhook_deliveries WHERE application_id = ?1 ORDER BY created_at DESC, rowid DESC",
            )?;
            let rows = statement.query_map(params![app_id], |r| {
                let next: Option<i64> = r.get(7)?;
                Ok(Delivery {
                    id: r.get(0)?,
                    application_id: r.get(1)?,
                    event_id: r.get(2)?,
                    event: r.get(3)?,
                    url: r.get(4)?,
                    status: r.get(5)?,
                    attempts: Vec::new(),
                    created_at: r.get(6)?,
                    next_attempt_at: next.map(millis_to_rfc3339),
                })
            })?;
            let mut deliveries = rows.collect::<sandgate_db::Result<Vec<_>>>()?;
            let mut attempts = conn.prepare_cached(
                "SELECT attempt, at, status_code, error, duration_ms FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY attempt",
            )?;
            for delivery in &mut deliveries {
                delivery.attempts = attempts
                    .query_map(params![delivery.id], |r| {
                        Ok(DeliveryAttempt {
                            attempt: r.get(0)?,
                            at: r.get(1)?,
                            status_code: r.get(2)?,
                            error: r.get(3)?,
                            duration_ms: r.get(4)?,
                        })
                    })?
                    .collect::<sandgate_db::Result<_>>()?;
            }
            Ok(deliveries)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applications::{ApplicationFields, Webhook};
    use sandgate_core::clock::SystemClock;
    use std::collections::HashSet;
    use std::sync::Arc;

    /// Three nodes on one PostgreSQL claim the outbox at once, over and over: every delivery is
    /// claimed by exactly one of them.
    #[test]
    fn nodes_claiming_at_once_share_out_each_delivery_once() {
        let database = sandgate_db::testing::TestDatabase::create("outbox");
        let nodes: Vec<Arc<Store>> = (0..3)
            .map(|_| Arc::new(Store::open_postgres(&database.url, Arc::new(SystemClock)).expect("open")))
            .collect();
        let new = crate::partners::NewPartner {
            name: "Acme",
            contact: ("Acme team", "team@acme.example"),
            owner: ("Ada", "ada@acme.example"),
        };
        let hasher = sandgate_core::secret::SecretHash::new([7; 32]);
        let (partner, _, _) = nodes[0].create_partner("operator:test", &new, &hasher).expect("partner");
        let hook = |n: usize| Webhook { url: format!("https://hooks.example.com/{n}"), events: vec!["ping".into()] };
        let fields = ApplicationFields {
            name: "outbox-app".into(),
            description: String::new(),
            kind: "generic".into(),
            category: String::new(),
            permission: "read".into(),
            scopes: vec!["read".into()],
            webhooks: (0..4).map(hook).collect(),
            trust_list: vec!["https://hooks.example.com".into()],
            entities: Vec::new(),
            benefits: Vec::new(),
            plan: String::new(),
        };
        let app = nodes[0].create_app("operator:test", &partner.id, &fields).expect("app");
        let events = (0..50).map(|i| Event { name: "ping".into(), payload: json!({"n": i}), url: None }).collect();
        assert_eq!(nodes[1].queue_sandbox_events(&app.id, events).expect("queue"), 200);

        let claimers: Vec<_> = nodes
            .iter()
            .map(|node| {
                let node = Arc::clone(node);
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let batch = node.claim_due_deliveries(7, 60_000).expect("claim");
                        if batch.is_empty() {
                            return mine;
                        }
                        mine.extend(batch.into_iter().map(|d| d.id));
                    }
                })
            })
            .collect();
        let claims: Vec<Vec<String>> = claimers.into_iter().map(|t| t.join().expect("claimer")).collect();
        let all: Vec<&String> = claims.iter().flatten().collect();
        let distinct: HashSet<&String> = all.iter().copied().collect();
        assert_eq!(
            (all.len(), distinct.len()),
            (200, 200),
            "each delivery claimed once: {:?}",
            claims.iter().map(Vec::len).collect::<Vec<_>>()
        );
    }
}
