//! Runs planned cases against a base URL: concurrent workers, credentials (a fixed token, or
//! tokens minted from client credentials at the spec's token endpoint and refreshed before they
//! expire), values bound from earlier answers, every answer checked. In differential mode each
//! case also runs against a second server and the answers are compared.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use crate::cases::encode::encode;
use crate::cases::values::OperationValues;
use crate::cases::{Auth, Binding, Case, Expect, Request};
use crate::checks::{self, Answer, CheckId, Failure};
use crate::error::ContractError;
pub use crate::outcome::{CaseRun, Exchange, StepResult};
use crate::spec::Specs;

/// A server to test and how to authenticate to it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Scheme, host and port (and an optional path prefix), no trailing slash.
    pub base_url: String,
    /// The run's credentials.
    pub credentials: Credentials,
    /// Headers added to every request (`--header`).
    pub headers: Vec<(String, String)>,
    /// Another environment's token (`--foreign-token`).
    pub foreign_token: Option<String>,
}

/// The run's credentials.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// None (the spec's operations are open, or `--header` carries them).
    None,
    /// A fixed bearer token.
    Bearer(String),
    /// Client credentials: tokens are minted at the spec's token endpoint.
    Client {
        /// The client id.
        id: String,
        /// The client secret.
        secret: String,
    },
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Cases in flight at once.
    pub workers: usize,
    /// The time budget of one answer.
    pub max_response_time: Duration,
    /// The time budget of the whole run: cases not started by then are skipped.
    pub max_time: Option<Duration>,
    /// Checks switched off: everywhere (`None`) or for one operation (its label or `METHOD /path`).
    pub skip: Vec<(CheckId, Option<String>)>,
    /// Most requests per second to one server (`None`: as fast as the workers go).
    pub rate_limit: Option<std::num::NonZeroU32>,
}

/// What became of one request.
enum Sent {
    /// The server answered.
    Answered(Answer),
    /// It was not sent, through no fault of the server: the credentials it needs cannot be had,
    /// or a bound value cannot travel in a header.
    Skipped(String),
    /// It got no answer (connection refused, reset, timed out), or no token could be minted for it.
    NoAnswer(String),
}

/// Runs `cases` against `target` (and `against`, in differential mode); `done` is told after each.
pub async fn run(
    specs: Arc<Specs>,
    values: Arc<crate::plan::Generators>,
    cases: Vec<(usize, usize, Case)>,
    target: Target,
    against: Option<Target>,
    settings: Settings,
    done: Arc<dyn Fn(&CaseRun) + Send + Sync>,
) -> Result<Vec<CaseRun>, ContractError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let validators = Arc::new(checks::Validators::default());
    let primary = Arc::new(Server::new(target, &specs, &values, settings.rate_limit));
    let second = against.map(|t| Arc::new(Server::new(t, &specs, &values, settings.rate_limit)));
    // Credentials that do not work are a usage error, not a violation on every operation.
    for server in std::iter::once(&primary).chain(second.as_ref()) {
        server
            .token(None)
            .await
            .map_err(|why| ContractError::NoToken { base_url: server.base_url().to_owned(), why: Box::new(why) })?;
    }
    let settings = Arc::new(settings);
    let started = Instant::now();
    let queue = Arc::new(Mutex::new(cases.into_iter().enumerate().collect::<Vec<_>>().into_iter()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..settings.workers.max(1) {
        let (queue, specs, validators, primary, second, settings, done) = (
            Arc::clone(&queue),
            Arc::clone(&specs),
            Arc::clone(&validators),
            Arc::clone(&primary),
            second.clone(),
            Arc::clone(&settings),
            Arc::clone(&done),
        );
        workers.spawn(async move {
            let mut runs = Vec::new();
            loop {
                let next = queue.lock().await.next();
                let Some((index, (api, op, case))) = next else { break };
                if settings.max_time.is_some_and(|budget| started.elapsed() > budget) {
                    break;
                }
                let cx = checks::Context {
                    specs: &specs,
                    validators: &validators,
                    max_response_time: settings.max_response_time,
                };
                let mut run = primary.run_case(&cx, &settings, api, op, case).await;
                if let Some(second) = &second {
                    let other = second.run_case(&cx, &settings, api, op, run.case.clone()).await;
                    crate::diff::compare(&specs, &mut run, &other, second.base_url());
                }
                done(&run);
                runs.push((index, run));
            }
            runs
        });
    }
    let mut runs = Vec::new();
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(batch) => runs.extend(batch),
            // A bug of ours: surface it rather than report its cases as not run.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }
    runs.sort_by_key(|(index, _)| *index);
    Ok(runs.into_iter().map(|(_, run)| run).collect())
}

/// A base URL with its client and tokens.
struct Server {
    target: Target,
    client: reqwest::Client,
    /// The token endpoint's request, when client credentials are used.
    token_request: Option<TokenRequest>,
    /// Minted tokens by scope (`None`: the default scope).
    tokens: Mutex<HashMap<Option<String>, Minted>>,
    /// Paces requests (`--rate-limit`), so that a server's own rate limit does not answer them.
    pace: Option<governor::DefaultDirectRateLimiter>,
}

/// Where and how tokens are asked for: URL, the operation's required headers, media type.
type TokenRequest = (String, Vec<(String, String)>, String);

#[derive(Clone)]
struct Minted {
    token: String,
    refresh_token: Option<String>,
    /// When to mint again: before the token expires, not at.
    renew_at: Instant,
}

impl Server {
    fn new(
        target: Target,
        specs: &Specs,
        values: &[Vec<Option<OperationValues>>],
        rate_limit: Option<std::num::NonZeroU32>,
    ) -> Server {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        let token_request = match target.credentials {
            Credentials::Client { .. } => crate::spec::token_operation(&specs.apis).map(|(a, o)| {
                let (api, op) = (&specs.apis[a], &specs.apis[a].operations[o]);
                // The token operation's own required headers (a flow id, say), fabricated.
                let draft = values[a][o].as_ref().map(|v| v.draft(op, 0, false)).unwrap_or_default();
                let request = encode(api, op, &draft).request;
                let headers = request.headers.into_iter().filter(|(n, _)| n != "content-type").collect();
                let media = op
                    .request_body
                    .as_ref()
                    .and_then(|b| b.content.first())
                    .map_or("application/x-www-form-urlencoded".to_owned(), |m| m.media_type.clone());
                (format!("{}{}", target.base_url, request.path), headers, media)
            }),
            _ => None,
        };
        let pace = rate_limit.map(|per_second| governor::RateLimiter::direct(governor::Quota::per_second(per_second)));
        Server { target, client, token_request, tokens: Mutex::new(HashMap::new()), pace }
    }

    fn base_url(&self) -> &str {
        &self.target.base_url
    }

    async fn run_case(
        &self,
        cx: &checks::Context<'_>,
        settings: &Settings,
        api: usize,
        op: usize,
        case: Case,
    ) -> CaseRun {
        let mut run = CaseRun { api, op, case, exchanges: Vec::new(), results: Vec::new(), stopped: None };
        let mut bodies: Vec<Option<Value>> = Vec::new();
        for step in run.case.steps.clone() {
            let request = match bind(&step.request, &step.bindings, &run.exchanges, &bodies) {
                Ok(request) => request,
                Err(why) => {
                    run.stopped = Some(why.to_string());
                    break;
                }
            };
            let operation = &cx.specs.apis[step.api].operations[step.op];
            let skipped = |check: CheckId| {
                settings.skip.iter().any(|(c, on)| {
                    *c == check
                        && on.as_ref().is_none_or(|on| {
                            *on == operation.label() || *on == format!("{} {}", operation.method, operation.path)
                        })
                })
            };
            let answer = self.send(&request, &step.auth).await;
            let exchange =
                Exchange { operation: step.operation.clone(), request, auth: step.auth.clone(), answer: None };
            let answer = match answer {
                Sent::Answered(answer) => answer,
                Sent::Skipped(why) => {
                    run.stopped = Some(why);
                    break;
                }
                Sent::NoAnswer(why) if skipped(CheckId::NotAServerError) => {
                    run.stopped = Some(why);
                    break;
                }
                Sent::NoAnswer(why) => {
                    let failure = Failure {
                        check: CheckId::NotAServerError,
                        title: "no answer".to_owned(),
                        detail: format!("the request got no answer: {why}"),
                    };
                    run.exchanges.push(exchange);
                    run.results.push(StepResult {
                        api: step.api,
                        op: step.op,
                        ran: vec![CheckId::NotAServerError],
                        failures: vec![failure],
                    });
                    run.stopped = Some(why);
                    break;
                }
            };
            let (ran, failures) = checks::check(cx, step.api, step.op, &step.expect, &answer);
            let ran = ran.into_iter().filter(|c| !skipped(*c)).collect();
            let failures = failures.into_iter().filter(|f| !skipped(f.check)).collect();
            run.results.push(StepResult { api: step.api, op: step.op, ran, failures });
            let answer_status = answer.status;
            let success = (200..300).contains(&answer_status);
            bodies.push(serde_json::from_str(&answer.body).ok());
            run.exchanges.push(Exchange { answer: Some(answer), ..exchange });
            if step.expect == Expect::Setup && !success {
                run.stopped = Some(format!("setup step {} answered {}", step.operation, answer_status));
                break;
            }
        }
        run
    }

    /// Sends `request` and says what became of it (see [`Sent`]).
    async fn send(&self, request: &Request, auth: &Auth) -> Sent {
        let url = format!("{}{}", self.target.base_url, request.target());
        let not_sent = Sent::Skipped;
        let Ok(method) = reqwest::Method::from_bytes(request.method.as_bytes()) else {
            return not_sent(format!("{:?} is not an HTTP method", request.method));
        };
        let mut builder = self.client.request(method, &url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let token = match auth {
            Auth::Without => None,
            Auth::Foreign => match &self.target.foreign_token {
                Some(token) => Some(token.clone()),
                None => return not_sent("no --foreign-token was given".to_owned()),
            },
            Auth::Default => match self.token(None).await {
                Ok(token) => token,
                Err(why) => return Sent::NoAnswer(why.to_string()),
            },
            Auth::Scope { scope } => match self.token(Some(scope)).await {
                Ok(Some(token)) => Some(token),
                Ok(None) => return not_sent(format!("no token with only the scope {scope} could be minted")),
                Err(why) => return Sent::NoAnswer(why.to_string()),
            },
        };
        if *auth != Auth::Without {
            for (name, value) in &self.target.headers {
                builder = builder.header(name, value);
            }
        }
        if let Some(token) = token {
            builder = builder.bearer_auth(token);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        if let Some(pace) = &self.pace {
            pace.until_ready().await;
        }
        let built = match builder.build() {
            Ok(built) => built,
            Err(e) => return not_sent(format!("the request cannot be built: {}", describe(&e))),
        };
        let started = Instant::now();
        let response = match self.client.execute(built).await {
            Ok(response) => response,
            Err(e) => return Sent::NoAnswer(describe(&e)),
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return Sent::NoAnswer(describe(&e)),
        };
        let elapsed = started.elapsed();
        Sent::Answered(Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned(), elapsed })
    }

    /// The bearer token for `scope` (`None`: the default), minted or renewed when due.
    async fn token(&self, scope: Option<&str>) -> Result<Option<String>, ContractError> {
        let (id, secret) = match &self.target.credentials {
            // Only client credentials can have a token with one scope minted.
            _ if scope.is_some() && !matches!(self.target.credentials, Credentials::Client { .. }) => return Ok(None),
            Credentials::None => return Ok(None),
            Credentials::Bearer(token) => return Ok(Some(token.clone())),
            Credentials::Client { id, secret } => (id, secret),
        };
        let Some((url, headers, media)) = &self.token_request else {
            return Err(ContractError::NoTokenEndpoint);
        };
        let key = scope.map(str::to_owned);
        let mut tokens = self.tokens.lock().await;
        let previous = tokens.get(&key).cloned();
        if let Some(minted) = previous.as_ref().filter(|m| Instant::now() < m.renew_at) {
            return Ok(Some(minted.token.clone()));
        }
        let mut fields = vec![("client_id", id.as_str()), ("client_secret", secret.as_str())];
        match previous.as_ref().and_then(|p| p.refresh_token.as_deref()) {
            Some(refresh) => fields.extend([("grant_type", "refresh_token"), ("refresh_token", refresh)]),
            None => fields.push(("grant_type", "client_credentials")),
        }
        if let Some(scope) = scope {
            fields.push(("scope", scope));
        }
        let mut minted = self.mint(url, headers, media, &fields).await;
        if minted.is_err() && previous.is_some() {
            // A refresh token that no longer works: start over from the client credentials.
            fields.retain(|(k, _)| *k != "grant_type" && *k != "refresh_token");
            fields.push(("grant_type", "client_credentials"));
            minted = self.mint(url, headers, media, &fields).await;
        }
        match minted {
            Ok(minted) => {
                tokens.insert(key, minted.clone());
                Ok(Some(minted.token))
            }
            // A token with one scope is the server's to refuse (the app may not hold it): the
            // case that wanted it is skipped, not failed.
            Err(_) if scope.is_some() => Ok(None),
            Err(why) => Err(why),
        }
    }

    async fn mint(
        &self,
        url: &str,
        headers: &[(String, String)],
        media: &str,
        fields: &[(&str, &str)],
    ) -> Result<Minted, ContractError> {
        let mut builder = self.client.post(url);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        builder = if media.contains("json") {
            let body: serde_json::Map<String, Value> =
                fields.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect();
            builder.json(&body)
        } else {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields {
                form.append_pair(k, v);
            }
            builder.header("content-type", "application/x-www-form-urlencoded").body(form.finish())
        };
        let failed = |why: String| ContractError::TokenEndpoint { url: url.to_owned(), why };
        let response = builder.send().await.map_err(|e| failed(describe(&e)))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(ContractError::TokenRefused { url: url.to_owned(), status, body: checks::excerpt(&text) });
        }
        let body: Value = serde_json::from_str(&text).map_err(|e| failed(format!("not JSON ({e})")))?;
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| failed(format!("no access_token in {}", checks::excerpt(&text))))?;
        // At most a day: a server's number must not overflow the clock.
        let life = Duration::from_secs(body.get("expires_in").and_then(Value::as_u64).unwrap_or(3600).min(86_400));
        // Renew with a fifth of the life left (at most a minute early), never at the last moment.
        let early = (life / 5).min(Duration::from_secs(60));
        Ok(Minted {
            token: token.to_owned(),
            refresh_token: body.get("refresh_token").and_then(Value::as_str).map(str::to_owned),
            renew_at: Instant::now() + life - early,
        })
    }
}

/// The request with every binding replaced by the value found in an earlier answer.
pub fn bind(
    request: &Request,
    bindings: &[Binding],
    exchanges: &[Exchange],
    bodies: &[Option<Value>],
) -> Result<Request, ContractError> {
    let mut request = request.clone();
    for binding in bindings {
        let value =
            lookup(&binding.expression, exchanges.get(binding.step), bodies.get(binding.step).and_then(Option::as_ref))
                .ok_or_else(|| ContractError::Unbound {
                    step: binding.step + 1,
                    expression: binding.expression.clone(),
                })?;
        let text = crate::cases::encode::text(&value);
        let escaped = crate::cases::encode::escape(&text);
        request.path = request.path.replace(&binding.marker, &escaped);
        request.query = request.query.replace(&binding.marker, &escaped);
        for (_, header) in &mut request.headers {
            *header = header.replace(&binding.marker, &text);
        }
        if let Some(body) = &mut request.body {
            *body =
                body.replace(&format!("\"{}\"", binding.marker), &value.to_string()).replace(&binding.marker, &text);
        }
    }
    Ok(request)
}

fn lookup(expression: &str, exchange: Option<&Exchange>, body: Option<&Value>) -> Option<Value> {
    if let Some(pointer) = expression.strip_prefix("$response.body#") {
        return body?.pointer(pointer).cloned().filter(|v| !v.is_null());
    }
    if let Some(name) = expression.strip_prefix("$response.header.") {
        let answer = exchange?.answer.as_ref()?;
        return answer.header(&name.to_ascii_lowercase()).map(|v| Value::String(v.to_owned()));
    }
    None
}

/// A transport error with its cause chain (reqwest's top-level message alone says little).
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
