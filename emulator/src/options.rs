//! How an emulator is set up: seed, state backend, scrub schedule, events, tokens, tenant.

use crate::state::StateBackend;
use crate::{events, scrub};

/// Settings of an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Base seed for fabrication; the same seed and request give the same answer.
    pub seed: u64,
    /// Where created objects are kept.
    pub state: StateBackend,
    /// The environment of requests that carry no tenant (the standalone emulator).
    pub default_environment: String,
    /// The partner of requests that carry no tenant.
    pub default_partner: String,
    /// When scheduled scrubs happen (announced in every answer); `None`: never.
    pub scrub: Option<scrub::ScrubSchedule>,
    /// The bearer tokens (or API keys) accepted from requests without a tenant; empty: any
    /// credential of the documented kind.
    pub tokens: Vec<String>,
    /// Where raised events (scenario webhooks, callbacks) go; `None`: they are dropped.
    pub events: Option<events::Sink>,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            seed: 0,
            state: StateBackend::Memory,
            default_environment: "training".to_owned(),
            default_partner: "standalone".to_owned(),
            scrub: None,
            tokens: Vec::new(),
            events: None,
        }
    }
}
