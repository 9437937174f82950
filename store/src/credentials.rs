//! Client credentials per application and environment: issue (secret shown once, stored as its
//! keyed hash), rotate with a grace period during which the previous secret still works, revoke.

use sandgate_db::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::json;

use super::activity::{log_app_event, log_event};
use super::applications::active_application;
use super::{now_rfc3339, unix_to_rfc3339, Store, StoreError};
use sandgate_core::environment::Environment;
use sandgate_core::secret::SecretHash;

/// A credential as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Credential {
    /// Public client id (`trn_…`, `prd_…`).
    pub client_id: String,
    /// The application.
    pub application_id: String,
    /// The environment it works in.
    pub environment: String,
    /// `active` or `revoked`.
    pub status: String,
    /// When it was issued.
    pub created_at: String,
    /// When its secret was last rotated.
    pub rotated_at: Option<String>,
    /// Until when the secret before the last rotation still works.
    pub previous_secret_valid_until: Option<String>,
}

const COLUMNS: &str = "client_id, application_id, environment, status, created_at, rotated_at, previous_valid_until";

fn row(r: &sandgate_db::Row<'_>, now: i64) -> sandgate_db::Result<Credential> {
    let until: Option<i64> = r.get(6)?;
    Ok(Credential {
        client_id: r.get(0)?,
        application_id: r.get(1)?,
        environment: r.get(2)?,
        status: r.get(3)?,
        created_at: r.get(4)?,
        rotated_at: r.get(5)?,
        // Inclusive, in whole seconds: a grace of N seconds lasts at least N seconds.
        previous_secret_valid_until: until.filter(|t| *t >= now).map(unix_to_rfc3339),
    })
}

fn credential(conn: &Connection, client_id: &str, now: i64) -> Result<Credential, StoreError> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM credentials WHERE client_id = ?1"), params![client_id], |r| {
        row(r, now)
    })
    .optional()?
    .ok_or_else(|| StoreError::not_found("credential", client_id))
}

/// Inserts a new active credential of `env` for `app_id`; the secret is returned once, in clear.
pub(crate) fn insert_credential(
    tx: &Connection,
    app_id: &str,
    env: Environment,
    hasher: &SecretHash,
) -> sandgate_db::Result<(Credential, String)> {
    let (client_id, secret, now) = (env.new_client_id(), env.new_client_secret(), now_rfc3339());
    tx.execute(
        "INSERT INTO credentials (client_id, application_id, environment, secret_hash, status, created_at)
         VALUES (?1, ?2, ?3, ?4, 'active', ?5)",
        params![client_id, app_id, env.as_str(), hasher.hash(&secret), now],
    )?;
    let credential = Credential {
        client_id,
        application_id: app_id.to_owned(),
        environment: env.as_str().to_owned(),
        status: "active".to_owned(),
        created_at: now,
        rotated_at: None,
        previous_secret_valid_until: None,
    };
    Ok((credential, secret))
}

/// Inserts a credential and logs `credential.issued` in the caller's transaction.
pub(crate) fn issue_logged(
    tx: &Transaction<'_>,
    actor: &str,
    partner_id: &str,
    app_id: &str,
    env: Environment,
    hasher: &SecretHash,
) -> sandgate_db::Result<(Credential, String)> {
    let (credential, secret) = insert_credential(tx, app_id, env, hasher)?;
    let details = json!({"client_id": credential.client_id, "environment": env.as_str()});
    log_event(tx, actor, Some(partner_id), Some(app_id), "credential.issued", details)?;
    Ok((credential, secret))
}

impl Store {
    /// Issues a credential of `env`. TRAINING is granted at once; any other environment only to
    /// an application approved for production.
    pub fn issue(
        &self,
        actor: &str,
        app_id: &str,
        env: Environment,
        hasher: &SecretHash,
    ) -> Result<(Credential, String), StoreError> {
        self.write(|tx| {
            let app = active_application(tx, app_id)?;
            if env.as_str() != Environment::TRAINING.as_str() && app.review_status != "approved" {
                return Err(StoreError::conflict(
                    "environment",
                    format!(
                        "{} credentials need an application approved for production; its review status is {:?} (submit it for review first)",
                        env.display(),
                        app.review_status
                    ),
                ));
            }
            Ok(issue_logged(tx, actor, &app.partner_id, app_id, env, hasher)?)
        })
    }

    /// The credentials of an application.
    pub fn credentials(&self, app_id: &str) -> Result<Vec<Credential>, StoreError> {
        self.read(|conn| {
            super::applications::application(conn, app_id)?;
            let mut statement = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM credentials WHERE application_id = ?1 ORDER BY created_at, client_id"
            ))?;
            let now = self.now_unix();
            let credentials =
                statement.query_map(params![app_id], |r| row(r, now))?.collect::<sandgate_db::Result<_>>()?;
            Ok(credentials)
        })
    }

    /// One credential.
    pub fn credential_info(&self, client_id: &str) -> Result<Credential, StoreError> {
        self.read(|conn| credential(conn, client_id, self.now_unix()))
    }

    /// Gives the credential a new secret; the current one keeps working for `grace_secs` (only
    /// the latest previous secret is kept).
    pub fn rotate(
        &self,
        actor: &str,
        client_id: &str,
        grace_secs: i64,
        hasher: &SecretHash,
    ) -> Result<(Credential, String), StoreError> {
        self.write(|tx| {
            let current = credential(tx, client_id, self.now_unix())?;
            if current.status != "active" {
                return Err(StoreError::conflict("status", format!("credential {client_id} has been revoked")));
            }
            active_application(tx, &current.application_id)?;
            // A client id is the environment's prefix and 24 hex digits; the new secret carries
            // the same prefix, so people can still tell the environments apart.
            let prefix = client_id.get(..client_id.len().saturating_sub(24)).unwrap_or_default();
            let secret = Environment::new(&current.environment, prefix).new_client_secret();
            // The grace is inclusive in whole seconds; a grace of 0 ends the old secret now, not
            // at the end of the current second.
            let now = self.now_unix();
            let until = if grace_secs <= 0 { now - 1 } else { now + grace_secs };
            tx.execute(
                "UPDATE credentials SET previous_secret_hash = secret_hash, previous_valid_until = ?1,
                        secret_hash = ?2, rotated_at = ?3, secret_generation = secret_generation + 1
                 WHERE client_id = ?4",
                params![until, hasher.hash(&secret), now_rfc3339(), client_id],
            )?;
            log_app_event(
                tx,
                actor,
                &current.application_id,
                "credential.rotated",
                json!({"client_id": client_id, "previous_secret_valid_until": unix_to_rfc3339(until)}),
            )?;
            Ok((credential(tx, client_id, self.now_unix())?, secret))
        })
    }

    /// Revokes one credential: no new tokens, and its tokens stop at the next request.
    pub fn revoke(&self, actor: &str, client_id: &str) -> Result<Credential, StoreError> {
        self.write(|tx| {
            let current = credential(tx, client_id, self.now_unix())?;
            if current.status != "active" {
                return Err(StoreError::conflict("status", format!("credential {client_id} is already revoked")));
            }
            tx.execute("UPDATE credentials SET status = 'revoked' WHERE client_id = ?1", params![client_id])?;
            log_app_event(tx, actor, &current.application_id, "credential.revoked", json!({"client_id": client_id}))?;
            credential(tx, client_id, self.now_unix())
        })
    }
}
