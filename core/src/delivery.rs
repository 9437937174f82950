//! A webhook delivery and its attempts, in the shape the control plane's delivery log and the
//! standalone emulator's both answer with.

use serde::Serialize;

/// One queued or finished delivery, with its attempts.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Delivery {
    /// `dlv_…`.
    pub id: String,
    /// The application.
    pub application_id: String,
    /// The event's id (`evt_…`), the same for every URL and every attempt.
    pub event_id: String,
    /// The event type.
    pub event: String,
    /// The receiver.
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Every attempt so far.
    pub attempts: Vec<DeliveryAttempt>,
    /// When it was queued.
    pub created_at: String,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<String>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeliveryAttempt {
    /// 1 for the first.
    pub attempt: i64,
    /// When it was made.
    pub at: String,
    /// The receiver's status, when it answered.
    pub status_code: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
}
