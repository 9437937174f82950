//! Production review: a partner submits an application (a justification per scope), an operator
//! approves it (a PRODUCTION credential is issued in the same transaction) or rejects it with
//! reasons; every step is in the activity log.

use std::collections::BTreeMap;

use sandgate_db::{params, Connection, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::activity::log_event;
use super::applications::{active_application, application, Application};
use super::{json_list, new_id, now_rfc3339, Store, StoreError};

/// What a partner submits for production.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// What the application does.
    pub overview: String,
    /// Why it needs each scope.
    pub scope_justifications: BTreeMap<String, String>,
    /// How it protects credentials and data.
    pub security_measures: String,
    /// Monitoring, support and rollback after go-live.
    pub post_deployment_plan: String,
}

/// One production review.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Review {
    /// `rev_…`.
    pub id: String,
    /// The application.
    pub application_id: String,
    /// `submitted`, `approved` or `rejected`.
    pub status: String,
    /// What was submitted.
    pub submission: Submission,
    /// Why it was rejected.
    pub reasons: Vec<String>,
    /// When.
    pub submitted_at: String,
    /// By whom.
    pub submitted_by: String,
    /// When it was decided.
    pub decided_at: Option<String>,
    /// By which operator.
    pub decided_by: Option<String>,
}

fn review_row(r: &sandgate_db::Row<'_>) -> sandgate_db::Result<(Review, String, String)> {
    let review = Review {
        id: r.get(0)?,
        application_id: r.get(1)?,
        status: r.get(3)?,
        submission: Submission {
            overview: String::new(),
            scope_justifications: BTreeMap::new(),
            security_measures: String::new(),
            post_deployment_plan: String::new(),
        },
        reasons: Vec::new(),
        submitted_at: r.get(5)?,
        submitted_by: r.get(6)?,
        decided_at: r.get(7)?,
        decided_by: r.get(8)?,
    };
    Ok((review, r.get(2)?, r.get(4)?))
}

fn latest_review(conn: &Connection, app_id: &str) -> Result<Option<Review>, StoreError> {
    Ok(reviews(conn, app_id)?.into_iter().next())
}

fn reviews(conn: &Connection, app_id: &str) -> Result<Vec<Review>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, application_id, submission, status, reasons, submitted_at, submitted_by, decided_at, decided_by
         FROM reviews WHERE application_id = ?1 ORDER BY submitted_at DESC, rowid DESC",
    )?;
    let rows = statement.query_map(params![app_id], review_row)?.collect::<sandgate_db::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(mut review, submission, reasons)| {
            review.submission = serde_json::from_str(&submission)?;
            review.reasons = json_list(&reasons)?;
            Ok(review)
        })
        .collect()
}

impl Store {
    /// Submits an application for production review. Every scope needs a justification; an
    /// application under review or approved cannot be submitted again.
    pub fn submit_review(&self, actor: &str, app_id: &str, submission: &Submission) -> Result<Review, StoreError> {
        self.write(|tx| {
            let app = active_application(tx, app_id)?;
            match app.review_status.as_str() {
                "submitted" => {
                    return Err(StoreError::conflict("review_status", "the application is already under review"))
                }
                "approved" => {
                    return Err(StoreError::conflict(
                        "review_status",
                        "the application is already approved for production",
                    ))
                }
                _ => {}
            }
            // Which scopes need a justification is the stored application's: a missing or extra
            // one conflicts with it (409); a blank one is the body's own fault (422).
            for scope in &app.fields.scopes {
                let field = format!("scope_justifications.{scope}");
                match submission.scope_justifications.get(scope) {
                    None => {
                        return Err(StoreError::conflict(
                            field,
                            format!(
                                "justify the scope {scope:?}: every scope of the application needs a justification"
                            ),
                        ))
                    }
                    Some(text) if text.trim().is_empty() => {
                        return Err(StoreError::invalid(field, "a justification cannot be blank"))
                    }
                    Some(_) => {}
                }
            }
            if let Some(extra) = submission.scope_justifications.keys().find(|s| !app.fields.scopes.contains(s)) {
                return Err(StoreError::conflict(
                    format!("scope_justifications.{extra}"),
                    format!(
                        "the application does not have the scope {extra:?}; its scopes are {:?}",
                        app.fields.scopes
                    ),
                ));
            }
            let (id, now) = (new_id("rev"), now_rfc3339());
            tx.execute(
                "INSERT INTO reviews (id, application_id, submission, status, submitted_at, submitted_by)
                 VALUES (?1, ?2, ?3, 'submitted', ?4, ?5)",
                params![id, app_id, serde_json::to_string(submission)?, now, actor],
            )?;
            tx.execute(
                "UPDATE applications SET review_status = 'submitted', updated_at = ?1 WHERE id = ?2",
                params![now, app_id],
            )?;
            log_event(tx, actor, Some(&app.partner_id), Some(app_id), "review.submitted", json!({"review_id": id}))?;
            latest_review(tx, app_id)?.ok_or_else(|| StoreError::not_found("review", &id))
        })
    }

    /// The reviews of an application, newest first.
    pub fn reviews(&self, app_id: &str) -> Result<Vec<Review>, StoreError> {
        self.read(|conn| {
            application(conn, app_id)?;
            reviews(conn, app_id)
        })
    }

    /// Approves the submitted review. No credential is issued here: the partner's owner or admin
    /// issues the PRODUCTION credential and is the only one ever to see its secret.
    pub fn approve_review(&self, actor: &str, app_id: &str) -> Result<Review, StoreError> {
        self.write(|tx| Ok(decide(tx, actor, app_id, Decision::Approve)?.1))
    }

    /// Rejects the submitted review with reasons; the partner may resubmit.
    pub fn reject_review(&self, actor: &str, app_id: &str, reasons: &[String]) -> Result<Review, StoreError> {
        self.write(|tx| Ok(decide(tx, actor, app_id, Decision::Reject(reasons))?.1))
    }
}

/// An operator's decision on a submitted review.
enum Decision<'a> {
    Approve,
    Reject(&'a [String]),
}

/// Records `decision` on the submitted review of `app_id` and on the application, and logs it.
fn decide(
    tx: &Transaction<'_>,
    actor: &str,
    app_id: &str,
    decision: Decision<'_>,
) -> Result<(Application, Review), StoreError> {
    let (status, verb, reasons) = match decision {
        Decision::Approve => ("approved", "approve", &[][..]),
        Decision::Reject(reasons) => ("rejected", "reject", reasons),
    };
    let (app, review) = submitted(tx, app_id, verb)?;
    let now = now_rfc3339();
    tx.execute(
        "UPDATE reviews SET status = ?1, reasons = ?2, decided_at = ?3, decided_by = ?4 WHERE id = ?5",
        params![status, serde_json::to_string(reasons)?, now, actor, review.id],
    )?;
    tx.execute(
        "UPDATE applications SET review_status = ?1, updated_at = ?2 WHERE id = ?3",
        params![status, now, app_id],
    )?;
    let details = if reasons.is_empty() {
        json!({"review_id": review.id})
    } else {
        json!({"review_id": review.id, "reasons": reasons})
    };
    log_event(tx, actor, Some(&app.partner_id), Some(app_id), &format!("review.{status}"), details)?;
    let review = latest_review(tx, app_id)?.ok_or_else(|| StoreError::not_found("review", &review.id))?;
    Ok((app, review))
}

/// The application and its review awaiting a decision (409 when there is none).
fn submitted(tx: &Transaction<'_>, app_id: &str, verb: &str) -> Result<(Application, Review), StoreError> {
    let app = active_application(tx, app_id)?;
    match latest_review(tx, app_id)? {
        Some(review) if review.status == "submitted" && app.review_status == "submitted" => Ok((app, review)),
        _ => Err(StoreError::conflict(
            "review_status",
            format!(
                "cannot {verb}: the application's review status is {:?}; only a submitted application can be decided (the partner resubmits after a rejection)",
                app.review_status
            ),
        )),
    }
}
