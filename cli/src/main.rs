//! `sandgate`: the one command. Parses arguments and config, then hands over to a subcommand.

mod admin;
mod keys;
mod logging;
mod up;

/// mimalloc beat the system allocator and jemalloc for Pingora on this kind of machine.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use sandgate_emulator::state::StateBackend;
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
        /// Replace a running Sandgate with the same data directory without closing its ports:
        /// start this, then send the old process SIGQUIT within 5 s; it hands its listening
        /// sockets over, serves what it holds and exits.
        #[arg(long)]
        upgrade: bool,
    },
    /// Check the configuration (file, flags and `SANDGATE__…` variables) and the specs it points
    /// to, without starting anything: exit 0 when valid, 1 naming the key or file when not.
    Check {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Print the JSON Schema of `sandgate.yaml` (for editors; also shipped as
    /// `sandgate.schema.json`).
    ConfigSchema,
    /// Token-signing keys: `rotate` retires the current key (it still verifies its tokens until
    /// they expire) and creates a new one, used after the next reload.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Serve OpenAPI 3.0/3.1 documents (and the scenario files beside them) as a TRAINING backend
    /// over HTTP, standalone: routing, request validation, scenarios, state, fabrication,
    /// `Prefer`, scheduled scrub, scenario webhooks and callbacks.
    Emulator(EmulatorArgs),
    /// The control-plane API from the command line (partners, members, applications,
    /// credentials, invitations, review, activity log, connections) against a running Sandgate.
    Admin(Box<admin::AdminArgs>),
    /// Contract tests for CI: generate valid, invalid, credential and stateful requests from
    /// OpenAPI documents, check every answer against them, report (text, JUnit, JSON).
    /// Exit 0: all passed; 1: violations; 2: usage or spec errors.
    Contract(Box<sandgate_contract::cli::ContractArgs>),
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Retire the signing key of one environment (or every one) and create a new one.
    Rotate {
        #[command(flatten)]
        config: ConfigArgs,
        /// Only this environment (e.g. production); default every one.
        #[arg(long)]
        environment: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Up(args) => up::run(args),
        Command::Gateway { config, upgrade } => {
            up::run(up::UpArgs { config, json: false, reset_demo: false, no_demo: true, upgrade })
        }
        Command::Check { config } => check(&config),
        Command::ConfigSchema => {
            let schema = sandgate_gateway::config::json_schema();
            println!("{}", serde_json::to_string_pretty(&schema).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Command::Keys { action: KeysAction::Rotate { config, environment } } => {
            keys::rotate(&config, environment.as_deref())
        }
        Command::Emulator(args) => run_emulator(args),
        Command::Admin(args) => admin::run(*args),
        Command::Contract(args) => sandgate_contract::cli::run(*args),
    }
}

/// `sandgate check`: everything `up` reads before it binds a port.
fn check(args: &ConfigArgs) -> ExitCode {
    let refuse = |message: String| {
        eprintln!("sandgate: {message}");
        ExitCode::from(1)
    };
    let settings =
        match SandgateConfig::load(args.config.as_deref()).map(|c| c.merge_args(args)).and_then(|c| c.compile()) {
            Ok(settings) => settings,
            Err(e) => return refuse(e.to_string()),
        };
    // The built-in specs, when they would be used, are checked from a scratch folder: a check
    // writes nothing into the data directory.
    let scratch = std::env::temp_dir().join(format!("sandgate-check-{}", std::process::id()));
    let specs_dir = match sandgate_cli::embedded_specs::resolve(&settings.specs_dir, &scratch) {
        Ok(dir) => dir,
        Err(e) => return refuse(format!("cannot write the built-in specs to {}: {e}", scratch.display())),
    };
    let loaded = sandgate_openapi::load_dir(&specs_dir);
    let _ = std::fs::remove_dir_all(&scratch);
    let apis = match loaded {
        Ok(apis) => apis,
        Err(e) => return refuse(format!("cannot load the specs: {e}")),
    };
    if let Err(e) = sandgate_control::rules::AppTypes::from_apis(&apis) {
        return refuse(format!("application types: {e}"));
    }
    let file = args
        .config
        .as_ref()
        .map_or_else(|| "defaults and ./sandgate.yaml if present".into(), |f| f.display().to_string());
    let specs = if specs_dir == settings.specs_dir {
        settings.specs_dir.display().to_string()
    } else {
        "the built-in specs".into()
    };
    println!("ok: {file}; {} API documents in {specs}", apis.len());
    ExitCode::SUCCESS
}

/// Hands the memory freed while loading (the parsed documents, several times the size of the
/// files) back to the OS. mimalloc returns freed pages only on later allocation activity, which an
/// idle server has little of: without this, Stripe's 4.9 MB spec kept ~100 MB resident, not ~50.
#[allow(unsafe_code)] // the one FFI call of the crate; mimalloc offers no safe wrapper for it
fn release_freed_memory() {
    // SAFETY: mi_collect takes no pointers and may be called at any time from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// `sandgate emulator` flags.
#[derive(Debug, clap::Args)]
struct EmulatorArgs {
    /// File or folder of OpenAPI documents (scenario files are read from a folder).
    #[arg(long, default_value = "specs")]
    specs: PathBuf,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:4010")]
    listen: String,
    /// Base seed for fabricated data.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Keep created objects in this SQLite file (default: in memory).
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Daily scrub of the objects, HH:MM UTC, or never.
    #[arg(long, default_value = "03:00")]
    scrub_at: String,
    /// The environment of requests without the gateway's x-sandgate-environment header.
    #[arg(long, default_value = "training")]
    environment: String,
    /// The partner of requests without the gateway's x-sandgate-partner header.
    #[arg(long, default_value = "standalone")]
    partner: String,
    /// A bearer token (or API key) to accept; repeat for several. Without any, every credential
    /// of the documented kind is accepted.
    #[arg(long = "token")]
    tokens: Vec<String>,
    /// Where scenario webhooks are delivered (callbacks go to the URL each request names).
    #[arg(long)]
    webhook_url: Option<String>,
    /// The secret webhooks and callbacks are signed with (Sandgate-Signature).
    #[arg(long, env = "SANDGATE_WEBHOOK_SECRET", default_value = "whsec_sandbox")]
    webhook_secret: String,
    /// Let webhooks and callbacks reach loopback and private addresses (a local receiver).
    #[arg(long)]
    allow_private_webhooks: bool,
    /// Serve the webhook delivery log and on-demand scrubs here (`GET /v1/webhook-deliveries`,
    /// `POST /v1/emulator/scrub`; with --token, those tokens are required).
    #[arg(long)]
    admin_listen: Option<String>,
    /// Worker threads serving requests (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// Check the specs and exit instead of serving: schemas no value satisfies, examples that
    /// break their schema, patterns the generator only approximates, each with its file and JSON
    /// pointer. Exits 1 when answers could break the spec, 0 with warnings only.
    #[arg(long)]
    check: bool,
}

/// `sandgate emulator --check`: every finding of the spec lint, one line each. (The request
/// checks are not compiled here: on a spec of a thousand operations that takes minutes, and a
/// pattern they could not compile is already a lint error.)
fn check_specs(emulator: &Emulator) -> ExitCode {
    let findings = sandgate_openapi::lint::lint(emulator.apis());
    for finding in &findings {
        let level = if finding.error { "error" } else { "warning" };
        println!("{level}: {}#{}: {}", finding.file.display(), finding.pointer, finding.problem);
    }
    let errors = findings.iter().filter(|f| f.error).count();
    println!("sandgate emulator --check: {errors} errors, {} warnings", findings.len() - errors);
    if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_emulator(args: EmulatorArgs) -> ExitCode {
    let EmulatorArgs {
        specs,
        listen,
        seed,
        state_file,
        scrub_at,
        environment,
        partner,
        tokens,
        webhook_url,
        webhook_secret,
        allow_private_webhooks,
        admin_listen,
        threads,
        check,
    } = args;
    let log = sandgate_emulator::standalone::delivery::DeliveryLog::default();
    let delivery = sandgate_emulator::standalone::delivery::DirectDelivery {
        webhook_url,
        secret: webhook_secret,
        allow_private: allow_private_webhooks,
        retry: sandgate_webhooks::RetryPolicy::default(),
    };
    let events: sandgate_emulator::events::Sink =
        match sandgate_emulator::standalone::delivery::DirectSink::start(delivery, log.clone()) {
            Ok(sink) => Arc::new(sink),
            Err(e) => {
                eprintln!("sandgate emulator: webhook deliveries cannot start: {e}");
                return ExitCode::from(2);
            }
        };
    let (specs, listen) = (specs.as_path(), listen.as_str());
    let scrub = match scrub_at.as_str() {
        "never" => None,
        at => match sandgate_emulator::scrub::ScrubSchedule::parse(at) {
            Ok(schedule) => Some(schedule),
            Err(e) => {
                eprintln!("sandgate emulator: --scrub-at: {e}, or never");
                return ExitCode::from(2);
            }
        },
    };
    let state = state_file.map_or(StateBackend::Memory, StateBackend::Sqlite);
    let options = EmulatorOptions {
        seed,
        state,
        scrub,
        default_environment: environment,
        default_partner: partner,
        tokens: tokens.clone(),
        events: Some(events),
    };
    let _logs = logging::init(&SandgateConfig::default().log.level, false, None);
    let loading = std::time::Instant::now();
    // Scenario files are read from a specs folder; a single document runs without them.
    let built = if specs.is_dir() {
        Emulator::from_dir(specs, options)
    } else {
        sandgate_openapi::load_file(specs).map_err(Into::into).and_then(|apis| Emulator::new(apis, options))
    };
    let loaded_in = loading.elapsed();
    release_freed_memory();
    let emulator = match built {
        Ok(emulator) => Arc::new(emulator),
        Err(e) => {
            eprintln!("sandgate emulator: {e}");
            return ExitCode::from(2);
        }
    };
    if check {
        return check_specs(&emulator);
    }
    for addr in std::iter::once(listen).chain(admin_listen.as_deref()) {
        if let Err(e) = std::net::TcpListener::bind(addr) {
            eprintln!("sandgate emulator: cannot listen on {addr}: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(schedule) = scrub {
        sandgate_emulator::scrub::start(&emulator, schedule);
    }
    eprintln!(
        "sandgate emulator: {} routes from {} (loaded in {} ms) on http://{listen}",
        emulator.route_count(),
        specs.display(),
        loaded_in.as_millis()
    );
    let conf = pingora::server::configuration::ServerConf {
        // SIGTERM (docker stop, CI teardown) stops at once instead of after Pingora's 5-minute
        // grace period; requests in flight still get 5 s to finish.
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(5),
        threads: threads.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from),
        ..pingora::server::configuration::ServerConf::default()
    };
    let mut server = pingora::server::Server::new_with_opt_and_conf(None, conf);
    let metrics = sandgate_emulator::standalone::metrics::StandaloneMetrics::new();
    if let Some(addr) = &admin_listen {
        eprintln!("sandgate emulator: admin (webhook deliveries, scrub, /healthz, /readyz, /metrics) on http://{addr}");
        let emulator = Arc::clone(&emulator);
        let admin =
            sandgate_emulator::standalone::admin::StandaloneAdmin { emulator, log, tokens, metrics: metrics.clone() };
        server.add_service(sandgate_emulator::standalone::admin::service(admin, addr));
    }
    server.add_service(sandgate_emulator::standalone::server::service(emulator, metrics, listen));
    server.run(pingora::server::RunArgs::default());
    ExitCode::SUCCESS
}
