//! Partner accounts and members: create an account with its owner, add members, list them.

use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Actor;
use super::http::{json, Problem, Reply};
use super::rules::{check_email, check_text};
use super::{json_reply, object, Call};
use sandgate_store::{NewPartner, StoreError};

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
    check_text("name", &body.name, 100)?;
    check_text("contact.name", &body.contact.name, 200)?;
    check_email("contact.email", &body.contact.email)?;
    check_text("owner.name", &body.owner.name, 200)?;
    check_email("owner.email", &body.owner.email)?;
    let new = NewPartner {
        name: body.name.trim(),
        contact: (&body.contact.name, &body.contact.email),
        owner: (&body.owner.name, &body.owner.email),
    };
    let (partner, owner, key) =
        call.control.store.create_partner(&call.actor_label(), &new, &call.control.keys.secret_hash)?;
    json_reply(201, json!({"partner": partner, "owner": owner, "member_key": key}))
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
