//! Connections between an operator's entity (a merchant location…) and an application. Connecting
//! creates the application's benefits for the entity and queues a signed `integration.connected`
//! webhook in the same transaction; disconnecting removes them and queues
//! `integration.disconnected`. Repeating either is a no-op.

use sandgate_db::{params, Connection as Db, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use super::activity::log_event;
use super::applications::active_application;
use super::outbox::enqueue;
use super::{now_rfc3339, Store, StoreError};

/// An entity's connection to an application.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Connection {
    /// Kind of entity (`merchant_location`).
    pub entity_type: String,
    /// The operator's id of the entity.
    pub entity_id: String,
    /// The application.
    pub application_id: String,
    /// `connected` or `disconnected`.
    pub status: String,
    /// When it was (last) connected.
    pub connected_at: String,
    /// When it was disconnected, if it is.
    pub disconnected_at: Option<String>,
}

/// A benefit an application brought to an entity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Benefit {
    /// Kind of entity.
    pub entity_type: String,
    /// The entity.
    pub entity_id: String,
    /// The application that brings it.
    pub application_id: String,
    /// What it is.
    pub benefit: String,
    /// When it was created.
    pub created_at: String,
}

/// The result of a connect.
#[derive(Debug, Clone)]
pub struct ConnectOutcome {
    /// The connection.
    pub connection: Connection,
    /// The entity's benefits from this application.
    pub benefits: Vec<Benefit>,
    /// Whether this call connected it (false: it already was).
    pub changed: bool,
}

fn connection(db: &Db, entity: (&str, &str), app_id: &str) -> sandgate_db::Result<Option<Connection>> {
    db.query_row(
        "SELECT entity_type, entity_id, application_id, status, connected_at, disconnected_at FROM connections
         WHERE entity_type = ?1 AND entity_id = ?2 AND application_id = ?3",
        params![entity.0, entity.1, app_id],
        connection_row,
    )
    .optional()
}

fn connection_row(r: &sandgate_db::Row<'_>) -> sandgate_db::Result<Connection> {
    Ok(Connection {
        entity_type: r.get(0)?,
        entity_id: r.get(1)?,
        application_id: r.get(2)?,
        status: r.get(3)?,
        connected_at: r.get(4)?,
        disconnected_at: r.get(5)?,
    })
}

fn benefits(db: &Db, entity: (&str, &str), app_id: Option<&str>) -> sandgate_db::Result<Vec<Benefit>> {
    let mut statement = db.prepare_cached(
        "SELECT entity_type, entity_id, application_id, benefit, created_at FROM entity_benefits
         WHERE entity_type = ?1 AND entity_id = ?2 AND (?3 IS NULL OR application_id = ?3)
         ORDER BY application_id, benefit",
    )?;
    let rows = statement.query_map(params![entity.0, entity.1, app_id], |r| {
        Ok(Benefit {
            entity_type: r.get(0)?,
            entity_id: r.get(1)?,
            application_id: r.get(2)?,
            benefit: r.get(3)?,
            created_at: r.get(4)?,
        })
    })?;
    rows.collect()
}

impl Store {
    /// Connects `entity` (type, id) to an application; idempotent.
    pub fn connect(&self, actor: &str, entity: (&str, &str), app_id: &str) -> Result<ConnectOutcome, StoreError> {
        self.write_quiet(|tx| {
            let app = active_application(tx, app_id)?;
            // Which entity types it may access is the stored application's: a conflict (409).
            if !app.fields.entities.iter().any(|e| e == entity.0) {
                return Err(StoreError::conflict(
                    "entity_type",
                    format!("application {app_id} may access {:?}, not {:?}", app.fields.entities, entity.0),
                ));
            }
            if let Some(existing) = connection(tx, entity, app_id)?.filter(|c| c.status == "connected") {
                let benefits = benefits(tx, entity, Some(app_id))?;
                return Ok(ConnectOutcome { connection: existing, benefits, changed: false });
            }
            let now = now_rfc3339();
            tx.execute(
                "INSERT INTO connections (entity_type, entity_id, application_id, status, connected_at)
                 VALUES (?1, ?2, ?3, 'connected', ?4)
                 ON CONFLICT (entity_type, entity_id, application_id)
                 DO UPDATE SET status = 'connected', connected_at = ?4, disconnected_at = NULL",
                params![entity.0, entity.1, app_id, now],
            )?;
            for benefit in &app.fields.benefits {
                tx.execute(
                    "INSERT INTO entity_benefits (entity_type, entity_id, application_id, benefit, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                    params![entity.0, entity.1, app_id, benefit, now],
                )?;
            }
            let benefits = benefits(tx, entity, Some(app_id))?;
            let names: Vec<&str> = benefits.iter().map(|b| b.benefit.as_str()).collect();
            let data =
                json!({"application_id": app_id, "entity_type": entity.0, "entity_id": entity.1, "benefits": names});
            let deliveries = enqueue(tx, &app, "integration.connected", data)?;
            log_event(
                tx,
                actor,
                Some(&app.partner_id),
                Some(app_id),
                "connection.connected",
                json!({"entity_type": entity.0, "entity_id": entity.1, "benefits": names, "deliveries": deliveries}),
            )?;
            let connection =
                connection(tx, entity, app_id)?.ok_or_else(|| StoreError::not_found("connection", app_id))?;
            Ok(ConnectOutcome { connection, benefits, changed: true })
        })
    }

    /// Disconnects `entity` from an application (404 if it never was connected); idempotent.
    pub fn disconnect(
        &self,
        actor: &str,
        entity: (&str, &str),
        app_id: &str,
    ) -> Result<(Connection, bool), StoreError> {
        self.write_quiet(|tx| {
            let current = connection(tx, entity, app_id)?.ok_or_else(|| {
                StoreError::not_found("connection", &format!("{}/{} to {app_id}", entity.0, entity.1))
            })?;
            if current.status == "disconnected" {
                return Ok((current, false));
            }
            let app = super::applications::application(tx, app_id)?;
            tx.execute(
                "UPDATE connections SET status = 'disconnected', disconnected_at = ?4
                 WHERE entity_type = ?1 AND entity_id = ?2 AND application_id = ?3",
                params![entity.0, entity.1, app_id, now_rfc3339()],
            )?;
            tx.execute(
                "DELETE FROM entity_benefits WHERE entity_type = ?1 AND entity_id = ?2 AND application_id = ?3",
                params![entity.0, entity.1, app_id],
            )?;
            let data =
                json!({"application_id": app_id, "entity_type": entity.0, "entity_id": entity.1, "benefits": []});
            let deliveries = enqueue(tx, &app, "integration.disconnected", data)?;
            log_event(
                tx,
                actor,
                Some(&app.partner_id),
                Some(app_id),
                "connection.disconnected",
                json!({"entity_type": entity.0, "entity_id": entity.1, "deliveries": deliveries}),
            )?;
            let connection =
                connection(tx, entity, app_id)?.ok_or_else(|| StoreError::not_found("connection", app_id))?;
            Ok((connection, true))
        })
    }

    /// The connections of an entity.
    pub fn connections(&self, entity: (&str, &str)) -> Result<Vec<Connection>, StoreError> {
        self.read(|db| {
            let mut statement = db.prepare(
                "SELECT entity_type, entity_id, application_id, status, connected_at, disconnected_at FROM connections
                 WHERE entity_type = ?1 AND entity_id = ?2 ORDER BY application_id",
            )?;
            let rows = statement.query_map(params![entity.0, entity.1], connection_row)?;
            Ok(rows.collect::<sandgate_db::Result<_>>()?)
        })
    }

    /// The benefits an entity has from its connected applications.
    pub fn benefits(&self, entity: (&str, &str)) -> Result<Vec<Benefit>, StoreError> {
        self.read(|db| Ok(benefits(db, entity, None)?))
    }
}
