//! One process: the data plane's shared state, the control plane's context, and how a reload
//! (admin `POST /reload`, SIGHUP) re-reads the config and swaps both.

use std::path::PathBuf;
use std::sync::Arc;

use sandgate_control::context::ControlContext;
use sandgate_control::settings::ControlSettings;
use sandgate_emulator::Emulator;
use sandgate_gateway::config::{ConfigArgs, ConfigError, SandgateConfig, Settings};
use sandgate_gateway::state::Shared;
use sandgate_gateway::table::Tables;
use sandgate_openapi::Api;

/// Everything one Sandgate process runs on.
#[derive(Debug)]
pub struct Process {
    /// The data plane's shared state.
    pub shared: Arc<Shared>,
    /// The control plane's context.
    pub control: Arc<ControlContext>,
    /// Inputs of a reload.
    pub reload: ReloadSource,
}

/// What a reload re-reads: the config file and flags; specs and keys stay as started.
#[derive(Debug)]
pub struct ReloadSource {
    /// The config file (`None`: `./sandgate.yaml` if present, else defaults).
    pub config_file: Option<PathBuf>,
    /// The command-line overrides.
    pub args: ConfigArgs,
    /// The loaded specs.
    pub apis: Vec<Api>,
    /// The emulator, if an environment uses it.
    pub emulator: Option<Arc<Emulator>>,
}

/// What a successful reload changed and what it could not.
#[derive(Debug, Default, PartialEq)]
pub struct ReloadReport {
    /// Settings that need a restart to change (listeners, TLS, data directory, specs); kept as they were.
    pub needs_restart: Vec<String>,
}

impl Process {
    /// Re-reads the config; on any error keeps the current tables and returns the error (which
    /// names the key). Listener addresses, TLS, data and specs folders need a restart.
    pub fn reload(&self) -> Result<ReloadReport, ConfigError> {
        let mut settings =
            SandgateConfig::load(self.reload.config_file.as_deref())?.merge_args(&self.reload.args).compile()?;
        // The same folder as at start when it was the built-in specs (written already).
        if let Ok(specs_dir) = crate::embedded_specs::resolve(&settings.specs_dir, &settings.data_dir) {
            settings.specs_dir = specs_dir;
        }
        let current = self.shared.tables.load_full();
        let report = restart_needed(&current.settings, &settings);
        self.control.settings.store(Arc::new(control_settings(&settings)));
        self.swap_tables(settings, &current);
        tracing::info!(needs_restart = ?report.needs_restart, "configuration reloaded");
        Ok(report)
    }

    /// Builds tables from `settings` (keeping what `current` lends) and swaps them in.
    fn swap_tables(&self, settings: Settings, current: &Tables) {
        let keys = &self.shared.keys;
        let (apis, emulator, redis) = (&self.reload.apis, self.reload.emulator.as_ref(), self.shared.redis.as_ref());
        let tables = Tables::build(settings, apis, emulator, keys, redis, Some(current));
        self.shared.tables.store(Arc::new(tables));
    }

    /// Builds the tables again, with the same settings, when a backend's name now resolves to
    /// another address (or resolves at last). Blocking (DNS): run it off the async workers.
    pub fn refresh_upstreams(&self) {
        let current = self.shared.tables.load_full();
        if !current.upstreams_moved() {
            return;
        }
        self.swap_tables(current.settings.clone(), &current);
        tracing::info!("a backend's address changed; the tables were rebuilt");
    }
}

/// What the control plane reads of `settings`.
pub fn control_settings(settings: &Settings) -> ControlSettings {
    ControlSettings {
        control_plane: settings.control_plane.clone(),
        environments: settings.environment_list(),
        operator_tokens: settings.operator_tokens.clone(),
        plans: settings.rate_limits.plans.keys().cloned().collect(),
        portal_url: settings.portal.as_ref().map(|p| p.public_url.clone()),
    }
}

fn restart_needed(old: &Settings, new: &Settings) -> ReloadReport {
    let mut needs_restart = Vec::new();
    if old.environment_list() != new.environment_list() {
        needs_restart.push("environments (added, removed or renamed)".to_owned());
    }
    for (old_env, new_env) in old.environments.iter().zip(&new.environments) {
        let name = old_env.env.as_str();
        if old_env.listen != new_env.listen || old_env.tls != new_env.tls {
            needs_restart.push(format!("environments.{name}.listen/tls"));
        }
        let emulated =
            |e: &sandgate_gateway::config::EnvSettings| e.upstream == sandgate_gateway::config::Upstream::Emulator;
        if emulated(old_env) != emulated(new_env) {
            needs_restart.push(format!("environments.{name}.upstream (to or from the emulator)"));
        }
    }
    for (changed, key) in [
        (old.admin_listen != new.admin_listen, "admin.listen"),
        (old.portal != new.portal, "portal"),
        (old.data_dir != new.data_dir || old.specs_dir != new.specs_dir, "data_dir/specs_dir"),
        (old.emulator_seed != new.emulator_seed, "emulator.seed"),
        (old.emulator_state != new.emulator_state, "emulator.state"),
        (old.emulator_scrub != new.emulator_scrub, "emulator.scrub_at"),
        (old.workers != new.workers, "workers"),
        (old.redis != new.redis, "redis"),
        (old.shutdown != new.shutdown, "shutdown"),
        (old.store_url != new.store_url, "store.url"),
        (old.resync != new.resync, "cluster.resync_ms"),
    ] {
        if changed {
            needs_restart.push(key.to_owned());
        }
    }
    ReloadReport { needs_restart }
}
