//! Applications and their production review: create, read, edit (immutable fields refused),
//! revoke, rotate the webhook secret; submit, approve (PRODUCTION credentials), reject.

use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{json, Problem, Reply};
use super::rules::{check_name, check_permission, check_shape, check_text, AppShape, Stored};
use super::{json_reply, mail, Call};
use sandgate_store::{AppPatch, Application, ApplicationFields, StoreError, Submission, Webhook};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateApplication {
    description: Option<String>,
    category: Option<String>,
    scopes: Option<Vec<String>>,
    webhooks: Option<Vec<Webhook>>,
    trust_list: Option<Vec<String>>,
    entities: Option<Vec<String>>,
    benefits: Option<Vec<String>>,
    plan: Option<String>,
    // Immutable: accepted by the decoder only to be refused with a 409 naming them.
    name: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<Value>,
    permission: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RevokeApplication {
    #[serde(default, deserialize_with = "crate::http::not_null")]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reject {
    reasons: Vec<String>,
}

/// A plan is the operator's decision (what the partner pays for); only an operator may set or
/// change it. `current` is the application's plan on an edit (sending it back unchanged is fine).
fn check_plan(call: &Call<'_>, plan: &str, current: &str) -> Result<(), StoreError> {
    if plan != current && call.actor.operator().is_err() {
        return Err(StoreError::ForbiddenField {
            field: "plan".into(),
            detail: format!(
                "only an operator may choose an application's rate-limit plan (it stays {current:?}); leave the field out"
            ),
        });
    }
    let settings = call.control.settings.load();
    if plan.is_empty() || settings.plans.iter().any(|p| p == plan) {
        return Ok(());
    }
    let plans = &settings.plans;
    Err(StoreError::invalid("plan", format!("must be \"\" (the default) or one of {plans:?}; got {plan:?}")))
}

/// The application, if the caller may see it.
pub(super) fn readable(call: &Call<'_>) -> Result<Application, Problem> {
    let app = call.control.store.application(call.param("application_id"))?;
    call.actor.reader_of_app(&app)?;
    Ok(app)
}

/// The application, if the caller may change it.
pub(super) fn writable(call: &Call<'_>) -> Result<Application, Problem> {
    let app = readable(call)?;
    call.actor.admin_of_app(&app)?;
    Ok(app)
}

pub(super) fn create(call: &Call<'_>) -> Result<Reply, Problem> {
    let partner_id = call.param("partner_id");
    call.actor.admin_of_partner(partner_id)?;
    let new: ApplicationFields = json(&call.request.body)?;
    check_name(&new.name)?;
    check_permission(&new.permission)?;
    if new.description.chars().count() > 2000 {
        return Err(StoreError::invalid("description", "at most 2000 characters").into());
    }
    check_shape(
        &call.control.app_types,
        &AppShape {
            kind: &new.kind,
            scopes: &new.scopes,
            trust_list: &new.trust_list,
            webhooks: &new.webhooks,
            entities: &new.entities,
            benefits: &new.benefits,
            stored: Stored::default(),
        },
    )?;
    check_plan(call, &new.plan, "")?;
    let app = call.control.store.create_app(&call.actor_label(), partner_id, &new)?;
    let secret = call.control.keys.webhook_secret(&app.id, 0);
    json_reply(201, json!({"application": app, "webhook_secret": secret}))
}

pub(super) fn list(call: &Call<'_>) -> Result<Reply, Problem> {
    let partner_id = call.param("partner_id");
    call.actor.reader_of_partner(partner_id)?;
    let apps: Vec<Application> = call
        .control
        .store
        .applications(partner_id)?
        .into_iter()
        .filter(|app| call.actor.reader_of_app(app).is_ok())
        .collect();
    json_reply(200, json!({"applications": apps}))
}

pub(super) fn show(call: &Call<'_>) -> Result<Reply, Problem> {
    json_reply(200, readable(call)?)
}

pub(super) fn update(call: &Call<'_>) -> Result<Reply, Problem> {
    let app = writable(call)?;
    let body: UpdateApplication = json(&call.request.body)?;
    for (field, present) in
        [("name", body.name.is_some()), ("type", body.kind.is_some()), ("permission", body.permission.is_some())]
    {
        if present {
            let detail =
                format!("{field} cannot change after the application is created; create a new application instead");
            return Err(StoreError::conflict(field, detail).into());
        }
    }
    // Scopes are what the production review approved: none may change while the operator
    // decides, and none may be added after approval (PRODUCTION tokens would get them unreviewed).
    if let Some(scopes) = &body.scopes {
        let added: Vec<&String> = scopes.iter().filter(|s| !app.fields.scopes.contains(s)).collect();
        let refusal = match app.review_status.as_str() {
            "submitted" if scopes != &app.fields.scopes => {
                Some("the application is under production review; its scopes cannot change until the operator decides".to_owned())
            }
            "approved" if !added.is_empty() => Some(format!(
                "the application is approved for production with the scopes {:?}; adding {added:?} would skip the review (remove scopes freely, or create another application)",
                app.fields.scopes
            )),
            _ => None,
        };
        if let Some(detail) = refusal {
            return Err(StoreError::conflict("scopes", detail).into());
        }
    }
    if let Some(description) = &body.description {
        if description.chars().count() > 2000 {
            return Err(StoreError::invalid("description", "at most 2000 characters").into());
        }
    }
    let shape = AppShape {
        kind: &app.fields.kind,
        scopes: body.scopes.as_deref().unwrap_or(&app.fields.scopes),
        trust_list: body.trust_list.as_deref().unwrap_or(&app.fields.trust_list),
        webhooks: body.webhooks.as_deref().unwrap_or(&app.fields.webhooks),
        entities: body.entities.as_deref().unwrap_or(&app.fields.entities),
        benefits: body.benefits.as_deref().unwrap_or(&app.fields.benefits),
        stored: Stored { kind: true, webhooks_or_trust_list: body.webhooks.is_none() || body.trust_list.is_none() },
    };
    check_shape(&call.control.app_types, &shape)?;
    if let Some(plan) = &body.plan {
        check_plan(call, plan, &app.fields.plan)?;
    }
    let patch = AppPatch {
        description: body.description,
        category: body.category,
        scopes: body.scopes,
        webhooks: body.webhooks,
        trust_list: body.trust_list,
        entities: body.entities,
        benefits: body.benefits,
        plan: body.plan,
    };
    json_reply(200, call.control.store.update_app(&call.actor_label(), &app.id, &patch)?)
}

pub(super) fn revoke(call: &Call<'_>) -> Result<Reply, Problem> {
    let app = writable(call)?;
    let body: RevokeApplication = json(&call.request.body)?;
    json_reply(200, call.control.store.revoke_app(&call.actor_label(), &app.id, body.reason.as_deref())?)
}

pub(super) fn rotate_webhook_secret(call: &Call<'_>) -> Result<Reply, Problem> {
    let app = writable(call)?;
    let generation = call.control.store.bump_webhook_generation(&call.actor_label(), &app.id)?;
    json_reply(200, json!({"webhook_secret": call.control.keys.webhook_secret(&app.id, generation)}))
}

pub(super) fn submit(call: &Call<'_>) -> Result<Reply, Problem> {
    let app = writable(call)?;
    let submission: Submission = json(&call.request.body)?;
    check_text("overview", &submission.overview, 5000)?;
    check_text("security_measures", &submission.security_measures, 5000)?;
    check_text("post_deployment_plan", &submission.post_deployment_plan, 5000)?;
    json_reply(201, call.control.store.submit_review(&call.actor_label(), &app.id, &submission)?)
}

pub(super) fn reviews(call: &Call<'_>) -> Result<Reply, Problem> {
    let app = readable(call)?;
    json_reply(200, json!({"reviews": call.control.store.reviews(&app.id)?}))
}

/// Approval opens PRODUCTION to the application; the partner's owners and admins then issue the
/// PRODUCTION credential themselves (portal or API), so its secret is seen once, by them only.
pub(super) fn approve(call: &Call<'_>) -> Result<Reply, Problem> {
    call.actor.operator()?;
    let app = call.control.store.application(call.param("application_id"))?;
    let review = call.control.store.approve_review(&call.actor_label(), &app.id)?;
    let body = format!(
        "the application \"{}\" is approved for PRODUCTION. An owner or admin of the account can now issue its PRODUCTION credential; the secret is shown once, to whoever issues it.",
        app.fields.name
    );
    mail::notify_admins(
        call.control,
        &app,
        &format!("Approved for production: {}", app.fields.name),
        &body,
        "review.approved",
    );
    json_reply(200, json!({"review": review}))
}

pub(super) fn reject(call: &Call<'_>) -> Result<Reply, Problem> {
    call.actor.operator()?;
    let app = call.control.store.application(call.param("application_id"))?;
    let body: Reject = json(&call.request.body)?;
    if body.reasons.is_empty() {
        return Err(
            StoreError::invalid("reasons", "give at least one reason, so the partner knows what to change").into()
        );
    }
    for (i, reason) in body.reasons.iter().enumerate() {
        check_text(&format!("reasons.{i}"), reason, 2000)?;
    }
    let review = call.control.store.reject_review(&call.actor_label(), &app.id, &body.reasons)?;
    let reasons: String = body.reasons.iter().map(|reason| format!("  - {reason}\n")).collect();
    let text = format!(
        "the production review of \"{}\" asks for changes:\n\n{reasons}\nChange what the reasons ask, then submit the application again.",
        app.fields.name
    );
    mail::notify_admins(
        call.control,
        &app,
        &format!("Changes requested: {}", app.fields.name),
        &text,
        "review.rejected",
    );
    json_reply(200, review)
}
