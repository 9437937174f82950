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
    /// E-mail to partners: invitations, sign-in links, review decisions, credential events.
    pub mail: MailConfig,
}

/// `sandgate.control_plane.mail`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// The sender of every message. Default `Sandgate <no-reply@sandgate.invalid>`.
    pub from: String,
    /// Where messages are sent: `smtps://user:password@host:465` (TLS), `smtp://host:587?tls=required`
    /// (STARTTLS) or `smtp://host:25` (plain, local relays only). Unset (default): messages are
    /// kept in the built-in outbox only, listed on the admin listener and in the portal's
    /// operator area, so every flow works without a mail server.
    pub smtp_url: Option<String>,
}

/// `sandgate.portal`: the developer portal, a web front end on a listener of its own.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PortalConfig {
    /// Listen address. Default `127.0.0.1:8070`; `null` turns the portal off.
    pub listen: Option<String>,
    /// The portal's address as partners reach it (links in e-mails, the `Secure` cookie flag when
    /// `https://`). Default: `http://` + the listen address.
    pub public_url: Option<String>,
    /// Whether anyone may create a partner account from the sign-up page. Default true; false:
    /// only operators create accounts (`POST /v1/partners`).
    pub open_signup: bool,
    /// How long a portal session lasts without a new sign-in. Default 43200 (12 hours).
    pub session_secs: u64,
}

/// The portal's checked settings (`sandgate.portal` once compiled).
#[derive(Debug, Clone, PartialEq)]
pub struct PortalSettings {
    /// Where it listens.
    pub listen: std::net::SocketAddr,
    /// Its address as partners reach it, without a trailing `/`.
    pub public_url: String,
    /// Whether its cookies carry `Secure` (the public URL is `https://`).
    pub secure_cookies: bool,
    /// Whether anyone may create a partner account.
    pub open_signup: bool,
    /// How long a session lasts.
    pub session_secs: u64,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            listen: Some("127.0.0.1:8070".into()),
            public_url: None,
            open_signup: true,
            session_secs: 43_200,
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig { from: "Sandgate <no-reply@sandgate.invalid>".into(), smtp_url: None }
    }
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
            mail: MailConfig::default(),
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
