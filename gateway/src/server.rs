//! Assembles one Sandgate process: the store and keys in the data directory, the emulator, one
//! Pingora proxy service per environment, and the admin service; runs it until a shutdown signal.
//!
//! Used by `sandgate up` / `sandgate gateway` and by the integration tests, which start it on
//! ephemeral loopback ports and stop it with [`Running::stop`].

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use pingora::apps::http_app::HttpServer;
use pingora::proxy::http_proxy_service_with_name;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};
use pingora::services::listening::Service;
use pingora::upstreams::peer::HttpPeer;
use sandgate_emulator::{Emulator, EmulatorOptions};

use crate::admin::AdminApp;
use crate::config::{Settings, Upstream as UpstreamConfig};
use crate::environment::Environment;
use crate::phase::forward::Upstream;
use crate::secrets::KeyRing;
use crate::store::Store;
use crate::token::TokenIssuer;
use crate::Gateway;

/// Why Sandgate could not start. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory or its keys could not be created or read.
    #[error("data directory {dir}: {source}")]
    DataDir {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store failed to open or migrate.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A spec failed to load.
    #[error("cannot load the specs: {0}")]
    Specs(#[from] sandgate_emulator::openapi::LoadError),
    /// A listener address cannot be bound.
    #[error(
        "cannot listen on {addr} ({name}): {source}; choose another address with --{name}-listen or in sandgate.yaml"
    )]
    Bind {
        /// Which listener.
        name: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Everything prepared before the listeners open.
#[derive(Debug)]
pub struct Prepared {
    /// The settings.
    pub settings: Settings,
    /// The store.
    pub store: Arc<Store>,
    /// The keys.
    pub keys: KeyRing,
    /// The emulator, when an environment uses it.
    pub emulator: Option<Arc<Emulator>>,
}

/// Opens the data directory, store and keys, and loads the emulator's specs.
pub fn prepare(settings: Settings) -> Result<Prepared, StartError> {
    let dir = settings.data_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|source| StartError::DataDir { dir: dir.clone(), source })?;
    let keys = KeyRing::load_or_create(&dir).map_err(|source| StartError::DataDir { dir: dir.clone(), source })?;
    let store = Arc::new(Store::open(&dir)?);
    let uses_emulator = [&settings.training.1, &settings.production.1].iter().any(|u| **u == UpstreamConfig::Emulator);
    let emulator = if uses_emulator {
        let options = EmulatorOptions { seed: settings.emulator_seed };
        Some(Arc::new(Emulator::from_dir(&settings.specs_dir, options)?))
    } else {
        None
    };
    Ok(Prepared { settings, store, keys, emulator })
}

/// Checks that every listener address can be bound now, so a clash fails before start-up with a
/// clear message (Pingora binds later, on its own threads).
pub fn check_listeners(settings: &Settings) -> Result<(), StartError> {
    for (name, addr) in
        [("training", settings.training.0), ("production", settings.production.0), ("admin", settings.admin_listen)]
    {
        TcpListener::bind(addr).map(drop).map_err(|source| StartError::Bind { name, addr, source })?;
    }
    Ok(())
}

/// Builds the Pingora server with its services. `run` it on a thread of its own.
pub fn build(prepared: &Prepared) -> Server {
    let settings = &prepared.settings;
    let mut conf = ServerConf::default();
    // Per-instance files, so two instances (or parallel tests) never collide.
    let pid = prepared.settings.data_dir.join("sandgate.pid");
    conf.pid_file = pid.to_string_lossy().into_owned();
    conf.upgrade_sock = prepared.settings.data_dir.join("upgrade.sock").to_string_lossy().into_owned();
    conf.threads = 2;
    conf.grace_period_seconds = Some(0);
    conf.graceful_shutdown_timeout_seconds = Some(5);
    let mut server = Server::new_with_opt_and_conf(None, conf);
    let conf = Arc::clone(&server.configuration);

    for (env, (addr, upstream)) in
        [(Environment::Training, &settings.training), (Environment::Production, &settings.production)]
    {
        let gateway = Gateway {
            env,
            upstream: runtime_upstream(upstream, prepared.emulator.as_ref()),
            issuer: Arc::new(TokenIssuer::new(env, prepared.keys.signing_key(env), settings.token_ttl_secs)),
            hasher: prepared.keys.secret_hash.clone(),
            store: Arc::clone(&prepared.store),
        };
        let mut service = http_proxy_service_with_name(&conf, gateway, &format!("sandgate {}", env.as_str()));
        service.add_tcp(&addr.to_string());
        server.add_service(service);
    }
    let mut admin =
        Service::new("sandgate admin".to_owned(), HttpServer::new_app(AdminApp { store: Arc::clone(&prepared.store) }));
    admin.add_tcp(&settings.admin_listen.to_string());
    admin.threads = Some(1);
    server.add_service(admin);
    server
}

fn runtime_upstream(config: &UpstreamConfig, emulator: Option<&Arc<Emulator>>) -> Upstream {
    match (config, emulator) {
        (UpstreamConfig::Emulator, Some(emulator)) => Upstream::Emulator(Arc::clone(emulator)),
        (UpstreamConfig::Http { address, authority }, _) => {
            Upstream::Http(Box::new(HttpPeer::new(*address, false, authority.clone())))
        }
        _ => Upstream::None,
    }
}

/// A shutdown signal the owner triggers by hand (tests, embedding).
struct ManualShutdown(Arc<tokio::sync::Notify>);

#[async_trait]
impl ShutdownSignalWatch for ManualShutdown {
    async fn recv(&self) -> ShutdownSignal {
        self.0.notified().await;
        ShutdownSignal::FastShutdown
    }
}

/// A server running on its own thread.
pub struct Running {
    stop: Arc<tokio::sync::Notify>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts `server` on a new thread; stop it with [`Running::stop`].
    pub fn start(server: Server) -> Running {
        let stop = Arc::new(tokio::sync::Notify::new());
        let signal = ManualShutdown(Arc::clone(&stop));
        let thread = std::thread::spawn(move || server.run(RunArgs { shutdown_signal: Box::new(signal) }));
        Running { stop, thread: Some(thread) }
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}
