//! The activity log: one row per event (time, actor, partner, application, details), written in
//! the same transaction as the change it records, so no change goes unlogged.

use sandgate_db::{params, Connection, Transaction};
use serde::Serialize;
use serde_json::Value;

use super::{now_rfc3339, Store, StoreError};

/// One logged event.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    /// Position in the log (increasing; a cursor for paging).
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The partner concerned.
    pub partner_id: Option<String>,
    /// The application concerned.
    pub application_id: Option<String>,
    /// Who did it: `operator:<name>`, `member:<email>`, `client:<client id>`, `system`.
    pub actor: String,
    /// What happened (`credential.rotated`…).
    pub event: String,
    /// Event-specific facts (never a secret).
    pub details: Value,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this partner's events.
    pub partner_id: Option<String>,
    /// Only this application's events.
    pub application_id: Option<String>,
    /// Events whose name starts with this (`credential.`).
    pub event_prefix: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// At or after (RFC 3339).
    pub since: Option<String>,
    /// Before (RFC 3339).
    pub until: Option<String>,
    /// Events after this sequence number.
    pub after: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// Appends an event inside the caller's transaction.
pub(crate) fn log_event(
    tx: &Transaction<'_>,
    actor: &str,
    partner_id: Option<&str>,
    application_id: Option<&str>,
    event: &str,
    details: Value,
) -> sandgate_db::Result<()> {
    tx.execute(
        "INSERT INTO activity (at, partner_id, application_id, actor, event, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![now_rfc3339(), partner_id, application_id, actor, event, details.to_string()],
    )?;
    Ok(())
}

/// Appends an event about application `app_id` (its partner looked up) inside the caller's
/// transaction.
pub(crate) fn log_app_event(
    tx: &Transaction<'_>,
    actor: &str,
    app_id: &str,
    event: &str,
    details: Value,
) -> sandgate_db::Result<()> {
    let partner: String =
        tx.query_row("SELECT partner_id FROM applications WHERE id = ?1", params![app_id], |r| r.get(0))?;
    log_event(tx, actor, Some(&partner), Some(app_id), event, details)
}

/// An event waiting for the background writer.
#[derive(Debug)]
pub(crate) struct Pending {
    actor: String,
    partner_id: Option<String>,
    application_id: Option<String>,
    event: &'static str,
    details: Value,
}

/// What [`Store::record_event_queued`] does when the background writer is behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Wait for room (or write inline when no writer runs): the event must not be lost.
    Wait,
    /// Drop and count it: the caller must never wait (the data path).
    Drop,
}

/// Events the background writer takes into one transaction at most.
const BATCH: usize = 512;

impl Store {
    /// Starts the background writer behind [`Store::record_event_queued`]: events are written in
    /// batches, one transaction each, so the token endpoint never waits for SQLite. The thread
    /// ends when the store is dropped.
    pub fn start_activity_writer(self: &std::sync::Arc<Self>) {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Pending>(10_000);
        if self.later.set(sender).is_err() {
            return;
        }
        let store = std::sync::Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("sandgate-activity".into()).spawn(move || {
            while let Ok(first) = receiver.recv() {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match receiver.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let Some(store) = store.upgrade() else { return };
                let written = store.write_quiet(|tx| {
                    for e in batch.drain(..) {
                        log_event(
                            tx,
                            &e.actor,
                            e.partner_id.as_deref(),
                            e.application_id.as_deref(),
                            e.event,
                            e.details,
                        )?;
                    }
                    Ok(())
                });
                if let Err(e) = written {
                    tracing::error!(error = %e, "could not write activity-log events");
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "no background activity writer; events are written inline");
        }
    }

    /// Queues an event for the background writer. With [`WhenFull::Wait`] it blocks only when
    /// 10 000 events are already waiting and is written inline when no writer runs; with
    /// [`WhenFull::Drop`] (the data path) it is dropped instead and counted in
    /// [`Store::dropped_events`].
    pub fn record_event_queued(
        &self,
        when_full: WhenFull,
        actor: String,
        partner_id: Option<&str>,
        application_id: Option<&str>,
        event: &'static str,
        details: Value,
    ) {
        let pending = Pending {
            actor,
            partner_id: partner_id.map(str::to_owned),
            application_id: application_id.map(str::to_owned),
            event,
            details,
        };
        let unsent = match (self.later.get(), when_full) {
            (Some(sender), WhenFull::Wait) => sender.send(pending).err().map(|e| e.0),
            (Some(sender), WhenFull::Drop) => sender.try_send(pending).err().map(|e| match e {
                std::sync::mpsc::TrySendError::Full(p) | std::sync::mpsc::TrySendError::Disconnected(p) => p,
            }),
            (None, _) => Some(pending),
        };
        let Some(e) = unsent else { return };
        if when_full == WhenFull::Drop {
            self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        let written =
            self.record_event(&e.actor, e.partner_id.as_deref(), e.application_id.as_deref(), e.event, e.details);
        if let Err(e) = written {
            tracing::error!(error = %e, "could not write an activity-log event");
        }
    }

    /// Data-path events dropped because the activity writer was behind.
    pub fn dropped_events(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records one event on its own (a token minted, a request denied).
    pub fn record_event(
        &self,
        actor: &str,
        partner_id: Option<&str>,
        application_id: Option<&str>,
        event: &str,
        details: Value,
    ) -> Result<(), StoreError> {
        self.write_quiet(|tx| Ok(log_event(tx, actor, partner_id, application_id, event, details)?))
    }

    /// The events matching `filter`, oldest first.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
        self.read(|conn| events(conn, filter))
    }
}

fn events(conn: &Connection, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
    // Every filter is a bound parameter; NULL means "any".
    let mut statement = conn.prepare_cached(
        "SELECT seq, at, partner_id, application_id, actor, event, details FROM activity
         WHERE (?1 IS NULL OR partner_id = ?1)
           AND (?2 IS NULL OR application_id = ?2)
           AND (?3 IS NULL OR substr(event, 1, length(?3)) = ?3)
           AND (?4 IS NULL OR actor = ?4)
           AND (?5 IS NULL OR at >= ?5)
           AND (?6 IS NULL OR at < ?6)
           AND seq > ?7
         ORDER BY seq LIMIT ?8",
    )?;
    let rows = statement.query_map(
        params![
            filter.partner_id,
            filter.application_id,
            filter.event_prefix,
            filter.actor,
            filter.since,
            filter.until,
            filter.after.unwrap_or(0),
            filter.limit
        ],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        },
    )?;
    let mut events = Vec::new();
    for row in rows {
        let (seq, at, partner_id, application_id, actor, event, details) = row?;
        events.push(Event {
            seq,
            at,
            partner_id,
            application_id,
            actor,
            event,
            details: serde_json::from_str(&details)?,
        });
    }
    Ok(events)
}
