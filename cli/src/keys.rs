//! `sandgate keys rotate`: a new token-signing key for one environment (or all), the old one
//! retired to verify the tokens it signed until they expire. The running process picks the new
//! key up on `POST /reload` or SIGHUP; on several nodes, copy `secrets/` to every node first.

use std::process::ExitCode;

use sandgate_gateway::config::{ConfigArgs, SandgateConfig};

/// Rotates the signing key of `environment` (every environment when `None`) in the data
/// directory the configuration names.
pub(crate) fn rotate(args: &ConfigArgs, environment: Option<&str>) -> ExitCode {
    let settings =
        match SandgateConfig::load(args.config.as_deref()).map(|c| c.merge_args(args)).and_then(|c| c.compile()) {
            Ok(settings) => settings,
            Err(e) => {
                eprintln!("sandgate: {e}");
                return ExitCode::from(2);
            }
        };
    let environments: Vec<_> = settings
        .environments
        .iter()
        .map(|e| e.env)
        .filter(|env| environment.is_none_or(|name| name == env.as_str()))
        .collect();
    if environments.is_empty() {
        let names: Vec<&str> = settings.environments.iter().map(|e| e.env.as_str()).collect();
        eprintln!(
            "sandgate: no environment {:?}; the configured ones are {}",
            environment.unwrap_or_default(),
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    let secrets = settings.data_dir.join("secrets");
    let now = chrono::Utc::now().timestamp();
    for env in environments {
        match sandgate_store::signing::rotate(&secrets, env, settings.token_algorithm, settings.token_ttl_secs, now) {
            Ok(rotated) => println!(
                "{}: signing key {} retired (verifies its tokens for {} s more); {} signs after the next reload",
                env.as_str(),
                rotated.retired_kid,
                settings.token_ttl_secs,
                rotated.current_kid
            ),
            Err(e) => {
                eprintln!("sandgate: {}: cannot rotate the signing key in {}: {e}", env.as_str(), secrets.display());
                return ExitCode::from(1);
            }
        }
    }
    println!("next: POST /reload on the admin listener (or SIGHUP); on several nodes copy secrets/ to each first");
    ExitCode::SUCCESS
}
