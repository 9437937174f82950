//! The environments a request can belong to, and what tells them apart at a glance.
//!
//! Each environment has its own listener, upstream, token issuer and signing key, and its own
//! credential prefix (`trn_` / `prd_`), so a person can tell a TRAINING key from a PRODUCTION one.

use base64::Engine;

/// An environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// The sandbox: fake data, scrubbed daily, served by the emulator by default.
    Training,
    /// Live traffic to the operator's backend.
    Production,
}

impl Environment {
    /// Both environments, in display order.
    pub const ALL: [Environment; 2] = [Environment::Training, Environment::Production];

    /// Lower-case name used in config, the store and headers (`training`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Environment::Training => "training",
            Environment::Production => "production",
        }
    }

    /// Upper-case name for people (`TRAINING`).
    pub const fn display(self) -> &'static str {
        match self {
            Environment::Training => "TRAINING",
            Environment::Production => "PRODUCTION",
        }
    }

    /// Prefix of this environment's client ids and secrets.
    pub const fn prefix(self) -> &'static str {
        match self {
            Environment::Training => "trn_",
            Environment::Production => "prd_",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(name: &str) -> Option<Environment> {
        Environment::ALL.into_iter().find(|env| env.as_str() == name)
    }

    /// The environment a client id or secret was issued for, judging by its prefix.
    pub fn of_credential(credential: &str) -> Option<Environment> {
        Environment::ALL.into_iter().find(|env| credential.starts_with(env.prefix()))
    }

    /// A new client id: prefix + 24 random hex digits.
    pub fn new_client_id(self) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        format!("{}{}", self.prefix(), &id[..24])
    }

    /// A new client secret: prefix + `sk_` + 32 random bytes, base64url.
    pub fn new_client_secret(self) -> String {
        let mut bytes = [0u8; 32];
        crate::secrets::fill_random(&mut bytes);
        format!("{}sk_{}", self.prefix(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_carry_their_environment_prefix() {
        for env in Environment::ALL {
            assert_eq!(Environment::of_credential(&env.new_client_id()), Some(env));
            assert_eq!(Environment::of_credential(&env.new_client_secret()), Some(env));
        }
        assert_ne!(Environment::Training.new_client_secret(), Environment::Training.new_client_secret());
    }
}
