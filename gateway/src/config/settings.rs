//! The compiled settings: what the file and flags come to once checked; tables are built from these.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use sandgate_core::control_config::ControlPlaneConfig;
use sandgate_core::environment::Environment;
use sandgate_emulator::scrub::ScrubSchedule;

use super::*;

/// Where an environment's traffic goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// The built-in emulator, called in-process.
    Emulator,
    /// No backend: requests that pass every check get 503.
    None,
    /// An HTTP backend: one or more endpoints.
    Http {
        /// The endpoints, in configured order.
        endpoints: Vec<Endpoint>,
        /// TLS, balancing, health checks, ejection and retries.
        backend: BackendSettings,
    },
}

/// One environment's checked settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvSettings {
    /// Which environment.
    pub env: Environment,
    /// Listener.
    pub listen: SocketAddr,
    /// Upstream.
    pub upstream: Upstream,
    /// Accepted `Host` names (lower-case, without port); empty: any.
    pub hosts: Vec<String>,
    /// TLS certificate and key.
    pub tls: Option<TlsConfig>,
    /// Time limits on an HTTP upstream.
    pub timeouts: UpstreamTimeouts,
}

/// Checked time limits on an HTTP upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamTimeouts {
    /// Connecting.
    pub connect: std::time::Duration,
    /// Each read.
    pub read: std::time::Duration,
    /// Each write.
    pub write: std::time::Duration,
    /// The whole exchange, every attempt included.
    pub total: std::time::Duration,
}

/// A checked version rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VersionRule {
    /// Unix time of deprecation.
    pub deprecated_at: Option<i64>,
    /// Sunset as an HTTP-date.
    pub sunset: Option<String>,
    /// Successor version (without `v`).
    pub successor: Option<String>,
    /// Retired.
    pub retired: bool,
}

/// The checked settings the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Specs folder.
    pub specs_dir: PathBuf,
    /// Admin listener.
    pub admin_listen: SocketAddr,
    /// The developer portal, unless turned off.
    pub portal: Option<sandgate_core::control_config::PortalSettings>,
    /// TRAINING, PRODUCTION, then the configured ones by name.
    pub environments: Vec<EnvSettings>,
    /// Token lifetime.
    pub token_ttl_secs: u64,
    /// How tokens are signed.
    pub token_algorithm: sandgate_store::signing::Algorithm,
    /// Emulator seed.
    pub emulator_seed: u64,
    /// Where the emulator keeps its objects.
    pub emulator_state: EmulatorState,
    /// When the emulator's data is scrubbed (`None`: never).
    pub emulator_scrub: Option<ScrubSchedule>,
    /// Log format is JSON.
    pub log_json: bool,
    /// Log filter.
    pub log_level: String,
    /// OTLP traces, when configured.
    pub telemetry: Option<Telemetry>,
    /// Trusted proxies.
    pub trusted_proxies: Vec<IpNet>,
    /// Version rules by (api, version).
    pub versions: BTreeMap<(String, String), VersionRule>,
    /// Rate-limit plans by name, and the default plan.
    pub rate_limits: RateLimitConfig,
    /// Limits.
    pub limits: LimitsConfig,
    /// Worker shards per listener (at least 1).
    pub workers: usize,
    /// Operator tokens by name, as SHA-256 digests.
    pub operator_tokens: Vec<(String, [u8; 32])>,
    /// Control-plane rules.
    pub control_plane: ControlPlaneConfig,
    /// The shared Redis, when configured.
    pub redis: Option<RedisSettings>,
    /// How often the directory is compared with the store.
    pub resync: std::time::Duration,
    /// Not ready past this staleness.
    pub max_staleness: std::time::Duration,
    /// SIGTERM: serving while not ready, then time for requests in flight.
    pub shutdown: ShutdownConfig,
    /// The PostgreSQL store's URL (`None`: SQLite in the data directory).
    pub store_url: Option<String>,
}

/// A checked `sandgate.redis`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// The URL.
    pub url: String,
    /// Key prefix.
    pub key_prefix: String,
    /// Command timeout.
    pub timeout: std::time::Duration,
}

impl Settings {
    /// The settings of `env`. Every environment of these settings has some; an unknown one gets
    /// TRAINING's (never reached: environments come from the same settings).
    pub fn env(&self, env: Environment) -> &EnvSettings {
        self.environments.iter().find(|e| e.env == env).unwrap_or(&self.environments[0])
    }

    /// The environments, in order.
    pub fn environment_list(&self) -> sandgate_core::environment::Environments {
        sandgate_core::environment::Environments(self.environments.iter().map(|e| e.env).collect())
    }
}

/// Checked `telemetry`: where traces go.
#[derive(Debug, Clone, PartialEq)]
pub struct Telemetry {
    /// The OTLP/HTTP traces endpoint.
    pub endpoint: String,
    /// `service.name`.
    pub service_name: String,
    /// Share of root requests traced (0 to 1).
    pub sample_ratio: f64,
}
