//! The demo partner's first two commands, as `sandgate up` prints them. Nothing here names an API:
//! everything comes from the document that declares `x-sandgate-demo-application` — its token
//! endpoint, the header parameters each operation requires (with an example value), the
//! client-id path parameter (`x-sandgate-client-id-parameter`) and the declared `first_call`
//! (an `operationId` and its query).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sandgate_control::rules::DemoCalls;
use sandgate_gateway::table::routes::required_headers;
use sandgate_gateway::table::scopes::token_operation;
use sandgate_openapi::{Api, Operation, ParamLocation, Parameter};
use serde_json::Value;

/// What a path segment escapes: all but the unreserved characters (RFC 3986).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The commands, ready to paste into a shell.
#[derive(Debug, PartialEq, Eq)]
pub struct Commands {
    /// `curl` that gets a token with the client credentials.
    pub token: String,
    /// The first call: the API's title and the `curl` (it reads the token from `$TOKEN`).
    pub call: Option<(String, String)>,
}

/// The commands for the demo client `id` (and its `secret`, or what stands for it) against the
/// TRAINING listener at `base`; `None` when the declaring document has no token endpoint.
pub fn commands(apis: &[Api], calls: &DemoCalls, base: &str, id: &str, secret: &str) -> Option<Commands> {
    let api = apis.iter().find(|api| api.file == calls.file)?;
    let token_op = token_operation(api)?;
    let token = format!(
        "curl -s -X POST {base}{}{}{} -d grant_type=client_credentials -d client_id={id} -d client_secret={secret}",
        api.base_path,
        token_op.path,
        headers(token_op)
    );
    let call = calls.first_call.as_ref().and_then(|first| {
        let op = api.operations.iter().find(|op| op.operation_id.as_deref() == Some(first.operation.as_str()))?;
        let client_param = api.extensions.get("x-sandgate-client-id-parameter").and_then(Value::as_str);
        let url = format!("{base}{}{}{}", api.base_path, path(op, client_param, id), query(op, &first.query));
        let curl = format!("curl -s \"{url}\" -H \"authorization: Bearer $TOKEN\"{}", headers(op));
        Some((api.title.clone(), curl))
    });
    Some(Commands { token, call })
}

impl Commands {
    /// Two shell lines: `TOKEN=$(<token curl> | python3 …)`, then `call` (which reads `$TOKEN`).
    pub fn token_then(&self, call: &str) -> String {
        format!(
            "TOKEN=$({} | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')\n{call}",
            self.token
        )
    }
}

/// ` -H 'name: value'` for each header `op` requires.
fn headers(op: &Operation) -> String {
    required_headers(op).map(|p| format!(" -H '{}: {}'", p.name, example(p).replace('\'', r"'\''"))).collect()
}

/// `op`'s path with the client's own id in the client-id parameter and examples in the others.
fn path(op: &Operation, client_param: Option<&str>, id: &str) -> String {
    let mut path = op.path.clone();
    for param in op.parameters.iter().filter(|p| p.location == ParamLocation::Path) {
        let value = if Some(param.name.as_str()) == client_param { id.to_owned() } else { example(param) };
        path = path.replace(&format!("{{{}}}", param.name), &utf8_percent_encode(&value, SEGMENT).to_string());
    }
    path
}

/// `?name=value&…`: the declared values in the order the operation documents its parameters,
/// then an example for each required one not declared.
fn query(op: &Operation, declared: &[(String, Value)]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for param in op.parameters.iter().filter(|p| p.location == ParamLocation::Query) {
        match declared.iter().find(|(name, _)| *name == param.name) {
            Some((_, value)) => pairs.push((param.name.clone(), text(value))),
            None if param.required => pairs.push((param.name.clone(), example(param))),
            None => {}
        }
    }
    let documented = |name: &str| op.parameters.iter().any(|p| p.location == ParamLocation::Query && p.name == name);
    for (name, value) in declared.iter().filter(|(name, _)| !documented(name)) {
        pairs.push((name.clone(), text(value)));
    }
    if pairs.is_empty() {
        return String::new();
    }
    let mut query = form_urlencoded::Serializer::for_suffix(String::from("?"), 1);
    query.extend_pairs(pairs);
    query.finish()
}

/// A value for `param`: its example, a fresh UUID when its schema has `format: uuid`, its
/// schema's first example or its default; else `<name>` for the reader to fill in.
fn example(param: &Parameter) -> String {
    let schema = param.schema.as_ref();
    let uuid = || {
        let is_uuid = schema.and_then(|s| s.get("format")).and_then(Value::as_str) == Some("uuid");
        is_uuid.then(|| Value::String(uuid::Uuid::new_v4().to_string()))
    };
    let value = param
        .example
        .clone()
        .or_else(uuid)
        .or_else(|| schema.and_then(|s| s.pointer("/examples/0")).cloned())
        .or_else(|| schema.and_then(|s| s.get("default")).cloned());
    value.map_or_else(|| format!("<{}>", param.name), |v| text(&v))
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sandgate_control::rules::AppTypes;

    fn specs(dir: &std::path::Path) -> (Vec<Api>, DemoCalls) {
        let apis = sandgate_openapi::load_dir(dir).expect("specs");
        let calls = AppTypes::from_apis(&apis).expect("types").demo_calls().expect("a demo").clone();
        (apis, calls)
    }

    #[test]
    fn the_reference_specs_give_the_token_curl_and_their_first_call() {
        let (apis, calls) = specs(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs"));
        let commands = commands(&apis, &calls, "http://127.0.0.1:8080", "trn_1", "trn_sk_2").expect("a token endpoint");
        let reference = "-H 'x-reference-id: 3f2504e0-4f89-41d3-9a0c-0305e82c3301'";
        assert_eq!(
            commands.token,
            format!("curl -s -X POST http://127.0.0.1:8080/pos-api/v2.5/oauth/token {reference} -d grant_type=client_credentials -d client_id=trn_1 -d client_secret=trn_sk_2")
        );
        let (title, call) = commands.call.expect("a first call");
        assert_eq!(title, "POS API");
        assert_eq!(
            call,
            format!("curl -s \"http://127.0.0.1:8080/pos-api/v2.5/client-id/trn_1/customers/search?first_name=John&last_name=Smith&dob=1980-01-01\" -H \"authorization: Bearer $TOKEN\" {reference}")
        );
    }

    #[test]
    fn values_come_from_examples_uuids_and_defaults_and_the_rest_is_left_to_fill_in() {
        let dir = tempfile::tempdir().expect("dir");
        let spec = r#"openapi: 3.0.3
info: {title: Other API, version: '1'}
servers: [{url: /other-api/v1}]
x-sandgate-client-id-parameter: client
x-sandgate-application-types: {basic: {scopes: [], events: []}}
x-sandgate-demo-application: {type: basic, entities: [], first_call: {operation: look, query: {extra: 2}}}
paths:
  /oauth/token:
    post:
      parameters:
        - {name: X-Flow, in: header, required: true, schema: {type: string, format: uuid}}
        - {name: X-Optional, in: header, schema: {type: string, default: no}}
      responses: {'200': {description: ok}}
  /c/{client}/things/{thing}:
    get:
      operationId: look
      parameters:
        - {name: client, in: path, required: true, schema: {type: string}}
        - {name: thing, in: path, required: true, schema: {type: string}, example: 'a b'}
        - {name: tenant, in: header, required: true, schema: {type: string, default: acme}}
        - {name: mode, in: header, required: true, schema: {type: string}}
        - {name: size, in: query, required: true, schema: {type: integer}, example: 3}
      responses: {'200': {description: ok}}
"#;
        std::fs::write(dir.path().join("v1.yaml"), spec).expect("write");
        let (apis, calls) = specs(dir.path());
        let commands = commands(&apis, &calls, "http://h", "id", "s").expect("a token endpoint");
        let flow = commands.token.split("x-flow: ").nth(1).and_then(|rest| rest.get(..36)).expect("x-flow");
        assert!(uuid::Uuid::parse_str(flow).is_ok(), "{}", commands.token);
        assert!(!commands.token.contains("x-optional"), "only required headers: {}", commands.token);
        let (title, call) = commands.call.expect("a first call");
        assert_eq!(title, "Other API");
        assert_eq!(
            call,
            "curl -s \"http://h/other-api/v1/c/id/things/a%20b?size=3&extra=2\" -H \"authorization: Bearer $TOKEN\" -H 'tenant: acme' -H 'mode: <mode>'"
        );
    }
}
