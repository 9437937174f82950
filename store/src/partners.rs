//! Partner accounts and their members (owner, admin, developer). A member authenticates with a
//! member key shown once and stored as its keyed hash.

use sandgate_db::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::json;

use super::activity::log_event;
use super::{new_id, now_rfc3339, Store, StoreError};
use sandgate_core::secret::SecretHash;

/// A partner account.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Partner {
    /// `ptn_…`.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Who to reach.
    pub contact: Contact,
    /// When it was created.
    pub created_at: String,
}

/// A partner's contact person.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Contact {
    /// Full name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

/// A member of a partner account.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Member {
    /// `mbr_…`.
    pub id: String,
    /// The account.
    pub partner_id: String,
    /// E-mail address (unique within the account).
    pub email: String,
    /// Full name.
    pub name: String,
    /// `owner`, `admin` or `developer`.
    pub role: String,
    /// `active` or `revoked`.
    pub status: String,
    /// When it was added.
    pub created_at: String,
}

/// A new partner with its first owner.
#[derive(Debug, Clone)]
pub struct NewPartner<'a> {
    /// Unique name.
    pub name: &'a str,
    /// Contact name and e-mail.
    pub contact: (&'a str, &'a str),
    /// The owner's name and e-mail.
    pub owner: (&'a str, &'a str),
}

/// Who a member key belongs to, and which applications a developer may use.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The member.
    pub member: Member,
    /// Applications opened to this member by a verified invitation.
    pub applications: Vec<String>,
}

const MEMBER_COLUMNS: &str = "id, partner_id, email, name, role, status, created_at";

pub(crate) fn member_row(r: &sandgate_db::Row<'_>) -> sandgate_db::Result<Member> {
    Ok(Member {
        id: r.get(0)?,
        partner_id: r.get(1)?,
        email: r.get(2)?,
        name: r.get(3)?,
        role: r.get(4)?,
        status: r.get(5)?,
        created_at: r.get(6)?,
    })
}

fn partner_row(r: &sandgate_db::Row<'_>) -> sandgate_db::Result<Partner> {
    Ok(Partner {
        id: r.get(0)?,
        name: r.get(1)?,
        contact: Contact { name: r.get(2)?, email: r.get(3)? },
        created_at: r.get(4)?,
    })
}

/// A new member key: `sgm_` + 32 random bytes, base64url.
pub(crate) fn new_member_key() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    sandgate_core::secret::fill_random(&mut bytes);
    format!("sgm_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Inserts an active member with a fresh key; returns it and the key (shown once).
pub(crate) fn insert_member(
    tx: &Transaction<'_>,
    hasher: &SecretHash,
    partner_id: &str,
    (name, email): (&str, &str),
    role: &str,
) -> Result<(Member, String), StoreError> {
    let taken: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM members WHERE partner_id = ?1 AND email = ?2)",
        params![partner_id, email],
        |r| r.get(0),
    )?;
    if taken {
        return Err(StoreError::conflict("email", format!("{email} is already a member of this partner account")));
    }
    let (id, key, now) = (new_id("mbr"), new_member_key(), now_rfc3339());
    tx.execute(
        "INSERT INTO members (id, partner_id, email, name, role, key_hash, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7)",
        params![id, partner_id, email, name, role, hasher.hash(&key), now],
    )?;
    let member = Member {
        id,
        partner_id: partner_id.to_owned(),
        email: email.to_owned(),
        name: name.to_owned(),
        role: role.to_owned(),
        status: "active".to_owned(),
        created_at: now,
    };
    Ok((member, key))
}

impl Store {
    /// Creates a partner account and its owner; returns both and the owner's member key.
    pub fn create_partner(
        &self,
        actor: &str,
        new: &NewPartner<'_>,
        hasher: &SecretHash,
    ) -> Result<(Partner, Member, String), StoreError> {
        self.write(|tx| {
            let taken: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM partners WHERE name = ?1)", params![new.name], |r| {
                    r.get(0)
                })?;
            if taken {
                return Err(StoreError::conflict("name", format!("a partner named {:?} already exists", new.name)));
            }
            let (id, now) = (new_id("ptn"), now_rfc3339());
            tx.execute(
                "INSERT INTO partners (id, name, created_at, contact_name, contact_email) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, new.name, now, new.contact.0, new.contact.1],
            )?;
            let (owner, key) = insert_member(tx, hasher, &id, new.owner, "owner")?;
            log_event(tx, actor, Some(&id), None, "partner.created", json!({"name": new.name}))?;
            log_event(
                tx,
                actor,
                Some(&id),
                None,
                "member.added",
                json!({"member_id": owner.id, "email": owner.email, "role": "owner"}),
            )?;
            let partner = Partner {
                id,
                name: new.name.to_owned(),
                contact: Contact { name: new.contact.0.to_owned(), email: new.contact.1.to_owned() },
                created_at: now,
            };
            Ok((partner, owner, key))
        })
    }

    /// Every partner, by name.
    pub fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        self.read(|conn| {
            let mut statement =
                conn.prepare("SELECT id, name, contact_name, contact_email, created_at FROM partners ORDER BY name")?;
            let partners = statement.query_map([], partner_row)?.collect::<sandgate_db::Result<_>>()?;
            Ok(partners)
        })
    }

    /// One partner.
    pub fn partner(&self, id: &str) -> Result<Partner, StoreError> {
        self.read(|conn| partner(conn, id))
    }

    /// Adds a member to an existing account; returns it and its member key (shown once).
    pub fn add_member(
        &self,
        actor: &str,
        partner_id: &str,
        (name, email): (&str, &str),
        role: &str,
        hasher: &SecretHash,
    ) -> Result<(Member, String), StoreError> {
        self.write(|tx| {
            partner(tx, partner_id)?;
            let (member, key) = insert_member(tx, hasher, partner_id, (name, email), role)?;
            log_event(
                tx,
                actor,
                Some(partner_id),
                None,
                "member.added",
                json!({"member_id": member.id, "email": email, "role": role}),
            )?;
            Ok((member, key))
        })
    }

    /// Revokes a member: the member key stops working at once. The last active owner stays.
    pub fn revoke_member(&self, actor: &str, partner_id: &str, member_id: &str) -> Result<Member, StoreError> {
        self.write_quiet(|tx| {
            let target = member(tx, member_id)?;
            if target.partner_id != partner_id {
                return Err(StoreError::not_found("member", member_id));
            }
            if target.status != "active" {
                return Err(StoreError::conflict("status", format!("member {member_id} is already revoked")));
            }
            let owners: i64 = tx.query_row(
                "SELECT COUNT(*) FROM members WHERE partner_id = ?1 AND role = 'owner' AND status = 'active'",
                params![partner_id],
                |r| r.get(0),
            )?;
            if target.role == "owner" && owners <= 1 {
                return Err(StoreError::conflict(
                    "role",
                    "the account's last owner cannot be revoked; add another owner first",
                ));
            }
            tx.execute("UPDATE members SET status = 'revoked' WHERE id = ?1", params![member_id])?;
            let details = json!({"member_id": member_id, "email": target.email, "role": target.role});
            log_event(tx, actor, Some(partner_id), None, "member.revoked", details)?;
            member(tx, member_id)
        })
    }

    /// The members of an account.
    pub fn members(&self, partner_id: &str) -> Result<Vec<Member>, StoreError> {
        self.read(|conn| {
            partner(conn, partner_id)?;
            let mut statement = conn.prepare(&format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE partner_id = ?1 ORDER BY created_at, email"
            ))?;
            let members = statement.query_map(params![partner_id], member_row)?.collect::<sandgate_db::Result<_>>()?;
            Ok(members)
        })
    }

    /// The active member whose key hashes to `key_hash`, with the applications opened to it.
    pub fn principal(&self, key_hash: &[u8]) -> Result<Option<Principal>, StoreError> {
        self.read(|conn| active_principal(conn, "key_hash", key_hash))
    }
}

/// The active member whose `column` (`key_hash`, or `id` as bytes) is `value`, with the
/// applications opened to it by verified invitations.
pub(crate) fn active_principal(conn: &Connection, column: &str, value: &[u8]) -> Result<Option<Principal>, StoreError> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE status = 'active' AND ");
    let member = match column {
        "id" => {
            let id = std::str::from_utf8(value).unwrap_or_default();
            conn.query_row(&format!("{sql}id = ?1"), params![id], member_row).optional()?
        }
        _ => conn.query_row(&format!("{sql}key_hash = ?1"), params![value], member_row).optional()?,
    };
    let Some(member) = member else { return Ok(None) };
    let mut statement =
        conn.prepare_cached("SELECT application_id FROM app_developers WHERE member_id = ?1 AND status = 'active'")?;
    let applications =
        statement.query_map(params![member.id], |r| r.get(0))?.collect::<sandgate_db::Result<Vec<String>>>()?;
    Ok(Some(Principal { member, applications }))
}

/// One partner, or 404.
pub(crate) fn partner(conn: &Connection, id: &str) -> Result<Partner, StoreError> {
    conn.query_row(
        "SELECT id, name, contact_name, contact_email, created_at FROM partners WHERE id = ?1",
        params![id],
        partner_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::not_found("partner", id))
}

/// The member with `email` in `partner_id`, if any.
pub(crate) fn member_by_email(conn: &Connection, partner_id: &str, email: &str) -> sandgate_db::Result<Option<Member>> {
    conn.query_row(
        &format!("SELECT {MEMBER_COLUMNS} FROM members WHERE partner_id = ?1 AND email = ?2"),
        params![partner_id, email],
        member_row,
    )
    .optional()
}

/// A member by id.
pub(crate) fn member(conn: &Connection, id: &str) -> Result<Member, StoreError> {
    conn.query_row(&format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = ?1"), params![id], member_row)
        .optional()?
        .ok_or_else(|| StoreError::not_found("member", id))
}
