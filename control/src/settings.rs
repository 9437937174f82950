//! The control plane's settings: its section of `sandgate.yaml` (`control_plane`), and what it
//! reads of the rest (environments, operator tokens, plan names), compiled by whoever assembles
//! the process and swapped whole on reload.

pub use sandgate_core::control_config::{ControlPlaneConfig, WebhookConfig};
use sandgate_core::environment::Environments;

/// What the control plane reads of the configuration.
#[derive(Debug, Clone, Default)]
pub struct ControlSettings {
    /// `sandgate.control_plane`.
    pub control_plane: ControlPlaneConfig,
    /// The configured environments (credentials are issued per environment).
    pub environments: Environments,
    /// Operator tokens from the config: `(name, SHA-256 of the token)`.
    pub operator_tokens: Vec<(String, [u8; 32])>,
    /// The rate-limit plans an operator may assign.
    pub plans: Vec<String>,
    /// The developer portal's public address (links in e-mails), when the portal is on.
    pub portal_url: Option<String>,
}
