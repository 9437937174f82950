//! `sandgate.yaml`: the one config file, validated at load with errors that name the key.
//!
//! Our keys sit under `sandgate:` and unknown keys are refused (a typo must stop start-up).
//! Command-line flags override file values in [`SandgateConfig::merge_args`]. Request code never
//! sees this struct: [`SandgateConfig::compile`] checks it and turns it into [`Settings`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use ipnet::IpNet;
pub use sandgate_control::settings::{ControlPlaneConfig, WebhookConfig};
pub use sandgate_core::trust_list::parse_cidr;
use sandgate_emulator::scrub::ScrubSchedule;
use serde::Deserialize;

use sandgate_core::environment::Environment;

/// The file name looked for in the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "sandgate.yaml";

/// A config error that names the key and says what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The YAML is malformed or has an unknown or mistyped key (serde names the key path).
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// serde's message, with the key path and the line.
        message: String,
    },
    /// A value is well-formed YAML but not acceptable.
    #[error("sandgate.{key}: {problem}")]
    Invalid {
        /// Dotted key path under `sandgate:`.
        key: std::borrow::Cow<'static, str>,
        /// What is wrong and what would be right.
        problem: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    sandgate: SandgateConfig,
}

/// The raw `sandgate:` section. Every field has a documented default.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SandgateConfig {
    /// Folder of the embedded store and the secret keys. Default `.sandgate` (relative to the
    /// working directory).
    pub data_dir: PathBuf,
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
}

/// An operator token, given by its SHA-256 so the file holds no usable secret.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OperatorTokenConfig {
    /// Who holds it (shown as `operator:<name>` in the activity log).
    pub name: String,
    /// Hex SHA-256 of the token (`sandgate admin hash-token` prints it).
    pub sha256: String,
}

/// `sandgate.versions.<api>.<version>`: e.g. `pos-api: {"2.5": {deprecated_at: 2021-09-22}}`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
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
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Plan of applications that name none. Default `standard`.
    pub default_plan: String,
    /// Plans by name. Default: `standard` = 50/s, burst 100.
    pub plans: BTreeMap<String, PlanConfig>,
}

/// One rate-limit plan (GCRA): a steady rate and a burst.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    /// Sustained requests per second.
    pub per_second: u32,
    /// Requests allowed at once above the steady rate.
    pub burst: u32,
}

/// `sandgate.limits`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
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
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum UndocumentedQuery {
    /// Forward the request without them.
    #[default]
    Drop,
    /// Answer 400 naming them.
    Refuse,
}

/// `sandgate.admin`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Listen address. Default `127.0.0.1:8090`.
    pub listen: String,
    /// Operator tokens besides the local one in `<data_dir>/secrets/operator.token`.
    pub operator_tokens: Vec<OperatorTokenConfig>,
}

/// One environment; a key left out keeps that environment's default.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EnvironmentConfig {
    /// Listen address of the data port.
    pub listen: Option<String>,
    /// `emulator` (the built-in emulator, in-process), `none` (answer 503), or `http://host:port`.
    pub upstream: Option<String>,
    /// `Host` names this environment answers for; empty: any. Others get 421.
    pub hosts: Vec<String>,
    /// TLS certificate and key (PEM) to terminate TLS on the listener.
    pub tls: Option<TlsConfig>,
    /// Prefix of its client ids and secrets (`trn_`, `prd_` for the built-in ones).
    pub prefix: Option<String>,
}

/// `tls:` of an environment.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
}

/// `sandgate.token`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// Lifetime of access (and refresh) tokens in seconds. Default 1200, as the reference API.
    pub ttl_secs: u64,
}

/// `sandgate.emulator`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
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
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum EmulatorState {
    /// An SQLite file in the data directory.
    #[default]
    Store,
    /// In memory.
    Memory,
}

/// `sandgate.log`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
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
            data_dir: PathBuf::from(".sandgate"),
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
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let plans = BTreeMap::from([("standard".to_owned(), PlanConfig { per_second: 50, burst: 100 })]);
        RateLimitConfig { default_plan: "standard".into(), plans }
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
fn builtin_environments() -> BTreeMap<String, EnvironmentConfig> {
    let env = |listen: &str, upstream: &str, prefix: &str| EnvironmentConfig {
        listen: Some(listen.into()),
        upstream: Some(upstream.into()),
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
        TokenConfig { ttl_secs: 1200 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: "pretty".into(), level: "info".into() }
    }
}

/// Flags that override the file (all optional).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// Config file [default: ./sandgate.yaml when it exists]
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory: store and keys [default: .sandgate]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder of OpenAPI documents the emulator serves [default: specs]
    #[arg(long, value_name = "DIR")]
    pub specs_dir: Option<PathBuf>,
    /// TRAINING listen address [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub training_listen: Option<String>,
    /// PRODUCTION listen address [default: 127.0.0.1:8081]
    #[arg(long, value_name = "ADDR")]
    pub production_listen: Option<String>,
    /// Admin listen address [default: 127.0.0.1:8090]
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// PRODUCTION backend: http://host:port, or none [default: none]
    #[arg(long, value_name = "URL")]
    pub production_upstream: Option<String>,
}

/// Where an environment's traffic goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// The built-in emulator, called in-process.
    Emulator,
    /// No backend: requests that pass every check get 503.
    None,
    /// An HTTP backend.
    Http {
        /// `host:port`.
        address: SocketAddr,
        /// The `Host` header to send (the authority as configured).
        authority: String,
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
    /// TRAINING, PRODUCTION, then the configured ones by name.
    pub environments: Vec<EnvSettings>,
    /// Token lifetime.
    pub token_ttl_secs: u64,
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

impl SandgateConfig {
    /// Reads `file`, or `./sandgate.yaml` when `file` is `None` and it exists, else the defaults.
    pub fn load(file: Option<&Path>) -> Result<SandgateConfig, ConfigError> {
        let path = match file {
            Some(path) => path.to_path_buf(),
            None if Path::new(DEFAULT_FILE).exists() => PathBuf::from(DEFAULT_FILE),
            None => return Ok(SandgateConfig::default()),
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { file: path.clone(), source })?;
        SandgateConfig::parse(&text).map_err(|message| ConfigError::Parse { file: path, message })
    }

    /// Parses YAML text (the whole file, with its `sandgate:` section).
    pub fn parse(text: &str) -> Result<SandgateConfig, String> {
        if text.trim().is_empty() {
            return Ok(SandgateConfig::default());
        }
        serde_yaml::from_str::<FileConfig>(text).map(|f| f.sandgate).map_err(|e| e.to_string())
    }

    /// Applies command-line overrides.
    pub fn merge_args(mut self, args: &ConfigArgs) -> SandgateConfig {
        if let Some(dir) = &args.data_dir {
            self.data_dir = dir.clone();
        }
        if let Some(dir) = &args.specs_dir {
            self.specs_dir = dir.clone();
        }
        if let Some(addr) = &args.training_listen {
            self.environments.entry("training".into()).or_default().listen = Some(addr.clone());
        }
        if let Some(addr) = &args.production_listen {
            self.environments.entry("production".into()).or_default().listen = Some(addr.clone());
        }
        if let Some(addr) = &args.admin_listen {
            self.admin.listen = addr.clone();
        }
        if let Some(url) = &args.production_upstream {
            self.environments.entry("production".into()).or_default().upstream = Some(url.clone());
        }
        self
    }

    /// Checks every value and produces the runtime settings.
    pub fn compile(self) -> Result<Settings, ConfigError> {
        let environments = environment_settings(&self.environments)?;
        let admin_listen = listen(&self.admin.listen, "admin.listen")?;
        let mut seen = vec![(admin_listen, "admin.listen".to_owned())];
        for env in &environments {
            let key = format!("environments.{}.listen", env.env.as_str());
            if let Some((_, other)) = seen.iter().find(|(addr, _)| *addr == env.listen) {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    problem: format!("{} is already used by {other}", env.listen),
                });
            }
            seen.push((env.listen, key));
        }
        if self.token.ttl_secs == 0 || self.token.ttl_secs > 86_400 {
            return Err(ConfigError::Invalid {
                key: "token.ttl_secs".into(),
                problem: format!("must be between 1 and 86400 seconds; got {}", self.token.ttl_secs),
            });
        }
        let log_json = match self.log.format.as_str() {
            "pretty" => false,
            "json" => true,
            other => {
                return Err(ConfigError::Invalid {
                    key: "log.format".into(),
                    problem: format!("must be pretty or json; got {other:?}"),
                })
            }
        };
        let emulator_scrub = match self.emulator.scrub_at.trim() {
            "never" => None,
            at => Some(ScrubSchedule::parse(at).map_err(|problem| ConfigError::Invalid {
                key: "emulator.scrub_at".into(),
                problem: format!("{problem}, or never"),
            })?),
        };
        let mut trusted_proxies = Vec::new();
        for entry in &self.trusted_proxies {
            trusted_proxies.push(parse_cidr(entry).ok_or_else(|| ConfigError::Invalid {
                key: "trusted_proxies".into(),
                problem: format!("{entry:?} is not an IP address or CIDR like 10.0.0.0/8"),
            })?);
        }
        let mut versions = BTreeMap::new();
        for (api, rules) in &self.versions {
            for (version, rule) in rules {
                let version = version.trim_start_matches('v').to_owned();
                let date =
                    |value: &Option<String>, key: &'static str| -> Result<Option<chrono::NaiveDate>, ConfigError> {
                        value
                            .as_deref()
                            .map(|d| {
                                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| ConfigError::Invalid {
                                    key: key.into(),
                                    problem: format!("{api} v{version}: {d:?} is not a date like 2027-06-30"),
                                })
                            })
                            .transpose()
                    };
                let deprecated_at = date(&rule.deprecated_at, "versions.<api>.<version>.deprecated_at")?;
                let sunset = date(&rule.sunset, "versions.<api>.<version>.sunset")?;
                versions.insert(
                    (api.clone(), version),
                    VersionRule {
                        deprecated_at: deprecated_at
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                            .map(|t| t.and_utc().timestamp()),
                        sunset: sunset
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                            .map(|t| t.and_utc().format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
                        successor: rule.successor.as_ref().map(|s| s.trim_start_matches('v').to_owned()),
                        retired: rule.retired,
                    },
                );
            }
        }
        if !self.rate_limits.plans.contains_key(&self.rate_limits.default_plan) {
            return Err(ConfigError::Invalid {
                key: "rate_limits.default_plan".into(),
                problem: format!("{:?} is not one of the plans under rate_limits.plans", self.rate_limits.default_plan),
            });
        }
        if let Some((name, _)) = self.rate_limits.plans.iter().find(|(_, p)| p.per_second == 0 || p.burst == 0) {
            return Err(ConfigError::Invalid {
                key: "rate_limits.plans".into(),
                problem: format!("plan {name:?}: per_second and burst must be at least 1"),
            });
        }
        let limits = &self.limits;
        if limits.max_body_bytes == 0 || limits.max_header_bytes < 1024 || limits.max_headers < 8 {
            return Err(ConfigError::Invalid {
                key: "limits".into(),
                problem: "max_body_bytes must be > 0, max_header_bytes >= 1024 and max_headers >= 8".into(),
            });
        }
        let mut operator_tokens = Vec::with_capacity(self.admin.operator_tokens.len());
        for (index, token) in self.admin.operator_tokens.iter().enumerate() {
            let digest = parse_sha256(&token.sha256).ok_or_else(|| ConfigError::Invalid {
                key: format!("admin.operator_tokens[{index}].sha256").into(),
                problem: "must be 64 hex digits, the SHA-256 of the token (sandgate admin hash-token prints it)".into(),
            })?;
            if token.name.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    key: format!("admin.operator_tokens[{index}].name").into(),
                    problem: "must name who holds the token".into(),
                });
            }
            operator_tokens.push((token.name.clone(), digest));
        }
        let control = &self.control_plane;
        if control.invitation_ttl_secs == 0 || control.webhooks.max_attempts == 0 || control.webhooks.timeout_secs == 0
        {
            return Err(ConfigError::Invalid {
                key: "control_plane".into(),
                problem: "invitation_ttl_secs, webhooks.max_attempts and webhooks.timeout_secs must be at least 1"
                    .into(),
            });
        }
        Ok(Settings {
            operator_tokens,
            control_plane: self.control_plane,
            environments,
            admin_listen,
            data_dir: self.data_dir,
            specs_dir: self.specs_dir,
            token_ttl_secs: self.token.ttl_secs,
            emulator_seed: self.emulator.seed,
            emulator_state: self.emulator.state,
            emulator_scrub,
            log_json,
            log_level: self.log.level,
            trusted_proxies,
            versions,
            rate_limits: self.rate_limits,
            limits: self.limits,
            workers: match self.workers {
                0 => std::thread::available_parallelism().map_or(1, |n| n.get()).min(16),
                n => n.min(64),
            },
        })
    }
}

/// Merges the configured environments over the built-in ones and checks each.
fn environment_settings(configured: &BTreeMap<String, EnvironmentConfig>) -> Result<Vec<EnvSettings>, ConfigError> {
    let builtin = builtin_environments();
    let mut names: Vec<&str> = vec!["training", "production"];
    names.extend(configured.keys().map(String::as_str).filter(|n| !builtin.contains_key(*n)));
    let mut out: Vec<EnvSettings> = Vec::with_capacity(names.len());
    for name in names {
        let invalid = |field: &str, problem: String| ConfigError::Invalid {
            key: format!("environments.{name}.{field}").into(),
            problem,
        };
        let empty = EnvironmentConfig::default();
        let config = configured.get(name).unwrap_or(&empty);
        let default = builtin.get(name).unwrap_or(&empty);
        let pick = |value: &Option<String>, default: &Option<String>| value.clone().or_else(|| default.clone());
        if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') || name.is_empty() {
            return Err(ConfigError::Invalid {
                key: format!("environments.{name}").into(),
                problem: "an environment name is lower-case letters, digits and '-'".into(),
            });
        }
        let prefix =
            pick(&config.prefix, &default.prefix).ok_or_else(|| invalid("prefix", "required, e.g. mi_".into()))?;
        if prefix.len() < 2
            || !prefix.ends_with('_')
            || !prefix[..prefix.len() - 1].bytes().all(|b| b.is_ascii_lowercase())
        {
            return Err(invalid("prefix", format!("{prefix:?} must be lower-case letters ending in '_', e.g. mi_")));
        }
        if let Some(other) =
            out.iter().find(|e| e.env.prefix().starts_with(&prefix) || prefix.starts_with(e.env.prefix()))
        {
            return Err(invalid(
                "prefix",
                format!("{prefix:?} clashes with {}'s {:?}", other.env.as_str(), other.env.prefix()),
            ));
        }
        let listen_text = pick(&config.listen, &default.listen)
            .ok_or_else(|| invalid("listen", "required, e.g. 127.0.0.1:8082".into()))?;
        if let Some(tls) = &config.tls {
            for file in [&tls.cert_file, &tls.key_file] {
                if !file.is_file() {
                    return Err(invalid("tls", format!("{} is not a readable file", file.display())));
                }
            }
        }
        out.push(EnvSettings {
            env: Environment::new(name, &prefix),
            listen: listen(&listen_text, &format!("environments.{name}.listen"))?,
            upstream: upstream(
                &pick(&config.upstream, &default.upstream).unwrap_or_else(|| "none".into()),
                &format!("environments.{name}.upstream"),
            )?,
            hosts: config.hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            tls: config.tls.clone(),
        });
    }
    Ok(out)
}

/// 32 bytes from 64 hex digits.
fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn listen(value: &str, key: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| ConfigError::Invalid {
        key: key.to_owned().into(),
        problem: format!("{value:?} is not an address like 127.0.0.1:8080 or [::1]:8080"),
    })
}

fn upstream(value: &str, key: &str) -> Result<Upstream, ConfigError> {
    match value {
        "emulator" => return Ok(Upstream::Emulator),
        "none" | "" => return Ok(Upstream::None),
        _ => {}
    }
    let invalid = |problem: String| ConfigError::Invalid { key: key.to_owned().into(), problem };
    if value.starts_with("https://") {
        return Err(invalid(
            "https upstreams are not supported yet (TLS arrives with the gateway issue); use http://host:port".into(),
        ));
    }
    let authority = value
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("{value:?} must be emulator, none, or http://host:port")))?
        .trim_end_matches('/');
    if authority.contains('/') {
        return Err(invalid(format!("{value:?}: give only http://host:port, without a path")));
    }
    let address = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| invalid(format!("{value:?}: {authority:?} does not resolve to an address")))?;
    Ok(Upstream::Http { address, authority: authority.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_documents_exactly_the_defaults() {
        let text = include_str!("../../sandgate.example.yaml");
        assert_eq!(SandgateConfig::parse(text).expect("example parses"), SandgateConfig::default());
        assert!(include_str!("../../README.md").contains(text), "README's config block must be sandgate.example.yaml");
    }

    #[test]
    fn parse_empty_file_gives_defaults() {
        let config = SandgateConfig::parse("").expect("defaults");
        assert_eq!(config, SandgateConfig::default());
        let settings = config.compile().expect("valid");
        assert_eq!(settings.env(Environment::TRAINING).upstream, Upstream::Emulator);
        assert_eq!(settings.env(Environment::PRODUCTION).upstream, Upstream::None);
        assert_eq!(settings.token_ttl_secs, 1200);
    }

    #[test]
    fn parse_unknown_key_is_refused_with_its_path() {
        let err = SandgateConfig::parse("sandgate:\n  environments:\n    training:\n      lisen: 127.0.0.1:1\n")
            .expect_err("typo");
        assert!(err.contains("lisen"), "{err}");
        assert!(err.contains("environments.training"), "{err}");
    }

    #[test]
    fn compile_names_the_bad_key() {
        let table: &[(&str, &str)] = &[
            ("sandgate:\n  admin:\n    listen: nowhere\n", "sandgate.admin.listen"),
            ("sandgate:\n  token:\n    ttl_secs: 0\n", "sandgate.token.ttl_secs"),
            ("sandgate:\n  log:\n    format: xml\n", "sandgate.log.format"),
            (
                "sandgate:\n  environments:\n    production:\n      listen: 127.0.0.1:8081\n      upstream: ftp://x\n",
                "sandgate.environments.production.upstream",
            ),
            ("sandgate:\n  admin:\n    listen: 127.0.0.1:8080\n", "sandgate.environments.training.listen"),
            ("sandgate:\n  trusted_proxies: [10.0.0.300]\n", "sandgate.trusted_proxies"),
            ("sandgate:\n  rate_limits:\n    default_plan: gold\n", "sandgate.rate_limits.default_plan"),
            (
                "sandgate:\n  versions:\n    pos-api:\n      '2.5': {sunset: soon}\n",
                "sandgate.versions.<api>.<version>.sunset",
            ),
        ];
        for (yaml, key) in table {
            let err = SandgateConfig::parse(yaml).expect("parses").compile().expect_err(yaml).to_string();
            assert!(err.starts_with(key), "{yaml}: {err}");
        }
    }

    #[test]
    fn merge_args_overrides_file_values() {
        let file = SandgateConfig::parse("sandgate:\n  admin:\n    listen: 127.0.0.1:9000\n").expect("parses");
        let args = ConfigArgs {
            admin_listen: Some("127.0.0.1:9100".into()),
            production_upstream: Some("http://127.0.0.1:9200".into()),
            ..ConfigArgs::default()
        };
        let settings = file.merge_args(&args).compile().expect("valid");
        assert_eq!(settings.admin_listen.port(), 9100);
        let production = &settings.env(Environment::PRODUCTION).upstream;
        assert!(matches!(production, Upstream::Http { authority, .. } if authority == "127.0.0.1:9200"));
    }
}
