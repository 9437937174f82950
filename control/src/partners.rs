//! Partner accounts and members: create an account with its owner, add members, list them.

use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Actor;
use super::http::{json, Problem, Reply};
use super::rules::{check_email, check_text};
use super::{json_reply, object, Call};
use crate::context::ControlContext;
use sandgate_store::{Member, NewPartner, Partner, StoreError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Person {
    name: String,
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatePartner {
    name: String,
    contact: Person,
    owner: Person,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddMember {
    email: String,
    name: String,
    role: String,
}

pub(super) fn me(call: &Call<'_>) -> Result<Reply, Problem> {
    let (kind, partner, role) = match call.actor {
        Actor::Operator(_) => ("operator", Value::Null, Value::Null),
        Actor::Member(p) => ("member", json!(p.member.partner_id), json!(p.member.role)),
        Actor::Anonymous => ("anonymous", Value::Null, Value::Null),
    };
    Ok(Reply::Json(
        200,
        object([("actor", json!(call.actor_label())), ("kind", json!(kind)), ("partner_id", partner), ("role", role)]),
    ))
}

pub(super) fn create(call: &Call<'_>) -> Result<Reply, Problem> {
    call.actor.operator()?;
    let body: CreatePartner = json(&call.request.body)?;
    let (partner, owner, key) = create_account(call.control, &call.actor_label(), &body)?;
    json_reply(201, json!({"partner": partner, "owner": owner, "member_key": key}))
}

/// A partner account as the sign-up page asks for it.
#[derive(Debug, Clone)]
pub struct SignUp<'a> {
    /// The organisation (the account's unique name).
    pub organisation: &'a str,
    /// The contact person's name and address.
    pub contact: (&'a str, &'a str),
    /// The owner's (the person signing up) name and address.
    pub owner: (&'a str, &'a str),
}

/// Creates a partner account from the portal's sign-up page, with the same checks as
/// `POST /v1/partners`; the owner is who signs up, and the activity log says so.
pub fn sign_up(control: &ControlContext, form: &SignUp<'_>) -> Result<(Partner, Member), Problem> {
    let body = CreatePartner {
        name: form.organisation.to_owned(),
        contact: Person { name: form.contact.0.to_owned(), email: form.contact.1.to_owned() },
        owner: Person { name: form.owner.0.to_owned(), email: form.owner.1.to_owned() },
    };
    let actor = format!("member:{}", form.owner.1.trim());
    let (partner, owner, _key) = create_account(control, &actor, &body)?;
    Ok((partner, owner))
}

fn create_account(
    control: &ControlContext,
    actor: &str,
    body: &CreatePartner,
) -> Result<(Partner, Member, String), Problem> {
    check_text("name", &body.name, 100)?;
    check_text("contact.name", &body.contact.name, 200)?;
    check_email("contact.email", &body.contact.email)?;
    check_text("owner.name", &body.owner.name, 200)?;
    check_email("owner.email", &body.owner.email)?;
    let new = NewPartner {
        name: body.name.trim(),
        contact: (body.contact.name.trim(), body.contact.email.trim()),
        owner: (body.owner.name.trim(), body.owner.email.trim()),
    };
    Ok(control.store.create_partner(actor, &new, &control.keys.secret_hash)?)
}

pub(super) fn list(call: &Call<'_>) -> Result<Reply, Problem> {
    call.actor.operator()?;
    json_reply(200, json!({"partners": call.control.store.partners()?}))
}

pub(super) fn show(call: &Call<'_>) -> Result<Reply, Problem> {
    let id = call.param("partner_id");
    call.actor.reader_of_partner(id)?;
    json_reply(200, call.control.store.partner(id)?)
}

pub(super) fn add_member(call: &Call<'_>) -> Result<Reply, Problem> {
    let id = call.param("partner_id");
    call.actor.admin_of_partner(id)?;
    let body: AddMember = json(&call.request.body)?;
    check_email("email", &body.email)?;
    check_text("name", &body.name, 200)?;
    if !matches!(body.role.as_str(), "owner" | "admin" | "developer") {
        return Err(
            StoreError::invalid("role", format!("must be owner, admin or developer; got {:?}", body.role)).into()
        );
    }
    if body.role == "owner" && matches!(call.actor, Actor::Member(p) if p.member.role != "owner") {
        return Err(StoreError::Forbidden("only an owner (or an operator) can add another owner".into()).into());
    }
    let (member, key) = call.control.store.add_member(
        &call.actor_label(),
        id,
        (&body.name, &body.email),
        &body.role,
        &call.control.keys.secret_hash,
    )?;
    json_reply(201, json!({"member": member, "member_key": key}))
}

pub(super) fn revoke_member(call: &Call<'_>) -> Result<Reply, Problem> {
    let partner_id = call.param("partner_id");
    call.actor.admin_of_partner(partner_id)?;
    let member_id = call.param("member_id");
    let target = call.control.store.members(partner_id)?.into_iter().find(|m| m.id == member_id);
    if target.is_some_and(|m| m.role == "owner") && matches!(call.actor, Actor::Member(p) if p.member.role != "owner") {
        return Err(StoreError::Forbidden("only an owner (or an operator) can revoke an owner".into()).into());
    }
    json_reply(200, call.control.store.revoke_member(&call.actor_label(), partner_id, member_id)?)
}

pub(super) fn members(call: &Call<'_>) -> Result<Reply, Problem> {
    let id = call.param("partner_id");
    call.actor.reader_of_partner(id)?;
    let mut members = call.control.store.members(id)?;
    // A developer sees its own entry only: the account's people and their roles are for the
    // owners and admins who manage them.
    if let Actor::Member(p) = &call.actor {
        if p.member.role == "developer" {
            members.retain(|m| m.id == p.member.id);
        }
    }
    json_reply(200, json!({"members": members}))
}
