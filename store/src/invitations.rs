//! Developer invitations: a one-time password, shown once to the admin who passes it on out of
//! band, valid for a limited time (3 days by default), locked after repeated wrong guesses; the
//! developer verifies with it and gets access to the application.

use sandgate_db::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use super::activity::{log_app_event, log_event};
use super::applications::{active_application, application};
use super::partners::{insert_member, member, member_by_email, new_member_key, Member};
use super::{new_id, now_rfc3339, unix_to_rfc3339, Store, StoreError};
use sandgate_core::secret::SecretHash;

/// Wrong one-time passwords accepted before an invitation needs a reset.
pub(crate) const MAX_FAILED_ATTEMPTS: i64 = 5;

/// An invitation as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Invitation {
    /// `inv_…`.
    pub id: String,
    /// The application the developer is invited to.
    pub application_id: String,
    /// The developer's e-mail.
    pub email: String,
    /// `pending`, `verified`, `revoked` or `expired`.
    pub status: String,
    /// When the one-time password stops working.
    pub expires_at: String,
    /// When it was created.
    pub created_at: String,
    /// The member it made, once verified.
    pub member_id: Option<String>,
}

/// What a successful verification gives the developer.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The invitation, now verified.
    pub invitation: Invitation,
    /// The developer's membership.
    pub member: Member,
    /// A new member key, unless the member already had one.
    pub member_key: Option<String>,
}

struct Row {
    invitation: Invitation,
    otp_hash: Vec<u8>,
    expires_at: i64,
    failed_attempts: i64,
}

fn read(conn: &Connection, id: &str, now: i64) -> Result<Row, StoreError> {
    conn.query_row(
        "SELECT id, application_id, email, status, expires_at, created_at, member_id, otp_hash, failed_attempts
         FROM invitations WHERE id = ?1",
        params![id],
        |r| {
            let expires_at: i64 = r.get(4)?;
            let status: String = r.get(3)?;
            // Whole seconds: an invitation of N seconds stays valid through second `expires_at`,
            // so it lasts at least N seconds (a reset a split second before a boundary included).
            let status = if status == "pending" && expires_at < now { "expired".to_owned() } else { status };
            Ok(Row {
                invitation: Invitation {
                    id: r.get(0)?,
                    application_id: r.get(1)?,
                    email: r.get(2)?,
                    status,
                    expires_at: unix_to_rfc3339(expires_at),
                    created_at: r.get(5)?,
                    member_id: r.get(6)?,
                },
                otp_hash: r.get(7)?,
                expires_at,
                failed_attempts: r.get(8)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| StoreError::not_found("invitation", id))
}

/// A one-time password people can read out: two groups of four, no 0/O or 1/I.
fn new_otp() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 8];
    sandgate_core::secret::fill_random(&mut bytes);
    let chars: Vec<char> = bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect();
    format!("{}-{}", chars[..4].iter().collect::<String>(), chars[4..].iter().collect::<String>())
}

/// OTPs are compared case-insensitively and without the dash or spaces.
fn normalise_otp(otp: &str) -> String {
    otp.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

impl Store {
    /// Invites `email` to develop `app_id`; returns the invitation and its one-time password.
    pub fn invite(
        &self,
        actor: &str,
        app_id: &str,
        email: &str,
        ttl_secs: i64,
        hasher: &SecretHash,
    ) -> Result<(Invitation, String), StoreError> {
        self.write(|tx| {
            let app = active_application(tx, app_id)?;
            let open: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM invitations WHERE application_id = ?1 AND email = ?2 AND status = 'pending')",
                params![app_id, email],
                |r| r.get(0),
            )?;
            if open {
                return Err(StoreError::conflict(
                    "email",
                    format!("{email} already has a pending invitation to this application; resend or reset it"),
                ));
            }
            let (id, otp, now) = (new_id("inv"), new_otp(), now_rfc3339());
            tx.execute(
                "INSERT INTO invitations (id, application_id, email, otp_hash, expires_at, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
                params![id, app_id, email, hasher.hash(&normalise_otp(&otp)), self.now_unix() + ttl_secs, now],
            )?;
            log_event(tx, actor, Some(&app.partner_id), Some(app_id), "invitation.created", json!({"invitation_id": id, "email": email}))?;
            Ok((read(tx, &id, self.now_unix())?.invitation, otp))
        })
    }

    /// The invitations of an application, newest first.
    pub fn invitations(&self, app_id: &str) -> Result<Vec<Invitation>, StoreError> {
        self.read(|conn| {
            application(conn, app_id)?;
            let mut statement = conn
                .prepare("SELECT id FROM invitations WHERE application_id = ?1 ORDER BY created_at DESC, rowid DESC")?;
            let ids =
                statement.query_map(params![app_id], |r| r.get(0))?.collect::<sandgate_db::Result<Vec<String>>>()?;
            ids.iter().map(|id| read(conn, id, self.now_unix()).map(|row| row.invitation)).collect()
        })
    }

    /// One invitation.
    pub fn invitation(&self, id: &str) -> Result<Invitation, StoreError> {
        self.read(|conn| read(conn, id, self.now_unix()).map(|row| row.invitation))
    }

    /// The developer proves the one-time password; a wrong one counts against the invitation.
    pub fn verify_invitation(&self, id: &str, otp: &str, hasher: &SecretHash) -> Result<Verified, StoreError> {
        // A wrong guess must be counted even though the call fails: the write commits, then the
        // error is returned.
        self.write(|tx| {
            let row = read(tx, id, self.now_unix())?;
            let actor = format!("invitee:{}", row.invitation.email);
            match row.invitation.status.as_str() {
                "verified" => {
                    return Ok(Err(StoreError::conflict("status", "this invitation has already been verified")))
                }
                "revoked" => {
                    return Ok(Err(StoreError::Gone {
                        field: "otp".into(),
                        detail: "this invitation has been revoked".into(),
                    }))
                }
                "expired" => {
                    return Ok(Err(StoreError::Gone {
                        field: "otp".into(),
                        detail: format!(
                            "the one-time password expired at {}; ask the admin to reset it",
                            row.invitation.expires_at
                        ),
                    }))
                }
                _ => {}
            }
            if row.failed_attempts >= MAX_FAILED_ATTEMPTS {
                return Ok(Err(StoreError::Gone {
                    field: "otp".into(),
                    detail: "too many wrong one-time passwords; ask the admin to reset the invitation".into(),
                }));
            }
            if !hasher.verify(&normalise_otp(otp), &row.otp_hash) {
                tx.execute("UPDATE invitations SET failed_attempts = failed_attempts + 1 WHERE id = ?1", params![id])?;
                let left = MAX_FAILED_ATTEMPTS - row.failed_attempts - 1;
                log_app_event(
                    tx,
                    &actor,
                    &row.invitation.application_id,
                    "invitation.failed",
                    json!({"invitation_id": id, "attempts_left": left}),
                )?;
                return Ok(Err(StoreError::invalid(
                    "otp",
                    format!("the one-time password is wrong ({left} attempts left)"),
                )));
            }
            let app = active_application(tx, &row.invitation.application_id)?;
            let email = row.invitation.email.as_str();
            let (member, member_key) = match member_by_email(tx, &app.partner_id, email)? {
                Some(existing) if existing.status == "active" => (existing, None),
                Some(existing) => {
                    let key = new_member_key();
                    tx.execute(
                        // Back as a developer, whatever the member was before: an invitation
                        // grants access to one application, never a role.
                        "UPDATE members SET status = 'active', role = 'developer', key_hash = ?1 WHERE id = ?2",
                        params![hasher.hash(&key), existing.id],
                    )?;
                    let details = json!({"member_id": existing.id, "email": email, "role": "developer",
                                         "was": {"status": existing.status, "role": existing.role}});
                    log_event(tx, &actor, Some(&app.partner_id), None, "member.reactivated", details)?;
                    (member(tx, &existing.id)?, Some(key))
                }
                None => {
                    let name = email.split('@').next().unwrap_or(email);
                    let (member, key) = insert_member(tx, hasher, &app.partner_id, (name, email), "developer")?;
                    let details = json!({"member_id": member.id, "email": email, "role": "developer"});
                    log_event(tx, &actor, Some(&app.partner_id), None, "member.added", details)?;
                    (member, Some(key))
                }
            };
            tx.execute(
                "INSERT INTO app_developers (application_id, member_id, status) VALUES (?1, ?2, 'active')
                 ON CONFLICT (application_id, member_id) DO UPDATE SET status = 'active'",
                params![app.id, member.id],
            )?;
            tx.execute(
                "UPDATE invitations SET status = 'verified', member_id = ?1 WHERE id = ?2",
                params![member.id, id],
            )?;
            log_event(
                tx,
                &actor,
                Some(&app.partner_id),
                Some(&app.id),
                "invitation.verified",
                json!({"invitation_id": id, "member_id": member.id}),
            )?;
            Ok(Ok(Verified { invitation: read(tx, id, self.now_unix())?.invitation, member, member_key }))
        })?
    }

    /// A new one-time password and a fresh validity period for a pending (or expired)
    /// invitation; `event` is `invitation.reset` or `invitation.resent`.
    pub fn renew_invitation(
        &self,
        actor: &str,
        id: &str,
        event: &str,
        ttl_secs: i64,
        hasher: &SecretHash,
    ) -> Result<(Invitation, String), StoreError> {
        self.write(|tx| {
            let row = read(tx, id, self.now_unix())?;
            if !matches!(row.invitation.status.as_str(), "pending" | "expired") {
                return Err(StoreError::conflict(
                    "status",
                    format!(
                        "the invitation is {}; only a pending or expired invitation gets a new one-time password",
                        row.invitation.status
                    ),
                ));
            }
            let otp = new_otp();
            tx.execute(
                "UPDATE invitations SET otp_hash = ?1, expires_at = ?2, failed_attempts = 0 WHERE id = ?3",
                params![hasher.hash(&normalise_otp(&otp)), self.now_unix() + ttl_secs, id],
            )?;
            let previous_expiry = unix_to_rfc3339(row.expires_at);
            log_app_event(
                tx,
                actor,
                &row.invitation.application_id,
                event,
                json!({"invitation_id": id, "previous_expires_at": previous_expiry}),
            )?;
            Ok((read(tx, id, self.now_unix())?.invitation, otp))
        })
    }

    /// Revokes the invitation and, if it was verified, the developer's access to the application.
    pub fn revoke_invitation(&self, actor: &str, id: &str) -> Result<Invitation, StoreError> {
        self.write(|tx| {
            let row = read(tx, id, self.now_unix())?;
            if row.invitation.status == "revoked" {
                return Err(StoreError::conflict("status", "the invitation is already revoked"));
            }
            tx.execute("UPDATE invitations SET status = 'revoked' WHERE id = ?1", params![id])?;
            if let Some(member_id) = &row.invitation.member_id {
                tx.execute(
                    "UPDATE app_developers SET status = 'revoked' WHERE application_id = ?1 AND member_id = ?2",
                    params![row.invitation.application_id, member_id],
                )?;
            }
            log_app_event(
                tx,
                actor,
                &row.invitation.application_id,
                "invitation.revoked",
                json!({"invitation_id": id, "member_id": row.invitation.member_id}),
            )?;
            Ok(read(tx, id, self.now_unix())?.invitation)
        })
    }
}
