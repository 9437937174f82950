//! The operator area: sign in with an operator token, the review queue, partners and their
//! applications, approve or reject with reasons, revoke, scrub TRAINING data, the mail outbox.

use http::Method;
use serde_json::json;
use subtle::ConstantTimeEq;

use sandgate_store::{SessionSubject, StoreError};

use crate::form::{human, lines, Form};
use crate::session::{self, Viewer};
use crate::templates::{self, render, Chrome, MailOutbox, Operator, OperatorSignIn, PartnerRow};
use crate::web::{segment, Page};
use crate::Ctx;

pub(crate) fn signin_page(ctx: &Ctx<'_>) -> Page {
    let page = OperatorSignIn { chrome: Chrome::new(ctx, "Operator sign-in"), csrf: ctx.csrf(), form: Form::default() };
    render(200, &page)
}

pub(crate) fn signin(ctx: &Ctx<'_>) -> Page {
    let store = &ctx.portal.control.store;
    let subject = format!("operator-ip:{}", ctx.request.client_ip.map(|ip| ip.to_string()).unwrap_or_default());
    let now = store.now_unix();
    match store.portal_locked_until(&subject) {
        Ok(until) if until > now => {
            let mut form = Form::default();
            form.fail("token", format!("Too many failed sign-ins; try again in {} seconds.", until - now));
            return render(
                429,
                &OperatorSignIn { chrome: Chrome::new(ctx, "Operator sign-in"), csrf: ctx.csrf(), form },
            );
        }
        Ok(_) => {}
        Err(e) => return templates::store_down(&e),
    }
    let presented = sandgate_control::auth::digest(ctx.request.field("token"));
    let mut found = None;
    // Every digest is compared, so timing says nothing about which one matched.
    for (name, expected) in sandgate_control::operators(&ctx.portal.control) {
        if bool::from(presented.ct_eq(&expected)) {
            found = Some(name);
        }
    }
    let Some(name) = found else {
        if let Err(e) = store.portal_sign_in_failed(&subject, 5, 60) {
            return templates::store_down(&e);
        }
        let mut form = Form::default();
        form.fail("token", "This is not a valid operator token.");
        return render(401, &OperatorSignIn { chrome: Chrome::new(ctx, "Operator sign-in"), csrf: ctx.csrf(), form });
    };
    let _ = store.portal_sign_in_succeeded(&subject);
    match session::open(ctx.portal, &SessionSubject::Operator(name), None) {
        Ok(cookie) => Page::redirect("/operator").with_cookie(cookie),
        Err(e) => templates::store_down(&e),
    }
}

/// Routes `/operator/…` (after sign-in); a partner member gets a 404, a visitor the sign-in page.
pub(crate) fn route(ctx: &Ctx<'_>, method: &str, segments: &[&str]) -> Page {
    let Some(viewer) = ctx.viewer else { return Page::redirect("/operator/signin") };
    if !viewer.is_operator() {
        return templates::not_found(ctx);
    }
    match (method, segments) {
        ("GET", []) => home(ctx),
        ("GET", ["mail"]) => mail(ctx),
        ("POST", ["scrub"]) => {
            let path = "/v1/emulator/scrub";
            match ctx.portal.call(viewer, Method::POST, path, "", json!({})) {
                Ok(_) => Page::redirect("/operator?done=scrubbed"),
                Err(problem) => templates::message(
                    ctx,
                    problem.kind.status(),
                    "Scrub failed",
                    &human(&problem),
                    "/operator",
                    "Back",
                ),
            }
        }
        ("GET", ["applications", id]) => application(ctx, viewer, id, Form::default(), 200),
        ("POST", ["applications", id, "approve"]) => decide(ctx, viewer, id, "approve", json!({}), "approved"),
        ("POST", ["applications", id, "reject"]) => {
            let reasons = lines(ctx.request.field("reasons"));
            if reasons.is_empty() {
                let mut form = Form::default();
                form.fail("reasons", "Give at least one reason, so the partner knows what to change.");
                return application(ctx, viewer, id, form, 422);
            }
            decide(ctx, viewer, id, "review/reject", json!({"reasons": reasons}), "rejected")
        }
        ("POST", ["applications", id, "revoke"]) => {
            decide(ctx, viewer, id, "revoke", json!({"reason": "revoked by the operator from the portal"}), "revoked")
        }
        _ => templates::not_found(ctx),
    }
}

fn home(ctx: &Ctx<'_>) -> Page {
    let store = &ctx.portal.control.store;
    let loaded = (|| -> Result<_, StoreError> {
        let mut queue = Vec::new();
        let mut partners = Vec::new();
        for partner in store.partners()? {
            let apps = store.applications(&partner.id)?;
            for app in apps.iter().filter(|a| a.review_status == "submitted") {
                let submitted = store.reviews(&app.id)?.into_iter().next().map(|r| r.submitted_at).unwrap_or_default();
                queue.push((
                    app.id.clone(),
                    app.fields.name.clone(),
                    partner.name.clone(),
                    app.fields.kind.clone(),
                    submitted,
                ));
            }
            partners.push(PartnerRow {
                name: partner.name,
                contact: format!("{} <{}>", partner.contact.name, partner.contact.email),
                apps: apps.into_iter().map(|a| (a.id, a.fields.name, a.review_status)).collect(),
            });
        }
        Ok((queue, partners))
    })();
    match loaded {
        Ok((queue, partners)) => render(200, &Operator { chrome: Chrome::new(ctx, "Operator"), queue, partners }),
        Err(e) => templates::store_down(&e),
    }
}

fn application(ctx: &Ctx<'_>, viewer: &Viewer, id: &str, form: Form, status: u16) -> Page {
    match ctx.portal.control.store.application(id) {
        Ok(app) => crate::partner::app_page(ctx, viewer, &app, form, status, true),
        Err(StoreError::NotFound { .. }) => templates::not_found(ctx),
        Err(e) => templates::store_down(&e),
    }
}

fn decide(ctx: &Ctx<'_>, viewer: &Viewer, id: &str, what: &str, body: serde_json::Value, done: &str) -> Page {
    let what = if what == "approve" { "review/approve" } else { what };
    let path = format!("/v1/applications/{}/{what}", segment(id));
    match ctx.portal.call(viewer, Method::POST, &path, "", body) {
        Ok(_) => Page::redirect(&format!("/operator/applications/{id}?done={done}")),
        Err(problem) => {
            let mut form = Form::default();
            form.problem(&problem, &["reasons"]);
            application(ctx, viewer, id, form, problem.kind.status())
        }
    }
}

fn mail(ctx: &Ctx<'_>) -> Page {
    let smtp = ctx.portal.control.settings.load().control_plane.mail.smtp_url.is_some();
    let to = Some(ctx.request.param("to")).filter(|t| !t.is_empty());
    match ctx.portal.control.store.mails(to, 200) {
        Ok(mails) => render(200, &MailOutbox { chrome: Chrome::new(ctx, "Mail outbox"), smtp, mails }),
        Err(e) => templates::store_down(&e),
    }
}
