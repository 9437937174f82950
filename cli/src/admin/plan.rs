//! Each `sandgate admin` command as the one control-plane call it makes: method, path, body.

use serde_json::{json, Map, Value};

use super::commands::*;
use super::AdminCommand;

/// One API call: method, path, body.
pub(super) type Call = (reqwest::Method, String, Option<Value>);

/// Percent-encodes one path segment (RFC 3986 unreserved characters stay as they are).
fn enc(segment: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::utf8_percent_encode(segment, SEGMENT).to_string()
}

fn fields_json(fields: AppFields, mut map: Map<String, Value>) -> Result<Value, String> {
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_owned(), value);
    };
    if let Some(v) = fields.description {
        put("description", json!(v));
    }
    if let Some(v) = fields.category {
        put("category", json!(v));
    }
    if let Some(v) = fields.plan {
        put("plan", json!(v));
    }
    for list in &fields.clear {
        put(list, json!([]));
    }
    for (key, list) in [
        ("scopes", &fields.scopes),
        ("trust_list", &fields.trust_list),
        ("entities", &fields.entities),
        ("benefits", &fields.benefits),
    ] {
        if !list.is_empty() {
            put(key, json!(list));
        }
    }
    if !fields.webhooks.is_empty() {
        let mut hooks = Vec::new();
        for hook in &fields.webhooks {
            // The events come last, so the URL may itself hold '='.
            let (url, events) =
                hook.rsplit_once('=').ok_or_else(|| format!("--webhook {hook:?}: write URL=event[,event…]"))?;
            hooks.push(json!({"url": url, "events": events.split(',').collect::<Vec<_>>()}));
        }
        put("webhooks", Value::Array(hooks));
    }
    Ok(Value::Object(map))
}

pub(super) fn plan(command: AdminCommand) -> Result<Call, String> {
    use reqwest::Method as M;
    let get = |path: String| Ok((M::GET, path, None));
    let post = |path: String, body: Value| Ok((M::POST, path, Some(body)));
    match command {
        AdminCommand::Me => get("/v1/me".into()),
        AdminCommand::HashToken => Err("hash-token is handled locally".into()),
        AdminCommand::Partners(Partners::Create { name, contact_name, contact_email, owner_name, owner_email }) => {
            post(
                "/v1/partners".into(),
                json!({"name": name, "contact": {"name": contact_name, "email": contact_email}, "owner": {"name": owner_name, "email": owner_email}}),
            )
        }
        AdminCommand::Partners(Partners::List) => get("/v1/partners".into()),
        AdminCommand::Partners(Partners::Show { id }) => get(format!("/v1/partners/{}", enc(&id))),
        AdminCommand::Members(Members::Add { partner, email, name, role }) => {
            post(format!("/v1/partners/{}/members", enc(&partner)), json!({"email": email, "name": name, "role": role}))
        }
        AdminCommand::Members(Members::List { partner }) => get(format!("/v1/partners/{}/members", enc(&partner))),
        AdminCommand::Members(Members::Revoke { partner, member_id }) => {
            post(format!("/v1/partners/{}/members/{}/revoke", enc(&partner), enc(&member_id)), json!({}))
        }
        AdminCommand::Apps(Apps::Create { partner, name, kind, permission, fields }) => {
            let mut map = Map::new();
            map.insert("name".into(), json!(name));
            map.insert("type".into(), json!(kind));
            map.insert("permission".into(), json!(permission));
            post(format!("/v1/partners/{}/applications", enc(&partner)), fields_json(fields, map)?)
        }
        AdminCommand::Apps(Apps::List { partner }) => get(format!("/v1/partners/{}/applications", enc(&partner))),
        AdminCommand::Apps(Apps::Show { id }) => get(format!("/v1/applications/{}", enc(&id))),
        AdminCommand::Apps(Apps::Update { id, fields }) => {
            Ok((M::PATCH, format!("/v1/applications/{}", enc(&id)), Some(fields_json(fields, Map::new())?)))
        }
        AdminCommand::Apps(Apps::Revoke { id, reason }) => {
            post(format!("/v1/applications/{}/revoke", enc(&id)), json!({"reason": reason}))
        }
        AdminCommand::Apps(Apps::RotateWebhookSecret { id }) => {
            post(format!("/v1/applications/{}/webhook-secret", enc(&id)), json!({}))
        }
        AdminCommand::Credentials(Credentials::Issue { app, environment }) => {
            post(format!("/v1/applications/{}/credentials", enc(&app)), json!({"environment": environment}))
        }
        AdminCommand::Credentials(Credentials::List { app }) => {
            get(format!("/v1/applications/{}/credentials", enc(&app)))
        }
        AdminCommand::Credentials(Credentials::Rotate { client_id, grace_seconds }) => {
            let body = grace_seconds.map_or(json!({}), |g| json!({"grace_seconds": g}));
            post(format!("/v1/credentials/{}/rotate", enc(&client_id)), body)
        }
        AdminCommand::Credentials(Credentials::Revoke { client_id }) => {
            post(format!("/v1/credentials/{}/revoke", enc(&client_id)), json!({}))
        }
        AdminCommand::Invitations(Invitations::Create { app, email }) => {
            post(format!("/v1/applications/{}/invitations", enc(&app)), json!({"email": email}))
        }
        AdminCommand::Invitations(Invitations::List { app }) => {
            get(format!("/v1/applications/{}/invitations", enc(&app)))
        }
        AdminCommand::Invitations(Invitations::Verify { id, otp }) => {
            post(format!("/v1/invitations/{}/verify", enc(&id)), json!({"otp": otp}))
        }
        AdminCommand::Invitations(Invitations::Reset { id }) => {
            post(format!("/v1/invitations/{}/reset", enc(&id)), json!({}))
        }
        AdminCommand::Invitations(Invitations::Resend { id }) => {
            post(format!("/v1/invitations/{}/resend", enc(&id)), json!({}))
        }
        AdminCommand::Invitations(Invitations::Revoke { id }) => {
            post(format!("/v1/invitations/{}/revoke", enc(&id)), json!({}))
        }
        AdminCommand::Review(Review::Submit {
            app,
            overview,
            justifications,
            security_measures,
            post_deployment_plan,
        }) => {
            let mut map = Map::new();
            for pair in &justifications {
                let (scope, text) =
                    pair.split_once('=').ok_or_else(|| format!("--justify {pair:?}: write SCOPE=justification"))?;
                map.insert(scope.to_owned(), json!(text));
            }
            post(
                format!("/v1/applications/{}/review", enc(&app)),
                json!({"overview": overview, "scope_justifications": map, "security_measures": security_measures, "post_deployment_plan": post_deployment_plan}),
            )
        }
        AdminCommand::Review(Review::Approve { app }) => {
            post(format!("/v1/applications/{}/review/approve", enc(&app)), json!({}))
        }
        AdminCommand::Review(Review::Reject { app, reasons }) => {
            post(format!("/v1/applications/{}/review/reject", enc(&app)), json!({"reasons": reasons}))
        }
        AdminCommand::Review(Review::List { app }) => get(format!("/v1/applications/{}/review", enc(&app))),
        AdminCommand::Activity { app, partner, event, actor, since, until, after, limit, csv } => {
            let base = match (app, partner) {
                (Some(app), _) => format!("/v1/applications/{}/activity", enc(&app)),
                (None, Some(partner)) => format!("/v1/partners/{}/activity", enc(&partner)),
                (None, None) => return Err("give --app or --partner".into()),
            };
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (key, value) in [
                ("event", event),
                ("actor", actor),
                ("since", since),
                ("until", until),
                ("after", after.map(|a| a.to_string())),
                ("limit", limit.map(|l| l.to_string())),
            ] {
                if let Some(value) = value {
                    query.append_pair(key, &value);
                }
            }
            if csv {
                query.append_pair("format", "csv");
            }
            let query = query.finish();
            get(if query.is_empty() { base } else { format!("{base}?{query}") })
        }
        AdminCommand::Connections(c) => {
            let entity = |t: &str, id: &str, rest: &str| format!("/v1/entities/{}/{}/{rest}", enc(t), enc(id));
            let link =
                |a: &ConnectionArgs| entity(&a.entity_type, &a.entity_id, &format!("connections/{}", enc(&a.app)));
            match c {
                Connections::Connect(a) => Ok((M::PUT, link(&a), None)),
                Connections::Disconnect(a) => Ok((M::DELETE, link(&a), None)),
                Connections::List(e) => get(entity(&e.entity_type, &e.entity_id, "connections")),
                Connections::Benefits(e) => get(entity(&e.entity_type, &e.entity_id, "benefits")),
            }
        }
        AdminCommand::Deliveries { app } => get(format!("/v1/applications/{}/webhook-deliveries", enc(&app))),
        AdminCommand::Mail { to, limit } => {
            let mut query = form_urlencoded::Serializer::new(String::new());
            if let Some(to) = to {
                query.append_pair("to", &to);
            }
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
            let query = query.finish();
            get(if query.is_empty() { "/v1/mail".to_owned() } else { format!("/v1/mail?{query}") })
        }
        AdminCommand::Emulator(Emulator::Scrub { environment, partner }) => {
            let mut body = Map::new();
            for (key, value) in [("environment", environment), ("partner_id", partner)] {
                if let Some(value) = value {
                    body.insert(key.to_owned(), json!(value));
                }
            }
            post("/v1/emulator/scrub".into(), Value::Object(body))
        }
    }
}
