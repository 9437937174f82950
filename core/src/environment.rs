//! Environments: TRAINING and PRODUCTION built in, more configurable (e.g. a merchant-integration
//! environment), each with its own listener, upstream, token issuer, signing key and credential
//! prefix (`trn_`, `prd_`, …) so a person can tell the keys apart at a glance.
//!
//! An `Environment` is a small `Copy` value: its name, display name and prefix are interned once
//! (configured names live for the whole process), so request code compares and labels with no
//! allocation.

use std::collections::HashSet;
use std::sync::Mutex;

use base64::Engine;

/// An environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Environment {
    name: &'static str,
    display: &'static str,
    prefix: &'static str,
}

static INTERNED: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

fn intern(text: &str) -> &'static str {
    let mut set = INTERNED.lock().unwrap_or_else(|p| p.into_inner());
    let set = set.get_or_insert_with(HashSet::new);
    if let Some(existing) = set.get(text) {
        return existing;
    }
    // Bounded by the distinct environment names ever configured in this process.
    let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

impl Environment {
    /// The sandbox: fake data, scrubbed daily, served by the emulator by default.
    pub const TRAINING: Environment = Environment { name: "training", display: "TRAINING", prefix: "trn_" };
    /// Live traffic to the operator's backend.
    pub const PRODUCTION: Environment = Environment { name: "production", display: "PRODUCTION", prefix: "prd_" };

    /// A configured environment: `name` (lower-case) and its credential `prefix`.
    pub fn new(name: &str, prefix: &str) -> Environment {
        match name {
            "training" if prefix == "trn_" => Environment::TRAINING,
            "production" if prefix == "prd_" => Environment::PRODUCTION,
            _ => {
                Environment { name: intern(name), display: intern(&name.to_ascii_uppercase()), prefix: intern(prefix) }
            }
        }
    }

    /// Lower-case name used in config, the store and headers (`training`).
    pub const fn as_str(self) -> &'static str {
        self.name
    }

    /// Upper-case name for people (`TRAINING`).
    pub const fn display(self) -> &'static str {
        self.display
    }

    /// Prefix of this environment's client ids and secrets.
    pub const fn prefix(self) -> &'static str {
        self.prefix
    }

    /// Whether a client id or secret carries this environment's prefix.
    pub fn owns_credential(self, credential: &str) -> bool {
        credential.starts_with(self.prefix)
    }

    /// A new client id: prefix + 24 random hex digits.
    pub fn new_client_id(self) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        format!("{}{}", self.prefix, &id[..24])
    }

    /// A new client secret: prefix + `sk_` + 32 random bytes, base64url.
    pub fn new_client_secret(self) -> String {
        let mut bytes = [0u8; 32];
        crate::secret::fill_random(&mut bytes);
        format!("{}sk_{}", self.prefix, base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

/// The environments of one configuration, in order (TRAINING, PRODUCTION, then the others).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Environments(pub Vec<Environment>);

impl Environments {
    /// The environment called `name`.
    pub fn find(&self, name: &str) -> Option<Environment> {
        self.0.iter().copied().find(|env| env.name == name)
    }

    /// The environment a client id or secret was issued for, judging by its prefix.
    pub fn of_credential(&self, credential: &str) -> Option<Environment> {
        self.0.iter().copied().find(|env| env.owns_credential(credential))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_carry_their_environment_prefix() {
        let envs = Environments(vec![Environment::TRAINING, Environment::PRODUCTION, Environment::new("mi", "mi_")]);
        for env in &envs.0 {
            assert_eq!(envs.of_credential(&env.new_client_id()), Some(*env));
            assert_eq!(envs.of_credential(&env.new_client_secret()), Some(*env));
        }
        assert_ne!(Environment::TRAINING.new_client_secret(), Environment::TRAINING.new_client_secret());
        assert_eq!(Environment::new("mi", "mi_").display(), "MI");
        assert_eq!(Environment::new("training", "trn_"), Environment::TRAINING);
    }
}
