//! Secret material kept in the data directory: the key of the secret hash, the webhook key and
//! one token-signing key per environment (hashing itself is `sandgate_core::secret`).
//!
//! `secrets/` holds three random 32-byte keys, created on first start with mode 0600: the key of
//! the secret hash, and one token-signing key per environment (so a TRAINING token can never verify
//! at PRODUCTION). They live outside the database so a leaked `sandgate.db` reveals no usable hash.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use sandgate_core::environment::{Environment, Environments};
use sandgate_core::secret::{fill_random, SecretHash};

type HmacSha256 = Hmac<Sha256>;

/// The keys read from (or created in) `data_dir/secrets/`.
#[derive(Clone)]
pub struct KeyRing {
    /// Hashes client secrets.
    pub secret_hash: SecretHash,
    /// Token-signing key per environment name.
    signing: BTreeMap<String, [u8; 32]>,
    /// Derives each application's webhook signing secret (never stored).
    webhook: [u8; 32],
    /// The folder, for the signing key sets read again on every reload (`signing`).
    secrets: PathBuf,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing(..)")
    }
}

impl KeyRing {
    /// Loads the keys under `data_dir/secrets/` for `environments`, creating any that is missing.
    pub fn load_or_create(data_dir: &Path, environments: &Environments) -> std::io::Result<KeyRing> {
        let dir = data_dir.join("secrets");
        std::fs::create_dir_all(&dir)?;
        let mut signing = BTreeMap::new();
        for env in &environments.0 {
            signing.insert(env.as_str().to_owned(), key_file(&dir.join(format!("{}-signing.key", env.as_str())))?);
        }
        Ok(KeyRing {
            secret_hash: SecretHash::new(key_file(&dir.join("secret-hash.key"))?),
            signing,
            webhook: key_file(&dir.join("webhook-signing.key"))?,
            secrets: dir,
        })
    }

    /// The webhook signing secret of an application at a generation (bumped by each rotation):
    /// `whsec_` + base64url(HMAC(webhook key, `"<app id>:<generation>"`)). Derived, never stored.
    pub fn webhook_secret(&self, application_id: &str, generation: i64) -> String {
        use base64::Engine;
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.webhook).expect("HMAC takes any key length");
        mac.update(format!("{application_id}:{generation}").as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("whsec_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest))
    }

    /// A check value of each key that never changes, `(name, hex)`: the first 16 bytes of an HMAC of a fixed text
    /// under the key, which tells whether two nodes hold the same key without revealing it.
    pub fn fingerprints(&self) -> Vec<(String, String)> {
        const TEXT: &str = "sandgate key check value";
        let hex = |bytes: &[u8]| bytes[..16].iter().map(|b| format!("{b:02x}")).collect::<String>();
        let check = |key: &[u8]| {
            let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(TEXT.as_bytes());
            hex(&mac.finalize().into_bytes())
        };
        // The token-signing keys are left out: they rotate (`signing::rotate`), and a node must
        // restart after one with the new keys copied.
        vec![
            ("secret-hash".to_owned(), hex(&self.secret_hash.hash(TEXT))),
            ("webhook-signing".to_owned(), check(&self.webhook)),
        ]
    }

    /// The token-signing key set of `env` for `algorithm`, read from `secrets/` now (so a reload
    /// after a rotation signs with the new key), the current key created when missing; retired
    /// keys are kept for `token_ttl_secs` after their retirement.
    pub fn signing_set(
        &self,
        env: Environment,
        algorithm: crate::signing::Algorithm,
        token_ttl_secs: u64,
    ) -> std::io::Result<crate::signing::KeySet> {
        crate::signing::load(&self.secrets, env, algorithm, token_ttl_secs, chrono::Utc::now().timestamp())
    }

    /// The HS256 signing key of `env` as loaded at start, if the ring was loaded for it.
    pub fn signing_key(&self, env: Environment) -> Option<&[u8; 32]> {
        self.signing.get(env.as_str())
    }
}

fn key_file(path: &PathBuf) -> std::io::Result<[u8; 32]> {
    match std::fs::read(path) {
        Ok(bytes) => bytes.try_into().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: expected exactly 32 bytes", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            fill_random(&mut key);
            crate::signing::write_new(path, &key)?;
            Ok(key)
        }
        Err(e) => Err(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_accepts_only_the_hashed_secret() {
        let hasher = SecretHash::new([1; 32]);
        let stored = hasher.hash("trn_sk_abc");
        assert!(hasher.verify("trn_sk_abc", &stored));
        assert!(!hasher.verify("trn_sk_abd", &stored));
        assert!(!SecretHash::new([2; 32]).verify("trn_sk_abc", &stored), "the hash is keyed");
    }

    #[test]
    fn key_ring_is_created_once_and_reloaded() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path();
        let envs = Environments(vec![Environment::TRAINING, Environment::PRODUCTION]);
        let first = KeyRing::load_or_create(dir, &envs).expect("create");
        let again = KeyRing::load_or_create(dir, &envs).expect("reload");
        assert_eq!(first.signing_key(Environment::TRAINING), again.signing_key(Environment::TRAINING));
        assert_ne!(first.signing_key(Environment::TRAINING), first.signing_key(Environment::PRODUCTION));
        assert!(first.signing_key(Environment::new("mi", "mi_")).is_none());
    }
}
