//! A sandbox event on its way to a partner: raised by the emulator (scenario webhooks, OpenAPI
//! callbacks), queued by the control plane's outbox, delivered by the webhook sender.

use serde_json::Value;

/// One event to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its type (`authorization.captured`, or the callback's name).
    pub name: String,
    /// The JSON payload (the `data` of the delivered envelope).
    pub payload: Value,
    /// Where to send it when the request named the receiver (a callback URL); `None`: to the
    /// application's subscriptions for `name`.
    pub url: Option<String>,
}
