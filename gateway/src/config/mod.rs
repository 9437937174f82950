//! `sandgate.yaml`: the one config file, validated at load with errors that name the key.
//!
//! Our keys sit under `sandgate:` and unknown keys are refused (a typo must stop start-up).
//! Command-line flags override file values in [`SandgateConfig::merge_args`]. Request code never
//! sees this struct: [`SandgateConfig::compile`] checks it and turns it into [`Settings`].

mod args;
mod backend;
mod compile;
mod file;
mod settings;

use std::path::PathBuf;

pub use args::ConfigArgs;
pub use backend::*;
pub use compile::ENV_PREFIX;
pub use file::*;
pub use sandgate_core::control_config::{ControlPlaneConfig, WebhookConfig};
pub use sandgate_core::trust_list::parse_cidr;
pub use settings::*;

/// The JSON Schema (2020-12) of `sandgate.yaml`, for editors (`sandgate config-schema`; the
/// repository ships it as `sandgate.schema.json`). Derived from the same structs serde reads, so
/// it names exactly the keys the parser accepts, with their documentation.
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(file::FileConfig).to_value();
    if let Some(object) = schema.as_object_mut() {
        object.insert("title".into(), "sandgate.yaml".into());
    }
    schema
}

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
    /// Like `Parse`, in YAML text that was not read from a file.
    #[error("config text: {message}")]
    ParseText {
        /// serde's message, with the key path and the line.
        message: String,
    },
    /// A `SANDGATE__…` environment variable names no key, or gives a value of the wrong type.
    #[error("environment {vars}: {message}")]
    Environment {
        /// The variables applied.
        vars: String,
        /// What is wrong (serde names the key).
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

#[cfg(test)]
mod tests {
    use super::*;
    use sandgate_core::environment::Environment;

    #[test]
    fn example_file_documents_exactly_the_defaults() {
        let text = include_str!("../../../sandgate.example.yaml");
        assert_eq!(SandgateConfig::parse(text).expect("example parses"), SandgateConfig::default());
        assert!(
            include_str!("../../../README.md").contains(text),
            "README's config block must be sandgate.example.yaml"
        );
    }

    /// The shipped schema is the one the parser implies; the example validates against it and a
    /// misspelt key does not.
    #[test]
    fn the_shipped_json_schema_is_current_and_checks_the_file() {
        let shipped: serde_json::Value =
            serde_json::from_str(include_str!("../../../sandgate.schema.json")).expect("sandgate.schema.json is JSON");
        assert_eq!(shipped, json_schema(), "regenerate: sandgate config-schema > sandgate.schema.json");
        let validator = jsonschema::validator_for(&shipped).expect("a valid schema");
        let example: serde_json::Value =
            serde_yaml::from_str(include_str!("../../../sandgate.example.yaml")).expect("example YAML");
        let errors: Vec<String> = validator.iter_errors(&example).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        let typo: serde_json::Value =
            serde_yaml::from_str("sandgate:\n  environments:\n    production: {upstrem: 'http://a:1'}\n")
                .expect("YAML");
        assert!(!validator.is_valid(&typo), "an unknown key is flagged by the editor too");
        let wrong_type: serde_json::Value = serde_yaml::from_str("sandgate:\n  workers: many\n").expect("YAML");
        assert!(!validator.is_valid(&wrong_type));
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
            .expect_err("typo")
            .to_string();
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
            ("sandgate:\n  telemetry: {otlp_endpoint: 'collector:4318'}\n", "sandgate.telemetry.otlp_endpoint"),
            (
                "sandgate:\n  telemetry: {otlp_endpoint: 'http://c:4318/v1/traces', sample_ratio: 2}\n",
                "sandgate.telemetry.sample_ratio",
            ),
            (
                "sandgate:\n  environments:\n    production:\n      upstream: ['https://a:443', 'ftp://b']\n",
                "sandgate.environments.production.upstream",
            ),
            (
                "sandgate:\n  environments:\n    production:\n      upstream: https://a:443\n      backend: {health_check: {path: healthz}}\n",
                "sandgate.environments.production.backend.health_check.path",
            ),
            (
                "sandgate:\n  environments:\n    production:\n      upstream: https://a:443\n      backend: {tls: {ca_file: /nonexistent/ca.pem}}\n",
                "sandgate.environments.production.backend.tls.ca_file",
            ),
            (
                "sandgate:\n  environments:\n    production:\n      upstream: https://a:443\n      backend: {tls: {client_cert_file: /x.pem}}\n",
                "sandgate.environments.production.backend.tls",
            ),
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
    fn a_list_of_endpoints_is_one_http_upstream() {
        let yaml = "sandgate:\n  environments:\n    production:\n      upstream: ['https://a.internal:443', 'http://[::1]:8080']\n      backend: {balance: least_connections, retries: 0}\n";
        let settings = SandgateConfig::parse(yaml).expect("parses").compile().expect("valid");
        let Upstream::Http { endpoints, backend } = &settings.env(Environment::PRODUCTION).upstream else {
            panic!("an HTTP upstream")
        };
        let seen: Vec<(bool, &str, &str)> =
            endpoints.iter().map(|e| (e.tls, e.authority.as_str(), e.host.as_str())).collect();
        assert_eq!(seen, [(true, "a.internal:443", "a.internal"), (false, "[::1]:8080", "::1")]);
        assert_eq!((backend.balance, backend.retries), (Balance::LeastConnections, 0));
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
        assert!(matches!(production, Upstream::Http { endpoints, .. } if endpoints[0].authority == "127.0.0.1:9200"));
    }

    #[test]
    fn sandgate_double_underscore_variables_override_the_file_and_only_they() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("sandgate.yaml");
        std::fs::write(&file, "sandgate:\n  redis: {key_prefix: from-file}\n  workers: 3\n").expect("write");
        let vars = [
            ("SANDGATE__REDIS__URL", "redis://10.0.0.9:6379"),
            ("SANDGATE__RATE_LIMITS__BACKEND", "redis"),
            ("SANDGATE__ENVIRONMENTS__PRODUCTION__TIMEOUTS__READ_MS", "250"),
            ("SANDGATE__TRUSTED_PROXIES", "[10.0.0.0/8]"),
            ("SANDGATE_ADMIN_TOKEN", "not a config key"),
            ("PATH", "/usr/bin"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let config = SandgateConfig::load_with_env(Some(&file), vars).expect("loads");
        assert_eq!(config.redis.url.as_deref(), Some("redis://10.0.0.9:6379"));
        assert_eq!(config.redis.key_prefix, "from-file", "keys not overridden keep the file's value");
        assert_eq!(config.workers, 3);
        assert_eq!(config.rate_limits.backend, RateLimitBackend::Redis);
        assert_eq!(config.environments["production"].timeouts.read_ms, 250);
        assert_eq!(config.trusted_proxies, ["10.0.0.0/8"]);
        let settings = config.compile().expect("valid");
        assert_eq!(settings.env(Environment::PRODUCTION).timeouts.read, std::time::Duration::from_millis(250));

        let typo = [("SANDGATE__REDIS__ULR".to_owned(), "redis://x:1".to_owned())];
        let error = SandgateConfig::load_with_env(Some(&file), typo).expect_err("unknown key").to_string();
        assert!(error.contains("SANDGATE__REDIS__ULR") && error.contains("ulr"), "{error}");
        let empty_level = [("SANDGATE__REDIS____URL".to_owned(), "x".to_owned())];
        assert!(SandgateConfig::load_with_env(Some(&file), empty_level).is_err());
    }
}
