//! An operator's HTTPS backend for tests: a CA of its own, a server certificate it signed for
//! `localhost` and 127.0.0.1, a client certificate it signed (for mTLS), all written as PEM files,
//! and a server on a free loopback port that answers every request `200 {"tls": true,
//! "client_certificate": <whether the client presented one>}`. With `require_client_cert` the
//! handshake fails without a client certificate the CA signed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The PEM files and the running server (stopped with the test process).
pub struct TlsBackend {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The CA certificate (PEM) that signed the server's and the client's certificates.
    pub ca_file: PathBuf,
    /// A client certificate the CA signed (PEM), and its key.
    pub client_cert_file: PathBuf,
    /// The client certificate's key (PKCS#8 PEM).
    pub client_key_file: PathBuf,
    /// A CA the backend does not know (PEM), for the refusal cases.
    pub other_ca_file: PathBuf,
    _dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

impl TlsBackend {
    /// Starts the backend; with `require_client_cert` only clients with a certificate the CA
    /// signed complete the handshake.
    pub fn start(require_client_cert: bool) -> TlsBackend {
        let dir = crate::temp_dir("tls-backend");
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "Sandgate test backend CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().expect("server key");
        let server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("server params");
        let server_cert = server_params.signed_by(&server_key, &issuer).expect("server certificate");
        let client_key = KeyPair::generate().expect("client key");
        let mut client_params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        client_params.distinguished_name.push(DnType::CommonName, "sandgate-gateway");
        let client_cert = client_params.signed_by(&client_key, &issuer).expect("client certificate");
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("other CA");

        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).expect("write PEM");
            path
        };
        let ca_file = write("ca.pem", ca_cert.pem());
        let client_cert_file = write("client.pem", client_cert.pem());
        let client_key_file = write("client-key.pem", client_key.serialize_pem());
        let other_ca_file = write("other-ca.pem", other.cert.pem());

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .expect("protocol versions");
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca_cert.der().clone()).expect("CA root");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let config = builder
            .with_single_cert(vec![CertificateDer::from(server_cert.der().to_vec())], key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("address");
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else { return };
                    let client_certificate = tls.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty());
                    // Read one request head (the tests send no body), answer, close.
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body = format!("{{\"tls\":true,\"client_certificate\":{client_certificate}}}");
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        TlsBackend { addr, ca_file, client_cert_file, client_key_file, other_ca_file, _dir: dir, _runtime: runtime }
    }
}
