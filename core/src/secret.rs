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
