//! `sandgate admin …`: the control-plane API from the command line, for operators' scripts.
//!
//! Every command is one HTTP call to a running Sandgate's admin listener (so the gateway sees the
//! change at once); the answer's JSON goes to stdout, a problem's detail to stderr. Exit codes:
//! 0 success, 1 refused by the API, 2 usage or connection error.

use std::io::Read;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use sandgate_gateway::config::{ConfigArgs, SandgateConfig};

/// `sandgate admin` arguments.
#[derive(Debug, Args)]
pub(crate) struct AdminArgs {
    /// Admin listener URL [default: http:// + admin.listen from the config]
    #[arg(long, env = "SANDGATE_ADMIN_URL", global = true)]
    url: Option<String>,
    /// Operator token or member key [default: <data_dir>/secrets/operator.token]
    #[arg(long, env = "SANDGATE_ADMIN_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Who the token belongs to.
    Me,
    /// Print the SHA-256 of a token read from stdin (for admin.operator_tokens in sandgate.yaml).
    HashToken,
    /// Partner accounts.
    #[command(subcommand)]
    Partners(Partners),
    /// Members of a partner account.
    #[command(subcommand)]
    Members(Members),
    /// Developer applications.
    #[command(subcommand)]
    Apps(Apps),
    /// Client credentials.
    #[command(subcommand)]
    Credentials(Credentials),
    /// Developer invitations.
    #[command(subcommand)]
    Invitations(Invitations),
    /// Production review.
    #[command(subcommand)]
    Review(Review),
    /// The activity log of an application or a partner (JSON, or CSV with --csv).
    Activity {
        /// Application id.
        #[arg(long, conflicts_with = "partner", required_unless_present = "partner")]
        app: Option<String>,
        /// Partner id.
        #[arg(long)]
        partner: Option<String>,
        /// Events whose name starts with this (credential.).
        #[arg(long)]
        event: Option<String>,
        /// Only this actor.
        #[arg(long)]
        actor: Option<String>,
        /// From (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Until (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// Only events after this sequence number (the `next_after` of the previous page).
        #[arg(long)]
        after: Option<i64>,
        /// At most this many (1..1000) [JSON: 100; CSV: the whole log].
        #[arg(long)]
        limit: Option<u32>,
        /// RFC 4180 CSV instead of JSON.
        #[arg(long)]
        csv: bool,
    },
    /// Connections of an operator's entity to applications.
    #[command(subcommand)]
    Connections(Connections),
    /// The webhook delivery log of an application.
    Deliveries {
        /// Application id.
        #[arg(long)]
        app: String,
    },
    /// The emulator's sandbox data.
    #[command(subcommand)]
    Emulator(Emulator),
}

#[derive(Debug, Subcommand)]
enum Emulator {
    /// Scrub now (operator): everything, one environment, or one partner in one environment.
    Scrub {
        /// training, or another environment the emulator serves.
        #[arg(long)]
        environment: Option<String>,
        /// Only this partner's data (needs --environment).
        #[arg(long, requires = "environment")]
        partner: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum Partners {
    /// Create a partner account with its owner; prints the owner's member key once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        contact_name: String,
        #[arg(long)]
        contact_email: String,
        #[arg(long)]
        owner_name: String,
        #[arg(long)]
        owner_email: String,
    },
    /// List partner accounts.
    List,
    /// Show one.
    Show { id: String },
}

#[derive(Debug, Subcommand)]
enum Members {
    /// Add a member (owner, admin, developer); prints its member key once.
    Add {
        #[arg(long)]
        partner: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
    },
    /// List members.
    List {
        #[arg(long)]
        partner: String,
    },
    /// Revoke a member: its key stops working at once.
    Revoke {
        #[arg(long)]
        partner: String,
        member_id: String,
    },
}

#[derive(Debug, Args)]
struct AppFields {
    /// Description.
    #[arg(long)]
    description: Option<String>,
    /// Category.
    #[arg(long)]
    category: Option<String>,
    /// A scope (repeat).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// A trust list entry: IP, CIDR or trust URL (repeat).
    #[arg(long = "trust")]
    trust_list: Vec<String>,
    /// A webhook: URL=event[,event…] (repeat).
    #[arg(long = "webhook")]
    webhooks: Vec<String>,
    /// An entity type it may access (repeat).
    #[arg(long = "entity")]
    entities: Vec<String>,
    /// A benefit it brings (repeat).
    #[arg(long = "benefit")]
    benefits: Vec<String>,
    /// Rate-limit plan.
    #[arg(long)]
    plan: Option<String>,
    /// Empty a list (update only): webhooks, trust_list, entities or benefits (repeat).
    #[arg(long = "clear", value_parser = ["webhooks", "trust_list", "entities", "benefits"])]
    clear: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum Apps {
    /// Create an application; prints its webhook signing secret once.
    Create {
        #[arg(long)]
        partner: String,
        #[arg(long)]
        name: String,
        /// An application type the specs declare (x-sandgate-application-types), e.g. generic.
        #[arg(long = "type")]
        kind: String,
        /// read or read_write (immutable).
        #[arg(long)]
        permission: String,
        #[command(flatten)]
        fields: AppFields,
    },
    /// List a partner's applications.
    List {
        #[arg(long)]
        partner: String,
    },
    /// Show one.
    Show { id: String },
    /// Change description, category, scopes, trust list, webhooks, entities, benefits or plan
    /// (given lists replace the current ones).
    Update {
        id: String,
        #[command(flatten)]
        fields: AppFields,
    },
    /// Revoke: every credential and token stops on the next request.
    Revoke {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Rotate the webhook signing secret; prints the new one once.
    RotateWebhookSecret { id: String },
}

#[derive(Debug, Subcommand)]
enum Credentials {
    /// Issue a credential; prints the secret once.
    Issue {
        #[arg(long)]
        app: String,
        /// training, production, or a configured environment.
        #[arg(long)]
        environment: String,
    },
    /// List an application's credentials.
    List {
        #[arg(long)]
        app: String,
    },
    /// New secret; the old one works for the grace period.
    Rotate {
        client_id: String,
        #[arg(long)]
        grace_seconds: Option<u64>,
    },
    /// Revoke one credential.
    Revoke { client_id: String },
}

#[derive(Debug, Subcommand)]
enum Invitations {
    /// Invite a developer; prints the one-time password once.
    Create {
        #[arg(long)]
        app: String,
        #[arg(long)]
        email: String,
    },
    /// List an application's invitations.
    List {
        #[arg(long)]
        app: String,
    },
    /// Verify with the one-time password; prints the member key once.
    Verify {
        id: String,
        #[arg(long)]
        otp: String,
    },
    /// New one-time password.
    Reset { id: String },
    /// Send again with a new one-time password.
    Resend { id: String },
    /// Revoke the invitation and the developer's access.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
enum Review {
    /// Submit for production.
    Submit {
        #[arg(long)]
        app: String,
        #[arg(long)]
        overview: String,
        /// SCOPE=justification (one per scope of the application).
        #[arg(long = "justify")]
        justifications: Vec<String>,
        #[arg(long)]
        security_measures: String,
        #[arg(long)]
        post_deployment_plan: String,
    },
    /// Approve (operator): issues a PRODUCTION credential, secret printed once.
    Approve { app: String },
    /// Reject (operator) with reasons.
    Reject {
        app: String,
        #[arg(long = "reason", required = true)]
        reasons: Vec<String>,
    },
    /// The reviews of an application.
    List {
        #[arg(long)]
        app: String,
    },
}

/// An entity and an application.
#[derive(Debug, Args)]
struct ConnectionArgs {
    #[arg(long)]
    entity_type: String,
    #[arg(long)]
    entity_id: String,
    #[arg(long)]
    app: String,
}

/// An entity.
#[derive(Debug, Args)]
struct EntityArgs {
    #[arg(long)]
    entity_type: String,
    #[arg(long)]
    entity_id: String,
}

#[derive(Debug, Subcommand)]
enum Connections {
    /// Connect an entity to an application (idempotent; sends integration.connected).
    Connect(ConnectionArgs),
    /// Disconnect (sends integration.disconnected).
    Disconnect(ConnectionArgs),
    /// An entity's connections.
    List(EntityArgs),
    /// An entity's benefits.
    Benefits(EntityArgs),
}

/// One API call: method, path, body.
type Call = (reqwest::Method, String, Option<Value>);

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

fn plan(command: AdminCommand) -> Result<Call, String> {
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

/// Runs one `sandgate admin` command.
pub(crate) fn run(args: AdminArgs) -> ExitCode {
    if matches!(args.command, AdminCommand::HashToken) {
        let mut token = String::new();
        if std::io::stdin().read_to_string(&mut token).is_err() || token.trim().is_empty() {
            eprintln!("sandgate admin hash-token: pipe the token on stdin");
            return ExitCode::from(2);
        }
        let digest = sandgate_control::auth::digest(token.trim());
        println!("{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>());
        return ExitCode::SUCCESS;
    }
    let settings = match SandgateConfig::load(args.config.config.as_deref())
        .map(|c| c.merge_args(&args.config))
        .and_then(|c| c.compile())
    {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("sandgate admin: {e}");
            return ExitCode::from(2);
        }
    };
    let url = args.url.unwrap_or_else(|| format!("http://{}", settings.admin_listen));
    let token = match args.token {
        Some(token) => Some(token),
        None => std::fs::read_to_string(sandgate_control::auth::local_token_file(&settings.data_dir))
            .ok()
            .map(|t| t.trim().to_owned()),
    };
    let (method, path, body) = match plan(args.command) {
        Ok(call) => call,
        Err(e) => {
            eprintln!("sandgate admin: {e}");
            return ExitCode::from(2);
        }
    };
    // reqwest is built without a crypto provider of its own (see sandgate-webhooks).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(30)).build() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("sandgate admin: {e}");
            return ExitCode::from(2);
        }
    };
    let mut request = client.request(method, format!("{}{path}", url.trim_end_matches('/')));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = match request.send() {
        Ok(response) => response,
        Err(e) => {
            eprintln!(
                "sandgate admin: cannot reach {url}: {e}; is Sandgate running (sandgate up), and is --url right?"
            );
            return ExitCode::from(2);
        }
    };
    let status = response.status();
    let text = response.text().unwrap_or_default();
    if status.is_success() {
        match serde_json::from_str::<Value>(&text) {
            Ok(value) => println!("{}", serde_json::to_string_pretty(&value).unwrap_or(text)),
            Err(_) => print!("{text}"),
        }
        return ExitCode::SUCCESS;
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(problem) => {
            let field = problem.get("field").and_then(Value::as_str).map(|f| format!(" [{f}]")).unwrap_or_default();
            let detail = problem.get("detail").and_then(Value::as_str).unwrap_or(&text);
            eprintln!("sandgate admin: {status}{field}: {detail}");
        }
        Err(_) => eprintln!("sandgate admin: {status}: {text}"),
    }
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        admin: AdminArgs,
    }

    /// One command line of every subcommand, as an operator's script would write it.
    const LINES: &[&str] = &[
        "me",
        "partners create --name Acme --contact-name Ann --contact-email a@x.io --owner-name Ann --owner-email a@x.io",
        "partners list",
        "partners show ptn_1",
        "members add --partner ptn_1 --email d@x.io --name Dev --role developer",
        "members list --partner ptn_1",
        "members revoke --partner ptn_1 mem_1",
        "apps create --partner ptn_1 --name Till --type generic --permission read --scope read \
         --webhook https://x.io/h?a=b=integration.connected,integration.disconnected",
        "apps list --partner ptn_1",
        "apps show app_1",
        "apps update app_1 --description new --clear webhooks",
        "apps revoke app_1 --reason leaked",
        "apps rotate-webhook-secret app_1",
        "credentials issue --app app_1 --environment training",
        "credentials list --app app_1",
        "credentials rotate trn_1 --grace-seconds 60",
        "credentials revoke trn_1",
        "invitations create --app app_1 --email d@x.io",
        "invitations list --app app_1",
        "invitations verify inv_1 --otp 123456",
        "invitations reset inv_1",
        "invitations resend inv_1",
        "invitations revoke inv_1",
        "review submit --app app_1 --overview o --justify read=why --security-measures s --post-deployment-plan p",
        "review list --app app_1",
        "review approve app_1",
        "review reject app_1 --reason a --reason b",
        "activity --app app_1 --event credential. --after 7 --csv",
        "activity --partner ptn_1 --limit 5",
        "connections connect --entity-type location --entity-id loc-1 --app app_1",
        "connections disconnect --entity-type location --entity-id loc-1 --app app_1",
        "connections list --entity-type location --entity-id loc-1",
        "connections benefits --entity-type location --entity-id loc-1",
        "deliveries --app app_1",
        "emulator scrub --environment training --partner ptn_1",
    ];

    fn call(line: &str) -> Call {
        let cli = Cli::try_parse_from(std::iter::once("admin").chain(line.split_whitespace()))
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        plan(cli.admin.command).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    /// Whether `path` (query stripped) fits the route `template`.
    fn fits(template: &str, path: &str) -> bool {
        let path = path.split('?').next().unwrap_or_default();
        let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
        t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
    }

    #[test]
    fn every_api_operation_has_a_command_and_every_command_an_operation() {
        let calls: Vec<(String, Call)> = LINES.iter().map(|line| (line.to_string(), call(line))).collect();
        for (line, (method, path, _)) in &calls {
            assert!(
                sandgate_control::endpoints().any(|(m, t)| m == method.as_str() && fits(t, path)),
                "`sandgate admin {line}` calls {method} {path}, which the API does not serve"
            );
        }
        for (method, template) in sandgate_control::endpoints() {
            if template == "/v1/openapi.yaml" {
                continue; // a document to read, not an operation
            }
            assert!(
                calls.iter().any(|(_, (m, p, _))| m.as_str() == method && fits(template, p)),
                "no `sandgate admin` command calls {method} {template}"
            );
        }
    }

    #[test]
    fn lists_and_pairs_become_the_documented_bodies() {
        let (_, _, body) = call(LINES[7]);
        assert_eq!(
            body.expect("a body")["webhooks"],
            json!([{"url": "https://x.io/h?a=b", "events": ["integration.connected", "integration.disconnected"]}]),
            "the events come after the last '=', so a URL may hold one"
        );
        let (_, _, body) = call(LINES[23]);
        assert_eq!(body.expect("a body")["scope_justifications"], json!({"read": "why"}));
        let (_, path, _) = call(LINES[27]);
        assert_eq!(path, "/v1/applications/app_1/activity?event=credential.&after=7&format=csv");
        let (_, _, body) = call("emulator scrub");
        assert_eq!(body, Some(json!({})), "no key for what was not given: everything is scrubbed");
        assert!(
            Cli::try_parse_from(["admin", "emulator", "scrub", "--partner", "p"]).is_err(),
            "a partner needs --environment"
        );
        let cli = Cli::try_parse_from(["admin", "partners", "show", "a/b c"]).expect("parses");
        let (_, path, _) = plan(cli.admin.command).expect("a call");
        assert_eq!(path, "/v1/partners/a%2Fb%20c", "an id is one path segment");
    }
}
