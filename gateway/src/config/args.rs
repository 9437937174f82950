//! The command-line flags that override the file (`merge_args`).

use std::path::PathBuf;

/// Flags that override the file (all optional).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// Config file [default: ./sandgate.yaml when it exists]
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory: store and keys [default: ./.sandgate if it exists, else
    /// $XDG_STATE_HOME/sandgate, else ~/.local/state/sandgate]
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
    /// Developer portal listen address [default: 127.0.0.1:8070]
    #[arg(long, value_name = "ADDR")]
    pub portal_listen: Option<String>,
    /// PRODUCTION backend: http://host:port, or none [default: none]
    #[arg(long, value_name = "URL")]
    pub production_upstream: Option<String>,
    /// Redis shared by several nodes (`sandgate.redis.url`): redis://host:port [default: none]
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// PostgreSQL store shared by several nodes (`sandgate.store.url`): postgres://user@host/db
    /// [default: SQLite in the data directory]
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}
