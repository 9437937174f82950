//! An environment's HTTP backend: one or more endpoints (`http://` or `https://`, with the
//! operator's CA, client certificate and server name), the choice among them (round robin or
//! least connections), active health checks and passive ejection, and the retry allowance.
//!
//! Written here rather than with `pingora-load-balancing`: that crate has no least-connections
//! and no passive (outlier) ejection, and its checker is a Pingora background service bound to
//! one balancer, while these pools are rebuilt on every reload. The health check itself is
//! Pingora's HTTP connector with the endpoint's own peer, as its `HttpHealthCheck` does, so it
//! speaks the same TLS as the traffic.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pingora::connectors::http::Connector;
use pingora::http::RequestHeader;
use pingora::upstreams::peer::{HttpPeer, HttpUpstreamRequestPolicy};

use crate::config::{BackendSettings, Balance, Endpoint as EndpointConfig, UpstreamTimeouts};

/// One backend address.
#[derive(Debug)]
pub struct Endpoint {
    /// `host:port` as configured: the `Host` header sent, and the name resolved.
    pub authority: String,
    /// Ready to connect; `None` while the name does not resolve (retried every minute).
    peer: Option<HttpPeer>,
    /// Requests on it now (least connections).
    in_flight: AtomicUsize,
    /// Failed requests in a row (passive ejection).
    failures: AtomicU32,
    /// Out of rotation until this many ms after the pool's epoch (passive ejection).
    ejected_until_ms: AtomicU64,
    /// The active check's verdict (true until a check says otherwise).
    healthy: AtomicBool,
    /// Consecutive check results: > 0 successes, < 0 failures.
    streak: AtomicI32,
}

impl Endpoint {
    /// Whether its name resolved.
    pub fn resolved(&self) -> bool {
        self.peer.is_some()
    }

    /// Whether the active checks say it is up.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
}

/// The endpoints of one environment and how to use them.
#[derive(Debug)]
pub struct Pool {
    /// The endpoints, in configured order.
    pub endpoints: Vec<Endpoint>,
    settings: BackendSettings,
    /// Round-robin position.
    next: AtomicUsize,
    /// Time origin of the ejection deadlines.
    epoch: Instant,
    /// When the next active check is due (ms after `epoch`).
    next_check_ms: AtomicU64,
    /// The environment's timeouts (the peers carry connect, read and write; `total` is per request).
    timeouts: UpstreamTimeouts,
}

/// The first address `authority` (`host:port`) resolves to (blocking DNS: never on a request).
pub fn resolve(authority: &str) -> Option<std::net::SocketAddr> {
    std::net::ToSocketAddrs::to_socket_addrs(authority).ok().and_then(|mut addrs| addrs.next())
}

impl Pool {
    /// Resolves every endpoint (blocking DNS: off the request path) and builds its peer.
    pub fn build(
        endpoints: &[EndpointConfig],
        settings: &BackendSettings,
        timeouts: UpstreamTimeouts,
        env: &str,
    ) -> Pool {
        let endpoints = endpoints
            .iter()
            .map(|endpoint| {
                let peer = resolve(&endpoint.authority).map(|address| peer(address, endpoint, settings, timeouts));
                if peer.is_none() {
                    tracing::warn!(environment = env, backend = %endpoint.authority, "the backend's name does not resolve; retried every minute, it gets no requests meanwhile");
                }
                Endpoint {
                    authority: endpoint.authority.clone(),
                    peer,
                    in_flight: AtomicUsize::new(0),
                    failures: AtomicU32::new(0),
                    ejected_until_ms: AtomicU64::new(0),
                    healthy: AtomicBool::new(true),
                    streak: AtomicI32::new(0),
                }
            })
            .collect();
        Pool {
            endpoints,
            settings: settings.clone(),
            next: AtomicUsize::new(0),
            epoch: Instant::now(),
            next_check_ms: AtomicU64::new(0),
            timeouts,
        }
    }

    /// Takes over what `previous` (the pool these tables replace: a reload, or another
    /// endpoint's DNS move) learnt about endpoints still at the same address: health-check
    /// verdicts, failures in a row and ejections. A rebuild must not put a dead backend back in
    /// rotation, nor forget one the checks were about to take out.
    pub fn inherit(self, previous: &Pool) -> Pool {
        let (now_ms, previous_now_ms) = (self.now_ms(), previous.now_ms());
        let address = |e: &Endpoint| e.peer.as_ref().map(|p| p._address.clone());
        for endpoint in &self.endpoints {
            let Some(old) = previous
                .endpoints
                .iter()
                .find(|old| old.authority == endpoint.authority && address(old) == address(endpoint))
            else {
                continue;
            };
            endpoint.healthy.store(old.healthy(), Ordering::Relaxed);
            endpoint.streak.store(old.streak.load(Ordering::Relaxed), Ordering::Relaxed);
            endpoint.failures.store(old.failures.load(Ordering::Relaxed), Ordering::Relaxed);
            let left = old.ejected_until_ms.load(Ordering::Relaxed).saturating_sub(previous_now_ms);
            if left > 0 {
                endpoint.ejected_until_ms.store(now_ms.saturating_add(left), Ordering::Relaxed);
            }
        }
        let check_in = previous.next_check_ms.load(Ordering::Relaxed).saturating_sub(previous_now_ms);
        self.next_check_ms.store(now_ms.saturating_add(check_in), Ordering::Relaxed);
        self
    }

    /// How long a request's whole exchange with the backend may take, every attempt included.
    pub fn total_timeout(&self) -> Duration {
        self.timeouts.total
    }

    /// `peer` for an attempt with `left` of the request's total time: no wait of the attempt
    /// may outlast it.
    pub fn within(mut peer: Box<HttpPeer>, left: Duration) -> Box<HttpPeer> {
        let options = &mut peer.options;
        for timeout in [
            &mut options.connection_timeout,
            &mut options.total_connection_timeout,
            &mut options.read_timeout,
            &mut options.write_timeout,
        ] {
            *timeout = Some(timeout.map_or(left, |configured| configured.min(left)));
        }
        peer
    }

    /// Retries allowed per request (idempotent methods, before the first response byte).
    pub fn retries(&self) -> u32 {
        self.settings.retries
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn in_rotation_at(&self, endpoint: &Endpoint, now_ms: u64) -> bool {
        endpoint.resolved() && endpoint.healthy() && endpoint.ejected_until_ms.load(Ordering::Relaxed) <= now_ms
    }

    /// Whether `endpoint` gets requests now: resolved, healthy and not ejected.
    pub fn in_rotation(&self, endpoint: &Endpoint) -> bool {
        self.in_rotation_at(endpoint, self.now_ms())
    }

    /// Chooses an endpoint for a request, avoiding `tried` (the endpoints an earlier attempt of
    /// the same request failed on) while another is in rotation. When none is in rotation every
    /// resolved endpoint is eligible (as Envoy's panic threshold): a backend the checks think
    /// down may still answer, and refusing outright could only be worse. The endpoint's index
    /// and its peer; `None` when no name resolves.
    pub fn pick(&self, tried: &[usize]) -> Option<(usize, Box<HttpPeer>)> {
        let now_ms = self.now_ms();
        let eligible = |strict: bool| {
            self.endpoints.iter().enumerate().filter(move |(i, e)| {
                e.resolved() && (!strict || (self.in_rotation_at(e, now_ms) && !tried.contains(i)))
            })
        };
        let index = self
            .choose(eligible(true))
            .or_else(|| self.choose(eligible(false).filter(|(i, _)| !tried.contains(i))))
            .or_else(|| self.choose(eligible(false)))?;
        let endpoint = &self.endpoints[index];
        let peer = endpoint.peer.as_ref()?;
        endpoint.in_flight.fetch_add(1, Ordering::Relaxed);
        Some((index, Box::new(peer.clone())))
    }

    fn choose<'a>(&self, candidates: impl Iterator<Item = (usize, &'a Endpoint)> + Clone) -> Option<usize> {
        match self.settings.balance {
            Balance::RoundRobin => {
                let count = candidates.clone().count();
                if count == 0 {
                    return None;
                }
                let turn = self.next.fetch_add(1, Ordering::Relaxed) % count;
                candidates.map(|(i, _)| i).nth(turn)
            }
            Balance::LeastConnections => {
                // Ties go round robin, so an idle pool still spreads its requests.
                let least = candidates.clone().map(|(_, e)| e.in_flight.load(Ordering::Relaxed)).min()?;
                let tied: Vec<usize> =
                    candidates.filter(|(_, e)| e.in_flight.load(Ordering::Relaxed) == least).map(|(i, _)| i).collect();
                tied.get(self.next.fetch_add(1, Ordering::Relaxed) % tied.len()).copied()
            }
        }
    }

    /// A request on endpoint `index` ended; `failed` when the backend failed it (no connection,
    /// reset, timeout, or a 502/503/504 of its own). `eject.after_failures` failures in a row
    /// take the endpoint out of rotation for `eject.duration`.
    pub fn finished(&self, index: usize, failed: bool) {
        let Some(endpoint) = self.endpoints.get(index) else { return };
        let _ = endpoint.in_flight.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if !failed {
            endpoint.failures.store(0, Ordering::Relaxed);
            return;
        }
        let failures = endpoint.failures.fetch_add(1, Ordering::Relaxed) + 1;
        let eject = &self.settings.eject;
        if eject.after_failures > 0 && failures >= eject.after_failures {
            endpoint.failures.store(0, Ordering::Relaxed);
            let until = self.now_ms().saturating_add(u64::try_from(eject.duration.as_millis()).unwrap_or(u64::MAX));
            endpoint.ejected_until_ms.store(until, Ordering::Relaxed);
            tracing::warn!(backend = %endpoint.authority, failures, eject_for = ?eject.duration, "backend ejected after failures in a row");
        }
    }

    /// Runs the active health checks when they are due (called often by a background task; a
    /// pool without `health_check.path` never checks).
    pub async fn check_if_due(&self, connector: &Connector) {
        let Some(check) = &self.settings.health_check else { return };
        let now_ms = self.now_ms();
        if now_ms < self.next_check_ms.load(Ordering::Relaxed) {
            return;
        }
        let interval = u64::try_from(check.interval.as_millis()).unwrap_or(u64::MAX);
        self.next_check_ms.store(now_ms.saturating_add(interval), Ordering::Relaxed);
        let checks = self.endpoints.iter().filter(|e| e.resolved()).map(|endpoint| async move {
            let ok = probe(connector, endpoint, &check.path, check.timeout).await;
            self.observe(endpoint, ok, check.healthy_after, check.unhealthy_after);
        });
        futures_util::future::join_all(checks).await;
    }

    fn observe(&self, endpoint: &Endpoint, ok: bool, healthy_after: u32, unhealthy_after: u32) {
        let next = |streak: i32| match (ok, streak) {
            (true, s) if s > 0 => s.saturating_add(1),
            (true, _) => 1,
            (false, s) if s < 0 => s.saturating_sub(1),
            (false, _) => -1,
        };
        let previous = endpoint.streak.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| Some(next(s)));
        let streak = next(previous.unwrap_or_else(|s| s));
        let was = endpoint.healthy();
        if !was && ok && streak >= i32::try_from(healthy_after).unwrap_or(i32::MAX) {
            endpoint.healthy.store(true, Ordering::Relaxed);
            endpoint.ejected_until_ms.store(0, Ordering::Relaxed);
            tracing::info!(backend = %endpoint.authority, "backend healthy again");
        } else if was && !ok && -streak >= i32::try_from(unhealthy_after).unwrap_or(i32::MAX) {
            endpoint.healthy.store(false, Ordering::Relaxed);
            tracing::warn!(backend = %endpoint.authority, "backend failed its health checks; out of rotation");
        }
    }

    /// Whether an endpoint's name now resolves elsewhere than this pool sends to (or resolves at
    /// last): the tables should be built again.
    pub fn moved(&self) -> bool {
        self.endpoints.iter().any(|endpoint| {
            let now = resolve(&endpoint.authority);
            match &endpoint.peer {
                Some(peer) => now.is_some_and(|now| Some(now) != peer._address.as_inet().copied()),
                None => now.is_some(),
            }
        })
    }
}

/// The peer of one endpoint: TLS with the operator's CA, client certificate and server name,
/// no upgrades unless an operation documents one, and the environment's timeouts.
fn peer(
    address: std::net::SocketAddr,
    endpoint: &EndpointConfig,
    settings: &BackendSettings,
    timeouts: UpstreamTimeouts,
) -> HttpPeer {
    let tls = &settings.tls;
    let server_name = tls.server_name.clone().unwrap_or_else(|| endpoint.host.clone());
    let mut peer = HttpPeer::new(address, endpoint.tls, if endpoint.tls { server_name } else { String::new() });
    // Pingora's default keeps a WebSocket handshake; ours forwards none unless the operation
    // documents it (see `phase::route::check_upgrade`).
    peer.options.http_upstream_request_policy = HttpUpstreamRequestPolicy::deny_upgrades();
    // Past these the partner gets 504 upstream-timeout (`error::kind_of`).
    peer.options.connection_timeout = Some(timeouts.connect);
    peer.options.total_connection_timeout = Some(timeouts.connect);
    peer.options.read_timeout = Some(timeouts.read);
    peer.options.write_timeout = Some(timeouts.write);
    if endpoint.tls {
        peer.options.verify_cert = true;
        peer.options.verify_hostname = true;
        if let Some(ca) = &tls.ca {
            peer.options.ca = Some(Arc::clone(ca));
        }
        if let Some(identity) = &tls.client_identity {
            peer.client_cert_key = Some(Arc::clone(identity));
        }
    }
    peer
}

/// One health check: `GET path` on the endpoint's own peer (same TLS), 2xx within `timeout`.
async fn probe(connector: &Connector, endpoint: &Endpoint, path: &str, timeout: Duration) -> bool {
    let Some(peer) = &endpoint.peer else { return false };
    let mut peer = peer.clone();
    peer.options.connection_timeout = Some(timeout);
    peer.options.total_connection_timeout = Some(timeout);
    peer.options.read_timeout = Some(timeout);
    peer.options.write_timeout = Some(timeout);
    let attempt = async {
        let (mut session, _) = connector.get_http_session(&peer).await.ok()?;
        let mut request = RequestHeader::build("GET", path.as_bytes(), None).ok()?;
        request.insert_header("host", endpoint.authority.as_str()).ok()?;
        request.insert_header("user-agent", "sandgate-health-check").ok()?;
        session.write_request_header(Box::new(request)).await.ok()?;
        session.finish_request_body().await.ok()?;
        session.read_response_header().await.ok()?;
        let ok = session.response_header().is_some_and(|r| r.status.is_success());
        while let Ok(Some(_)) = session.read_response_body().await {}
        Some(ok)
    };
    tokio::time::timeout(timeout, attempt).await.ok().flatten().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BackendTls, Eject};

    fn settings(balance: Balance) -> BackendSettings {
        BackendSettings {
            balance,
            tls: BackendTls::default(),
            health_check: None,
            eject: Eject { after_failures: 2, duration: Duration::from_secs(30) },
            retries: 1,
        }
    }

    fn endpoints(ports: &[u16]) -> Vec<EndpointConfig> {
        ports
            .iter()
            .map(|port| EndpointConfig { tls: false, authority: format!("127.0.0.1:{port}"), host: "127.0.0.1".into() })
            .collect()
    }

    fn timeouts() -> UpstreamTimeouts {
        let second = Duration::from_secs(1);
        UpstreamTimeouts { connect: second, read: second, write: second, total: second }
    }

    #[test]
    fn resolve_reads_host_and_port_and_fails_quietly() {
        assert_eq!(resolve("127.0.0.1:8080"), Some(([127, 0, 0, 1], 8080).into()));
        assert!(resolve("localhost:8080").is_some_and(|a| a.ip().is_loopback()));
        assert_eq!(resolve("backend.invalid:8080"), None);
    }

    #[test]
    fn round_robin_takes_turns_and_skips_ejected_and_tried_endpoints() {
        let pool = Pool::build(&endpoints(&[1, 2, 3]), &settings(Balance::RoundRobin), timeouts(), "production");
        let mut turns: Vec<usize> = (0..6).map(|_| pool.pick(&[]).expect("an endpoint").0).collect();
        turns.sort_unstable();
        assert_eq!(turns, [0, 0, 1, 1, 2, 2]);
        assert_ne!(pool.pick(&[0]).expect("another").0, 0, "a retry avoids the endpoint it failed on");
        pool.finished(1, true);
        pool.finished(1, true); // two failures in a row: ejected for 30 s
        assert!((0..10).all(|_| pool.pick(&[]).expect("an endpoint").0 != 1));
        pool.finished(2, true);
        pool.finished(2, false); // a success in between: the count starts again
        pool.finished(2, true);
        assert!((0..10).any(|_| pool.pick(&[]).expect("an endpoint").0 == 2));
    }

    #[test]
    fn least_connections_prefers_the_idlest_endpoint() {
        let pool = Pool::build(&endpoints(&[1, 2]), &settings(Balance::LeastConnections), timeouts(), "production");
        let (first, _) = pool.pick(&[]).expect("one");
        let (second, _) = pool.pick(&[]).expect("two");
        assert_ne!(first, second, "the busy one is avoided");
        pool.finished(first, false);
        assert_eq!(pool.pick(&[]).expect("three").0, first, "the one that finished is idlest");
    }

    #[test]
    fn with_every_endpoint_out_the_pool_still_tries_one() {
        let pool = Pool::build(&endpoints(&[1]), &settings(Balance::RoundRobin), timeouts(), "production");
        pool.finished(0, true);
        pool.finished(0, true);
        assert_eq!(pool.pick(&[]).map(|(i, _)| i), Some(0), "better a try than a certain 502");
        let unresolved =
            vec![EndpointConfig { tls: false, authority: "backend.invalid:80".into(), host: "backend.invalid".into() }];
        let pool = Pool::build(&unresolved, &settings(Balance::RoundRobin), timeouts(), "production");
        assert!(pool.pick(&[]).is_none(), "no name resolves: nothing to try");
    }

    #[test]
    fn health_checks_take_an_endpoint_out_and_bring_it_back() {
        let pool = Pool::build(&endpoints(&[1, 2]), &settings(Balance::RoundRobin), timeouts(), "production");
        let endpoint = &pool.endpoints[0];
        pool.observe(endpoint, false, 2, 3);
        pool.observe(endpoint, false, 2, 3);
        assert!(endpoint.healthy(), "two failures of three");
        pool.observe(endpoint, false, 2, 3);
        assert!(!endpoint.healthy());
        assert!((0..10).all(|_| pool.pick(&[]).expect("an endpoint").0 == 1));
        pool.observe(endpoint, true, 2, 3);
        assert!(!endpoint.healthy(), "one success of two");
        pool.observe(endpoint, true, 2, 3);
        assert!(endpoint.healthy());
    }

    #[test]
    fn a_rebuilt_pool_remembers_health_and_ejections_of_endpoints_that_stayed() {
        let old = Pool::build(&endpoints(&[1, 2, 3]), &settings(Balance::RoundRobin), timeouts(), "production");
        for _ in 0..3 {
            old.observe(&old.endpoints[0], false, 2, 3); // failed its checks
        }
        old.finished(1, true);
        old.finished(1, true); // ejected for 30 s
        old.finished(2, true); // one failure: half-way to an ejection
                               // Reloaded: endpoint 1 moved to another port, endpoint 4 is new.
        let new = Pool::build(&endpoints(&[1, 5, 3, 4]), &settings(Balance::RoundRobin), timeouts(), "production");
        let new = new.inherit(&old);
        assert!(!new.in_rotation(&new.endpoints[0]), "a backend that failed its checks stays out");
        assert!(new.in_rotation(&new.endpoints[1]), "a different address starts afresh");
        assert!(new.in_rotation(&new.endpoints[3]), "a new endpoint starts in rotation");
        new.finished(2, true);
        assert!(!new.in_rotation(&new.endpoints[2]), "the failure before the rebuild still counts");
        let moved = Pool::build(&endpoints(&[1, 2]), &settings(Balance::RoundRobin), timeouts(), "production");
        let moved = moved.inherit(&old);
        assert!(!moved.in_rotation(&moved.endpoints[1]), "an ejection outlives the rebuild");
    }
}
