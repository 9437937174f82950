//! Who is calling the control plane: an operator (a token from config, or the local token file)
//! or a partner member (a member key), and what each may do.
//!
//! Operator tokens are compared as SHA-256 digests in constant time; member keys are looked up by
//! their keyed hash. Another partner's resources answer 404, not 403, so ids do not leak.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use sandgate_core::secret::SecretHash;
use sandgate_store::{Application, Principal, Store, StoreError};

/// The local operator token's file under the data directory.
pub fn local_token_file(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets").join("operator.token")
}

/// Reads the local operator token, creating it (mode 0600) on first start; returns its digest.
pub fn load_local_token(data_dir: &Path) -> std::io::Result<[u8; 32]> {
    let path = local_token_file(data_dir);
    let token = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use base64::Engine;
            let mut bytes = [0u8; 32];
            sandgate_core::secret::fill_random(&mut bytes);
            let token = format!("sgo_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
            std::fs::create_dir_all(path.parent().unwrap_or(data_dir))?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options.open(&path)?.write_all(format!("{token}\n").as_bytes())?;
            token
        }
        Err(e) => return Err(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    Ok(digest(&token))
}

/// SHA-256 of a token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub enum Actor {
    /// An operator, by the name of its token.
    Operator(String),
    /// A partner member.
    Member(Principal),
    /// No credentials (only public endpoints).
    Anonymous,
}

/// Why the `Authorization` header was not accepted.
#[derive(Debug)]
pub enum AuthError {
    /// Not a valid operator token or member key (401).
    Invalid(String),
    /// The store could not be asked (503): the key may well be fine.
    Unavailable,
}

/// Resolves the `Authorization` header. `Ok(Anonymous)` when absent.
pub fn authenticate(
    header: Option<&str>,
    operators: &[(String, [u8; 32])],
    store: &Store,
    hasher: &SecretHash,
) -> Result<Actor, AuthError> {
    let Some(header) = header else { return Ok(Actor::Anonymous) };
    let token = match header.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => {
            return Err(AuthError::Invalid(
                "the Authorization header must be `Bearer <operator token or member key>`".into(),
            ))
        }
    };
    if token.starts_with("sgm_") {
        return match store.principal(&hasher.hash(token)) {
            Ok(Some(principal)) => Ok(Actor::Member(principal)),
            Ok(None) => Err(AuthError::Invalid("the member key is unknown or revoked".into())),
            Err(e) => {
                tracing::error!(error = %e, "member lookup failed");
                Err(AuthError::Unavailable)
            }
        };
    }
    let presented = digest(token);
    // Every configured digest is compared, so timing says nothing about which one matched.
    let mut found = None;
    for (name, expected) in operators {
        if bool::from(presented.ct_eq(expected)) {
            found = Some(name.clone());
        }
    }
    found.map(Actor::Operator).ok_or_else(|| AuthError::Invalid("the operator token is not valid".into()))
}

impl Actor {
    /// How the activity log names this caller.
    pub fn label(&self) -> String {
        match self {
            Actor::Operator(name) => format!("operator:{name}"),
            Actor::Member(p) => format!("member:{}", p.member.email),
            Actor::Anonymous => "anonymous".into(),
        }
    }

    /// Operators only.
    pub fn operator(&self) -> Result<(), StoreError> {
        match self {
            Actor::Operator(_) => Ok(()),
            _ => Err(StoreError::Forbidden("only an operator may do this".into())),
        }
    }

    fn member_of(&self, partner_id: &str) -> Option<&Principal> {
        match self {
            Actor::Member(p) if p.member.partner_id == partner_id => Some(p),
            _ => None,
        }
    }

    /// An operator, or any member of the partner (404 for other partners' members).
    pub fn reader_of_partner(&self, partner_id: &str) -> Result<(), StoreError> {
        match self {
            Actor::Operator(_) => Ok(()),
            _ if self.member_of(partner_id).is_some() => Ok(()),
            _ => Err(StoreError::not_found("partner", partner_id)),
        }
    }

    /// An operator, or an owner or admin of the partner.
    pub fn admin_of_partner(&self, partner_id: &str) -> Result<(), StoreError> {
        self.reader_of_partner(partner_id)?;
        match self.member_of(partner_id) {
            Some(p) if p.member.role == "developer" => {
                Err(StoreError::Forbidden("a developer cannot do this; ask an owner or admin of the account".into()))
            }
            _ => Ok(()),
        }
    }

    /// An operator, an owner or admin of its partner, or a developer invited to it.
    pub fn reader_of_app(&self, app: &Application) -> Result<(), StoreError> {
        match self {
            Actor::Operator(_) => Ok(()),
            Actor::Member(p) if p.member.partner_id == app.partner_id => {
                if p.member.role != "developer" || p.applications.contains(&app.id) {
                    Ok(())
                } else {
                    Err(StoreError::not_found("application", &app.id))
                }
            }
            _ => Err(StoreError::not_found("application", &app.id)),
        }
    }

    /// An operator, or an owner or admin of the application's partner.
    pub fn admin_of_app(&self, app: &Application) -> Result<(), StoreError> {
        self.reader_of_app(app)?;
        self.admin_of_partner(&app.partner_id)
    }

    /// Whether this is a partner developer (limited to TRAINING credentials).
    pub fn is_developer(&self) -> bool {
        matches!(self, Actor::Member(p) if p.member.role == "developer")
    }
}
