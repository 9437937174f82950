//! A partner member's pages: the dashboard with instant sandbox credentials, applications (list,
//! create, edit, detail), credentials (issue with the secret shown once, rotate, revoke),
//! developer invitations, webhook deliveries, the activity log (filters, CSV) and the
//! production-review checklist.

use http::Method;
use serde_json::{json, Value};

use sandgate_control::auth::Actor;
use sandgate_control::http::{Problem, Reply};
use sandgate_store::{Application, StoreError};

use crate::form::{human, items, lines, Form};
use crate::session::Viewer;
use crate::templates::{
    self, render, Activity, AppForm, AppPage, AppRow, AppView, Apps, Chrome, CredentialRow, Dashboard, InvitationRow,
    ReviewForm, Secret, TypeOption,
};
use crate::web::{segment, Page};
use crate::Ctx;

/// The form fields of an application.
const APP_FIELDS: &[&str] =
    &["name", "type", "permission", "description", "scopes", "trust_list", "webhooks", "entities", "benefits"];

/// Routes the pages under `/applications`, `/credentials`, `/invitations/{id}/…` and `/sandbox`.
pub(crate) fn route(ctx: &Ctx<'_>, method: &str, segments: &[&str]) -> Page {
    let Some(viewer) = ctx.viewer.filter(|v| matches!(v.actor, Actor::Member(_))) else {
        return match ctx.viewer {
            Some(_) => templates::not_found(ctx),
            None if method == "GET" && matches!(segments.first(), Some(&"applications")) => Page::redirect("/signin"),
            None => templates::not_found(ctx),
        };
    };
    let page = match (method, segments) {
        ("POST", ["sandbox"]) => sandbox(ctx, viewer),
        ("GET", ["applications"]) => list(ctx, viewer),
        ("GET", ["applications", "new"]) => {
            let kind = ctx.portal.control.app_types.demo().map(|d| d.kind.to_owned()).unwrap_or_default();
            let defaults = [("permission".to_owned(), "read_write".to_owned()), ("type".to_owned(), kind)];
            new_form(ctx, viewer, Form::with(defaults), 200)
        }
        ("POST", ["applications", "new"]) => create(ctx, viewer),
        ("GET", ["applications", id]) => show(ctx, viewer, id, Form::default(), 200),
        ("GET", ["applications", id, "edit"]) => edit_form(ctx, viewer, id),
        ("POST", ["applications", id, "edit"]) => update(ctx, viewer, id),
        ("POST", ["applications", id, "credentials"]) => issue(ctx, viewer, id),
        ("POST", ["applications", id, "invitations"]) => invite(ctx, viewer, id),
        ("POST", ["applications", id, "revoke"]) => action(
            ctx,
            viewer,
            &format!("/v1/applications/{}/revoke", segment(id)),
            json!({}),
            &format!("/applications/{id}?done=revoked"),
        ),
        ("GET", ["applications", id, "activity"]) => activity(ctx, viewer, id),
        ("GET", ["applications", id, "activity.csv"]) => activity_csv(ctx, viewer, id),
        ("GET", ["applications", id, "review"]) => review_form(ctx, viewer, id, None, 200),
        ("POST", ["applications", id, "review"]) => submit(ctx, viewer, id),
        ("POST", ["credentials", client_id, verb @ ("rotate" | "revoke")]) => {
            credential_action(ctx, viewer, client_id, verb)
        }
        ("POST", ["invitations", id, verb @ ("reset" | "resend" | "revoke")]) => {
            invitation_action(ctx, viewer, id, verb)
        }
        _ => templates::not_found(ctx),
    };
    page
}

/// What the viewer's membership is.
fn membership(viewer: &Viewer) -> (String, String, String) {
    match &viewer.actor {
        Actor::Member(p) => (
            p.member.partner_id.clone(),
            viewer.membership().map(|m| m.partner_name.clone()).unwrap_or_default(),
            p.member.role.clone(),
        ),
        _ => Default::default(),
    }
}

/// The application `id` if the viewer may read it; else the 404 page (other partners' too).
fn readable(ctx: &Ctx<'_>, viewer: &Viewer, id: &str) -> Result<Application, Page> {
    let app = match ctx.portal.control.store.application(id) {
        Ok(app) => app,
        Err(StoreError::NotFound { .. }) => return Err(templates::not_found(ctx)),
        Err(e) => return Err(templates::store_down(&e)),
    };
    viewer.actor.reader_of_app(&app).map_err(|_| templates::not_found(ctx))?;
    Ok(app)
}

fn app_rows(ctx: &Ctx<'_>, viewer: &Viewer, partner_id: &str) -> Result<Vec<AppRow>, StoreError> {
    Ok(ctx
        .portal
        .control
        .store
        .applications(partner_id)?
        .into_iter()
        .filter(|app| viewer.actor.reader_of_app(app).is_ok())
        .map(|app| AppRow {
            id: app.id,
            name: app.fields.name,
            kind: app.fields.kind,
            status: app.status,
            review: app.review_status,
        })
        .collect())
}

pub(crate) fn dashboard(ctx: &Ctx<'_>) -> Page {
    let Some(viewer) = ctx.viewer else { return Page::redirect("/signin") };
    if !matches!(viewer.actor, Actor::Member(_)) {
        return templates::message(
            ctx,
            200,
            "No active account",
            "Your address has no active membership any more. Ask an account's admin to invite you again.",
            "/docs",
            "API docs",
        );
    }
    let ip = ctx.request.client_ip.map(|ip| ip.to_string()).unwrap_or_default();
    dashboard_with(ctx, viewer, Form::with([("trust_list".to_owned(), ip)]), 200)
}

fn dashboard_with(ctx: &Ctx<'_>, viewer: &Viewer, form: Form, status: u16) -> Page {
    let (partner_id, partner, role) = membership(viewer);
    let apps = match app_rows(ctx, viewer, &partner_id) {
        Ok(apps) => apps,
        Err(e) => return templates::store_down(&e),
    };
    let can_admin = viewer.actor.admin_of_partner(&partner_id).is_ok();
    let members = if can_admin {
        match ctx.portal.control.store.members(&partner_id) {
            Ok(members) => members.into_iter().map(|m| (m.name, m.email, m.role, m.status)).collect(),
            Err(e) => return templates::store_down(&e),
        }
    } else {
        Vec::new()
    };
    render(status, &Dashboard { chrome: Chrome::new(ctx, &partner), partner, role, can_admin, apps, members, form })
}

fn list(ctx: &Ctx<'_>, viewer: &Viewer) -> Page {
    let (partner_id, _, _) = membership(viewer);
    match app_rows(ctx, viewer, &partner_id) {
        Ok(apps) => {
            let can_admin = viewer.actor.admin_of_partner(&partner_id).is_ok();
            render(200, &Apps { chrome: Chrome::new(ctx, "Applications"), apps, can_admin })
        }
        Err(e) => templates::store_down(&e),
    }
}

/// The application types the specs declare.
fn types(ctx: &Ctx<'_>) -> Vec<TypeOption> {
    ctx.portal
        .control
        .app_types
        .all()
        .iter()
        .map(|t| TypeOption { name: t.name.clone(), scopes: t.scopes.clone() })
        .collect()
}

/// Every scope any type offers (the form shows them all; the rules say which a type may use).
fn all_scopes(ctx: &Ctx<'_>) -> Vec<String> {
    let mut scopes: Vec<String> = ctx.portal.control.app_types.all().iter().flat_map(|t| t.scopes.clone()).collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

fn new_form(ctx: &Ctx<'_>, _viewer: &Viewer, form: Form, status: u16) -> Page {
    let page = AppForm {
        chrome: Chrome::new(ctx, "New application"),
        editing: false,
        action: "/applications/new".into(),
        types: types(ctx),
        scopes: all_scopes(ctx),
        form,
    };
    render(status, &page)
}

/// The form's fields as the control plane's JSON; a malformed webhook line is a problem beside
/// the field.
fn app_body(ctx: &Ctx<'_>, form: &mut Form) -> Value {
    let r = ctx.request;
    let scopes = r.fields("scopes");
    for scope in &scopes {
        form.set("scopes", scope.clone());
    }
    for field in ["name", "type", "permission", "description", "trust_list", "webhooks", "entities", "benefits"] {
        form.set(field, r.field(field));
    }
    let mut webhooks = Vec::new();
    for (i, line) in lines(r.field("webhooks")).iter().enumerate() {
        let mut parts = line.split_whitespace();
        let url = parts.next().unwrap_or_default();
        let events = items(&parts.collect::<Vec<_>>().join(" "));
        if events.is_empty() {
            form.fail(
                "webhooks",
                format!("Line {}: write the URL, a space, then the events separated by commas.", i + 1),
            );
        }
        webhooks.push(json!({"url": url, "events": events}));
    }
    json!({
        "description": r.field("description"),
        "scopes": scopes,
        "trust_list": lines(r.field("trust_list")),
        "webhooks": webhooks,
        "entities": items(r.field("entities")),
        "benefits": items(r.field("benefits")),
    })
}

/// Rewrites a problem's field path into its line in the form (`webhooks.1.url` → line 2).
fn with_line(mut problem: Problem) -> Problem {
    if let Some(path) = &problem.field {
        let mut parts = path.split('.');
        if let (Some(field @ ("webhooks" | "trust_list")), Some(index)) = (parts.next(), parts.next()) {
            if let Ok(i) = index.parse::<usize>() {
                problem.detail = format!("line {}: {}", i + 1, problem.detail);
                problem.field = Some(field.to_owned());
            }
        }
    }
    problem
}

fn create(ctx: &Ctx<'_>, viewer: &Viewer) -> Page {
    let (partner_id, _, _) = membership(viewer);
    let mut form = Form::default();
    let mut body = app_body(ctx, &mut form);
    if form.failed() {
        return new_form(ctx, viewer, form, 422);
    }
    body["name"] = json!(ctx.request.field("name"));
    body["type"] = json!(ctx.request.field("type"));
    body["permission"] = json!(ctx.request.field("permission"));
    let path = format!("/v1/partners/{}/applications", segment(&partner_id));
    match ctx.portal.call(viewer, Method::POST, &path, "", body) {
        Ok(Reply::Json(_, created)) => {
            let id = created["application"]["id"].as_str().unwrap_or_default();
            Page::redirect(&format!("/applications/{id}?done=created"))
        }
        Ok(_) => Page::redirect("/applications"),
        Err(problem) => {
            form.problem(&with_line(problem), APP_FIELDS);
            new_form(ctx, viewer, form, 422)
        }
    }
}

fn edit_form(ctx: &Ctx<'_>, viewer: &Viewer, id: &str) -> Page {
    let app = match readable(ctx, viewer, id) {
        Ok(app) => app,
        Err(page) => return page,
    };
    if viewer.actor.admin_of_app(&app).is_err() {
        return templates::not_found(ctx);
    }
    let f = &app.fields;
    let mut form = Form::with([
        ("name".to_owned(), f.name.clone()),
        ("type".to_owned(), f.kind.clone()),
        ("permission".to_owned(), f.permission.clone()),
        ("description".to_owned(), f.description.clone()),
        ("trust_list".to_owned(), f.trust_list.join("\n")),
        (
            "webhooks".to_owned(),
            f.webhooks.iter().map(|w| format!("{} {}", w.url, w.events.join(","))).collect::<Vec<_>>().join("\n"),
        ),
        ("entities".to_owned(), f.entities.join(", ")),
        ("benefits".to_owned(), f.benefits.join(", ")),
    ]);
    for scope in &f.scopes {
        form.set("scopes", scope.clone());
    }
    edit_page(ctx, &app, form, 200)
}

fn edit_page(ctx: &Ctx<'_>, app: &Application, form: Form, status: u16) -> Page {
    let scopes = ctx.portal.control.app_types.get(&app.fields.kind).map(|t| t.scopes.clone()).unwrap_or_default();
    let page = AppForm {
        chrome: Chrome::new(ctx, &format!("Edit {}", app.fields.name)),
        editing: true,
        action: format!("/applications/{}/edit", app.id),
        types: types(ctx),
        scopes,
        form,
    };
    render(status, &page)
}

fn update(ctx: &Ctx<'_>, viewer: &Viewer, id: &str) -> Page {
    let app = match readable(ctx, viewer, id) {
        Ok(app) => app,
        Err(page) => return page,
    };
    let mut form = Form::default();
    let body = app_body(ctx, &mut form);
    form.set("name", app.fields.name.clone());
    form.set("type", app.fields.kind.clone());
    form.set("permission", app.fields.permission.clone());
    if form.failed() {
        return edit_page(ctx, &app, form, 422);
    }
    match ctx.portal.call(viewer, Method::PATCH, &format!("/v1/applications/{}", segment(id)), "", body) {
        Ok(_) => Page::redirect(&format!("/applications/{id}?done=created")),
        Err(problem) if problem.kind == sandgate_core::problem::ProblemKind::Forbidden && problem.field.is_none() => {
            templates::not_found(ctx)
        }
        Err(problem) => {
            form.problem(&with_line(problem), APP_FIELDS);
            edit_page(ctx, &app, form, 422)
        }
    }
}

/// The application's page (also the operator's view of it, with `operator`).
pub(crate) fn app_page(
    ctx: &Ctx<'_>,
    viewer: &Viewer,
    app: &Application,
    form: Form,
    status: u16,
    operator: bool,
) -> Page {
    let store = &ctx.portal.control.store;
    let can_admin = viewer.actor.admin_of_app(app).is_ok();
    let developer = viewer.actor.is_developer();
    let partner = store.partner(&app.partner_id).map(|p| p.name).unwrap_or_default();
    let loaded = (|| -> Result<_, StoreError> {
        let credentials = store.credentials(&app.id)?;
        let invitations = if can_admin { store.invitations(&app.id)? } else { Vec::new() };
        let deliveries = store.deliveries(&app.id)?;
        let reviews = store.reviews(&app.id)?;
        Ok((credentials, invitations, deliveries, reviews))
    })();
    let (credentials, invitations, deliveries, reviews) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return templates::store_down(&e),
    };
    let latest = reviews.first();
    let reasons = latest.filter(|r| r.status == "rejected").map(|r| r.reasons.clone()).unwrap_or_default();
    let submission = match latest.filter(|r| r.status == "submitted") {
        Some(review) => {
            let s = &review.submission;
            let mut parts = vec![("Overview".to_owned(), s.overview.clone())];
            for (scope, why) in &s.scope_justifications {
                parts.push((format!("Scope {scope}"), why.clone()));
            }
            parts.push(("Security measures".to_owned(), s.security_measures.clone()));
            parts.push(("Post-deployment plan".to_owned(), s.post_deployment_plan.clone()));
            parts.push(("Submitted by".to_owned(), format!("{} at {}", review.submitted_by, review.submitted_at)));
            parts
        }
        None => Vec::new(),
    };
    let environments: Vec<String> = ctx
        .portal
        .control
        .settings
        .load()
        .environments
        .0
        .iter()
        .map(|e| e.as_str().to_owned())
        .filter(|e| !developer || e == "training")
        .collect();
    let f = &app.fields;
    let view = AppView {
        id: app.id.clone(),
        name: f.name.clone(),
        kind: f.kind.clone(),
        permission: f.permission.clone(),
        scopes: f.scopes.join(", "),
        trust: f.trust_list.clone(),
        webhooks: f.webhooks.iter().map(|w| format!("{} ← {}", w.url, w.events.join(", "))).collect(),
        entities: f.entities.join(", "),
        benefits: f.benefits.join(", "),
        description: f.description.clone(),
        status: app.status.clone(),
        review: app.review_status.clone(),
    };
    let page = AppPage {
        chrome: Chrome::new(ctx, &f.name),
        operator,
        can_admin,
        partner,
        app: view,
        credentials: credentials
            .into_iter()
            .map(|c| CredentialRow {
                manageable: !developer || c.environment == "training",
                client_id: c.client_id,
                environment: c.environment,
                status: c.status,
                created_at: c.created_at,
                grace: c.previous_secret_valid_until.unwrap_or_default(),
            })
            .collect(),
        environments,
        invitations: invitations
            .into_iter()
            .map(|i| InvitationRow { id: i.id, email: i.email, status: i.status, expires_at: i.expires_at })
            .collect(),
        deliveries: deliveries
            .into_iter()
            .map(|d| {
                let attempts = i64::try_from(d.attempts.len()).unwrap_or(i64::MAX);
                (d.event, d.url, d.status, attempts, d.next_attempt_at.unwrap_or_default())
            })
            .collect(),
        reasons,
        submission,
        form,
    };
    render(status, &page)
}

fn show(ctx: &Ctx<'_>, viewer: &Viewer, id: &str, form: Form, status: u16) -> Page {
    match readable(ctx, viewer, id) {
        Ok(app) => app_page(ctx, viewer, &app, form, status, false),
        Err(page) => page,
    }
}

/// A control-plane call whose success goes to `done`; a problem is shown on the application's
/// page (another partner's resource is a 404 page).
fn action(ctx: &Ctx<'_>, viewer: &Viewer, path: &str, body: Value, done: &str) -> Page {
    match ctx.portal.call(viewer, Method::POST, path, "", body) {
        Ok(_) => Page::redirect(done),
        Err(problem) => problem_page(ctx, &problem),
    }
}

fn problem_page(ctx: &Ctx<'_>, problem: &Problem) -> Page {
    use sandgate_core::problem::ProblemKind;
    match problem.kind {
        ProblemKind::NotFound => templates::not_found(ctx),
        ProblemKind::Forbidden => templates::message(ctx, 403, "Not allowed", &human(problem), "/", "Dashboard"),
        _ => templates::message(ctx, problem.kind.status(), "That did not work", &human(problem), "/", "Dashboard"),
    }
}

fn issue(ctx: &Ctx<'_>, viewer: &Viewer, id: &str) -> Page {
    let app = match readable(ctx, viewer, id) {
        Ok(app) => app,
        Err(page) => return page,
    };
    let environment = ctx.request.field("environment");
    let path = format!("/v1/applications/{}/credentials", segment(id));
    match ctx.portal.call(viewer, Method::POST, &path, "", json!({"environment": environment})) {
        Ok(Reply::Json(_, issued)) => secret_page(ctx, &app, &issued, "Credential issued"),
        Ok(_) => Page::redirect(&format!("/applications/{id}")),
        Err(problem) => problem_page(ctx, &problem),
    }
}

/// Shows a new secret once, with a first call when it is a TRAINING one.
fn secret_page(ctx: &Ctx<'_>, app: &Application, issued: &Value, heading: &str) -> Page {
    let client_id = issued["credential"]["client_id"].as_str().unwrap_or_default().to_owned();
    let environment = issued["credential"]["environment"].as_str().unwrap_or_default().to_owned();
    let secret = issued["client_secret"].as_str().unwrap_or_default().to_owned();
    let curl = match (&ctx.portal.try_it, environment.as_str()) {
        (Some(try_it), "training") => try_it.first_steps(&client_id, &secret),
        _ => String::new(),
    };
    let page = Secret {
        chrome: Chrome::new(ctx, heading),
        heading: heading.to_owned(),
        app_id: app.id.clone(),
        app_name: app.fields.name.clone(),
        environment,
        client_id,
        secret,
        curl,
    };
    render(201, &page)
}

/// Instant sandbox credentials: a TRAINING application with every scope of the first type the
/// specs declare (the demo application's type when one is declared), and its credential.
fn sandbox(ctx: &Ctx<'_>, viewer: &Viewer) -> Page {
    let (partner_id, partner, _) = membership(viewer);
    let trust_list = lines(ctx.request.field("trust_list"));
    let mut form = Form::with([("trust_list".to_owned(), ctx.request.field("trust_list").to_owned())]);
    let types = ctx.portal.control.app_types.all();
    let Some(kind) = ctx
        .portal
        .control
        .app_types
        .demo()
        .map(|d| d.kind.to_owned())
        .or_else(|| types.first().map(|t| t.name.clone()))
    else {
        form.fail("trust_list", "No API declares an application type; the operator has to add one to a spec.");
        return dashboard_with(ctx, viewer, form, 422);
    };
    let scopes = ctx.portal.control.app_types.get(&kind).map(|t| t.scopes.clone()).unwrap_or_default();
    let existing = ctx.portal.control.store.applications(&partner_id).map(|apps| apps.len()).unwrap_or(0);
    let name = format!("{}-sandbox-{}", slug(&partner), existing + 1);
    let body = json!({"name": name, "type": kind, "permission": "read_write", "scopes": scopes, "trust_list": trust_list,
                      "description": "Sandbox application created from the developer portal."});
    let path = format!("/v1/partners/{}/applications", segment(&partner_id));
    let created = match ctx.portal.call(viewer, Method::POST, &path, "", body) {
        Ok(Reply::Json(_, created)) => created,
        Ok(_) => return Page::redirect("/"),
        Err(problem) => {
            form.problem(&with_line(problem), &["trust_list"]);
            return dashboard_with(ctx, viewer, form, 422);
        }
    };
    let id = created["application"]["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/v1/applications/{}/credentials", segment(&id));
    match (
        ctx.portal.call(viewer, Method::POST, &path, "", json!({"environment": "training"})),
        ctx.portal.control.store.application(&id),
    ) {
        (Ok(Reply::Json(_, issued)), Ok(app)) => secret_page(ctx, &app, &issued, "Your sandbox credentials"),
        (Err(problem), _) => problem_page(ctx, &problem),
        _ => Page::redirect(&format!("/applications/{id}")),
    }
}

/// An application name (3 to 64 of a-z, 0-9 and '-') made from an account's name.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_matches('-').chars().take(40).collect();
    if out.len() < 3 {
        out.insert_str(0, "app");
    }
    out.trim_end_matches('-').to_owned()
}

fn credential_action(ctx: &Ctx<'_>, viewer: &Viewer, client_id: &str, verb: &str) -> Page {
    let credential = match ctx.portal.control.store.credential_info(client_id) {
        Ok(credential) => credential,
        Err(StoreError::NotFound { .. }) => return templates::not_found(ctx),
        Err(e) => return templates::store_down(&e),
    };
    let app = match readable(ctx, viewer, &credential.application_id) {
        Ok(app) => app,
        Err(page) => return page,
    };
    let path = format!("/v1/credentials/{}/{verb}", segment(client_id));
    match ctx.portal.call(viewer, Method::POST, &path, "", json!({})) {
        Ok(Reply::Json(_, rotated)) if verb == "rotate" => secret_page(ctx, &app, &rotated, "Secret rotated"),
        Ok(_) => Page::redirect(&format!("/applications/{}?done=revoked", app.id)),
        Err(problem) => problem_page(ctx, &problem),
    }
}

fn invite(ctx: &Ctx<'_>, viewer: &Viewer, id: &str) -> Page {
    let app = match readable(ctx, viewer, id) {
        Ok(app) => app,
        Err(page) => return page,
    };
    let email = ctx.request.field("email").to_lowercase();
    let path = format!("/v1/applications/{}/invitations", segment(id));
    match ctx.portal.call(viewer, Method::POST, &path, "", json!({"email": email})) {
        Ok(_) => Page::redirect(&format!("/applications/{id}?done=invited")),
        Err(problem)
            if problem.field.as_deref() == Some("email")
                || problem.kind == sandgate_core::problem::ProblemKind::Conflict =>
        {
            let mut form = Form::with([("email".to_owned(), email)]);
            form.problem(&problem, &["email"]);
            if form.err("email").is_empty() {
                let text = form.err("form").to_owned();
                form.fail("email", text);
            }
            app_page(ctx, viewer, &app, form, 422, false)
        }
        Err(problem) => problem_page(ctx, &problem),
    }
}

fn invitation_action(ctx: &Ctx<'_>, viewer: &Viewer, id: &str, verb: &str) -> Page {
    let invitation = match ctx.portal.control.store.invitation(id) {
        Ok(invitation) => invitation,
        Err(StoreError::NotFound { .. }) => return templates::not_found(ctx),
        Err(e) => return templates::store_down(&e),
    };
    let done = if verb == "revoke" { "revoked" } else { "renewed" };
    let path = format!("/v1/invitations/{}/{verb}", segment(id));
    action(ctx, viewer, &path, json!({}), &format!("/applications/{}?done={done}", invitation.application_id))
}

/// A date picker's `YYYY-MM-DD` as the start or end of that day (UTC), as the API wants it.
fn day_bound(day: &str, end: bool) -> Option<String> {
    chrono_like_day(day).then(|| if end { format!("{day}T23:59:59.999Z") } else { format!("{day}T00:00:00Z") })
}

fn chrono_like_day(day: &str) -> bool {
    let b = day.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// The activity query the filters ask for (`Err`: a bad date).
fn activity_query(ctx: &Ctx<'_>) -> Result<String, String> {
    let r = ctx.request;
    let mut query = form_urlencoded::Serializer::new(String::new());
    for key in ["event", "actor"] {
        if !r.param(key).trim().is_empty() {
            query.append_pair(key, r.param(key).trim());
        }
    }
    for (key, end) in [("since", false), ("until", true)] {
        let value = r.param(key).trim();
        if value.is_empty() {
            continue;
        }
        let bound = day_bound(value, end).ok_or_else(|| format!("{key} must be a date (YYYY-MM-DD); got {value:?}"))?;
        query.append_pair(key, &bound);
    }
    Ok(query.finish())
}

fn activity(ctx: &Ctx<'_>, viewer: &Viewer, id: &str) -> Page {
    let app = match readable(ctx, viewer, id) {
        Ok(app) => app,
        Err(page) => return page,
    };
    let r = ctx.request;
    let mut page = Activity {
        chrome: Chrome::new(ctx, "Activity log"),
        app_id: app.id.clone(),
        app_name: app.fields.name.clone(),
        event: r.param("event").to_owned(),
        actor: r.param("actor").to_owned(),
        since: r.param("since").to_owned(),
        until: r.param("until").to_owned(),
        error: String::new(),
        events: Vec::new(),
    };
    let query = match activity_query(ctx) {
        Ok(query) => query,
        Err(problem) => {
            page.error = problem;
            return render(422, &page);
        }
    };
    match ctx.portal.call(viewer, Method::GET, &format!("/v1/applications/{}/activity", segment(id)), &query, json!({}))
    {
        Ok(Reply::Json(_, answer)) => {
            page.events = answer["events"]
                .as_array()
                .map(|events| {
                    events
                        .iter()
                        .map(|e| {
                            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                            (text("at"), text("event"), text("actor"), e["details"].to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            render(200, &page)
        }
        Ok(_) => render(200, &page),
        Err(problem) => {
            page.error = human(&problem);
            render(problem.kind.status(), &page)
        }
    }
}

fn activity_csv(ctx: &Ctx<'_>, viewer: &Viewer, id: &str) -> Page {
    if let Err(page) = readable(ctx, viewer, id) {
        return page;
    }
    let query = match activity_query(ctx) {
        Ok(query) => query,
        Err(problem) => {
            return templates::message(
                ctx,
                422,
                "Bad filter",
                &problem,
                &format!("/applications/{id}/activity"),
                "Back",
            )
        }
    };
    match ctx.portal.call_csv(viewer, &format!("/v1/applications/{}/activity", segment(id)), &query) {
        Ok(Reply::Csv(text)) => {
            Page::download("text/csv; charset=utf-8", &format!("activity-{id}.csv"), text.into_bytes())
        }
        Ok(_) => Page::redirect(&format!("/applications/{id}/activity")),
        Err(problem) => problem_page(ctx, &problem),
    }
}

fn review_form(ctx: &Ctx<'_>, viewer: &Viewer, id: &str, form: Option<Form>, status: u16) -> Page {
    let app = match readable(ctx, viewer, id) {
        Ok(app) => app,
        Err(page) => return page,
    };
    if viewer.actor.admin_of_app(&app).is_err() {
        return templates::not_found(ctx);
    }
    let reasons = match ctx.portal.control.store.reviews(&app.id) {
        Ok(reviews) => {
            reviews.into_iter().next().filter(|r| r.status == "rejected").map(|r| r.reasons).unwrap_or_default()
        }
        Err(e) => return templates::store_down(&e),
    };
    let scopes = app
        .fields
        .scopes
        .iter()
        .map(|s| (format!("scope.{s}"), format!("Why the application needs the scope {s}")))
        .collect();
    let page = ReviewForm {
        chrome: Chrome::new(ctx, "Submit for production"),
        app_id: app.id.clone(),
        app_name: app.fields.name.clone(),
        scopes,
        reasons,
        form: form.unwrap_or_default(),
    };
    render(status, &page)
}

fn submit(ctx: &Ctx<'_>, viewer: &Viewer, id: &str) -> Page {
    let app = match readable(ctx, viewer, id) {
        Ok(app) => app,
        Err(page) => return page,
    };
    let r = ctx.request;
    let mut form = Form::default();
    let mut justifications = serde_json::Map::new();
    for scope in &app.fields.scopes {
        let field = format!("scope.{scope}");
        form.set(&field, r.field(&field));
        if r.field(&field).is_empty() {
            form.fail(&field, format!("Say why the application needs the scope {scope}."));
        }
        justifications.insert(scope.clone(), json!(r.field(&field)));
    }
    for (field, label) in [
        ("overview", "an overview"),
        ("security_measures", "the security measures"),
        ("post_deployment_plan", "the post-deployment plan"),
    ] {
        form.set(field, r.field(field));
        if r.field(field).is_empty() {
            form.fail(field, format!("Describe {label}."));
        }
    }
    if form.failed() {
        return review_form(ctx, viewer, id, Some(form), 422);
    }
    let body = json!({
        "overview": r.field("overview"),
        "scope_justifications": justifications,
        "security_measures": r.field("security_measures"),
        "post_deployment_plan": r.field("post_deployment_plan"),
    });
    match ctx.portal.call(viewer, Method::POST, &format!("/v1/applications/{}/review", segment(id)), "", body) {
        Ok(_) => Page::redirect(&format!("/applications/{id}?done=submitted")),
        Err(mut problem) => {
            if let Some(scope) = problem.field.as_deref().and_then(|f| f.strip_prefix("scope_justifications.")) {
                problem.field = Some(format!("scope.{scope}"));
            }
            let mut fields: Vec<String> =
                vec!["overview".into(), "security_measures".into(), "post_deployment_plan".into()];
            fields.extend(app.fields.scopes.iter().map(|s| format!("scope.{s}")));
            let names: Vec<&str> = fields.iter().map(String::as_str).collect();
            form.problem(&problem, &names);
            review_form(ctx, viewer, id, Some(form), 422)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sandbox_name_is_a_valid_application_name() {
        for partner in ["Acme Payments", "  Ünïcode & Co.  ", "X", "a--b"] {
            let name = format!("{}-sandbox-1", super::slug(partner));
            assert!(sandgate_control::rules::check_name(&name).is_ok(), "{partner:?} → {name:?}");
        }
    }
}
