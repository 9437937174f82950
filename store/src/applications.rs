//! Developer applications (their production review is `reviews`). The name, type and permission
//! never change; the rest does, and takes effect on the gateway before the write returns.

use sandgate_db::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::activity::log_event;
use super::{json_list, new_id, now_rfc3339, Store, StoreError};

/// A webhook subscription: where to send which events.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// Receiver URL; its origin must be on the application's trust list.
    pub url: String,
    /// Event types sent there.
    pub events: Vec<String>,
}

/// A developer application.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Application {
    /// `app_…`.
    pub id: String,
    /// Its partner.
    pub partner_id: String,
    /// What the partner chose (name, type and permission never change).
    #[serde(flatten)]
    pub fields: ApplicationFields,
    /// `active` or `revoked`.
    pub status: String,
    /// `draft`, `submitted`, `approved` or `rejected`.
    pub review_status: String,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

/// The fields a partner sets when creating an application: the request body of
/// Most active applications one partner may have (each is a directory entry on every node).
pub(crate) const MAX_APPLICATIONS_PER_PARTNER: i64 = 50;

/// `POST /v1/partners/{id}/applications`, checked by the control plane before the store sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApplicationFields {
    /// Unique across all partners; immutable.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// `generic`, `aggregator`, `debt_collection` or `hardware`; immutable.
    #[serde(rename = "type")]
    pub kind: String,
    /// Free classification.
    #[serde(default)]
    pub category: String,
    /// `read` or `read_write`; immutable.
    pub permission: String,
    /// Token scopes it may request.
    pub scopes: Vec<String>,
    /// Webhook subscriptions.
    #[serde(default)]
    pub webhooks: Vec<Webhook>,
    /// CIDRs and trust URLs it may call from.
    #[serde(default)]
    pub trust_list: Vec<String>,
    /// Entity types it may access.
    #[serde(default)]
    pub entities: Vec<String>,
    /// Services it brings; created for an entity when it connects.
    #[serde(default)]
    pub benefits: Vec<String>,
    /// Rate-limit plan (`""`: the default).
    #[serde(default)]
    pub plan: String,
}

/// A validated edit; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct AppPatch {
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New scopes.
    pub scopes: Option<Vec<String>>,
    /// New webhooks.
    pub webhooks: Option<Vec<Webhook>>,
    /// New trust list.
    pub trust_list: Option<Vec<String>>,
    /// New entity types.
    pub entities: Option<Vec<String>>,
    /// New benefits.
    pub benefits: Option<Vec<String>>,
    /// New plan.
    pub plan: Option<String>,
}

const APP_COLUMNS: &str =
    "id, partner_id, name, description, type, category, permission, scopes, webhooks, trust_list, \
     entities, benefits, status, review_status, plan, created_at, updated_at";

fn app_row(r: &sandgate_db::Row<'_>) -> sandgate_db::Result<(Application, [String; 3])> {
    let scopes: String = r.get(7)?;
    let trust: String = r.get(9)?;
    let fields = ApplicationFields {
        name: r.get(2)?,
        description: r.get(3)?,
        kind: r.get(4)?,
        category: r.get(5)?,
        permission: r.get(6)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        webhooks: Vec::new(),
        trust_list: trust.split_whitespace().map(str::to_owned).collect(),
        entities: Vec::new(),
        benefits: Vec::new(),
        plan: r.get(14)?,
    };
    let app = Application {
        id: r.get(0)?,
        partner_id: r.get(1)?,
        fields,
        status: r.get(12)?,
        review_status: r.get(13)?,
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
    };
    Ok((app, [r.get(8)?, r.get(10)?, r.get(11)?]))
}

fn finish((mut app, [webhooks, entities, benefits]): (Application, [String; 3])) -> Result<Application, StoreError> {
    app.fields.webhooks = serde_json::from_str(&webhooks)?;
    app.fields.entities = json_list(&entities)?;
    app.fields.benefits = json_list(&benefits)?;
    if app.updated_at.is_empty() {
        app.updated_at.clone_from(&app.created_at);
    }
    Ok(app)
}

/// One application, or 404.
pub(crate) fn application(conn: &Connection, id: &str) -> Result<Application, StoreError> {
    let row = conn
        .query_row(&format!("SELECT {APP_COLUMNS} FROM applications WHERE id = ?1"), params![id], app_row)
        .optional()?
        .ok_or_else(|| StoreError::not_found("application", id))?;
    finish(row)
}

/// An application that is not revoked (409 otherwise).
pub(crate) fn active_application(conn: &Connection, id: &str) -> Result<Application, StoreError> {
    let app = application(conn, id)?;
    if app.status != "active" {
        return Err(StoreError::conflict("status", format!("application {id} has been revoked")));
    }
    Ok(app)
}

impl Store {
    /// Creates an application of `partner_id`. The caller has validated the fields; the store
    /// enforces that the name is unique across all partners.
    pub fn create_app(
        &self,
        actor: &str,
        partner_id: &str,
        new: &ApplicationFields,
    ) -> Result<Application, StoreError> {
        self.write(|tx| {
            super::partners::partner(tx, partner_id)?;
            let count: i64 = tx.query_row(
                "SELECT COUNT(*) FROM applications WHERE partner_id = ?1 AND status = 'active'",
                params![partner_id],
                |r| r.get(0),
            )?;
            if count >= MAX_APPLICATIONS_PER_PARTNER {
                return Err(StoreError::conflict(
                    "partner_id",
                    format!("a partner may have at most {MAX_APPLICATIONS_PER_PARTNER} active applications; revoke one it no longer uses"),
                ));
            }
            let taken: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM applications WHERE name = ?1)", params![new.name], |r| {
                    r.get(0)
                })?;
            if taken {
                return Err(StoreError::conflict(
                    "name",
                    format!(
                        "an application named {:?} already exists (names are unique across all partners)",
                        new.name
                    ),
                ));
            }
            let (id, now) = (new_id("app"), now_rfc3339());
            tx.execute(
                "INSERT INTO applications (id, partner_id, name, description, type, category, permission, scopes,
                     webhooks, trust_list, entities, benefits, status, review_status, plan, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'active', 'draft', ?13, ?14, ?14)",
                params![
                    id,
                    partner_id,
                    new.name,
                    new.description,
                    new.kind,
                    new.category,
                    new.permission,
                    new.scopes.join(" "),
                    serde_json::to_string(&new.webhooks)?,
                    new.trust_list.join(" "),
                    serde_json::to_string(&new.entities)?,
                    serde_json::to_string(&new.benefits)?,
                    new.plan,
                    now
                ],
            )?;
            log_event(
                tx,
                actor,
                Some(partner_id),
                Some(&id),
                "application.created",
                json!({"name": new.name, "type": new.kind, "permission": new.permission, "scopes": new.scopes}),
            )?;
            application(tx, &id)
        })
    }

    /// One application.
    pub fn application(&self, id: &str) -> Result<Application, StoreError> {
        self.read(|conn| application(conn, id))
    }

    /// The applications of a partner, by name.
    pub fn applications(&self, partner_id: &str) -> Result<Vec<Application>, StoreError> {
        self.read(|conn| {
            super::partners::partner(conn, partner_id)?;
            let mut statement =
                conn.prepare(&format!("SELECT {APP_COLUMNS} FROM applications WHERE partner_id = ?1 ORDER BY name"))?;
            let rows = statement.query_map(params![partner_id], app_row)?.collect::<sandgate_db::Result<Vec<_>>>()?;
            rows.into_iter().map(finish).collect()
        })
    }

    /// Applies a validated edit; refused on a revoked application.
    pub fn update_app(&self, actor: &str, id: &str, patch: &AppPatch) -> Result<Application, StoreError> {
        self.write(|tx| {
            let app = active_application(tx, id)?;
            let mut changed = Vec::new();
            let mut set = |column: &str, value: String, field: &'static str| -> sandgate_db::Result<()> {
                tx.execute(&format!("UPDATE applications SET {column} = ?1 WHERE id = ?2"), params![value, id])?;
                changed.push(field);
                Ok(())
            };
            if let Some(v) = &patch.description {
                set("description", v.clone(), "description")?;
            }
            if let Some(v) = &patch.category {
                set("category", v.clone(), "category")?;
            }
            if let Some(v) = &patch.scopes {
                set("scopes", v.join(" "), "scopes")?;
            }
            if let Some(v) = &patch.webhooks {
                set("webhooks", serde_json::to_string(v).unwrap_or_default(), "webhooks")?;
            }
            if let Some(v) = &patch.trust_list {
                set("trust_list", v.join(" "), "trust_list")?;
            }
            if let Some(v) = &patch.entities {
                set("entities", serde_json::to_string(v).unwrap_or_default(), "entities")?;
            }
            if let Some(v) = &patch.benefits {
                set("benefits", serde_json::to_string(v).unwrap_or_default(), "benefits")?;
            }
            if let Some(v) = &patch.plan {
                set("plan", v.clone(), "plan")?;
            }
            if changed.is_empty() {
                return application(tx, id); // nothing sent, nothing written, nothing to log
            }
            tx.execute("UPDATE applications SET updated_at = ?1 WHERE id = ?2", params![now_rfc3339(), id])?;
            log_event(tx, actor, Some(&app.partner_id), Some(id), "application.updated", json!({"fields": changed}))?;
            application(tx, id)
        })
    }

    /// Revokes an application: every credential and token of it stops working on the gateway's
    /// next request, in every environment.
    pub fn revoke_app(&self, actor: &str, id: &str, reason: Option<&str>) -> Result<Application, StoreError> {
        self.write(|tx| {
            let app = active_application(tx, id).map_err(|e| match e {
                StoreError::Conflict { .. } => {
                    StoreError::conflict("status", format!("application {id} is already revoked"))
                }
                other => other,
            })?;
            tx.execute(
                "UPDATE applications SET status = 'revoked', updated_at = ?1 WHERE id = ?2",
                params![now_rfc3339(), id],
            )?;
            log_event(tx, actor, Some(&app.partner_id), Some(id), "application.revoked", json!({"reason": reason}))?;
            application(tx, id)
        })
    }

    /// Bumps the generation of the application's webhook signing secret; returns the new one.
    pub fn bump_webhook_generation(&self, actor: &str, id: &str) -> Result<i64, StoreError> {
        self.write_quiet(|tx| {
            let app = active_application(tx, id)?;
            tx.execute(
                "UPDATE applications SET webhook_generation = webhook_generation + 1 WHERE id = ?1",
                params![id],
            )?;
            log_event(tx, actor, Some(&app.partner_id), Some(id), "webhook_secret.rotated", json!({}))?;
            Ok(tx.query_row("SELECT webhook_generation FROM applications WHERE id = ?1", params![id], |r| r.get(0))?)
        })
    }
}
