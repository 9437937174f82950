//! `sandgate contract` and `sandgate contract replay`: flags, then plan → run → report, and the
//! exit code (0 all passed, 1 violations, 2 usage or spec errors).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::checks::CheckId;
use crate::error::ContractError;
use crate::plan::PlanOptions;
use crate::report::{self, Finding, Report};
use crate::run::{Credentials, Settings, Target};
use crate::spec::{Filters, Specs};
use crate::{Job, EXIT_FAILED, EXIT_PASSED, EXIT_USAGE};

/// `sandgate contract` flags.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ContractArgs {
    #[command(subcommand)]
    command: Option<ContractCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum ContractCommand {
    /// Re-run the request sequence of recorded findings (from `--json`) against any base URL and
    /// check again; exits 1 while a finding still shows.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// The JSON report written by `--json`, or one finding taken out of it.
    file: PathBuf,
    /// Replay only this finding (1-based, as numbered in the text report).
    #[arg(long)]
    finding: Option<usize>,
    /// Where to send the requests (default: the base URL of the recorded run).
    #[arg(long)]
    base_url: Option<String>,
    #[command(flatten)]
    auth: AuthArgs,
    /// The time budget of one answer, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    max_response_time: u64,
}

#[derive(Debug, Args)]
struct AuthArgs {
    /// Client id: tokens are minted at the spec's token endpoint (refreshed before expiry);
    /// parameters named `client_id` are sent with it unless `--set` says otherwise.
    #[arg(long, env = "SANDGATE_CLIENT_ID", requires = "client_secret")]
    client_id: Option<String>,
    /// Client secret (prefer the environment variable: command lines are visible to others).
    #[arg(long, env = "SANDGATE_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// A fixed bearer token instead of client credentials.
    #[arg(long, env = "SANDGATE_BEARER", hide_env_values = true, conflicts_with = "client_id")]
    bearer: Option<String>,
    /// An extra header for every request, `Name: value` (repeatable), e.g. an API key.
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// A token of another environment: operations that demand credentials must refuse it (401).
    #[arg(long, env = "SANDGATE_FOREIGN_TOKEN", hide_env_values = true)]
    foreign_token: Option<String>,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// OpenAPI documents: files, folders searched recursively, or http(s) URLs (downloaded with
    /// the files their relative `$ref`s name); repeatable.
    #[arg(long)]
    spec: Vec<PathBuf>,
    /// The server under test: scheme, host and port; each spec's `servers` path is appended.
    #[arg(long)]
    base_url: Option<String>,
    #[command(flatten)]
    auth: AuthArgs,
    /// Only operations with this operationId (repeatable).
    #[arg(long)]
    operation_id: Vec<String>,
    /// Only operations with this tag (repeatable).
    #[arg(long)]
    tag: Vec<String>,
    /// Only operations whose path template matches this regular expression (repeatable).
    #[arg(long)]
    path: Vec<String>,
    /// Only operations with this method (repeatable).
    #[arg(long)]
    method: Vec<String>,
    /// Seed of the generated data: the same seed and specs send the same requests.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fabricated valid requests per operation, after the spec's examples and up to four times as
    /// many boundary values; invalid ones are capped at twice this.
    #[arg(long, default_value_t = 10)]
    examples: usize,
    /// Time budget of the whole run, in seconds: cases not started by then are not run.
    #[arg(long)]
    max_time: Option<u64>,
    /// Time budget of one answer, in milliseconds (check max_response_time).
    #[arg(long, default_value_t = 5000)]
    max_response_time: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Most requests per second (stay under the server's own rate limit).
    #[arg(long)]
    rate_limit: Option<std::num::NonZeroU32>,
    /// A parameter's value in every request, `name=value` (value as JSON, else text; repeatable).
    #[arg(long = "set")]
    set: Vec<String>,
    /// Switch a check off: `check` everywhere or `check:operation` for one operation (its
    /// operationId or `METHOD /path`); repeatable.
    #[arg(long = "skip-check")]
    skip_check: Vec<String>,
    /// Differential mode: send every sequence to this server too and report where answers differ.
    #[arg(long)]
    against: Option<String>,
    /// The bearer token for `--against` (default: the same credentials as the base URL).
    #[arg(long, env = "SANDGATE_AGAINST_BEARER", hide_env_values = true)]
    against_bearer: Option<String>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write the JSON report here (what `replay` reads).
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Runs `sandgate contract`.
pub fn run(args: ContractArgs) -> ExitCode {
    let result = match args.command {
        Some(ContractCommand::Replay(replay_args)) => replay(replay_args),
        None => test(args.run),
    };
    match result {
        Ok(passed) => ExitCode::from(if passed { EXIT_PASSED } else { EXIT_FAILED }),
        Err(message) => {
            eprintln!("sandgate contract: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn test(args: RunArgs) -> Result<bool, ContractError> {
    if args.spec.is_empty() {
        return Err(ContractError::MissingFlag { flag: "--spec", hint: "a spec file or folder; repeatable" });
    }
    let url = args
        .base_url
        .as_deref()
        .ok_or(ContractError::MissingFlag { flag: "--base-url", hint: "e.g. http://127.0.0.1:8080" })?;
    let base_url = base_url("--base-url", url)?;
    let mut files = Vec::with_capacity(args.spec.len());
    for spec in &args.spec {
        match spec.to_str().filter(|s| crate::fetch::is_url(s)) {
            Some(url) => files.push(crate::fetch::download(url)?),
            None => files.push(spec.clone()),
        }
    }
    let specs = Specs::load(&files)?;
    let filters = Filters {
        operation_ids: args.operation_id,
        tags: args.tag,
        paths: args
            .path
            .iter()
            .map(|p| regex::Regex::new(p).map_err(|e| bad_flag("--path", p, e)))
            .collect::<Result<_, _>>()?,
        methods: args.method,
    };
    let mut fixed = args.set.iter().map(|s| parse_set(s)).collect::<Result<Vec<_>, _>>()?;
    if let Some(id) = &args.auth.client_id {
        if !fixed.iter().any(|(name, _)| name == "client_id") {
            fixed.push(("client_id".to_owned(), Value::String(id.clone())));
        }
    }
    let skip = args.skip_check.iter().map(|s| parse_skip(s)).collect::<Result<Vec<_>, _>>()?;
    let target = target(&base_url, &args.auth)?;
    let against = match &args.against {
        Some(url) => {
            let mut other = target.clone();
            other.base_url = self::base_url("--against", url)?;
            if let Some(token) = &args.against_bearer {
                other.credentials = Credentials::Bearer(token.clone());
            }
            Some(other)
        }
        None => None,
    };
    let options = PlanOptions {
        examples: args.examples,
        seed: args.seed,
        filters: filters.clone(),
        fixed,
        foreign_token: args.auth.foreign_token.is_some(),
        scoped_tokens: matches!(target.credentials, Credentials::Client { .. }),
    };
    let settings = Settings {
        workers: args.workers,
        max_response_time: Duration::from_millis(args.max_response_time),
        max_time: args.max_time.map(Duration::from_secs),
        skip,
        rate_limit: args.rate_limit,
    };
    let report = execute(Job { specs, options, target, against, settings, cases: None })?;
    let report_file = args.json.as_ref().map(|p| p.display().to_string());
    print!("{}", report::text::render(&report, report_file.as_deref()));
    write_reports(&report, args.junit.as_ref(), args.json.as_ref())?;
    Ok(report.passed())
}

/// Runs a job on a runtime of its own.
fn execute(job: Job) -> Result<Report, ContractError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(ContractError::Runtime)?;
    runtime.block_on(crate::check(job))
}

fn write_reports(report: &Report, junit: Option<&PathBuf>, json: Option<&PathBuf>) -> Result<(), ContractError> {
    let write = |file: &PathBuf, text: String| {
        std::fs::write(file, text).map_err(|source| ContractError::WriteReport { file: file.clone(), source })
    };
    if let Some(path) = junit {
        let xml = report::junit::render(report)
            .map_err(|e| ContractError::RenderReport { format: "JUnit", why: e.to_string() })?;
        write(path, xml)?;
    }
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(report)
            .map_err(|e| ContractError::RenderReport { format: "JSON", why: e.to_string() })?;
        write(path, text)?;
    }
    Ok(())
}

fn replay(args: ReplayArgs) -> Result<bool, ContractError> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|source| ContractError::ReadFindings { file: args.file.clone(), source })?;
    let file = &args.file;
    let not = |what| move |why| ContractError::NotFindings { file: file.clone(), what, why };
    let value: Value = serde_json::from_str(&text).map_err(not("not JSON"))?;
    let (findings, recorded_url): (Vec<Finding>, Option<String>) = if value.get("findings").is_some() {
        let report: Report = serde_json::from_value(value).map_err(not("not a report"))?;
        (report.findings, Some(report.base_url))
    } else {
        let finding: Finding = serde_json::from_value(value).map_err(not("not a finding"))?;
        (vec![finding], None)
    };
    let chosen: Vec<Finding> = match args.finding {
        Some(n) => vec![findings
            .get(n.wrapping_sub(1))
            .cloned()
            .ok_or(ContractError::NoSuchFinding { n, count: findings.len() })?],
        None => findings,
    };
    let Some(first) = chosen.first() else {
        println!("nothing to replay: the report has no findings");
        return Ok(true);
    };
    let url = args.base_url.or(recorded_url).ok_or(ContractError::MissingFlag {
        flag: "--base-url",
        hint: "to replay a single finding, which records none",
    })?;
    let target = target(&base_url("--base-url", &url)?, &args.auth)?;
    let specs = Specs::load(&first.specs)?;
    if specs.hash != first.spec_hash {
        eprintln!("sandgate contract: warning: the specs changed since the finding was recorded (sha256 differs)");
    }
    // Each step names its operation by index: they must still be the operations recorded.
    for step in chosen.iter().flat_map(|f| &f.case.steps) {
        let found = specs.apis.get(step.api).and_then(|api| api.operations.get(step.op));
        if found.is_none_or(|op| op.label() != step.operation) {
            return Err(ContractError::SpecsChanged { operation: step.operation.clone() });
        }
    }
    let options = PlanOptions {
        examples: 0,
        seed: first.seed,
        filters: Filters::default(),
        fixed: Vec::new(),
        foreign_token: false,
        scoped_tokens: false,
    };
    let cases = chosen
        .iter()
        .map(|f| {
            let last = f.case.steps.last();
            (last.map_or(0, |s| s.api), last.map_or(0, |s| s.op), f.case.clone())
        })
        .collect();
    let settings = Settings {
        workers: 1,
        max_response_time: Duration::from_millis(args.max_response_time),
        max_time: None,
        skip: Vec::new(),
        rate_limit: None,
    };
    let report = execute(Job { specs, options, target, against: None, settings, cases: Some(cases) })?;
    let mut still = 0;
    for (index, finding) in chosen.iter().enumerate() {
        // The same check on the same operation, whatever the status or value this time.
        let same = |f: &&Finding| f.check == finding.check && f.operation == finding.operation && f.api == finding.api;
        let again = report.findings.iter().any(|f| same(&f));
        let verdict = if again { "STILL FAILS" } else { "passes now" };
        still += usize::from(again);
        println!("{}. {} — {} [{}]: {verdict}", index + 1, finding.operation, finding.title, finding.check.as_str());
        for run_finding in report.findings.iter().filter(same) {
            println!("   {}", run_finding.detail);
            for line in &run_finding.curl {
                println!("   {line}");
            }
        }
    }
    println!("{still} of {} findings still fail against {url}", chosen.len());
    Ok(still == 0)
}

fn target(base_url: &str, auth: &AuthArgs) -> Result<Target, ContractError> {
    let credentials = match (&auth.client_id, &auth.client_secret, &auth.bearer) {
        (Some(id), Some(secret), _) => Credentials::Client { id: id.clone(), secret: secret.clone() },
        (Some(_), None, _) => {
            return Err(ContractError::FlagNeeds {
                flag: "--client-id",
                needs: "--client-secret (or SANDGATE_CLIENT_SECRET)",
            })
        }
        (None, _, Some(token)) => Credentials::Bearer(token.clone()),
        _ => Credentials::None,
    };
    let headers = auth
        .headers
        .iter()
        .map(|h| {
            h.split_once(':')
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .filter(|(n, _)| !n.is_empty())
                .ok_or_else(|| bad_flag("--header", h, "expected \"Name: value\""))
        })
        .collect::<Result<_, _>>()?;
    Ok(Target { base_url: base_url.to_owned(), credentials, headers, foreign_token: auth.foreign_token.clone() })
}

/// The URL a server is named by (`flag`), without a trailing slash.
fn base_url(flag: &'static str, url: &str) -> Result<String, ContractError> {
    let wrong = |why: String| ContractError::Target { flag, url: url.to_owned(), why };
    let parsed = reqwest::Url::parse(url).map_err(|e| wrong(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(wrong("only http and https are supported".to_owned()));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn parse_set(text: &str) -> Result<(String, Value), ContractError> {
    let (name, raw) = text.split_once('=').ok_or_else(|| bad_flag("--set", text, "expected name=value"))?;
    let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
    Ok((name.to_owned(), value))
}

fn parse_skip(text: &str) -> Result<(CheckId, Option<String>), ContractError> {
    let (id, operation) = match text.split_once(':') {
        Some((id, operation)) => (id, Some(operation.to_owned())),
        None => (text, None),
    };
    let known = || CheckId::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
    let check = CheckId::parse(id)
        .ok_or_else(|| bad_flag("--skip-check", text, format!("unknown check {id:?}; checks: {}", known())))?;
    Ok((check, operation))
}

fn bad_flag(flag: &'static str, value: &str, why: impl ToString) -> ContractError {
    ContractError::BadFlag { flag, value: value.to_owned(), why: why.to_string() }
}
