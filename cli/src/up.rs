//! `sandgate up`: prepare the data directory, provision the demo partner, print how to use it,
//! then serve until Ctrl-C.

use std::io::Write;
use std::process::ExitCode;

use sandgate_cli::assembly as server;
use sandgate_control::rules::DemoCalls;
use sandgate_core::environment::Environment;
use sandgate_gateway::config::{ConfigArgs, SandgateConfig, Settings, Upstream};
use sandgate_openapi::Api;
use sandgate_store::{IssuedCredential, DEMO_APPLICATION, DEMO_CONTACT, DEMO_PARTNER};

use sandgate_cli::demo_calls;

/// Flags of `sandgate up`.
#[derive(Debug, clap::Args)]
pub(crate) struct UpArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print one JSON object {training_url, production_url, admin_url, portal_url, portal_sign_in,
    /// client_id, client_secret}
    /// instead of the human banner (client_secret is null unless it was just created).
    #[arg(long)]
    pub json: bool,
    /// Issue a new secret for the demo credential (the old one stops working) and print it.
    #[arg(long)]
    pub reset_demo: bool,
    /// Do not create or print the demo partner.
    #[arg(skip)]
    pub no_demo: bool,
    /// Take the listening sockets over from a running Sandgate (`sandgate gateway --upgrade`).
    #[arg(skip)]
    pub upgrade: bool,
}

/// Runs `up` (and `gateway`, which is `up` without the demo).
pub(crate) fn run(args: UpArgs) -> ExitCode {
    let settings = match SandgateConfig::load(args.config.config.as_deref())
        .map(|c| c.merge_args(&args.config))
        .and_then(|c| c.compile())
    {
        Ok(settings) => settings,
        Err(e) => return fail(&e.to_string()),
    };
    let _logs = crate::logging::init(&settings.log_level, settings.log_json, settings.telemetry.as_ref());
    // A take-over binds nothing: the old process's sockets arrive when it gets SIGQUIT.
    if !args.upgrade {
        if let Err(e) = server::check_listeners(&settings) {
            return fail(&e.to_string());
        }
    }
    let prepared = match server::prepare(settings, args.config.config.clone(), args.config.clone()) {
        Ok(prepared) => prepared,
        Err(e) => return fail(&e.to_string()),
    };
    let demo = if args.no_demo {
        None
    } else {
        // The configured TRAINING environment, so a custom credential prefix applies to the demo too.
        let training = prepared.settings().environment_list().find("training").unwrap_or(Environment::TRAINING);
        let Some(application) = prepared.process.control.app_types.demo() else {
            return fail("no spec describes the demo application (x-sandgate-demo-application: {type, entities}); add it to one, or run with --no-demo");
        };
        match prepared.store().ensure_demo(training, &prepared.keys().secret_hash, args.reset_demo, &application) {
            Ok(demo) => Some(demo),
            Err(e) => return fail(&e.to_string()),
        }
    };
    // A first sign-in to the portal: a one-time link for the demo partner's owner (24 hours).
    let sign_in = match (&demo, &prepared.settings().portal) {
        (Some(_), Some(portal)) => {
            match sandgate_portal::sign_in_link(&prepared.process.control, portal, DEMO_CONTACT.1, 86_400) {
                Ok(link) => Some(link),
                Err(e) => return fail(&e.to_string()),
            }
        }
        _ => None,
    };
    let routes = prepared.emulator.as_ref().map_or(0, |e| e.route_count());
    let settings = prepared.settings();
    let servers = match server::build(&prepared, args.upgrade) {
        Ok(servers) => server::spawn_until_signal(&prepared, servers),
        Err(e) => return fail(&e.to_string()),
    };
    // The banner promises that Sandgate is up: print it only once every listener accepts.
    if let Err(addr) = server::wait_until_listening(&settings, std::time::Duration::from_secs(10)) {
        return fail(&format!("{addr} is not accepting connections 10 s after start; see the log above"));
    }
    let text = match (&demo, args.json) {
        (Some(demo), true) => json_banner(&settings, demo, sign_in.as_deref()),
        (Some(demo), false) => {
            let calls = prepared.process.control.app_types.demo_calls();
            let specs = calls.map(|calls| (&prepared.process.reload.apis[..], calls));
            banner(&settings, demo, routes, specs, sign_in.as_deref())
        }
        (None, _) => listeners(&settings, routes),
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
    // Runs until SIGINT (Ctrl-C: fast stop) or SIGTERM (graceful stop); SIGHUP reloads.
    for thread in servers {
        let _ = thread.join();
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("sandgate: {message}");
    ExitCode::from(2)
}

fn url(addr: std::net::SocketAddr) -> String {
    format!("http://{addr}")
}

fn json_banner(settings: &Settings, demo: &IssuedCredential, sign_in: Option<&str>) -> String {
    serde_json::json!({
        "training_url": url(settings.env(Environment::TRAINING).listen),
        "production_url": url(settings.env(Environment::PRODUCTION).listen),
        "admin_url": url(settings.admin_listen),
        "portal_url": settings.portal.as_ref().map(|p| p.public_url.clone()),
        "portal_sign_in": sign_in,
        "client_id": demo.client_id,
        "client_secret": demo.client_secret,
    })
    .to_string()
}

fn describe(upstream: &Upstream, routes: usize, specs: &std::path::Path) -> String {
    match upstream {
        Upstream::Emulator => format!("built-in emulator ({routes} routes from {}/)", specs.display()),
        Upstream::None => "no backend configured (answers 503)".to_owned(),
        Upstream::Http { endpoints, .. } => endpoints
            .iter()
            .map(|e| format!("{}://{}", if e.tls { "https" } else { "http" }, e.authority))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn listeners(settings: &Settings, routes: usize) -> String {
    let mut text = String::from("Sandgate is up.\n");
    for env in &settings.environments {
        let scheme = if env.tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", env.listen);
        text.push_str(&format!(
            "  {:<11} {url}  -> {}\n",
            env.env.display(),
            describe(&env.upstream, routes, &settings.specs_dir)
        ));
    }
    text.push_str(&format!(
        "  {:<11} {}  (control plane /v1, spec at /v1/openapi.yaml; /healthz, /readyz, /metrics, POST /reload)\n",
        "admin",
        url(settings.admin_listen),
    ));
    if let Some(portal) = &settings.portal {
        text.push_str(&format!(
            "  {:<11} {}  (developer portal: sign-up, applications, API docs; operators at /operator)\n",
            "portal", portal.public_url
        ));
    }
    text.push_str(&format!(
        "  {:<11} {}  (operator token in {}; `sandgate admin --help`)\n",
        "data",
        settings.data_dir.display(),
        sandgate_control::auth::local_token_file(&settings.data_dir).display()
    ));
    text
}

/// The human banner: the listeners, the demo credential, and the first two commands the spec
/// that declares the demo application suggests (see `demo_calls`).
fn banner(
    settings: &Settings,
    demo: &IssuedCredential,
    routes: usize,
    specs: Option<(&[Api], &DemoCalls)>,
    sign_in: Option<&str>,
) -> String {
    let base = url(settings.env(Environment::TRAINING).listen);
    let id = &demo.client_id;
    let (secret_line, secret) = match &demo.client_secret {
        Some(secret) => {
            (format!("{secret}   <- shown once; keep it (sandgate up --reset-demo issues a new one)"), secret.clone())
        }
        None => (
            "(not shown again: it was printed when it was created; run sandgate up --reset-demo for a new one)"
                .to_owned(),
            "$CLIENT_SECRET".to_owned(),
        ),
    };
    let mut steps = String::new();
    if let Some(commands) = specs.and_then(|(apis, calls)| demo_calls::commands(apis, calls, &base, id, &secret)) {
        let token_curl = &commands.token;
        steps.push_str(&format!("1. Get a token:\n\n  {token_curl}\n\n"));
        if let Some((title, call)) = &commands.call {
            let script = commands.token_then(call).replace('\n', "\n  ");
            steps.push_str(&format!("2. Call the {title} with it:\n\n  {script}\n\n"));
        }
    }
    if let Some(link) = sign_in {
        steps.push_str(&format!(
            "3. Open the developer portal as the demo partner's owner ({}; the link works once, for 24 hours):\n\n  {link}\n\n",
            DEMO_CONTACT.1
        ));
    }
    format!(
        "{}\nDemo partner \"{DEMO_PARTNER}\", TRAINING application \"{DEMO_APPLICATION}\" (trusts loopback)\n  client_id      {id}\n  client_secret  {secret_line}\n\n\
         {steps}Press Ctrl-C to stop.",
        listeners(settings, routes)
    )
}
