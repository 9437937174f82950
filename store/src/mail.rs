//! The mail outbox: every message to a person (invitations, sign-in links, review decisions,
//! credential events) is stored here first. Without SMTP it stays here (`kept`), listed for the
//! operator; with SMTP a worker sends what is `pending` and retries with back-off.

use sandgate_db::{params, Connection};
use serde::Serialize;

use super::{new_id, now_rfc3339, Store, StoreError};

/// One message.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Mail {
    /// `mail_…`.
    pub id: String,
    /// The recipient's address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// What it is about (`invitation`, `sign-in-link`, `review.approved`…).
    pub kind: String,
    /// `kept` (outbox only), `pending`, `sent` or `failed` (gave up).
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// The last delivery error.
    pub error: Option<String>,
    /// When it was queued.
    pub created_at: String,
}

const COLUMNS: &str = "id, to_addr, subject, body, kind, status, attempts, error, created_at";

fn row(r: &sandgate_db::Row<'_>) -> sandgate_db::Result<Mail> {
    Ok(Mail {
        id: r.get(0)?,
        to: r.get(1)?,
        subject: r.get(2)?,
        body: r.get(3)?,
        kind: r.get(4)?,
        status: r.get(5)?,
        attempts: r.get(6)?,
        error: r.get(7)?,
        created_at: r.get(8)?,
    })
}

fn list<P: sandgate_db::Params>(conn: &Connection, sql: &str, values: P) -> Result<Vec<Mail>, StoreError> {
    let mut statement = conn.prepare(sql)?;
    let mails = statement.query_map(values, row)?.collect::<sandgate_db::Result<_>>()?;
    Ok(mails)
}

impl Store {
    /// Queues a message; `deliver`: an SMTP worker will send it (else it is only kept).
    pub fn queue_mail(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        kind: &str,
        deliver: bool,
    ) -> Result<Mail, StoreError> {
        self.write_quiet(|tx| {
            let seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM mail", [], |r| r.get(0))?;
            let (id, now) = (new_id("mail"), now_rfc3339());
            let status = if deliver { "pending" } else { "kept" };
            tx.execute(
                "INSERT INTO mail (id, to_addr, subject, body, kind, status, created_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![id, to, subject, body, kind, status, now, seq],
            )?;
            Ok(Mail {
                id,
                to: to.to_owned(),
                subject: subject.to_owned(),
                body: body.to_owned(),
                kind: kind.to_owned(),
                status: status.to_owned(),
                attempts: 0,
                error: None,
                created_at: now,
            })
        })
    }

    /// The newest `limit` messages, to `to` when given.
    pub fn mails(&self, to: Option<&str>, limit: i64) -> Result<Vec<Mail>, StoreError> {
        self.read(|conn| match to {
            Some(to) => list(
                conn,
                &format!("SELECT {COLUMNS} FROM mail WHERE to_addr = ?1 ORDER BY seq DESC LIMIT ?2"),
                params![to, limit],
            ),
            None => list(conn, &format!("SELECT {COLUMNS} FROM mail ORDER BY seq DESC LIMIT ?1"), params![limit]),
        })
    }

    /// Messages waiting to be sent whose next attempt is due, oldest first.
    pub fn due_mails(&self, limit: i64) -> Result<Vec<Mail>, StoreError> {
        let now = self.now_unix();
        self.read(|conn| {
            list(
                conn,
                &format!(
                    "SELECT {COLUMNS} FROM mail WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY seq LIMIT ?2"
                ),
                params![now, limit],
            )
        })
    }

    /// Records a delivery attempt: sent, or failed with `error` and retried at `retry_at` (`None`:
    /// give up).
    pub fn mail_attempted(&self, id: &str, outcome: Result<(), (&str, Option<i64>)>) -> Result<(), StoreError> {
        self.write_quiet(|tx| {
            match outcome {
                Ok(()) => tx.execute(
                    "UPDATE mail SET status = 'sent', attempts = attempts + 1, error = NULL WHERE id = ?1",
                    params![id],
                )?,
                Err((error, Some(retry_at))) => tx.execute(
                    "UPDATE mail SET attempts = attempts + 1, error = ?2, next_attempt_at = ?3 WHERE id = ?1",
                    params![id, error, retry_at],
                )?,
                Err((error, None)) => tx.execute(
                    "UPDATE mail SET status = 'failed', attempts = attempts + 1, error = ?2 WHERE id = ?1",
                    params![id, error],
                )?,
            };
            Ok(())
        })
    }
}
