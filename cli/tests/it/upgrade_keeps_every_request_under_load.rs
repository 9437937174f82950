//! A binary upgrade or restart under load fails no request: `sandgate gateway --upgrade` starts
//! beside the running process, which on SIGQUIT hands over its listening sockets (the same
//! sockets, so no connection waiting in an accept queue is reset), serves what it holds and exits
//! 0. Clients keep calling throughout: some open a connection per request, some keep theirs
//! alive and, like every HTTP client, resend an idempotent request once when a reused connection
//! closes before any answer byte (RFC 9110 §9.2.2).

use sandgate_testkit as common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::process::sandgate;

/// What the clients saw, shared by every client thread.
#[derive(Default)]
struct Tally {
    answered: AtomicU64,
    failed: AtomicU64,
    resent_on_a_closed_idle_connection: AtomicU64,
    first_failure: std::sync::Mutex<Option<String>>,
}

impl Tally {
    fn fail(&self, why: String) {
        self.failed.fetch_add(1, Ordering::SeqCst);
        self.first_failure.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(why);
    }
}

/// Why one exchange on a connection did not give an answer.
enum Exchange {
    /// Nothing came back: the connection was closed or reset before the first answer byte.
    NothingBack(String),
    /// Part of an answer came back, or a wrong one.
    Broken(String),
}

/// Sends one GET and reads the whole answer (Content-Length bodies: all this route gives).
/// `Ok(keep)`: a 200, and whether the connection may be reused.
fn exchange(stream: &mut TcpStream, addr: SocketAddr, path: &str, close: bool) -> Result<bool, Exchange> {
    let connection = if close { "close" } else { "keep-alive" };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: {connection}\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| Exchange::NothingBack(format!("write: {e}")))?;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) if received.is_empty() => return Err(Exchange::NothingBack("closed".into())),
            Ok(0) => return Err(Exchange::Broken("closed inside the answer head".into())),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if received.is_empty() => return Err(Exchange::NothingBack(format!("read: {e}"))),
            Err(e) => return Err(Exchange::Broken(format!("read inside the head: {e}"))),
        }
    };
    let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        return Err(Exchange::Broken(format!("answer: {}", head.lines().next().unwrap_or(""))));
    }
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Exchange::Broken("no content-length".into()))?;
    while received.len() < head_end + length {
        match stream.read(&mut buf) {
            Ok(0) => return Err(Exchange::Broken("closed inside the body".into())),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) => return Err(Exchange::Broken(format!("read inside the body: {e}"))),
        }
    }
    Ok(!close && !head.contains("connection: close"))
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    Ok(stream)
}

/// A client that opens a connection per request: any refused or reset connection is a failure.
fn fresh_connections(addr: SocketAddr, path: &'static str, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    while !stop.load(Ordering::SeqCst) {
        let outcome = connect(addr).and_then(|mut stream| {
            exchange(&mut stream, addr, path, true).map_err(|e| match e {
                Exchange::NothingBack(why) | Exchange::Broken(why) => why,
            })
        });
        match outcome {
            Ok(_) => tally.answered.fetch_add(1, Ordering::SeqCst),
            Err(why) => {
                tally.fail(format!("fresh connection to {addr}{path}: {why}"));
                0
            }
        };
    }
}

/// A client that keeps its connection alive, resending once when a reused connection was closed
/// before any answer byte (what browsers and HTTP libraries do for idempotent requests).
fn kept_alive(addr: SocketAddr, path: &'static str, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let mut kept: Option<TcpStream> = None;
    while !stop.load(Ordering::SeqCst) {
        let reused = kept.is_some();
        let mut stream = match kept.take().map_or_else(|| connect(addr), Ok) {
            Ok(stream) => stream,
            Err(why) => {
                tally.fail(format!("keep-alive connect to {addr}: {why}"));
                continue;
            }
        };
        let outcome = match exchange(&mut stream, addr, path, false) {
            Err(Exchange::NothingBack(_)) if reused => {
                tally.resent_on_a_closed_idle_connection.fetch_add(1, Ordering::SeqCst);
                connect(addr).map_err(Exchange::Broken).and_then(|mut fresh| {
                    let keep = exchange(&mut fresh, addr, path, false)?;
                    stream = fresh;
                    Ok(keep)
                })
            }
            other => other,
        };
        match outcome {
            Ok(keep) => {
                tally.answered.fetch_add(1, Ordering::SeqCst);
                kept = keep.then_some(stream);
            }
            Err(Exchange::NothingBack(why) | Exchange::Broken(why)) => {
                tally.fail(format!("keep-alive {addr}{path} (reused: {reused}): {why}"))
            }
        }
    }
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "the old process had not exited {within:?} after SIGQUIT");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_upgrade_under_load_fails_no_request_and_the_old_process_exits_0() {
    let temp = common::temp_dir("upgrade");
    let data = temp.path().join("data");
    let config = temp.path().join("sandgate.yaml");
    // Two workers, so each hands over its own SO_REUSEPORT sockets.
    std::fs::write(&config, "sandgate:\n  workers: 2\n  shutdown: {drain_secs: 0, grace_secs: 5}\n").expect("config");
    let (mut old, ports) = sandgate(&["gateway", "--config", &config.to_string_lossy()], &data);
    let quiet = |command: &mut Command| {
        command.env("RUST_LOG", "error").stdout(Stdio::null()).stderr(Stdio::null());
    };
    quiet(&mut old);
    let mut old = KillOnDrop(old.spawn().expect("spawn the old process"));
    for port in ports {
        common::wait_listening(port);
    }
    let [training, production, admin, portal] = ports;

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let clients: Vec<(SocketAddr, &'static str, bool)> = vec![
        (training, "/.well-known/jwks.json", true),
        (training, "/.well-known/jwks.json", false),
        (production, "/.well-known/jwks.json", true),
        (production, "/.well-known/jwks.json", false),
        (admin, "/healthz", true),
        (admin, "/healthz", false),
    ];
    let threads: Vec<_> = clients
        .into_iter()
        .map(|(addr, path, fresh)| {
            let (stop, tally) = (Arc::clone(&stop), Arc::clone(&tally));
            std::thread::spawn(move || {
                if fresh {
                    fresh_connections(addr, path, stop, tally)
                } else {
                    kept_alive(addr, path, stop, tally)
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    assert!(tally.answered.load(Ordering::SeqCst) > 0, "no answer before the upgrade");

    // The new process waits for the sockets; the old one sends them on SIGQUIT.
    let mut new = Command::new(env!("CARGO_BIN_EXE_sandgate"));
    new.args(["gateway", "--upgrade", "--config", &config.to_string_lossy(), "--data-dir"]).arg(&data);
    new.args(["--specs-dir", concat!(env!("CARGO_MANIFEST_DIR"), "/../specs")]);
    new.args(["--training-listen", &training.to_string(), "--production-listen", &production.to_string()]);
    new.args(["--admin-listen", &admin.to_string(), "--portal-listen", &portal.to_string()]);
    quiet(&mut new);
    let mut new = KillOnDrop(new.spawn().expect("spawn the new process"));
    std::thread::sleep(Duration::from_millis(300));
    let sent = Command::new("kill").args(["-QUIT", &old.0.id().to_string()]).status();
    assert!(sent.expect("kill").success());

    // Pingora's old process serves on for 5 s beside the new one, then stops gracefully.
    let status = wait_exit(&mut old.0, Duration::from_secs(20));
    assert!(status.success(), "the old process exits 0 after handing over: {status}");
    let answered_at_exit = tally.answered.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::SeqCst);
    for thread in threads {
        thread.join().expect("client thread");
    }

    assert!(new.0.try_wait().expect("wait").is_none(), "the new process is still serving");
    let ready = common::http().get(format!("http://{admin}/readyz")).send().expect("readyz");
    assert_eq!(ready.status(), 200, "the new process is ready on the same admin port");
    let answered = tally.answered.load(Ordering::SeqCst);
    assert!(answered > answered_at_exit, "nothing answered after the old process exited");
    let failed = tally.failed.load(Ordering::SeqCst);
    let first = tally.first_failure.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(failed, 0, "{failed} of {answered} requests failed across the upgrade; first: {first:?}");
}
