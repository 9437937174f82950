//! `sandgate`: the one command. Parses arguments and config, then hands over to a subcommand.

mod up;

/// mimalloc beat the system allocator and jemalloc for Pingora on this kind of machine.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use sandgate_emulator::{Emulator, EmulatorOptions};
use sandgate_gateway::config::{ConfigArgs, SandgateConfig};

/// Sandgate: an API gateway and sandbox for partner APIs.
#[derive(Debug, Parser)]
#[command(name = "sandgate", version, about = "Sandgate: an API gateway and sandbox for partner APIs (TRAINING and PRODUCTION).", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run everything on loopback: gateway (TRAINING + PRODUCTION listeners), admin listener,
    /// emulator and embedded store; create a demo partner and print working TRAINING credentials.
    Up(up::UpArgs),
    /// Run the gateway (same process layout as `up`) without creating the demo partner.
    Gateway {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Serve OpenAPI documents as a TRAINING backend over HTTP, standalone. Today: routing and
    /// schema-valid fabricated answers; not yet request validation, state, scenarios or scrub.
    Emulator {
        /// File or folder of OpenAPI documents.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:4010")]
        listen: String,
        /// Base seed for fabricated data.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Operator commands on the store of a data directory. Today: issue-credential; the rest of the
    /// control plane (partners, applications, review, revocation over HTTP) is not implemented yet.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check that an API's responses conform to its OpenAPI documents (for CI).
    /// NOT IMPLEMENTED YET: exits with status 2 and says so.
    Contract {
        /// Spec files or folders.
        #[arg(long)]
        spec: Vec<PathBuf>,
        /// Base URL of the API under test.
        #[arg(long)]
        base_url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Issue a new credential for an application in an environment; prints
    /// {"client_id", "client_secret"} (the secret is shown only here).
    IssueCredential {
        #[command(flatten)]
        config: ConfigArgs,
        /// Application name.
        #[arg(long)]
        application: String,
        /// An environment name: training, production, or one configured in sandgate.yaml.
        #[arg(long)]
        environment: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Up(args) => up::run(args),
        Command::Gateway { config } => up::run(up::UpArgs { config, json: false, reset_demo: false, no_demo: true }),
        Command::Emulator { specs, listen, seed } => run_emulator(&specs, &listen, seed),
        Command::Admin(AdminCommand::IssueCredential { config, application, environment }) => {
            issue_credential(&config, &application, &environment)
        }
        Command::Contract { .. } => {
            eprintln!("{}", sandgate_contract::STATUS);
            ExitCode::from(sandgate_contract::EXIT_USAGE)
        }
    }
}

fn run_emulator(specs: &std::path::Path, listen: &str, seed: u64) -> ExitCode {
    let _logs = up::init_logging(&SandgateConfig::default().log.level, false);
    let apis = if specs.is_dir() {
        sandgate_emulator::openapi::load_dir(specs)
    } else {
        sandgate_emulator::openapi::load_file(specs)
    };
    let emulator = match apis.and_then(|apis| Emulator::new(apis, EmulatorOptions { seed })) {
        Ok(emulator) => Arc::new(emulator),
        Err(e) => {
            eprintln!("sandgate emulator: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::net::TcpListener::bind(listen) {
        eprintln!("sandgate emulator: cannot listen on {listen}: {e}");
        return ExitCode::from(2);
    }
    eprintln!("sandgate emulator: {} routes from {} on http://{listen}", emulator.route_count(), specs.display());
    let mut server =
        pingora::server::Server::new_with_opt_and_conf(None, pingora::server::configuration::ServerConf::default());
    server.add_service(sandgate_emulator::server::service(emulator, listen));
    server.run(pingora::server::RunArgs::default());
    ExitCode::SUCCESS
}

fn issue_credential(config: &ConfigArgs, application: &str, environment: &str) -> ExitCode {
    let settings =
        match SandgateConfig::load(config.config.as_deref()).map(|c| c.merge_args(config)).and_then(|c| c.compile()) {
            Ok(settings) => settings,
            Err(e) => {
                eprintln!("sandgate admin: {e}");
                return ExitCode::from(2);
            }
        };
    let environments = settings.environment_list();
    let Some(env) = environments.find(environment) else {
        let names: Vec<&str> = environments.0.iter().map(|e| e.as_str()).collect();
        eprintln!("sandgate admin: --environment must be one of {}; got {environment:?}", names.join(", "));
        return ExitCode::from(2);
    };
    let data_dir = &settings.data_dir;
    let keys = match sandgate_gateway::secrets::KeyRing::load_or_create(data_dir, &environments) {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("sandgate admin: {}: {e}", data_dir.display());
            return ExitCode::from(2);
        }
    };
    let issued = sandgate_gateway::store::Store::open(data_dir)
        .and_then(|store| store.issue_credential(application, env, &keys.secret_hash));
    match issued {
        Ok(Some(credential)) => {
            println!(
                "{}",
                serde_json::json!({"client_id": credential.client_id, "client_secret": credential.client_secret})
            );
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("sandgate admin: no application named {application:?} in {}", data_dir.display());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("sandgate admin: {e}");
            ExitCode::from(2)
        }
    }
}
