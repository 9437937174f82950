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

/// A link to the test Redis under `prefix` (see [`key_prefix`]), as a node would hold it.
pub fn link(prefix: &str) -> std::sync::Arc<sandgate_cluster::RedisLink> {
    let link = sandgate_cluster::RedisLink::connect("redis.url", &redis_url(), prefix, Duration::from_secs(2));
    std::sync::Arc::new(link.expect("the test Redis answers"))
}
