//! The emulator's sandbox data on demand (operators): scrub everything, one environment, or one
//! partner in one environment, as the daily schedule does for everything.

use sandgate_core::problem::ProblemKind;
use sandgate_emulator::state::{ScrubScope, Tenant};
use serde::Deserialize;
use serde_json::json;

use super::http::{json, Problem, Reply};
use super::{json_reply, Call};
use sandgate_store::StoreError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scrub {
    #[serde(default, deserialize_with = "crate::http::not_null")]
    environment: Option<String>,
    #[serde(default, deserialize_with = "crate::http::not_null")]
    partner_id: Option<String>,
}

pub(super) fn scrub(call: &Call<'_>) -> Result<Reply, Problem> {
    call.actor.operator()?;
    let body: Scrub = json(&call.request.body)?;
    let Some(emulator) = &call.control.emulator else {
        return Err(StoreError::conflict("environment", "no environment is served by the emulator").into());
    };
    let environments = call.control.settings.load().environments.clone();
    let environment = match &body.environment {
        None => None,
        Some(name) => match environments.find(&name.to_ascii_lowercase()) {
            Some(env) => Some(env),
            None => {
                let names: Vec<&str> = environments.0.iter().map(|e| e.as_str()).collect();
                return Err(
                    StoreError::invalid("environment", format!("must be one of {names:?}; got {name:?}")).into()
                );
            }
        },
    };
    let scope = match (environment, body.partner_id.as_deref()) {
        (None, None) => ScrubScope::All,
        (Some(env), None) => ScrubScope::Environment(env.as_str()),
        (Some(env), Some(partner)) => {
            call.control.store.partner(partner)?;
            ScrubScope::Tenant(Tenant { environment: env.as_str(), partner })
        }
        (None, Some(_)) => {
            return Err(StoreError::invalid("environment", "a partner's scrub names the environment too").into())
        }
    };
    let removed = emulator.scrub(scope).map_err(|e| {
        tracing::error!(error = %e, "scrub failed");
        Problem::new(
            ProblemKind::StoreUnavailable,
            "the sandbox state could not be scrubbed; nothing was removed",
            None,
        )
    })?;
    let next = emulator.next_scrub().map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let details = json!({"environment": body.environment, "removed": removed});
    call.control.store.record_event(
        &call.actor_label(),
        body.partner_id.as_deref(),
        None,
        "emulator.scrubbed",
        details,
    )?;
    json_reply(
        200,
        json!({"removed": removed, "environment": environment.map(|e| e.as_str()), "partner_id": body.partner_id,
               "next_scheduled_scrub": next}),
    )
}
