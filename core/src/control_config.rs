//! The control plane's section of `sandgate.yaml` (`control_plane`), as serde reads it: a leaf
//! type, so the file's parser (which knows every section) need not depend on the control plane.

use serde::Deserialize;

/// `sandgate.control_plane`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ControlPlaneConfig {
    /// How long the previous secret keeps working after a rotation. Default 86400 (1 day).
    pub rotation_grace_secs: u64,
    /// How long an invitation's one-time password is valid. Default 259200 (3 days).
    pub invitation_ttl_secs: u64,
    /// Webhook delivery.
    pub webhooks: WebhookConfig,
}

/// `sandgate.control_plane.webhooks`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Attempts in all, the first included. Default 8.
    pub max_attempts: u32,
    /// Delay before the first retry; each later one doubles. Default 1000 ms.
    pub first_retry_ms: u64,
    /// Longest delay between attempts. Default 3600 s.
    pub max_retry_secs: u64,
    /// Time allowed per attempt. Default 10 s.
    pub timeout_secs: u64,
    /// Let deliveries reach loopback, private and link-local addresses (local development).
    /// Default false: a partner's webhook URL must not reach inside the operator's network.
    pub allow_private_addresses: bool,
}

impl Default for ControlPlaneConfig {
    fn default() -> Self {
        ControlPlaneConfig {
            rotation_grace_secs: 86_400,
            invitation_ttl_secs: 259_200,
            webhooks: WebhookConfig::default(),
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            max_attempts: 8,
            first_retry_ms: 1000,
            max_retry_secs: 3600,
            timeout_secs: 10,
            allow_private_addresses: false,
        }
    }
}
