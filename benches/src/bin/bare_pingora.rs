//! The baseline of `benches/load/gateway.sh`: a Pingora proxy that only picks the peer, built
//! with the same Pingora, allocator, release profile and server settings as Sandgate (one
//! single-threaded server per worker, `SO_REUSEPORT`, 256 upstream keep-alive connections), so
//! the difference to Sandgate's PRODUCTION listener is the cost of Sandgate's own chain.
//!
//! With `--same-wire` it is the second baseline: the same proxy doing the wire work Sandgate's
//! PRODUCTION listener asks of Pingora, with fixed values and none of Sandgate's decisions: the
//! same timeouts (downstream read and keep-alive, upstream connect, read and write), retry
//! buffering of idempotent requests, the same headers taken off and put on the upstream request
//! (credentials, identity, forwarding, request id) and on the answer (request id, `RateLimit-*`).
//! What Sandgate costs above this one is its own callbacks; what this one costs above the bare
//! proxy is Pingora's price for that wire work.
//!
//! `--same-wire=timeouts,retry,headers` turns on only the parts named (to see what each costs).
//!
//! With `--answer=FILE` it is the TRAINING floor: every request is answered from
//! `request_filter` with that file as a JSON body, written as Sandgate writes the emulator's
//! answer (one header with type and length, then the body), and nothing goes upstream. What
//! Sandgate's TRAINING listener costs above this one is its chain and the emulator.
//!
//! Usage: `bare-pingora <listen addr> <upstream addr> [workers] [--same-wire[=parts]] [--answer=FILE]`

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::listeners::TcpSocketOptions;
use pingora::prelude::*;
use pingora::proxy::http_proxy_service_with_name;
use pingora::server::configuration::ServerConf;

/// Sends every request to one upstream: untouched, or with parts of Sandgate's wire work.
struct PickPeer {
    upstream: SocketAddr,
    /// The `host` value of `--same-wire`, made once (Sandgate keeps its endpoint's authority too).
    host: String,
    wire: SameWire,
    /// `--answer`: the body every request is answered with, in-process.
    answer: Option<Bytes>,
}

/// Which parts of Sandgate's wire work the proxy does.
#[derive(Clone, Copy, Default)]
struct SameWire {
    timeouts: bool,
    retry: bool,
    headers: bool,
}

impl SameWire {
    /// From the arguments: `--same-wire` (every part) or `--same-wire=part,part`.
    fn from_args(args: &[String]) -> Result<SameWire, String> {
        let mut wire = SameWire::default();
        for arg in args {
            let Some(rest) = arg.strip_prefix("--same-wire") else { continue };
            let parts = match rest.strip_prefix('=') {
                Some(list) => list.split(',').collect(),
                None if rest.is_empty() => vec!["timeouts", "retry", "headers"],
                None => return Err(format!("unknown argument {arg}")),
            };
            for part in parts {
                match part {
                    "timeouts" => wire.timeouts = true,
                    "retry" => wire.retry = true,
                    "headers" => wire.headers = true,
                    other => return Err(format!("unknown --same-wire part {other:?} (timeouts, retry, headers)")),
                }
            }
        }
        Ok(wire)
    }
}

/// Headers put on the upstream request in `--same-wire` mode: as many as Sandgate's, with values
/// of the same shape (a benchmark partner, application, client and a UUID request id).
const UPSTREAM_HEADERS: [(&str, &str); 8] = [
    ("x-sandgate-environment", "production"),
    ("x-sandgate-partner", "ptn_2b7e151628aed2a6abf71589"),
    ("x-sandgate-application", "app_3c4fcf098815f7aba6d2ae28"),
    ("x-sandgate-client-id", "prd_09cf4f3c762e71609b6fa1b3"),
    ("x-sandgate-scopes", "merchant customer"),
    ("x-forwarded-for", "127.0.0.1"),
    ("forwarded", "for=127.0.0.1"),
    ("x-request-id", "0f8b6c43-6d8e-4f7e-9b59-3a4c2e1d7a90"),
];

/// Headers put on the answer in `--same-wire` mode.
const ANSWER_HEADERS: [(&str, &str); 4] = [
    ("x-request-id", "0f8b6c43-6d8e-4f7e-9b59-3a4c2e1d7a90"),
    ("ratelimit-limit", "10000000"),
    ("ratelimit-remaining", "9999999"),
    ("ratelimit-reset", "1"),
];

#[async_trait]
impl ProxyHttp for PickPeer {
    type CTX = ();

    fn new_ctx(&self) -> Self::CTX {}

    async fn early_request_filter(&self, session: &mut Session, _ctx: &mut ()) -> Result<()> {
        if self.wire.timeouts {
            // Sandgate's defaults: `limits.read_timeout_secs` 10, `limits.idle_timeout_secs` 60.
            session.set_read_timeout(Some(Duration::from_secs(10)));
            if session.get_keepalive().is_some() {
                session.set_keepalive(Some(60));
            }
        }
        Ok(())
    }

    async fn request_filter(&self, session: &mut Session, _ctx: &mut ()) -> Result<bool> {
        if let Some(body) = &self.answer {
            let mut header = ResponseHeader::build(200, Some(2))?;
            header.insert_header("content-type", "application/json")?;
            header.insert_header("content-length", body.len())?;
            session.write_response_header(Box::new(header), false).await?;
            session.write_response_body(Some(body.clone()), true).await?;
            return Ok(true);
        }
        if self.wire.retry && session.req_header().method.is_idempotent() {
            session.as_mut().enable_retry_buffering();
        }
        Ok(false)
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        let mut peer = HttpPeer::new(self.upstream, false, String::new());
        if self.wire.timeouts {
            // Sandgate's default backend timeouts (`timeouts`: connect 5 s, read and write 30 s).
            let options = &mut peer.options;
            options.connection_timeout = Some(Duration::from_secs(5));
            options.total_connection_timeout = Some(Duration::from_secs(5));
            options.read_timeout = Some(Duration::from_secs(30));
            options.write_timeout = Some(Duration::from_secs(30));
        }
        Ok(Box::new(peer))
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        req: &mut RequestHeader,
        _ctx: &mut (),
    ) -> Result<()> {
        if self.wire.headers {
            req.insert_header("host", self.host.as_str())?;
            req.remove_header("authorization");
            req.remove_header("cookie");
            for (name, value) in UPSTREAM_HEADERS {
                req.insert_header(name, value)?;
            }
        }
        Ok(())
    }

    async fn response_filter(&self, _session: &mut Session, resp: &mut ResponseHeader, _ctx: &mut ()) -> Result<()> {
        if self.wire.headers {
            for (name, value) in ANSWER_HEADERS {
                resp.insert_header(name, value)?;
            }
        }
        Ok(())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(listen), Some(upstream)) = (args.get(1), args.get(2).and_then(|a| a.parse::<SocketAddr>().ok())) else {
        eprintln!("usage: bare-pingora <listen addr> <upstream addr> [workers] [--same-wire[=parts]] [--answer=FILE]");
        std::process::exit(2);
    };
    let wire = SameWire::from_args(&args).unwrap_or_else(|problem| {
        eprintln!("bare-pingora: {problem}");
        std::process::exit(2);
    });
    let answer = match args.iter().find_map(|a| a.strip_prefix("--answer=")) {
        Some(file) => match std::fs::read(file) {
            Ok(body) => Some(Bytes::from(body)),
            Err(e) => {
                eprintln!("bare-pingora: --answer={file}: {e}");
                std::process::exit(2);
            }
        },
        None => None,
    };
    let workers = args
        .get(3)
        .and_then(|w| w.parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let dir = std::env::temp_dir();
    let threads: Vec<_> = (0..workers)
        .map(|worker| {
            let conf = ServerConf {
                pid_file: dir.join(format!("bare-pingora-{}-{worker}.pid", std::process::id())).display().to_string(),
                upgrade_sock: dir
                    .join(format!("bare-pingora-{}-{worker}.sock", std::process::id()))
                    .display()
                    .to_string(),
                threads: 1,
                work_stealing: true,
                grace_period_seconds: Some(0),
                graceful_shutdown_timeout_seconds: Some(1),
                upstream_keepalive_pool_size: 256,
                ..ServerConf::default()
            };
            let mut server = Server::new_with_opt_and_conf(None, conf);
            let conf = std::sync::Arc::clone(&server.configuration);
            let mut service = http_proxy_service_with_name(
                &conf,
                PickPeer { upstream, host: upstream.to_string(), wire, answer: answer.clone() },
                "bare pingora",
            );
            let mut socket = TcpSocketOptions::default();
            socket.so_reuseport = Some(workers > 1);
            service.add_tcp_with_settings(listen, socket);
            server.add_service(service);
            std::thread::spawn(move || server.run(pingora::server::RunArgs::default()))
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
}
