//! Secret minting and keyed hashing: random bytes from the OS, and the HMAC-SHA256 under which
//! client secrets and member keys are stored (verification in constant time).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill_random(buf: &mut [u8]) {
    // The OS RNG failing is unrecoverable: secrets must never be predictable.
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// HMAC-SHA256 of client secrets under a server key; verification is constant-time.
#[derive(Clone)]
pub struct SecretHash {
    key: [u8; 32],
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

impl SecretHash {
    /// A hasher with `key`.
    pub fn new(key: [u8; 32]) -> SecretHash {
        SecretHash { key }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; 32 bytes cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    /// The keyed hash of `secret`, as stored.
    pub fn hash(&self, secret: &str) -> Vec<u8> {
        let mut mac = self.mac();
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `secret` hashes to `stored`, compared in constant time.
    pub fn verify(&self, secret: &str, stored: &[u8]) -> bool {
        let mut mac = self.mac();
        mac.update(secret.as_bytes());
        mac.verify_slice(stored).is_ok()
    }
}
/// `scheme://user:secret@host/…` → `scheme://user:***@host/…`: a connection URL fit for a
/// message or a log line.
pub fn redact_url_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url_password;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(redact_url_password("redis://:hunter2@10.0.0.5:6379/0"), "redis://:***@10.0.0.5:6379/0");
        assert_eq!(redact_url_password("redis://app:hunter2@cache/0"), "redis://app:***@cache/0");
        assert_eq!(redact_url_password("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redact_url_password("postgres://sg:pw@db:5432/sg"), "postgres://sg:***@db:5432/sg");
    }
}
