//! A Redis for tests: `SANDGATE_TEST_REDIS_URL` when set (`scripts/test` starts a Redis of its
//! own and sets it when none runs), otherwise the one on 127.0.0.1:6379 (this project's machines
//! run one). Each test isolates itself with a key prefix of its own ([`key_prefix`]).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Whether a Redis answers PING at `addr`.
fn answers(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// `redis://…` of the Redis the tests use (see the module's doc); panics saying what to do when
/// there is none.
pub fn redis_url() -> String {
    if let Ok(url) = std::env::var("SANDGATE_TEST_REDIS_URL") {
        return url;
    }
    let standard: SocketAddr = ([127, 0, 0, 1], 6379).into();
    assert!(
        answers(standard),
        "no Redis on 127.0.0.1:6379 and SANDGATE_TEST_REDIS_URL is unset: run the suite with ./scripts/test (it starts one), or start redis-server"
    );
    format!("redis://{standard}")
}

/// A key prefix no other test (or run) uses.
pub fn key_prefix(test: &str) -> String {
    format!("sandgate-test:{test}:{}", uuid::Uuid::new_v4().simple())
}

/// A TCP relay to the test Redis that a test can cut, to see what Sandgate does when Redis goes
/// away mid-run (connections are closed, new ones are accepted and closed at once).
pub struct CuttableRelay {
    /// `redis://…` through the relay.
    pub url: String,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl CuttableRelay {
    /// Starts relaying to [`redis_url`].
    pub fn start() -> CuttableRelay {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let upstream = redis_url();
        let target = upstream.trim_start_matches("redis://").trim_end_matches('/').to_owned();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("relay port");
        let addr = listener.local_addr().expect("relay address");
        let cut = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::<TcpStream>::new()));
        let (cut_flag, open_list) = (Arc::clone(&cut), Arc::clone(&open));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if cut_flag.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let Ok(server) = TcpStream::connect(&target) else { continue };
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                };
                if let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) {
                    let mut list = open_list.lock().unwrap_or_else(|p| p.into_inner());
                    list.push(c);
                    list.push(s);
                }
                if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                    pipe(c2, s2);
                    pipe(server, client);
                }
            }
        });
        CuttableRelay { url: format!("redis://{addr}"), cut, open }
    }

    /// Closes every relayed connection and refuses new ones from now on.
    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for stream in self.open.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// A link to the test Redis under `prefix` (see [`key_prefix`]), as a node would hold it.
pub fn link(prefix: &str) -> std::sync::Arc<sandgate_cluster::RedisLink> {
    let link = sandgate_cluster::RedisLink::connect("redis.url", &redis_url(), prefix, Duration::from_secs(2));
    std::sync::Arc::new(link.expect("the test Redis answers"))
}
