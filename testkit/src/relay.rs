//! A TCP relay a test can cut and restore, to see what Sandgate does when a server it needs
//! (Redis, PostgreSQL) goes away mid-run and comes back: cut closes every relayed connection and
//! refuses new ones (accepted and closed at once) until restored.

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The relay; it runs until the test process ends.
pub struct CuttableRelay {
    /// The server's URL with its `host:port` replaced by the relay's.
    pub url: String,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl CuttableRelay {
    /// Starts relaying to the server of `url` (`scheme://[user@]host:port[/…]`).
    pub fn start(url: &str) -> CuttableRelay {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (user, target) = match authority.rsplit_once('@') {
            Some((user, host)) => (format!("{user}@"), host.to_owned()),
            None => (String::new(), authority.to_owned()),
        };
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
        CuttableRelay { url: format!("{scheme}://{user}{addr}{path}"), cut, open }
    }

    /// Closes every relayed connection and refuses new ones until [`CuttableRelay::restore`].
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for stream in self.open.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Relays new connections again (the server is back).
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}
