//! What the developer portal keeps: a password per e-mail address (as an argon2id PHC string;
//! hashing is the portal's), sessions by a keyed hash of their cookie, one-time sign-in links,
//! and a sign-in throttle per subject (an address or a client address).
//!
//! A person signs in once and acts as one of their memberships (an address may belong to several
//! partner accounts); the rules of what a member may do stay the control plane's.

use sandgate_db::{params, OptionalExtension};

use super::partners::{member_row, Member, Principal};
use super::{now_rfc3339, Store, StoreError};

/// Who a portal session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionSubject {
    /// A person, by e-mail address (a member of one or more partner accounts).
    Person(String),
    /// An operator, by the name of the token it signed in with.
    Operator(String),
}

/// A live portal session.
#[derive(Debug, Clone)]
pub struct PortalSession {
    /// Whose it is.
    pub subject: SessionSubject,
    /// The membership a person acts as (`None` for operators, or a person with none active).
    pub member_id: Option<String>,
    /// The session's anti-forgery token: every form posts it back.
    pub csrf: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a sign-in link was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// No such link.
    Unknown,
    /// Already used once.
    Used,
    /// Past its expiry.
    Expired,
}

/// One membership of a person: the member and its account's name.
#[derive(Debug, Clone)]
pub struct Membership {
    /// The member.
    pub member: Member,
    /// The partner account's name.
    pub partner_name: String,
}

impl Store {
    /// The stored password hash (PHC string) of `email`, if it has one.
    pub fn portal_password(&self, email: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row("SELECT password_hash FROM portal_logins WHERE email = ?1", params![email], |r| r.get(0))
                .optional()?)
        })
    }

    /// Sets (or replaces) the password hash of `email`.
    pub fn set_portal_password(&self, email: &str, phc: &str) -> Result<(), StoreError> {
        self.write_quiet(|tx| {
            tx.execute(
                "INSERT INTO portal_logins (email, password_hash, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at",
                params![email, phc, now_rfc3339()],
            )?;
            Ok(())
        })
    }

    /// Until when `subject` may not try to sign in (unix seconds; 0 or past: it may).
    pub fn portal_locked_until(&self, subject: &str) -> Result<i64, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row("SELECT locked_until FROM portal_throttle WHERE subject = ?1", params![subject], |r| {
                    r.get(0)
                })
                .optional()?
                .unwrap_or(0))
        })
    }

    /// Counts a failed sign-in of `subject`; from the `allowed`-th failure in a row on, each one
    /// locks it for `lock_secs`, doubled per further failure (at most a day). Returns the lock's
    /// end (0: not locked).
    pub fn portal_sign_in_failed(&self, subject: &str, allowed: i64, lock_secs: i64) -> Result<i64, StoreError> {
        let now = self.now_unix();
        self.write_quiet(|tx| {
            let failures: i64 = tx
                .query_row("SELECT failures FROM portal_throttle WHERE subject = ?1", params![subject], |r| r.get(0))
                .optional()?
                .unwrap_or(0)
                + 1;
            let locked_until = if failures >= allowed {
                let doublings = u32::try_from((failures - allowed).min(12)).unwrap_or(12);
                now + (lock_secs.saturating_mul(1 << doublings)).min(86_400)
            } else {
                0
            };
            tx.execute(
                "INSERT INTO portal_throttle (subject, failures, locked_until) VALUES (?1, ?2, ?3)
                 ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
                params![subject, failures, locked_until],
            )?;
            Ok(locked_until)
        })
    }

    /// Forgets the failures of `subject` (after a successful sign-in).
    pub fn portal_sign_in_succeeded(&self, subject: &str) -> Result<(), StoreError> {
        self.write_quiet(|tx| {
            tx.execute("DELETE FROM portal_throttle WHERE subject = ?1", params![subject])?;
            Ok(())
        })
    }

    /// The active memberships of `email`, oldest first.
    pub fn memberships(&self, email: &str) -> Result<Vec<Membership>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT m.id, m.partner_id, m.email, m.name, m.role, m.status, m.created_at, p.name
                 FROM members m JOIN partners p ON p.id = m.partner_id
                 WHERE lower(m.email) = lower(?1) AND m.status = 'active' ORDER BY m.created_at, m.id",
            )?;
            let rows = statement
                .query_map(params![email], |r| Ok(Membership { member: member_row(r)?, partner_name: r.get(7)? }))?;
            Ok(rows.collect::<sandgate_db::Result<_>>()?)
        })
    }

    /// The active member `member_id`, with the applications opened to it (what a member key
    /// resolves to, for a portal session).
    pub fn principal_of_member(&self, member_id: &str) -> Result<Option<Principal>, StoreError> {
        self.read(|conn| super::partners::active_principal(conn, "id", member_id.as_bytes()))
    }

    /// Opens a session (the caller made `id_hash` from a fresh random cookie).
    pub fn open_portal_session(
        &self,
        id_hash: &[u8],
        subject: &SessionSubject,
        member_id: Option<&str>,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let (email, operator) = match subject {
            SessionSubject::Person(email) => (Some(email.as_str()), None),
            SessionSubject::Operator(name) => (None, Some(name.as_str())),
        };
        self.write_quiet(|tx| {
            tx.execute(
                "INSERT INTO portal_sessions (id_hash, email, operator, member_id, csrf, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id_hash, email, operator, member_id, csrf, expires_at, now_rfc3339()],
            )?;
            Ok(())
        })
    }

    /// The live session of `id_hash` (expired ones are deleted and not returned).
    pub fn portal_session(&self, id_hash: &[u8]) -> Result<Option<PortalSession>, StoreError> {
        let now = self.now_unix();
        let found = self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT email, operator, member_id, csrf, expires_at FROM portal_sessions WHERE id_hash = ?1",
                    params![id_hash],
                    |r| {
                        let email: Option<String> = r.get(0)?;
                        let operator: Option<String> = r.get(1)?;
                        Ok((
                            email,
                            operator,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                        ))
                    },
                )
                .optional()?)
        })?;
        let Some((email, operator, member_id, csrf, expires_at)) = found else { return Ok(None) };
        if expires_at <= now {
            self.close_portal_session(id_hash)?;
            return Ok(None);
        }
        let subject = match (email, operator) {
            (Some(email), _) => SessionSubject::Person(email),
            (None, Some(name)) => SessionSubject::Operator(name),
            (None, None) => return Ok(None),
        };
        Ok(Some(PortalSession { subject, member_id, csrf, expires_at }))
    }

    /// Switches a person's session to another of their memberships.
    pub fn switch_portal_session(&self, id_hash: &[u8], member_id: &str) -> Result<(), StoreError> {
        self.write_quiet(|tx| {
            tx.execute("UPDATE portal_sessions SET member_id = ?2 WHERE id_hash = ?1", params![id_hash, member_id])?;
            Ok(())
        })
    }

    /// Ends one session.
    pub fn close_portal_session(&self, id_hash: &[u8]) -> Result<(), StoreError> {
        self.write_quiet(|tx| {
            tx.execute("DELETE FROM portal_sessions WHERE id_hash = ?1", params![id_hash])?;
            Ok(())
        })
    }

    /// Ends every session of `email` ("sign out everywhere", and after a password change);
    /// returns how many there were.
    pub fn close_portal_sessions_of(&self, email: &str) -> Result<usize, StoreError> {
        self.write_quiet(|tx| Ok(tx.execute("DELETE FROM portal_sessions WHERE email = ?1", params![email])?))
    }

    /// Stores a one-time link for `email` (`purpose`: `sign-in` or `reset`).
    pub fn create_portal_link(
        &self,
        token_hash: &[u8],
        email: &str,
        purpose: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.write_quiet(|tx| {
            tx.execute(
                "INSERT INTO portal_links (token_hash, email, purpose, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![token_hash, email, purpose, expires_at],
            )?;
            Ok(())
        })
    }

    /// Uses a one-time link: its address if it is unused, unexpired and for `purpose`.
    pub fn redeem_portal_link(
        &self,
        token_hash: &[u8],
        purpose: &str,
    ) -> Result<Result<String, LinkRefusal>, StoreError> {
        let now = self.now_unix();
        self.write_quiet(|tx| {
            let row: Option<(String, String, i64, i64)> = tx
                .query_row(
                    "SELECT email, purpose, expires_at, used FROM portal_links WHERE token_hash = ?1",
                    params![token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((email, stored_purpose, expires_at, used)) = row else { return Ok(Err(LinkRefusal::Unknown)) };
            if stored_purpose != purpose {
                return Ok(Err(LinkRefusal::Unknown));
            }
            if used != 0 {
                return Ok(Err(LinkRefusal::Used));
            }
            if expires_at <= now {
                return Ok(Err(LinkRefusal::Expired));
            }
            tx.execute("UPDATE portal_links SET used = 1 WHERE token_hash = ?1", params![token_hash])?;
            Ok(Ok(email))
        })
    }
}
