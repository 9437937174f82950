//! `sandgate admin …`: the control-plane API from the command line, for operators' scripts.
//!
//! Every command is one HTTP call to a running Sandgate's admin listener (so the gateway sees the
//! change at once); the answer's JSON goes to stdout, a problem's detail to stderr. Exit codes:
//! 0 success, 1 refused by the API, 2 usage or connection error.
//!
//! `commands` declares the subcommands (clap), `plan` turns each into one HTTP call of the
//! control-plane API, and `run` here sends it and prints the answer.

mod commands;
mod plan;

use std::io::Read;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use sandgate_gateway::config::{ConfigArgs, SandgateConfig};

use commands::*;
use plan::plan;

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
    /// The mail outbox: invitations, sign-in links, review decisions (operator).
    Mail {
        /// Only messages to this address.
        #[arg(long)]
        to: Option<String>,
        /// At most this many (1..1000) [default: 100].
        #[arg(long)]
        limit: Option<u32>,
    },
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
    use super::plan::Call;
    use super::*;
    use clap::Parser;
    use serde_json::json;

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
        "mail --to dev@example.com --limit 5",
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
