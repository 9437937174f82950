//! Token-signing key sets, one per environment, in `secrets/`: the current key signs, retired
//! keys still verify the tokens they signed until those expire, so a rotation logs nobody out.
//!
//! - HS256 (the default): `<env>-signing.key`, 32 random bytes.
//! - EdDSA (`token.algorithm: eddsa`): `<env>-signing-ed25519.key`, an Ed25519 key (PKCS#8 DER);
//!   its public half is what `/.well-known/jwks.json` publishes, so a backend can verify tokens
//!   itself.
//! - Retired keys: `retired/<env>.<retired at, unix>.<kid>.key`, same contents; ignored (and
//!   removed at the next rotation) once every token they signed has expired.
//!
//! A key's id (`kid`) is derived from it (16 hex digits of a SHA-256), never stored.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use sandgate_core::environment::Environment;
use sandgate_core::secret::fill_random;

/// How tokens are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// HMAC-SHA256 with a secret only Sandgate holds.
    #[default]
    Hs256,
    /// Ed25519 signatures; the public keys are published (JWKS).
    EdDsa,
}

/// The key itself.
#[derive(Clone)]
pub enum Material {
    /// An HMAC secret.
    Hmac([u8; 32]),
    /// An Ed25519 key pair.
    Ed25519 {
        /// The private key, PKCS#8 DER (what the JWT library signs with).
        pkcs8: Vec<u8>,
        /// The public key (what verifies, and what the JWKS publishes).
        public: [u8; 32],
    },
}

/// One signing key and its id.
#[derive(Clone)]
pub struct SigningKey {
    /// Its id, carried in every token's header (`kid`).
    pub kid: String,
    /// The key.
    pub material: Material,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    fn new(material: Material) -> SigningKey {
        let mut hash = Sha256::new();
        hash.update(b"sandgate kid\0");
        match &material {
            Material::Hmac(secret) => hash.update(secret),
            Material::Ed25519 { public, .. } => hash.update(public),
        }
        let kid = hash.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect();
        SigningKey { kid, material }
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.material {
            Material::Hmac(_) => Algorithm::Hs256,
            Material::Ed25519 { .. } => Algorithm::EdDsa,
        }
    }

    /// The key from a file's bytes: 32 bytes are an HMAC secret, anything else an Ed25519
    /// PKCS#8 document.
    fn from_bytes(bytes: Vec<u8>, path: &Path) -> std::io::Result<SigningKey> {
        let material = match <[u8; 32]>::try_from(bytes.as_slice()) {
            Ok(secret) => Material::Hmac(secret),
            Err(_) => {
                let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&bytes).map_err(|e| {
                    invalid(format!("{}: neither a 32-byte HMAC key nor an Ed25519 PKCS#8 key: {e}", path.display()))
                })?;
                let public = <[u8; 32]>::try_from(ring::signature::KeyPair::public_key(&pair).as_ref())
                    .map_err(|_| invalid(format!("{}: an Ed25519 public key is 32 bytes", path.display())))?;
                Material::Ed25519 { pkcs8: bytes, public }
            }
        };
        Ok(SigningKey::new(material))
    }
}

/// The keys of one environment.
#[derive(Debug, Clone)]
pub struct KeySet {
    /// Signs new tokens.
    pub current: SigningKey,
    /// Still verify the tokens they signed.
    pub retired: Vec<SigningKey>,
}

impl KeySet {
    /// A set of one key (tests, benchmarks).
    pub fn single_hmac(secret: [u8; 32]) -> KeySet {
        KeySet { current: SigningKey::new(Material::Hmac(secret)), retired: Vec::new() }
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

fn current_file(secrets: &Path, env: Environment, algorithm: Algorithm) -> PathBuf {
    match algorithm {
        Algorithm::Hs256 => secrets.join(format!("{}-signing.key", env.as_str())),
        Algorithm::EdDsa => secrets.join(format!("{}-signing-ed25519.key", env.as_str())),
    }
}

fn new_material(algorithm: Algorithm) -> std::io::Result<Vec<u8>> {
    match algorithm {
        Algorithm::Hs256 => {
            let mut secret = [0u8; 32];
            fill_random(&mut secret);
            Ok(secret.to_vec())
        }
        Algorithm::EdDsa => ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .map(|document| document.as_ref().to_vec())
            .map_err(|_| invalid("cannot generate an Ed25519 key".into())),
    }
}

/// Writes a new key file, readable by the owner only; fails if the file exists.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// The key set of `env` for `algorithm` in `secrets`, creating the current key when missing.
/// Retired keys older than `keep_retired_secs` (the token lifetime) at `now` are left out.
pub fn load(
    secrets: &Path,
    env: Environment,
    algorithm: Algorithm,
    keep_retired_secs: u64,
    now: i64,
) -> std::io::Result<KeySet> {
    let path = current_file(secrets, env, algorithm);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = new_material(algorithm)?;
            match write_new(&path, &bytes) {
                Ok(()) => bytes,
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(&path)?,
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    let current = SigningKey::from_bytes(bytes, &path)?;
    let mut retired = Vec::new();
    for (file, retired_at) in retired_files(secrets, env)? {
        if retired_at.saturating_add(i64::try_from(keep_retired_secs).unwrap_or(i64::MAX)) > now {
            retired.push(SigningKey::from_bytes(std::fs::read(&file)?, &file)?);
        }
    }
    Ok(KeySet { current, retired })
}

/// `retired/<env>.<unix>.<kid>.key` files of `env`, with their retirement time.
fn retired_files(secrets: &Path, env: Environment) -> std::io::Result<Vec<(PathBuf, i64)>> {
    let dir = secrets.join("retired");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let prefix = format!("{}.", env.as_str());
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(rest) = name.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".key")) else { continue };
        if let Some(at) = rest.split('.').next().and_then(|at| at.parse::<i64>().ok()) {
            out.push((path, at));
        }
    }
    Ok(out)
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// The key that signed until now (verifies its tokens until they expire).
    pub retired_kid: String,
    /// The key that signs from the next reload on.
    pub current_kid: String,
}

/// Retires the current key of `env` for `algorithm` (at `now`) and creates a new one; removes
/// retired keys whose tokens have all expired (`keep_retired_secs`). A running node signs with
/// the new key after `POST /reload` (or SIGHUP); every node of a cluster needs the same files.
pub fn rotate(
    secrets: &Path,
    env: Environment,
    algorithm: Algorithm,
    keep_retired_secs: u64,
    now: i64,
) -> std::io::Result<Rotated> {
    let old = load(secrets, env, algorithm, keep_retired_secs, now)?.current;
    let dir = secrets.join("retired");
    std::fs::create_dir_all(&dir)?;
    #[cfg(unix)]
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    for (file, retired_at) in retired_files(secrets, env)? {
        if retired_at.saturating_add(i64::try_from(keep_retired_secs).unwrap_or(i64::MAX)) <= now {
            std::fs::remove_file(file)?;
        }
    }
    let current = current_file(secrets, env, algorithm);
    std::fs::rename(&current, dir.join(format!("{}.{now}.{}.key", env.as_str(), old.kid)))?;
    let new = load(secrets, env, algorithm, keep_retired_secs, now)?.current;
    Ok(Rotated { retired_kid: old.kid, current_kid: new.kid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_keeps_the_old_key_for_verifying_until_its_tokens_expire() {
        let temp = tempfile::tempdir().expect("dir");
        let (secrets, env) = (temp.path(), Environment::PRODUCTION);
        for algorithm in [Algorithm::Hs256, Algorithm::EdDsa] {
            let first = load(secrets, env, algorithm, 1200, 1_000).expect("create");
            assert_eq!(first.current.algorithm(), algorithm);
            assert_eq!(load(secrets, env, algorithm, 1200, 1_000).expect("again").current.kid, first.current.kid);
            let rotated = rotate(secrets, env, algorithm, 1200, 2_000).expect("rotate");
            assert_eq!(rotated.retired_kid, first.current.kid);
            let set = load(secrets, env, algorithm, 1200, 2_500).expect("load");
            assert_eq!(set.current.kid, rotated.current_kid);
            assert!(set.retired.iter().any(|k| k.kid == first.current.kid), "the old key still verifies");
            let later = load(secrets, env, algorithm, 1200, 3_200).expect("load");
            assert!(later.retired.iter().all(|k| k.kid != first.current.kid), "past the token lifetime: gone");
        }
    }
}
