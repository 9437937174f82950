//! The file: `sandgate.yaml` as serde reads it, every key with its default and one doc line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sandgate_core::control_config::{ControlPlaneConfig, PortalConfig};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    #[serde(default)]
    pub(super) sandgate: SandgateConfig,
}

/// The raw `sandgate:` section. Every field has a documented default.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SandgateConfig {
    /// Folder of the embedded store and the secret keys. Default: `.sandgate` in the working
    /// directory when that folder exists (where earlier versions kept it, and where the
    /// repository's `./sandgate` keeps it), else `$XDG_STATE_HOME/sandgate`, else
    /// `~/.local/state/sandgate`.
    pub data_dir: Option<PathBuf>,
    /// Folder of OpenAPI documents the emulator serves. Default `specs`.
    pub specs_dir: PathBuf,
    /// The admin listener (health, later the control-plane API). Never a data port.
    pub admin: AdminConfig,
    /// The environments by name: `training` and `production` are built in (their keys default as
    /// below); others need `listen` and `prefix`.
    pub environments: BTreeMap<String, EnvironmentConfig>,
    /// Token settings.
    pub token: TokenConfig,
    /// Emulator settings.
    pub emulator: EmulatorConfig,
    /// Logging.
    pub log: LogConfig,
    /// Proxies (CIDRs) whose `X-Forwarded-For` is believed; empty: the socket peer is the client.
    pub trusted_proxies: Vec<String>,
    /// Version rules per API: deprecation, sunset, successor, retirement.
    pub versions: BTreeMap<String, BTreeMap<String, VersionRuleConfig>>,
    /// Rate-limit plans.
    pub rate_limits: RateLimitConfig,
    /// Request size limits and timeouts.
    pub limits: LimitsConfig,
    /// Worker threads per listener, each serving its own share of connections (`SO_REUSEPORT`
    /// shards). 0 (default): one per CPU.
    pub workers: usize,
    /// Control-plane rules: rotation grace, invitation validity, webhook retries.
    pub control_plane: ControlPlaneConfig,
    /// The Redis several nodes share (rate budgets, the change bus). Unset: this node is alone.
    pub redis: RedisConfig,
    /// How a node keeps up with writes made through other nodes.
    pub cluster: ClusterConfig,
    /// What SIGTERM does.
    pub shutdown: ShutdownConfig,
    /// Where the control-plane store lives.
    pub store: StoreConfig,
    /// Traces exported over OTLP (off unless an endpoint is set).
    pub telemetry: TelemetryConfig,
    /// The developer portal (partners' and operators' web front end). Never on a data port or
    /// the admin listener.
    pub portal: PortalConfig,
}

/// `sandgate.telemetry`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// OTLP/HTTP (protobuf) traces endpoint, e.g. `http://otel-collector:4318/v1/traces`; unset
    /// (default): no traces.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the traces. Default `sandgate`.
    pub service_name: String,
    /// Share of requests traced when the caller's `traceparent` decided nothing (0 to 1). A
    /// caller's sampled flag is followed either way. Default 1.
    pub sample_ratio: f64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig { otlp_endpoint: None, service_name: "sandgate".to_owned(), sample_ratio: 1.0 }
    }
}

/// `sandgate.store`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `postgres://user[:password]@host:5432/database` to share the store between nodes (or
    /// `--store`); unset (default): SQLite in the data directory.
    pub url: Option<String>,
}

/// `sandgate.shutdown`: SIGTERM turns `/readyz` 503 and keeps serving for `drain_secs` (the load
/// balancer stops sending), then stops accepting and lets requests in flight finish for up to
/// `grace_secs`, then exits 0. SIGINT (Ctrl-C) stops at once.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    /// Seconds of serving while not ready. Default 5.
    pub drain_secs: u64,
    /// Seconds requests in flight get to finish once accepting stopped. Default 10.
    pub grace_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig { drain_secs: 5, grace_secs: 10 }
    }
}

/// `sandgate.redis`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`. Default: none (one node on its own).
    pub url: Option<String>,
    /// Every key and channel starts with this, so deployments can share one Redis. Default
    /// `sandgate`.
    pub key_prefix: String,
    /// A command that takes longer counts as failed. Default 100 ms.
    pub timeout_ms: u64,
}

/// `sandgate.cluster`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// How often the directory's version is compared with the store's (the safety net for a
    /// missed bus message, and the only propagation without Redis). Default 1000 ms.
    pub resync_ms: u64,
    /// Past this without a confirmed directory (or with the bus down), `/readyz` answers 503.
    /// Default 5000 ms.
    pub max_staleness_ms: u64,
}

/// An operator token, given by its SHA-256 so the file holds no usable secret.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorTokenConfig {
    /// Who holds it (shown as `operator:<name>` in the activity log).
    pub name: String,
    /// Hex SHA-256 of the token (`sandgate admin hash-token` prints it).
    pub sha256: String,
}

/// `sandgate.versions.<api>.<version>`: e.g. `shop-api: {"2.5": {deprecated_at: 2021-09-22}}`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct VersionRuleConfig {
    /// Date (`YYYY-MM-DD`) the version was deprecated; sends `Deprecation` (RFC 9745).
    pub deprecated_at: Option<String>,
    /// Date (`YYYY-MM-DD`) it stops working; sends `Sunset` (RFC 8594).
    pub sunset: Option<String>,
    /// The version to move to; sends `Link: <…>; rel="successor-version"`.
    pub successor: Option<String>,
    /// Retired: every call gets 410.
    pub retired: bool,
}

/// `sandgate.rate_limits`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Plan of applications that name none. Default `standard`.
    pub default_plan: String,
    /// Plans by name. Default: `standard` = 50/s, burst 100.
    pub plans: BTreeMap<String, PlanConfig>,
    /// `local` (default): each node counts on its own, so N nodes admit up to N× the plan;
    /// `redis`: one budget in Redis shared by every node.
    pub backend: RateLimitBackend,
    /// With `backend: redis`, what a node does while Redis does not answer: `local` (default:
    /// count on its own, as with one node), `allow` (admit) or `deny` (answer 503).
    pub when_redis_fails: WhenRedisFails,
}

/// Where rate budgets are counted.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitBackend {
    /// In this process.
    #[default]
    Local,
    /// In Redis, shared by every node.
    Redis,
}

/// What a node does when the shared budget cannot be asked.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhenRedisFails {
    /// Count in this process until Redis is back.
    #[default]
    Local,
    /// Admit the request.
    Allow,
    /// Refuse the request (503).
    Deny,
}

/// One rate-limit plan (GCRA): a steady rate and a burst.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    /// Sustained requests per second.
    pub per_second: u32,
    /// Requests allowed at once above the steady rate.
    pub burst: u32,
}

/// `sandgate.limits`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body (413 above). Default 1 MiB.
    pub max_body_bytes: usize,
    /// Largest total size of request header names and values (431 above). Default 16 KiB.
    pub max_header_bytes: usize,
    /// Most request headers (431 above). Default 100.
    pub max_headers: usize,
    /// Time allowed to read a request body chunk or the next request. Default 10 s.
    pub read_timeout_secs: u64,
    /// Idle keep-alive time between requests. Default 60 s.
    pub idle_timeout_secs: u64,
    /// Query parameters an operation does not document, on a proxied (PRODUCTION) request:
    /// `drop` them before the backend sees the request (default), or `refuse` the request (400).
    pub undocumented_query: UndocumentedQuery,
}

/// What to do with query parameters the spec does not document (`limits.undocumented_query`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UndocumentedQuery {
    /// Forward the request without them.
    #[default]
    Drop,
    /// Answer 400 naming them.
    Refuse,
}

use super::backend::{BackendConfig, UpstreamSpec};

/// `sandgate.admin`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Listen address. Default `127.0.0.1:8090`.
    pub listen: String,
    /// Operator tokens besides the local one in `<data_dir>/secrets/operator.token`.
    pub operator_tokens: Vec<OperatorTokenConfig>,
}

/// One environment; a key left out keeps that environment's default.
#[derive(Debug, Clone, Deserialize, PartialEq, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EnvironmentConfig {
    /// Listen address of the data port.
    pub listen: Option<String>,
    /// `emulator` (the built-in emulator, in-process), `none` (answer 503), `http(s)://host:port`,
    /// or a list of `http(s)://host:port` endpoints sharing the traffic.
    pub upstream: Option<UpstreamSpec>,
    /// How an HTTP upstream is reached: TLS, balancing, health checks, ejection, retries.
    pub backend: BackendConfig,
    /// `Host` names this environment answers for; empty: any. Others get 421.
    pub hosts: Vec<String>,
    /// TLS certificate and key (PEM) to terminate TLS on the listener.
    pub tls: Option<TlsConfig>,
    /// Prefix of its client ids and secrets (`trn_`, `prd_` for the built-in ones).
    pub prefix: Option<String>,
    /// Time limits on an HTTP upstream; a backend past them gets the partner a 504.
    pub timeouts: UpstreamTimeoutsConfig,
}

/// `timeouts:` of an environment with an `http://` upstream.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamTimeoutsConfig {
    /// Establishing a connection. Default 5000 ms.
    pub connect_ms: u64,
    /// Waiting for each read from the backend (the response head, then each body chunk). Default
    /// 30000 ms.
    pub read_ms: u64,
    /// Waiting for each write of the request to the backend. Default 30000 ms.
    pub write_ms: u64,
    /// The whole exchange with the backend, every attempt included: its answer must begin
    /// within this, and a body still streaming past it is cut. Default 60000 ms.
    pub total_ms: u64,
}

impl Default for UpstreamTimeoutsConfig {
    fn default() -> Self {
        UpstreamTimeoutsConfig { connect_ms: 5_000, read_ms: 30_000, write_ms: 30_000, total_ms: 60_000 }
    }
}

/// `tls:` of an environment.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
}

/// `sandgate.token`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// Lifetime of access (and refresh) tokens in seconds. Default 1200, as the reference API.
    pub ttl_secs: u64,
    /// `hs256` (default: a secret only Sandgate holds) or `eddsa` (Ed25519; the public keys are
    /// published at `/.well-known/jwks.json` of each environment, so a backend can verify tokens).
    pub algorithm: TokenAlgorithm,
}

/// `token.algorithm`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenAlgorithm {
    /// HMAC-SHA256.
    #[default]
    Hs256,
    /// Ed25519.
    Eddsa,
}

/// `sandgate.emulator`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EmulatorConfig {
    /// Base seed of fabricated data. Default 0.
    pub seed: u64,
    /// Where objects partners create are kept: `store` (default; `<data_dir>/emulator.db`,
    /// survives restarts) or `memory`.
    pub state: EmulatorState,
    /// Daily scrub of the sandbox data, `HH:MM` UTC (default `03:00`), or `never`.
    pub scrub_at: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig { seed: 0, state: EmulatorState::default(), scrub_at: "03:00".to_owned() }
    }
}

/// `sandgate.emulator.state`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EmulatorState {
    /// An SQLite file in the data directory.
    #[default]
    Store,
    /// In memory.
    Memory,
}

/// `sandgate.log`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `pretty` (default) or `json`.
    pub format: String,
    /// A tracing filter (`info`, `sandgate=debug`…). Default `info`.
    pub level: String,
}

impl Default for SandgateConfig {
    fn default() -> Self {
        SandgateConfig {
            data_dir: None,
            specs_dir: PathBuf::from("specs"),
            admin: AdminConfig::default(),
            environments: builtin_environments(),
            token: TokenConfig::default(),
            emulator: EmulatorConfig::default(),
            log: LogConfig::default(),
            trusted_proxies: Vec::new(),
            versions: BTreeMap::new(),
            rate_limits: RateLimitConfig::default(),
            limits: LimitsConfig::default(),
            workers: 0,
            control_plane: ControlPlaneConfig::default(),
            redis: RedisConfig::default(),
            cluster: ClusterConfig::default(),
            shutdown: ShutdownConfig::default(),
            store: StoreConfig::default(),
            telemetry: TelemetryConfig::default(),
            portal: PortalConfig::default(),
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig { url: None, key_prefix: "sandgate".into(), timeout_ms: 100 }
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig { resync_ms: 1000, max_staleness_ms: 5000 }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let plans = BTreeMap::from([("standard".to_owned(), PlanConfig { per_second: 50, burst: 100 })]);
        RateLimitConfig {
            default_plan: "standard".into(),
            plans,
            backend: RateLimitBackend::Local,
            when_redis_fails: WhenRedisFails::Local,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 1024 * 1024,
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            read_timeout_secs: 10,
            idle_timeout_secs: 60,
            undocumented_query: UndocumentedQuery::Drop,
        }
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig { listen: "127.0.0.1:8090".into(), operator_tokens: Vec::new() }
    }
}

/// The built-in environments with their defaults.
pub(super) fn builtin_environments() -> BTreeMap<String, EnvironmentConfig> {
    let env = |listen: &str, upstream: &str, prefix: &str| EnvironmentConfig {
        listen: Some(listen.into()),
        upstream: Some(UpstreamSpec::One(upstream.into())),
        prefix: Some(prefix.into()),
        ..EnvironmentConfig::default()
    };
    BTreeMap::from([
        ("training".to_owned(), env("127.0.0.1:8080", "emulator", "trn_")),
        ("production".to_owned(), env("127.0.0.1:8081", "none", "prd_")),
    ])
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig { ttl_secs: 1200, algorithm: TokenAlgorithm::default() }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: "pretty".into(), level: "info".into() }
    }
}
