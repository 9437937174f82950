//! Access to an application: client credentials (issue, rotate with grace, revoke) and developer
//! invitations (one-time password, verify, reset, resend, revoke).

use serde::Deserialize;
use serde_json::json;

use super::applications::{readable, writable};
use super::http::{json, Problem, Reply};
use super::mail;
use super::rules::check_email;
use super::{json_reply, Call};
use sandgate_store::{Application, Credential, Invitation, Mail, StoreError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Issue {
    environment: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rotate {
    grace_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Invite {
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verify {
    otp: String,
}

/// Longest grace period a rotation may ask for (30 days).
const MAX_GRACE_SECS: u64 = 30 * 86_400;

pub(super) fn issue(call: &Call<'_>) -> Result<Reply, Problem> {
    let app = readable(call)?;
    let body: Issue = json(&call.request.body)?;
    let environments = call.control.settings.load().environments.clone();
    let Some(env) = environments.find(&body.environment.to_ascii_lowercase()) else {
        let names: Vec<&str> = environments.0.iter().map(|e| e.as_str()).collect();
        return Err(StoreError::invalid(
            "environment",
            format!("must be one of {names:?}; got {:?}", body.environment),
        )
        .into());
    };
    if call.actor.is_developer() && env.as_str() != "training" {
        return Err(StoreError::Forbidden("a developer may only get TRAINING credentials".into()).into());
    }
    let (credential, secret) =
        call.control.store.issue(&call.actor_label(), &app.id, env, &call.control.keys.secret_hash)?;
    credential_event(call, &app, &credential.client_id, "issued");
    json_reply(201, json!({"credential": credential, "client_secret": secret}))
}

pub(super) fn list(call: &Call<'_>) -> Result<Reply, Problem> {
    let app = readable(call)?;
    json_reply(200, json!({"credentials": call.control.store.credentials(&app.id)?}))
}

/// The credential named in the path, if the caller may use its application.
fn credential(call: &Call<'_>) -> Result<(Credential, Application), Problem> {
    let credential = call.control.store.credential_info(call.param("client_id"))?;
    let app = call.control.store.application(&credential.application_id)?;
    call.actor.reader_of_app(&app).map_err(|_| StoreError::not_found("credential", &credential.client_id))?;
    if call.actor.is_developer() && credential.environment != "training" {
        return Err(StoreError::Forbidden("a developer may only manage TRAINING credentials".into()).into());
    }
    Ok((credential, app))
}

pub(super) fn rotate(call: &Call<'_>) -> Result<Reply, Problem> {
    let (credential, app) = credential(call)?;
    let body: Rotate = json(&call.request.body)?;
    let grace = body.grace_seconds.unwrap_or(call.control.settings.load().control_plane.rotation_grace_secs);
    if grace > MAX_GRACE_SECS {
        return Err(StoreError::invalid("grace_seconds", format!("at most {MAX_GRACE_SECS} (30 days)")).into());
    }
    let grace = i64::try_from(grace).unwrap_or(0);
    let (credential, secret) =
        call.control.store.rotate(&call.actor_label(), &credential.client_id, grace, &call.control.keys.secret_hash)?;
    credential_event(call, &app, &credential.client_id, "rotated");
    json_reply(200, json!({"credential": credential, "client_secret": secret}))
}

pub(super) fn revoke(call: &Call<'_>) -> Result<Reply, Problem> {
    let (credential, app) = credential(call)?;
    let revoked = call.control.store.revoke(&call.actor_label(), &credential.client_id)?;
    credential_event(call, &app, &credential.client_id, "revoked");
    json_reply(200, revoked)
}

/// Tells the account's owners and admins that a credential changed (a secret they did not
/// change themselves is worth knowing about).
fn credential_event(call: &Call<'_>, app: &Application, client_id: &str, verb: &str) {
    let body =
        format!("{} {verb} the credential {client_id} of the application \"{}\".", call.actor_label(), app.fields.name);
    let subject = format!("Credential {verb}: {client_id}");
    mail::notify_admins(call.control, app, &subject, &body, &format!("credential.{verb}"));
}

fn ttl(call: &Call<'_>) -> i64 {
    i64::try_from(call.control.settings.load().control_plane.invitation_ttl_secs).unwrap_or(259_200)
}

pub(super) fn invite(call: &Call<'_>) -> Result<Reply, Problem> {
    let app = writable(call)?;
    let body: Invite = json(&call.request.body)?;
    check_email("email", &body.email)?;
    let (invitation, otp) = call.control.store.invite(
        &call.actor_label(),
        &app.id,
        &body.email,
        ttl(call),
        &call.control.keys.secret_hash,
    )?;
    let mail = send_invitation(call, &app, &invitation, &otp);
    json_reply(201, json!({"invitation": invitation, "otp": otp, "mail_id": mail.map(|m| m.id)}))
}

pub(super) fn invitations(call: &Call<'_>) -> Result<Reply, Problem> {
    let app = writable(call)?;
    json_reply(200, json!({"invitations": call.control.store.invitations(&app.id)?}))
}

pub(super) fn verify(call: &Call<'_>) -> Result<Reply, Problem> {
    let body: Verify = json(&call.request.body)?;
    let verified =
        call.control.store.verify_invitation(call.param("invitation_id"), &body.otp, &call.control.keys.secret_hash)?;
    json_reply(
        200,
        json!({"invitation": verified.invitation, "member": verified.member, "member_key": verified.member_key}),
    )
}

/// The invitation named in the path, if the caller administers its application.
fn administered_invitation(call: &Call<'_>) -> Result<String, Problem> {
    let id = call.param("invitation_id");
    let invitation = call.control.store.invitation(id)?;
    let app = call.control.store.application(&invitation.application_id)?;
    call.actor.admin_of_app(&app).map_err(|e| match e {
        StoreError::NotFound { .. } => StoreError::not_found("invitation", id),
        other => other,
    })?;
    Ok(invitation.id)
}

fn renew(call: &Call<'_>, event: &str) -> Result<Reply, Problem> {
    let id = administered_invitation(call)?;
    let (invitation, otp) = call.control.store.renew_invitation(
        &call.actor_label(),
        &id,
        event,
        ttl(call),
        &call.control.keys.secret_hash,
    )?;
    let app = call.control.store.application(&invitation.application_id)?;
    let mail = send_invitation(call, &app, &invitation, &otp);
    json_reply(200, json!({"invitation": invitation, "otp": otp, "mail_id": mail.map(|m| m.id)}))
}

/// E-mails the invitee the one-time password and where to use it.
fn send_invitation(call: &Call<'_>, app: &Application, invitation: &Invitation, otp: &str) -> Option<Mail> {
    let partner = call.control.store.partner(&app.partner_id).map(|p| p.name).unwrap_or_default();
    let accept = match mail::portal_link(call.control, &format!("/invitations/{}", invitation.id)) {
        Some(url) => format!("Accept it in the developer portal: {url}\n"),
        None => format!("Accept it with POST /v1/invitations/{}/verify {{\"otp\": \"…\"}}.\n", invitation.id),
    };
    let body = format!(
        "Hello,\n\n{} invited you to work on the application \"{}\" of {partner}.\n\nYour one-time password: {otp}\nIt is valid until {} and works once.\n\n{accept}\nIf you did not expect this, ignore this message.\n",
        call.actor_label(),
        app.fields.name,
        invitation.expires_at
    );
    let subject = format!("Invitation to {} ({partner})", app.fields.name);
    mail::notify(call.control, &invitation.email, &subject, &body, "invitation")
}

pub(super) fn reset(call: &Call<'_>) -> Result<Reply, Problem> {
    renew(call, "invitation.reset")
}

pub(super) fn resend(call: &Call<'_>) -> Result<Reply, Problem> {
    renew(call, "invitation.resent")
}

pub(super) fn revoke_invitation(call: &Call<'_>) -> Result<Reply, Problem> {
    let id = administered_invitation(call)?;
    json_reply(200, call.control.store.revoke_invitation(&call.actor_label(), &id)?)
}
