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
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};
use pingora::services::listening::Service;
use sandgate_emulator::state::StateBackend;
use sandgate_emulator::{Emulator, EmulatorOptions};

use arc_swap::ArcSwap;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::TcpSocketOptions;
use pingora::server::ShutdownWatch;
use pingora::services::background::{background_service, BackgroundService};

use crate::admin_listener::AdminApp;
use crate::node_sync::NodeSync;
use crate::reload::{Process, ReloadSource};
use sandgate_cluster::{ChangeBus, Freshness, RedisLink};
use sandgate_control::context::ControlContext;
use sandgate_control::webhooks::OutboxSink;
use sandgate_gateway::config::{ConfigArgs, EmulatorState, Settings, Upstream as UpstreamConfig};
use sandgate_gateway::directory::Directory;
use sandgate_gateway::metrics::Metrics;
use sandgate_gateway::state::Shared;
use sandgate_gateway::table::Tables;
use sandgate_gateway::token::throttle::FailureThrottle;
use sandgate_gateway::Gateway;
use sandgate_store::keys::KeyRing;
use sandgate_store::Store;

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
    Store(#[from] sandgate_store::StoreError),
    /// A spec failed to load.
    #[error("cannot load the specs: {0}")]
    Specs(#[from] sandgate_openapi::OpenApiError),
    /// The emulator could not be built from the specs, or its state store opened.
    #[error("cannot start the emulator: {0}")]
    Emulator(#[from] sandgate_emulator::EmulatorError),
    /// The configured mail sender is not a mailbox.
    #[error("control_plane.mail.from: {0}")]
    MailSender(String),
    /// The specs' application types contradict each other.
    #[error("application types: {0}")]
    AppTypes(#[from] sandgate_control::rules::AppTypesError),
    /// A TLS listener could not be set up from its certificate and key.
    #[error("TLS on the {name} listener: {detail}")]
    Tls {
        /// Which listener.
        name: &'static str,
        /// What failed.
        detail: String,
    },
    /// The shared Redis (`redis.url`, `--redis`) does not answer.
    #[error(transparent)]
    Redis(#[from] sandgate_cluster::ClusterError),
    /// A listener address cannot be bound.
    #[error(
        "cannot listen on {addr} ({name}): {source}; choose another address in sandgate.yaml (or with --{name}-listen)"
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
    /// The process: data-plane state, control-plane context, reload inputs.
    pub process: Arc<Process>,
    /// The emulator, when an environment uses it.
    pub emulator: Option<Arc<Emulator>>,
}

impl Prepared {
    /// The settings the process started with.
    pub fn settings(&self) -> Settings {
        self.process.shared.tables.load().settings.clone()
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.process.shared.store
    }

    /// The keys.
    pub fn keys(&self) -> &KeyRing {
        &self.process.shared.keys
    }
}

/// Opens the data directory, store and keys, loads the specs and builds the tables.
/// `config_file` and `args` are kept for reloads.
pub fn prepare(settings: Settings, config_file: Option<PathBuf>, args: ConfigArgs) -> Result<Prepared, StartError> {
    prepare_with_clock(settings, config_file, args, Arc::new(sandgate_core::clock::SystemClock))
}

/// [`prepare`], with the store reading time from `clock` (tests advance it past expiries).
pub fn prepare_with_clock(
    mut settings: Settings,
    config_file: Option<PathBuf>,
    args: ConfigArgs,
    clock: Arc<dyn sandgate_core::clock::Clock>,
) -> Result<Prepared, StartError> {
    // reqwest (webhooks) is built without a crypto provider of its own: use ring, as Pingora does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    sandgate_control::mail::check_sender(&settings.control_plane.mail.from).map_err(StartError::MailSender)?;
    let dir = settings.data_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|source| StartError::DataDir { dir: dir.clone(), source })?;
    settings.specs_dir = crate::embedded_specs::resolve(&settings.specs_dir, &dir)
        .map_err(|source| StartError::DataDir { dir: dir.clone(), source })?;
    let keys = KeyRing::load_or_create(&dir, &settings.environment_list())
        .map_err(|source| StartError::DataDir { dir: dir.clone(), source })?;
    let local_operator = sandgate_control::auth::load_local_token(&dir)
        .map_err(|source| StartError::DataDir { dir: dir.clone(), source })?;
    let store = Arc::new(match &settings.store_url {
        Some(url) => Store::open_postgres(url, clock)?,
        None => Store::open_with_clock(&dir, clock)?,
    });
    store.agree_on_keys(&keys.fingerprints())?;
    let redis = match &settings.redis {
        Some(redis) => Some(Arc::new(RedisLink::connect("redis.url", &redis.url, &redis.key_prefix, redis.timeout)?)),
        None => None,
    };
    store.start_activity_writer();
    let apis = sandgate_openapi::load_dir(&settings.specs_dir)?;
    let webhook_wake = Arc::new(tokio::sync::Notify::new());
    let uses_emulator = settings.environments.iter().any(|e| e.upstream == UpstreamConfig::Emulator);
    let emulator = if uses_emulator {
        // TRAINING objects live beside the control-plane store: in PostgreSQL when the nodes
        // share one, so a partner's object created through one node is read through any other.
        let state = match (settings.emulator_state, &settings.store_url) {
            (EmulatorState::Store, Some(url)) => StateBackend::Postgres(url.clone()),
            (EmulatorState::Store, None) => StateBackend::Sqlite(dir.join("emulator.db")),
            (EmulatorState::Memory, _) => StateBackend::Memory,
        };
        let scrub = settings.emulator_scrub;
        let events: sandgate_emulator::events::Sink =
            Arc::new(OutboxSink { store: Arc::clone(&store), wake: Arc::clone(&webhook_wake) });
        let options = EmulatorOptions {
            seed: settings.emulator_seed,
            state,
            scrub,
            events: Some(events),
            ..EmulatorOptions::default()
        };
        let scenarios = sandgate_emulator::scenario::load_dir(&settings.specs_dir)?;
        let emulator = Arc::new(Emulator::new(apis.clone(), options)?.with_scenarios(&scenarios)?);
        if let Some(schedule) = scrub {
            let claim = crate::scrub_claim::scrub_claim(redis.clone());
            sandgate_emulator::scrub::start_claimed(&emulator, schedule, claim);
        }
        Some(emulator)
    } else {
        None
    };
    // After every file of ours exists (the emulator's database included).
    restrict_permissions(&dir).map_err(|source| StartError::DataDir { dir: dir.clone(), source })?;
    let directory = Arc::new(Directory::load(&store, sandgate_gateway::table::scopes::Scopes::from_apis(&apis))?);
    let metrics = Metrics::new();
    let freshness = Arc::new(Freshness::new(redis.is_some()));
    freshness.confirmed();
    NodeSync {
        directory: Arc::clone(&directory),
        freshness: Arc::clone(&freshness),
        metrics: metrics.clone(),
        bus: redis.as_ref().map(|link| ChangeBus::new(Arc::clone(link), Arc::clone(&freshness))),
    }
    .start(&store);
    let app_types = sandgate_control::rules::AppTypes::from_apis(&apis)?;
    let tables = Tables::build(settings, &apis, emulator.as_ref(), &keys, redis.as_ref(), None);
    let control = Arc::new(ControlContext {
        store: Arc::clone(&store),
        keys: keys.clone(),
        settings: ArcSwap::from_pointee(crate::reload::control_settings(&tables.settings)),
        app_types,
        emulator: emulator.clone(),
        webhook_wake,
        mail_wake: Arc::new(tokio::sync::Notify::new()),
        local_operator,
    });
    let shared = Arc::new(Shared {
        tables: ArcSwap::from_pointee(tables),
        directory,
        store,
        metrics,
        keys,
        throttle: match &redis {
            Some(link) => FailureThrottle::shared(Arc::clone(link)),
            None => FailureThrottle::default(),
        },
        redis,
        freshness,
        draining: Default::default(),
    });
    let reload = ReloadSource { config_file, args, apis, emulator: emulator.clone() };
    let process = Arc::new(Process { shared, control, reload });
    Ok(Prepared { process, emulator })
}

/// The data directory holds credentials' hashes, signing keys and partners' data: only the
/// service's user may read it. The folder and `secrets/` become 0700, the databases and secrets
/// 0600, whatever the umask made them (SQLite creates its files 0644). Only Sandgate's own files
/// are touched, in case the data directory is shared with something else.
#[cfg(unix)]
fn restrict_permissions(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let private = |path: &std::path::Path, mode| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
    private(dir, 0o700)?;
    let secrets = dir.join("secrets");
    if secrets.is_dir() {
        private(&secrets, 0o700)?;
        for entry in std::fs::read_dir(&secrets)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                private(&entry.path(), 0o600)?;
            }
        }
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = [".db", ".db-wal", ".db-shm", ".db-journal"].iter().any(|suffix| name.ends_with(suffix));
        if ours && entry.file_type()?.is_file() {
            private(&entry.path(), 0o600)?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict_permissions(_dir: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

/// Checks that every listener address can be bound now, so a clash fails before start-up with a
/// clear message (Pingora binds later, on its own threads).
pub fn check_listeners(settings: &Settings) -> Result<(), StartError> {
    let listeners = settings
        .environments
        .iter()
        .map(|e| (e.env.as_str(), e.listen))
        .chain([("admin", settings.admin_listen)])
        .chain(settings.portal.as_ref().map(|p| ("portal", p.listen)));
    for (name, addr) in listeners {
        TcpListener::bind(addr).map(drop).map_err(|source| StartError::Bind { name, addr, source })?;
    }
    Ok(())
}

/// Builds the Pingora servers: one per worker, each with one single-threaded service per
/// environment, all binding their listeners with `SO_REUSEPORT` so the kernel spreads connections
/// over the workers (the largest single gain measured for Pingora on this kind of machine). The
/// first server also runs the admin listener and the housekeeping task. Run each on its own thread.
///
/// One Pingora `Server` per worker rather than several services in one: services of one server
/// share a listening socket per address string, and each closes it at shutdown, which aborts the
/// process (Rust's I/O-safety check).
///
/// `takeover`: this process replaces a running one (`sandgate gateway --upgrade`). Each worker
/// then receives its listening sockets from the same worker of the old process, which sends them
/// on SIGQUIT (Pingora's hand-over through `upgrade-<worker>.sock` in the data directory): the
/// sockets never close, so no connection waiting in an accept queue is lost.
pub fn build(prepared: &Prepared, takeover: bool) -> Result<Vec<Server>, StartError> {
    let settings = prepared.settings();
    let mut servers = Vec::with_capacity(settings.workers);
    for worker in 0..settings.workers {
        // Per-instance files, so two instances (or parallel tests) never collide.
        let conf = ServerConf {
            pid_file: settings.data_dir.join(format!("sandgate-{worker}.pid")).to_string_lossy().into_owned(),
            upgrade_sock: settings.data_dir.join(format!("upgrade-{worker}.sock")).to_string_lossy().into_owned(),
            threads: 1,
            // One thread per service already; Pingora's no-steal runtime would be the same here,
            // but with several servers in one process (tests) its listeners sometimes never start.
            work_stealing: true,
            grace_period_seconds: Some(0),
            graceful_shutdown_timeout_seconds: Some(settings.shutdown.grace_secs),
            upstream_keepalive_pool_size: 256,
            ..ServerConf::default()
        };
        let opt = takeover.then(|| Opt { upgrade: true, ..Opt::default() });
        let mut server = Server::new_with_opt_and_conf(opt, conf);
        let conf = Arc::clone(&server.configuration);
        for env_settings in &settings.environments {
            let addr = env_settings.listen.to_string();
            let gateway = Gateway { env: env_settings.env, shared: Arc::clone(&prepared.process.shared) };
            let name = format!("sandgate {} #{worker}", env_settings.env.as_str());
            let mut service = http_proxy_service_with_name(&conf, gateway, &name);
            let mut socket = TcpSocketOptions::default();
            socket.so_reuseport = Some(settings.workers > 1);
            match &env_settings.tls {
                Some(tls) => {
                    let tls_settings =
                        TlsSettings::intermediate(&tls.cert_file.to_string_lossy(), &tls.key_file.to_string_lossy())
                            .map_err(|e| StartError::Tls { name: env_settings.env.as_str(), detail: e.to_string() })?;
                    service.add_tls_with_settings(&addr, Some(socket), tls_settings);
                }
                None => service.add_tcp_with_settings(&addr, socket),
            }
            server.add_service(service);
        }
        if worker == 0 {
            let admin_app = HttpServer::new_app(AdminApp::new(Arc::clone(&prepared.process)));
            let mut admin = Service::new("sandgate admin".to_owned(), admin_app);
            admin.add_tcp(&settings.admin_listen.to_string());
            server.add_service(admin);
            let housekeeping = Housekeeping { process: Arc::clone(&prepared.process) };
            server.add_service(background_service("sandgate housekeeping", housekeeping));
            let health = BackendHealth { process: Arc::clone(&prepared.process) };
            server.add_service(background_service("sandgate backend health", health));
            let deliveries = WebhookWorker { process: Arc::clone(&prepared.process) };
            server.add_service(background_service("sandgate webhooks", deliveries));
            let mail = MailWorker { process: Arc::clone(&prepared.process) };
            server.add_service(background_service("sandgate mail", mail));
            if let Some(portal_settings) = &settings.portal {
                let bridge: Arc<dyn sandgate_portal::TryIt> =
                    Arc::new(crate::portal_bridge::TrainingBridge::new(Arc::clone(&prepared.process)));
                let portal = sandgate_portal::Portal::new(
                    Arc::clone(&prepared.process.control),
                    portal_settings.clone(),
                    &prepared.process.reload.apis,
                    Some(bridge),
                );
                let app = HttpServer::new_app(sandgate_portal::PortalApp::new(Arc::new(portal)));
                let mut service = Service::new("sandgate portal".to_owned(), app);
                service.add_tcp(&portal_settings.listen.to_string());
                server.add_service(service);
            }
        }
        servers.push(server);
    }
    Ok(servers)
}

/// Starts every server on its own thread, each stopping on a shutdown signal: SIGINT at once;
/// SIGTERM first marks the process draining (`/readyz` 503) and serves on for
/// `shutdown.drain_secs`, then stops accepting and gives requests in flight
/// `shutdown.grace_secs`; SIGQUIT hands the listening sockets to a process started with
/// `--upgrade`, then stops the same graceful way. Join the handles to wait for the end.
///
/// Servers built with `takeover` first wait (up to 5 s, Pingora's limit) for the old process's
/// sockets; a worker that gets none exits the process with status 1.
pub fn spawn_until_signal(prepared: &Prepared, servers: Vec<Server>) -> Vec<std::thread::JoinHandle<()>> {
    let drain = std::time::Duration::from_secs(prepared.settings().shutdown.drain_secs);
    servers
        .into_iter()
        .map(|mut server| {
            let signal = DrainOnTerm { shared: Arc::clone(&prepared.process.shared), drain };
            std::thread::spawn(move || {
                // Without `--upgrade` this only marks the server bootstrapped.
                server.bootstrap();
                server.run(RunArgs { shutdown_signal: Box::new(signal) })
            })
        })
        .collect()
}

/// SIGINT: stop now. SIGTERM: not ready, keep serving for `drain`, then a graceful stop.
/// SIGQUIT: hand the listening sockets over, then a graceful stop (the new process answers
/// `/readyz` on the same sockets, so this one does not turn unready).
struct DrainOnTerm {
    shared: Arc<Shared>,
    drain: std::time::Duration,
}

#[async_trait]
impl ShutdownSignalWatch for DrainOnTerm {
    async fn recv(&self) -> ShutdownSignal {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut interrupt), Ok(mut terminate), Ok(mut quit)) =
            (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::quit()))
        else {
            tracing::error!("cannot listen for SIGINT/SIGTERM/SIGQUIT; stop with SIGKILL");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = interrupt.recv() => ShutdownSignal::FastShutdown,
            _ = quit.recv() => {
                tracing::info!("SIGQUIT: handing the listening sockets to the new process, then stopping gracefully");
                ShutdownSignal::GracefulUpgrade
            }
            _ = terminate.recv() => {
                if !self.shared.draining.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    tracing::info!(drain = ?self.drain, "SIGTERM: /readyz now answers 503; serving on while the load balancer drains");
                }
                tokio::time::sleep(self.drain).await;
                ShutdownSignal::GracefulTerminate
            }
        }
    }
}

/// Waits until every listener of `settings` accepts connections; `Err` names the first that
/// does not within `timeout`.
pub fn wait_until_listening(settings: &Settings, timeout: std::time::Duration) -> Result<(), SocketAddr> {
    let deadline = std::time::Instant::now() + timeout;
    let addrs = settings
        .environments
        .iter()
        .map(|e| e.listen)
        .chain([settings.admin_listen])
        .chain(settings.portal.as_ref().map(|p| p.listen));
    for addr in addrs {
        while std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)).is_err() {
            if std::time::Instant::now() > deadline {
                return Err(addr);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    Ok(())
}

/// Background work: reload on SIGHUP, compare the directory with the store every
/// `cluster.resync_ms`, and every minute drop idle rate-limit keys and resolve the backends'
/// names again.
struct Housekeeping {
    process: Arc<Process>,
}

impl Housekeeping {
    /// The directory's catch-up with the store, off the async workers.
    async fn resync(&self) {
        let shared = &self.process.shared;
        let sync = NodeSync {
            directory: Arc::clone(&shared.directory),
            freshness: Arc::clone(&shared.freshness),
            metrics: shared.metrics.clone(),
            bus: None,
        };
        let store = Arc::clone(&shared.store);
        let _ = tokio::task::spawn_blocking(move || sync.catch_up(&store)).await;
    }
}

#[async_trait]
impl BackgroundService for Housekeeping {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        let mut resync = tokio::time::interval(self.process.shared.tables.load().settings.resync);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => {
                    self.process.shared.tables.load().limiter.retain_recent();
                    let process = Arc::clone(&self.process);
                    let _ = tokio::task::spawn_blocking(move || process.refresh_upstreams()).await;
                }
                _ = resync.tick() => self.resync().await,
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => {
                    if let Err(e) = self.process.reload() {
                        tracing::error!(error = %e, "reload refused; the previous configuration stays in force");
                    }
                }
            }
        }
    }
}

/// Runs the backends' active health checks when due (`backend.health_check`) and publishes
/// which endpoints are in rotation (`sandgate_upstream_endpoint_up`).
struct BackendHealth {
    process: Arc<Process>,
}

#[async_trait]
impl BackgroundService for BackendHealth {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        // Pingora's own HTTP connector, so a check speaks exactly the TLS the traffic does.
        let connector = pingora::connectors::http::Connector::new(None);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => {
                    let tables = self.process.shared.tables.load_full();
                    for env in &tables.envs {
                        if let sandgate_gateway::table::Upstream::Http(pool) = &env.upstream {
                            pool.check_if_due(&connector).await;
                            for endpoint in &pool.endpoints {
                                let up = i64::from(pool.in_rotation(endpoint));
                                let labels = [env.env.as_str(), endpoint.authority.as_str()];
                                self.process.shared.metrics.upstream_endpoint_up.with_label_values(&labels).set(up);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Delivers queued webhooks (see [`sandgate_control::webhooks`]).
struct WebhookWorker {
    process: Arc<Process>,
}

#[async_trait]
impl BackgroundService for WebhookWorker {
    async fn start(&self, shutdown: ShutdownWatch) {
        sandgate_control::webhooks::run(Arc::clone(&self.process.control), shutdown).await;
    }
}

/// Sends queued e-mail over SMTP when `control_plane.mail.smtp_url` is set: at once when a
/// message is queued, and every few seconds for retries.
struct MailWorker {
    process: Arc<Process>,
}

#[async_trait]
impl BackgroundService for MailWorker {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = self.process.control.mail_wake.notified() => {}
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            }
            let control = Arc::clone(&self.process.control);
            match tokio::task::spawn_blocking(move || sandgate_control::mail::send_due(&control)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "mail worker: store unavailable"),
                Err(e) => tracing::error!(error = %e, "mail worker failed"),
            }
        }
    }
}

/// A shutdown signal the owner triggers by hand (tests, embedding).
struct ManualShutdown(tokio::sync::watch::Receiver<bool>);

#[async_trait]
impl ShutdownSignalWatch for ManualShutdown {
    async fn recv(&self) -> ShutdownSignal {
        let _ = self.0.clone().wait_for(|stop| *stop).await;
        ShutdownSignal::FastShutdown
    }
}

/// Servers running on threads of their own.
pub struct Running {
    stop: tokio::sync::watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts every server on a new thread; stop them with [`Running::stop`].
    pub fn start(servers: Vec<Server>) -> Running {
        let (stop, watch) = tokio::sync::watch::channel(false);
        let threads = servers
            .into_iter()
            .map(|server| {
                let signal = ManualShutdown(watch.clone());
                std::thread::spawn(move || server.run(RunArgs { shutdown_signal: Box::new(signal) }))
            })
            .collect();
        Running { stop, threads }
    }

    /// Stops the servers and waits for their threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}
