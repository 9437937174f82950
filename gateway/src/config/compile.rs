//! Loading, merging flags and checking: file + flags → [`Settings`], every error naming its key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use sandgate_core::control_config::{PortalConfig, PortalSettings};
use sandgate_core::environment::Environment;
use sandgate_core::trust_list::parse_cidr;
use sandgate_emulator::scrub::ScrubSchedule;

use super::file::{builtin_environments, FileConfig};
use super::*;

impl SandgateConfig {
    /// Reads `file`, or `./sandgate.yaml` when `file` is `None` and it exists, else the defaults;
    /// then applies the `SANDGATE__…` environment variables (see [`ENV_PREFIX`]).
    pub fn load(file: Option<&Path>) -> Result<SandgateConfig, ConfigError> {
        SandgateConfig::load_with_env(file, std::env::vars())
    }

    /// [`SandgateConfig::load`] with the environment given (tests).
    pub fn load_with_env(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<SandgateConfig, ConfigError> {
        let path = match file {
            Some(path) => Some(path.to_path_buf()),
            None if Path::new(DEFAULT_FILE).exists() => Some(PathBuf::from(DEFAULT_FILE)),
            None => None,
        };
        let text = match &path {
            Some(path) => {
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read { file: path.clone(), source })?
            }
            None => String::new(),
        };
        let parse_error = |message: String| match &path {
            Some(file) => ConfigError::Parse { file: file.clone(), message },
            None => ConfigError::ParseText { message },
        };
        let overrides: Vec<(String, String)> =
            vars.into_iter().filter(|(name, _)| name.starts_with(ENV_PREFIX)).collect();
        if overrides.is_empty() {
            // serde's errors name the line only when it reads the text itself.
            return parse_yaml(&text).map_err(|e| parse_error(e.to_string()));
        }
        let mut document: serde_yaml::Value = if text.trim().is_empty() {
            serde_yaml::Value::Mapping(Default::default())
        } else {
            serde_yaml::from_str(&text).map_err(|e| parse_error(e.to_string()))?
        };
        for (name, value) in &overrides {
            apply_override(&mut document, name, value)?;
        }
        let names: Vec<&str> = overrides.iter().map(|(name, _)| name.as_str()).collect();
        serde_yaml::from_value::<FileConfig>(document)
            .map(|f| f.sandgate)
            .map_err(|e| ConfigError::Environment { vars: names.join(", "), message: e.to_string() })
    }

    /// Parses YAML text (the whole file, with its `sandgate:` section) that was not read from a
    /// file.
    pub fn parse(text: &str) -> Result<SandgateConfig, ConfigError> {
        parse_yaml(text).map_err(|e| ConfigError::ParseText { message: e.to_string() })
    }

    /// Applies command-line overrides.
    pub fn merge_args(mut self, args: &ConfigArgs) -> SandgateConfig {
        if let Some(dir) = &args.data_dir {
            self.data_dir = Some(dir.clone());
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
        if let Some(addr) = &args.portal_listen {
            self.portal.listen = Some(addr.clone());
        }
        if let Some(url) = &args.production_upstream {
            self.environments.entry("production".into()).or_default().upstream = Some(UpstreamSpec::One(url.clone()));
        }
        if let Some(url) = &args.redis {
            self.redis.url = Some(url.clone());
        }
        if let Some(url) = &args.store {
            self.store.url = Some(url.clone());
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
        let portal = match &self.portal.listen {
            None => None,
            Some(addr) => {
                let listen = listen(addr, "portal.listen")?;
                if let Some((_, other)) = seen.iter().find(|(addr, _)| *addr == listen) {
                    return Err(ConfigError::Invalid {
                        key: "portal.listen".into(),
                        problem: format!("{listen} is already used by {other}; the portal needs a listener of its own"),
                    });
                }
                seen.push((listen, "portal.listen".to_owned()));
                Some(portal_settings(&self.portal, listen)?)
            }
        };
        if let Some(url) = &self.control_plane.mail.smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(ConfigError::Invalid {
                    key: "control_plane.mail.smtp_url".into(),
                    problem: format!("{url:?} must be smtp://host:port or smtps://user:password@host:465"),
                });
            }
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
        let (redis, resync, max_staleness) = cluster_settings(&self.redis, &self.cluster, &self.rate_limits)?;
        if self.shutdown.drain_secs > 3_600 || self.shutdown.grace_secs > 3_600 {
            return Err(ConfigError::Invalid {
                key: "shutdown".into(),
                problem: "drain_secs and grace_secs must be at most 3600".into(),
            });
        }
        let store_url = match self.store.url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Some(url.to_owned()),
            Some(url) => {
                return Err(ConfigError::Invalid {
                    key: "store.url".into(),
                    problem: format!(
                        "{:?} must be a postgres:// URL, or unset for SQLite",
                        url.split('@').next_back().unwrap_or("")
                    ),
                })
            }
        };
        let telemetry = match self.telemetry.otlp_endpoint.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(endpoint) if endpoint.starts_with("http://") || endpoint.starts_with("https://") => {
                if !(0.0..=1.0).contains(&self.telemetry.sample_ratio) {
                    return Err(ConfigError::Invalid {
                        key: "telemetry.sample_ratio".into(),
                        problem: format!("{} must be between 0 and 1", self.telemetry.sample_ratio),
                    });
                }
                Some(Telemetry {
                    endpoint: endpoint.to_owned(),
                    service_name: self.telemetry.service_name.clone(),
                    sample_ratio: self.telemetry.sample_ratio,
                })
            }
            Some(other) => {
                return Err(ConfigError::Invalid {
                    key: "telemetry.otlp_endpoint".into(),
                    problem: format!("{other:?} must be an http(s):// URL, e.g. http://otel-collector:4318/v1/traces"),
                })
            }
        };
        Ok(Settings {
            store_url,
            shutdown: self.shutdown,
            redis,
            resync,
            max_staleness,
            operator_tokens,
            control_plane: self.control_plane,
            environments,
            admin_listen,
            portal,
            data_dir: self.data_dir.unwrap_or_else(|| default_data_dir(Path::new("."), &|name| std::env::var_os(name))),
            specs_dir: self.specs_dir,
            token_ttl_secs: self.token.ttl_secs,
            token_algorithm: match self.token.algorithm {
                TokenAlgorithm::Hs256 => sandgate_store::signing::Algorithm::Hs256,
                TokenAlgorithm::Eddsa => sandgate_store::signing::Algorithm::EdDsa,
            },
            emulator_seed: self.emulator.seed,
            emulator_state: self.emulator.state,
            emulator_scrub,
            log_json,
            log_level: self.log.level,
            telemetry,
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

/// The portal's settings: its public URL (default `http://` + the listen address) decides the
/// `Secure` cookie flag.
fn portal_settings(config: &PortalConfig, listen: SocketAddr) -> Result<PortalSettings, ConfigError> {
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{listen}"));
    let public_url = public_url.trim_end_matches('/').to_owned();
    let secure_cookies = match public_url.split_once("://") {
        Some(("https", rest)) if !rest.is_empty() => true,
        Some(("http", rest)) if !rest.is_empty() => false,
        _ => {
            return Err(ConfigError::Invalid {
                key: "portal.public_url".into(),
                problem: format!("{public_url:?} must be an http(s):// URL, e.g. https://developers.example.com"),
            })
        }
    };
    if !(60..=30 * 86_400).contains(&config.session_secs) {
        return Err(ConfigError::Invalid {
            key: "portal.session_secs".into(),
            problem: format!("must be between 60 and 2592000 (30 days); got {}", config.session_secs),
        });
    }
    Ok(PortalSettings {
        listen,
        public_url,
        secure_cookies,
        open_signup: config.open_signup,
        session_secs: config.session_secs,
    })
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
            upstream: upstream(config.upstream.as_ref().or(default.upstream.as_ref()), &config.backend, name)?,
            hosts: config.hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            tls: config.tls.clone(),
            timeouts: upstream_timeouts(&config.timeouts, name)?,
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

/// The data directory when none is configured: `<cwd>/.sandgate` if it exists (earlier versions
/// kept the store there, and a default that moved would strand it), else the XDG state folder.
fn default_data_dir(cwd: &Path, env: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let here = cwd.join(".sandgate");
    if here.is_dir() {
        return PathBuf::from(".sandgate");
    }
    // XDG Base Directory: a relative $XDG_STATE_HOME is invalid and must be ignored.
    let state_home = env("XDG_STATE_HOME").map(PathBuf::from).filter(|p| p.is_absolute());
    let home_state = || env("HOME").map(PathBuf::from).filter(|p| p.is_absolute()).map(|h| h.join(".local/state"));
    state_home.or_else(home_state).map_or_else(|| PathBuf::from(".sandgate"), |base| base.join("sandgate"))
}

fn upstream_timeouts(config: &UpstreamTimeoutsConfig, env: &str) -> Result<UpstreamTimeouts, ConfigError> {
    let check = |value: u64, name: &str| {
        if (1..=600_000).contains(&value) {
            Ok(std::time::Duration::from_millis(value))
        } else {
            Err(ConfigError::Invalid {
                key: format!("environments.{env}.timeouts.{name}").into(),
                problem: format!("must be 1 to 600000 ms; got {value}"),
            })
        }
    };
    Ok(UpstreamTimeouts {
        connect: check(config.connect_ms, "connect_ms")?,
        read: check(config.read_ms, "read_ms")?,
        write: check(config.write_ms, "write_ms")?,
        total: check(config.total_ms, "total_ms")?,
    })
}

/// `upstream` (and `backend`) of environment `env`: the emulator, none, or HTTP endpoints.
fn upstream(spec: Option<&UpstreamSpec>, backend: &BackendConfig, env: &str) -> Result<Upstream, ConfigError> {
    let key = format!("environments.{env}.upstream");
    let endpoints = match spec {
        None => return Ok(Upstream::None),
        Some(UpstreamSpec::One(value)) => match value.as_str() {
            "emulator" => return Ok(Upstream::Emulator),
            "none" | "" => return Ok(Upstream::None),
            _ => super::backend::endpoints(std::slice::from_ref(value), &key)?,
        },
        Some(UpstreamSpec::Many(values)) => super::backend::endpoints(values, &key)?,
    };
    Ok(Upstream::Http { endpoints, backend: super::backend::settings(backend, env)? })
}

/// Checks `redis`, `cluster` and the rate-limit backend together (a Redis backend needs a Redis).
fn cluster_settings(
    redis: &RedisConfig,
    cluster: &ClusterConfig,
    rate_limits: &RateLimitConfig,
) -> Result<(Option<RedisSettings>, std::time::Duration, std::time::Duration), ConfigError> {
    let invalid = |key: &'static str, problem: String| ConfigError::Invalid { key: key.into(), problem };
    let redis = match redis.url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(url) if !url.starts_with("redis://") => {
            return Err(invalid("redis.url", format!("{url:?} must be a redis:// URL like redis://127.0.0.1:6379")));
        }
        Some(url) => {
            if redis.key_prefix.is_empty() || redis.key_prefix.contains(char::is_whitespace) {
                return Err(invalid("redis.key_prefix", "must be a non-empty word like sandgate".into()));
            }
            if !(1..=10_000).contains(&redis.timeout_ms) {
                return Err(invalid("redis.timeout_ms", format!("must be 1 to 10000; got {}", redis.timeout_ms)));
            }
            Some(RedisSettings {
                url: url.to_owned(),
                key_prefix: redis.key_prefix.clone(),
                timeout: std::time::Duration::from_millis(redis.timeout_ms),
            })
        }
    };
    if rate_limits.backend == RateLimitBackend::Redis && redis.is_none() {
        return Err(invalid("rate_limits.backend", "redis needs sandgate.redis.url (or --redis)".into()));
    }
    if !(50..=60_000).contains(&cluster.resync_ms) {
        return Err(invalid("cluster.resync_ms", format!("must be 50 to 60000; got {}", cluster.resync_ms)));
    }
    if cluster.max_staleness_ms < 2 * cluster.resync_ms {
        return Err(invalid(
            "cluster.max_staleness_ms",
            format!(
                "must be at least twice cluster.resync_ms ({}); got {}",
                cluster.resync_ms, cluster.max_staleness_ms
            ),
        ));
    }
    Ok((
        redis,
        std::time::Duration::from_millis(cluster.resync_ms),
        std::time::Duration::from_millis(cluster.max_staleness_ms),
    ))
}

/// The `sandgate:` section of a config file's text (the defaults when the text is empty).
/// Environment variables `SANDGATE__<KEY>` override the file: `<KEY>` is the key's path under
/// `sandgate:` with `__` between levels, in any case (`SANDGATE__REDIS__URL`,
/// `SANDGATE__ENVIRONMENTS__PRODUCTION__TIMEOUTS__READ_MS`); the value is read as YAML, so
/// numbers, booleans and lists (`[10.0.0.0/8]`) work. The double underscore keeps other
/// `SANDGATE_…` variables (`SANDGATE_ADMIN_TOKEN`) out of the config.
pub const ENV_PREFIX: &str = "SANDGATE__";

/// Sets the key `name` names (see [`ENV_PREFIX`]) to `value` in `document`.
fn apply_override(document: &mut serde_yaml::Value, name: &str, value: &str) -> Result<(), ConfigError> {
    let invalid = |message: &str| ConfigError::Environment { vars: name.to_owned(), message: message.to_owned() };
    let path: Vec<String> = name[ENV_PREFIX.len()..].split("__").map(str::to_ascii_lowercase).collect();
    if path.iter().any(String::is_empty) {
        return Err(invalid("name a key like SANDGATE__REDIS__URL (levels joined by two underscores)"));
    }
    let value = serde_yaml::from_str(value).unwrap_or_else(|_| serde_yaml::Value::String(value.to_owned()));
    let mut node = document;
    for key in std::iter::once("sandgate").chain(path.iter().map(String::as_str)) {
        if node.is_null() {
            *node = serde_yaml::Value::Mapping(Default::default());
        }
        let Some(map) = node.as_mapping_mut() else {
            return Err(invalid("sets a key inside a value that is not a section"));
        };
        node = map.entry(serde_yaml::Value::String(key.to_owned())).or_insert(serde_yaml::Value::Null);
    }
    *node = value;
    Ok(())
}

fn parse_yaml(text: &str) -> Result<SandgateConfig, serde_yaml::Error> {
    if text.trim().is_empty() {
        return Ok(SandgateConfig::default());
    }
    serde_yaml::from_str::<FileConfig>(text).map(|f| f.sandgate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_data_dir_follows_xdg_but_keeps_an_existing_dot_sandgate() {
        let folder = tempfile::tempdir().expect("temp dir");
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| std::ffi::OsString::from(v))
        };
        let xdg = env(&[("XDG_STATE_HOME", "/var/state"), ("HOME", "/home/ann")]);
        assert_eq!(default_data_dir(folder.path(), &xdg), PathBuf::from("/var/state/sandgate"));
        let home = env(&[("HOME", "/home/ann")]);
        assert_eq!(default_data_dir(folder.path(), &home), PathBuf::from("/home/ann/.local/state/sandgate"));
        let relative = env(&[("XDG_STATE_HOME", "state"), ("HOME", "/home/ann")]);
        assert_eq!(default_data_dir(folder.path(), &relative), PathBuf::from("/home/ann/.local/state/sandgate"));
        assert_eq!(default_data_dir(folder.path(), &env(&[])), PathBuf::from(".sandgate"));
        std::fs::create_dir(folder.path().join(".sandgate")).expect("mkdir");
        assert_eq!(default_data_dir(folder.path(), &xdg), PathBuf::from(".sandgate"), "an existing store stays put");
    }
}
