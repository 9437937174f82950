//! `ControlContext`: what every control-plane handler and the webhook worker share: the store, the
//! keys, the settings (swapped on reload), the application types the specs declare, the emulator
//! (for scrubs) and the worker's wake-up. The data plane has a context of its own.

use std::sync::Arc;

use arc_swap::ArcSwap;
use sandgate_emulator::Emulator;
use sandgate_store::keys::KeyRing;
use sandgate_store::Store;

use crate::rules::AppTypes;
use crate::settings::ControlSettings;

/// The control plane's process state.
#[derive(Debug)]
pub struct ControlContext {
    /// The store.
    pub store: Arc<Store>,
    /// The secret hash and the webhook key.
    pub keys: KeyRing,
    /// The settings in force (a reload swaps them).
    pub settings: ArcSwap<ControlSettings>,
    /// The application types the specs declare.
    pub app_types: AppTypes,
    /// The emulator, when an environment uses it (scrubs on demand).
    pub emulator: Option<Arc<Emulator>>,
    /// Wakes the webhook worker when deliveries were queued.
    pub webhook_wake: Arc<tokio::sync::Notify>,
    /// Wakes the mail worker when a message was queued for SMTP.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// SHA-256 of the local operator token (`<data_dir>/secrets/operator.token`).
    pub local_operator: [u8; 32],
}
