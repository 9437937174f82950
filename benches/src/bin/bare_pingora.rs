//! The baseline of `benches/load/gateway.sh`: a Pingora proxy that only picks the peer, built
//! with the same Pingora, allocator, release profile and server settings as Sandgate (one
//! single-threaded server per worker, `SO_REUSEPORT`, 256 upstream keep-alive connections), so
//! the difference to Sandgate's PRODUCTION listener is the cost of Sandgate's own chain.
//!
//! Usage: `bare-pingora <listen addr> <upstream addr> [workers]`

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;

use async_trait::async_trait;
use pingora::listeners::TcpSocketOptions;
use pingora::prelude::*;
use pingora::proxy::http_proxy_service_with_name;
use pingora::server::configuration::ServerConf;

/// Sends every request to one upstream, untouched.
struct PickPeer {
    upstream: SocketAddr,
}

#[async_trait]
impl ProxyHttp for PickPeer {
    type CTX = ();

    fn new_ctx(&self) -> Self::CTX {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.upstream, false, String::new())))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(listen), Some(upstream)) = (args.get(1), args.get(2).and_then(|a| a.parse::<SocketAddr>().ok())) else {
        eprintln!("usage: bare-pingora <listen addr> <upstream addr> [workers]");
        std::process::exit(2);
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
            let mut service = http_proxy_service_with_name(&conf, PickPeer { upstream }, "bare pingora");
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
