//! An operator's entities and the applications connected to them: connect (benefits created,
//! `integration.connected` queued), disconnect (`integration.disconnected`), list.

use serde_json::json;

use super::http::{Problem, Reply};
use super::{json_reply, Call};

fn entity<'a>(call: &'a Call<'_>) -> (&'a str, &'a str) {
    (call.param("entity_type"), call.param("entity_id"))
}

pub(super) fn connect(call: &Call<'_>) -> Result<Reply, Problem> {
    call.actor.operator()?;
    let outcome = call.control.store.connect(&call.actor_label(), entity(call), call.param("application_id"))?;
    if outcome.changed {
        call.control.webhook_wake.notify_one();
    }
    let status = if outcome.changed { 201 } else { 200 };
    json_reply(status, json!({"connection": outcome.connection, "benefits": outcome.benefits}))
}

pub(super) fn disconnect(call: &Call<'_>) -> Result<Reply, Problem> {
    call.actor.operator()?;
    let (connection, changed) =
        call.control.store.disconnect(&call.actor_label(), entity(call), call.param("application_id"))?;
    if changed {
        call.control.webhook_wake.notify_one();
    }
    json_reply(200, connection)
}

pub(super) fn list(call: &Call<'_>) -> Result<Reply, Problem> {
    call.actor.operator()?;
    json_reply(200, json!({"connections": call.control.store.connections(entity(call))?}))
}

pub(super) fn benefits(call: &Call<'_>) -> Result<Reply, Problem> {
    call.actor.operator()?;
    json_reply(200, json!({"benefits": call.control.store.benefits(entity(call))?}))
}
