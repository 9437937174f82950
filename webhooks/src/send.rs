//! Sends one signed delivery attempt and reports what happened; never retries by itself.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::destination::{is_public, Destinations, PublicOnlyResolver};
use crate::signature::{sign, SIGNATURE_HEADER};

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why it failed (connection, timeout, non-2xx), `None` on success.
    pub error: Option<String>,
    /// Time to the receiver's answer or the failure.
    pub duration: Duration,
}

impl Attempt {
    /// Whether the receiver acknowledged it (2xx).
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// An HTTP client for webhook deliveries (connection pool, timeout, no redirects).
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    destinations: Destinations,
}

/// What a delivery carries besides its body.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// Unique per event; receivers de-duplicate on it (retries reuse it).
    pub event_id: &'a str,
    /// The event type, e.g. `integration.connected`.
    pub event: &'a str,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Unix seconds, signed with the body.
    pub timestamp: u64,
}

impl Sender {
    /// A sender whose attempts give up after `timeout` and reach only `destinations`.
    pub fn new(timeout: Duration, destinations: Destinations) -> Result<Sender, reqwest::Error> {
        // reqwest is built without a crypto provider of its own; use ring, as Pingora does. A
        // second install (another sender) is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder();
        if destinations == Destinations::PublicOnly {
            builder = builder.dns_resolver(std::sync::Arc::new(PublicOnlyResolver));
        }
        // No proxy from the environment (HTTP_PROXY, …): the receiver's address is what the
        // resolver checks, and a proxy would connect on our behalf to wherever it is told.
        let client = builder
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Sandgate-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender { client, destinations })
    }

    /// POSTs `body` (JSON) to `url`, signed with `secret`.
    pub async fn send(&self, url: &str, secret: &[u8], envelope: Envelope<'_>, body: &[u8]) -> Attempt {
        let started = Instant::now();
        if let Some(refusal) = self.refused(url) {
            return Attempt { status: None, error: Some(refusal), duration: started.elapsed() };
        }
        let result = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, sign(secret, envelope.timestamp, body))
            .header("sandgate-event-id", envelope.event_id)
            .header("sandgate-event", envelope.event)
            .header("sandgate-delivery-attempt", envelope.attempt)
            .body(body.to_vec())
            .send()
            .await;
        let duration = started.elapsed();
        match result {
            Ok(response) if response.status().is_success() => {
                Attempt { status: Some(response.status().as_u16()), error: None, duration }
            }
            Ok(response) => {
                let status = response.status().as_u16();
                Attempt { status: Some(status), error: Some(format!("the receiver answered {status}")), duration }
            }
            Err(e) => {
                // Only the kind of failure: the delivery log is shown to partners, and a raw error
                // would describe the network it was tried from.
                let why = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "the request failed"
                };
                let why = why.to_owned();
                Attempt { status: None, error: Some(why), duration }
            }
        }
    }
}

impl Sender {
    /// Why `url` may not be sent to, checked before any connection (IP literals; names are
    /// checked on their resolved addresses by the resolver).
    fn refused(&self, url: &str) -> Option<String> {
        let parsed = reqwest::Url::parse(url).ok()?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Some("only http and https receivers".to_owned());
        }
        let ip = match parsed.host()? {
            url::Host::Ipv4(ip) => IpAddr::V4(ip),
            url::Host::Ipv6(ip) => IpAddr::V6(ip),
            url::Host::Domain(_) => return None,
        };
        (self.destinations == Destinations::PublicOnly && !is_public(ip)).then(|| {
            format!("{ip} is an internal address; deliveries there need control_plane.webhooks.allow_private_addresses")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, header_exists, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn envelope() -> Envelope<'static> {
        Envelope { event_id: "evt_1", event: "integration.connected", attempt: 1, timestamp: 1_700_000_000 }
    }

    #[tokio::test]
    async fn attempt_is_signed_and_reports_the_receivers_answer() {
        let receiver = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("sandgate-event-id", "evt_1"))
            .and(header("sandgate-delivery-attempt", "1"))
            .and(header_exists(SIGNATURE_HEADER))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&receiver)
            .await;
        let sender = Sender::new(Duration::from_secs(2), Destinations::Any).expect("client");
        let attempt = sender.send(&receiver.uri(), b"k", envelope(), b"{}").await;
        assert!(attempt.delivered(), "{attempt:?}");
        assert_eq!(attempt.status, Some(204));
        let received = &receiver.received_requests().await.expect("recorded")[0];
        let signature = received.headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(crate::verify(b"k", signature, &received.body, 1_700_000_000, 0), Ok(()));
    }

    #[tokio::test]
    async fn non_2xx_and_unreachable_receivers_are_failures() {
        let receiver = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).mount(&receiver).await;
        let sender = Sender::new(Duration::from_secs(2), Destinations::Any).expect("client");
        let attempt = sender.send(&receiver.uri(), b"k", envelope(), b"{}").await;
        assert_eq!((attempt.status, attempt.error.as_deref()), (Some(500), Some("the receiver answered 500")));

        let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port");
        let attempt = sender.send(&format!("http://{closed}/"), b"k", envelope(), b"{}").await;
        assert_eq!(attempt.status, None);
        assert!(!attempt.delivered());
    }

    #[tokio::test]
    async fn public_only_refuses_internal_receivers_by_address_and_by_name() {
        let receiver = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).expect(0).mount(&receiver).await;
        let sender = Sender::new(Duration::from_secs(2), Destinations::PublicOnly).expect("client");
        let attempt = sender.send(&receiver.uri(), b"k", envelope(), b"{}").await;
        assert!(attempt.error.as_deref().is_some_and(|e| e.contains("internal address")), "{attempt:?}");
        let by_name = receiver.uri().replace("127.0.0.1", "localhost");
        let attempt = sender.send(&by_name, b"k", envelope(), b"{}").await;
        assert_eq!((attempt.status, attempt.error.as_deref()), (None, Some("could not connect")), "{attempt:?}");
    }

    #[tokio::test]
    async fn proxy_environment_variables_are_ignored() {
        // A "proxy" that would answer 200 for anything: if the sender used it, a closed receiver
        // port would look delivered. Setting the variables affects only this process's clients,
        // and every sender ignores them.
        let proxy = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&proxy).await;
        std::env::set_var("HTTP_PROXY", proxy.uri());
        std::env::set_var("http_proxy", proxy.uri());
        std::env::set_var("ALL_PROXY", proxy.uri());
        let sender = Sender::new(Duration::from_secs(2), Destinations::Any).expect("client");
        let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port");
        let attempt = sender.send(&format!("http://{closed}/"), b"k", envelope(), b"{}").await;
        assert_eq!(attempt.status, None, "the receiver itself was tried, not the proxy: {attempt:?}");
        assert!(proxy.received_requests().await.expect("recorded").is_empty());
    }
}
