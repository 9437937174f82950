//! `environments.<name>.upstream` and `.backend`: the endpoints of an HTTP backend and how they
//! are reached (TLS, balancing, health checks, ejection, retries), checked into
//! [`BackendSettings`]. Certificates and keys are read and parsed here, so `sandgate check` names
//! a bad file before any request needs it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pingora::utils::tls::{CertKey, WrappedX509};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use super::ConfigError;

/// `upstream:` as written: one value, or a list of `http(s)://` endpoints.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum UpstreamSpec {
    /// `emulator`, `none`, or one `http(s)://host:port`.
    One(String),
    /// Several `http(s)://host:port` endpoints sharing the traffic.
    Many(Vec<String>),
}

/// `backend:` of an environment with an HTTP upstream.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BackendConfig {
    /// `round_robin` (default) or `least_connections`.
    pub balance: Balance,
    /// TLS to `https://` endpoints.
    pub tls: BackendTlsConfig,
    /// Active health checks (off unless `path` is set).
    pub health_check: HealthCheckConfig,
    /// Passive ejection: an endpoint failing requests in a row leaves the rotation for a while.
    pub eject: EjectConfig,
    /// Retries of an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE) that failed before the
    /// first response byte, on another endpoint when there is one. Default 1; 0 turns them off.
    pub retries: u32,
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig {
            balance: Balance::default(),
            tls: BackendTlsConfig::default(),
            health_check: HealthCheckConfig::default(),
            eject: EjectConfig::default(),
            retries: 1,
        }
    }
}

/// How the endpoints share the requests.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// In turn.
    #[default]
    RoundRobin,
    /// To the endpoint with the fewest requests in flight (ties in turn).
    LeastConnections,
}

/// `backend.tls`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BackendTlsConfig {
    /// PEM file of the CA certificates that sign the backend's certificate (default: the
    /// system's roots).
    pub ca_file: Option<std::path::PathBuf>,
    /// PEM certificate chain Sandgate presents (mTLS); needs `client_key_file`.
    pub client_cert_file: Option<std::path::PathBuf>,
    /// PEM private key of `client_cert_file`.
    pub client_key_file: Option<std::path::PathBuf>,
    /// Name sent as SNI and required in the backend's certificate (default: the endpoint's host).
    pub server_name: Option<String>,
}

/// `backend.health_check`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    /// Path to `GET` on every endpoint (`/healthz`); unset: no active checks.
    pub path: Option<String>,
    /// Between checks. Default 5000 ms.
    pub interval_ms: u64,
    /// Longest a check may take. Default 2000 ms.
    pub timeout_ms: u64,
    /// Failed checks in a row that take an endpoint out. Default 3.
    pub unhealthy_after: u32,
    /// Passed checks in a row that bring it back. Default 2.
    pub healthy_after: u32,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig { path: None, interval_ms: 5_000, timeout_ms: 2_000, unhealthy_after: 3, healthy_after: 2 }
    }
}

/// `backend.eject`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EjectConfig {
    /// Failed requests in a row (no connection, reset, timeout, 502/503/504) that eject an
    /// endpoint. Default 5; 0 never ejects.
    pub after_failures: u32,
    /// How long it stays out. Default 30000 ms.
    pub for_ms: u64,
}

impl Default for EjectConfig {
    fn default() -> Self {
        EjectConfig { after_failures: 5, for_ms: 30_000 }
    }
}

/// One checked endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://`.
    pub tls: bool,
    /// `host:port`: the `Host` header sent and the name resolved.
    pub authority: String,
    /// The host alone (the default server name).
    pub host: String,
}

/// Checked `backend` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSettings {
    /// How requests are shared.
    pub balance: Balance,
    /// TLS material.
    pub tls: BackendTls,
    /// Active checks, when configured.
    pub health_check: Option<HealthCheck>,
    /// Passive ejection.
    pub eject: Eject,
    /// Retries per request.
    pub retries: u32,
}

/// Checked TLS material, parsed once.
#[derive(Debug, Clone, Default)]
pub struct BackendTls {
    /// CA certificates (DER) the backend's certificate must chain to; `None`: the system's.
    pub ca: Option<Arc<[WrappedX509]>>,
    /// Client certificate chain and key (mTLS).
    pub client_identity: Option<Arc<CertKey>>,
    /// SNI and certificate name, when not the endpoint's host.
    pub server_name: Option<String>,
    /// The files they came from (what a reload compares).
    files: Vec<std::path::PathBuf>,
}

impl PartialEq for BackendTls {
    fn eq(&self, other: &Self) -> bool {
        self.files == other.files && self.server_name == other.server_name
    }
}

impl Eq for BackendTls {}

/// Checked `health_check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// Path checked.
    pub path: String,
    /// Between checks.
    pub interval: Duration,
    /// Per check.
    pub timeout: Duration,
    /// Failures that take an endpoint out.
    pub unhealthy_after: u32,
    /// Successes that bring it back.
    pub healthy_after: u32,
}

/// Checked `eject`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eject {
    /// Failures in a row (0: never).
    pub after_failures: u32,
    /// Time out of rotation.
    pub duration: Duration,
}

/// Checks the endpoints of `upstream` (all `http://` or `https://host:port`, no path). `key` is
/// `environments.<name>.upstream`.
pub(crate) fn endpoints(values: &[String], key: &str) -> Result<Vec<Endpoint>, ConfigError> {
    let invalid = |problem: String| ConfigError::Invalid { key: key.to_owned().into(), problem };
    if values.is_empty() {
        return Err(invalid("give at least one http(s)://host:port".into()));
    }
    values
        .iter()
        .map(|value| {
            let (tls, rest) = match (value.strip_prefix("https://"), value.strip_prefix("http://")) {
                (Some(rest), _) => (true, rest),
                (None, Some(rest)) => (false, rest),
                _ => return Err(invalid(format!("{value:?} must be emulator, none, or http(s)://host:port"))),
            };
            let authority = rest.trim_end_matches('/');
            if authority.contains('/') {
                return Err(invalid(format!("{value:?}: give only http(s)://host:port, without a path")));
            }
            // Resolved when the tables are built, and again every minute (`table::pool`): a name
            // that does not resolve yet must not stop the start.
            match authority.rsplit_once(':').map(|(host, port)| (host, port.parse::<u16>())) {
                Some((host, Ok(_))) if !host.is_empty() => Ok(Endpoint {
                    tls,
                    authority: authority.to_owned(),
                    host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
                }),
                _ => Err(invalid(format!("{value:?}: give host:port, e.g. https://backend.internal:8443"))),
            }
        })
        .collect()
}

/// Checks `backend` of environment `env` (with its `timeouts`).
pub(crate) fn settings(config: &BackendConfig, env: &str) -> Result<BackendSettings, ConfigError> {
    let invalid = |field: &str, problem: String| ConfigError::Invalid {
        key: format!("environments.{env}.backend.{field}").into(),
        problem,
    };
    let check = &config.health_check;
    let health_check = match &check.path {
        None => None,
        Some(path) if !path.starts_with('/') => {
            return Err(invalid("health_check.path", format!("{path:?} must start with '/'")));
        }
        Some(path) => {
            if check.interval_ms == 0 || check.timeout_ms == 0 || check.timeout_ms > check.interval_ms {
                return Err(invalid(
                    "health_check",
                    "interval_ms and timeout_ms must be above 0, timeout_ms at most interval_ms".into(),
                ));
            }
            if check.unhealthy_after == 0 || check.healthy_after == 0 {
                return Err(invalid("health_check", "unhealthy_after and healthy_after must be at least 1".into()));
            }
            Some(HealthCheck {
                path: path.clone(),
                interval: Duration::from_millis(check.interval_ms),
                timeout: Duration::from_millis(check.timeout_ms),
                unhealthy_after: check.unhealthy_after,
                healthy_after: check.healthy_after,
            })
        }
    };
    let retries = config.retries;
    if retries > 5 {
        return Err(invalid("retries", format!("{retries}: at most 5")));
    }
    Ok(BackendSettings {
        balance: config.balance,
        tls: tls(&config.tls, &invalid)?,
        health_check,
        eject: Eject {
            after_failures: config.eject.after_failures,
            duration: Duration::from_millis(config.eject.for_ms),
        },
        retries,
    })
}

fn tls(config: &BackendTlsConfig, invalid: &dyn Fn(&str, String) -> ConfigError) -> Result<BackendTls, ConfigError> {
    let read_certs = |path: &Path, field: &str| -> Result<Vec<Vec<u8>>, ConfigError> {
        let certs: Vec<Vec<u8>> = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.map(|c| c.map(|c| c.to_vec())).collect())
            .map_err(|e| invalid(field, format!("{}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(invalid(field, format!("{}: no PEM certificate in it", path.display())));
        }
        Ok(certs)
    };
    let mut files = Vec::new();
    let ca = match &config.ca_file {
        None => None,
        Some(path) => {
            files.push(path.clone());
            let certs = read_certs(path, "tls.ca_file")?;
            Some(certs.into_iter().map(|der| WrappedX509::new(der, pingora::utils::tls::parse_x509)).collect())
        }
    };
    let client_identity = match (&config.client_cert_file, &config.client_key_file) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            files.extend([cert.clone(), key.clone()]);
            let chain = read_certs(cert, "tls.client_cert_file")?;
            let key_der = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| invalid("tls.client_key_file", format!("{}: {e}", key.display())))?;
            let bytes = key_der.secret_der().to_vec();
            // Pingora converts the key back with this same call and panics if it fails: check
            // here, where a bad key is a config error naming the file.
            if PrivateKeyDer::try_from(bytes.clone()).is_err() {
                return Err(invalid(
                    "tls.client_key_file",
                    format!("{}: not a PKCS#8, PKCS#1 or SEC1 key", key.display()),
                ));
            }
            Some(Arc::new(CertKey::new(chain, bytes)))
        }
        _ => {
            return Err(invalid("tls", "client_cert_file and client_key_file go together".into()));
        }
    };
    Ok(BackendTls { ca, client_identity, server_name: config.server_name.clone(), files })
}
