//! Swagger 2.0 documents converted to OpenAPI 3.0 on load, so they are served, validated and
//! linted like any other (the rules of `swagger2openapi`, the converter most tools use).
//!
//! Hand-written because no maintained Rust crate converts 2.0 to 3.0 on a JSON value (the ones on
//! crates.io generate code, or come inside a whole mock server); the mapping is small and fixed.
//!
//! - `host`, `basePath` and `schemes` become `servers`;
//! - `definitions`, `parameters`, `responses` and `securityDefinitions` move under `components`
//!   (body parameters as `requestBodies`), and every `$ref` follows them;
//! - a `body` parameter becomes the `requestBody`, with one media type per `consumes`; `formData`
//!   parameters become one closed object schema, `multipart/form-data` when one is a file, else
//!   `application/x-www-form-urlencoded`;
//! - other parameters get a `schema` of their type keywords; `collectionFormat` becomes `style`
//!   and `explode`;
//! - a response's `schema`, `examples` and `headers` become `content` (one media type per
//!   `produces`) and header schemas;
//! - `type: file` becomes a binary string, `x-nullable` becomes `nullable`, a discriminator
//!   naming a property becomes `{propertyName}`;
//! - OAuth 2 flows get their 3.0 names (`application` is `clientCredentials`, `accessCode` is
//!   `authorizationCode`).

use crate::error::pointer_segment;
use serde_json::{json, Map, Value};

/// Whether `doc` is a Swagger 2.0 document.
pub fn is_swagger2(doc: &Value) -> bool {
    doc.get("openapi").is_none() && doc.get("swagger").is_some()
}

/// The OpenAPI 3.0.3 equivalent of the Swagger 2.0 document `doc`. Fails, naming the JSON
/// pointer, on what has no equivalent (another Swagger version, a body parameter that is not an
/// object).
pub fn convert(doc: &Value) -> Result<Value, (String, String)> {
    let version = doc.get("swagger").map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    if version.as_deref() != Some("2.0") {
        let problem = format!("Swagger {} cannot be converted: only 2.0 can", version.unwrap_or_default());
        return Err(("/swagger".to_owned(), problem));
    }
    let root = doc.as_object().ok_or_else(|| (String::new(), "the document is not an object".to_owned()))?;
    let consumes = media_list(root.get("consumes"), "application/json");
    let produces = media_list(root.get("produces"), "application/json");
    let global_params = root.get("parameters").and_then(Value::as_object).cloned().unwrap_or_default();

    let mut out = Map::new();
    out.insert("openapi".into(), json!("3.0.3"));
    for (key, value) in root {
        match key.as_str() {
            "swagger"
            | "host"
            | "basePath"
            | "schemes"
            | "consumes"
            | "produces"
            | "definitions"
            | "parameters"
            | "responses"
            | "securityDefinitions"
            | "paths" => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out.insert("servers".into(), servers(root));

    let mut components = Map::new();
    if let Some(definitions) = root.get("definitions").and_then(Value::as_object) {
        let schemas = definitions.iter().map(|(name, schema)| (name.clone(), schema_of(schema))).collect();
        components.insert("schemas".into(), Value::Object(schemas));
    }
    let (mut parameters, mut bodies) = (Map::new(), Map::new());
    for (name, param) in &global_params {
        let pointer = format!("/parameters/{}", pointer_segment(name));
        match param.get("in").and_then(Value::as_str) {
            Some("body") => {
                bodies.insert(name.clone(), body_of(param, &consumes, &pointer)?);
            }
            // Form fields are folded into each operation's body where they are used.
            Some("formData") => {}
            _ => {
                parameters.insert(name.clone(), parameter_of(param));
            }
        }
    }
    if !parameters.is_empty() {
        components.insert("parameters".into(), Value::Object(parameters));
    }
    if !bodies.is_empty() {
        components.insert("requestBodies".into(), Value::Object(bodies));
    }
    if let Some(responses) = root.get("responses").and_then(Value::as_object) {
        let converted = responses.iter().map(|(name, r)| (name.clone(), response_of(r, &produces))).collect();
        components.insert("responses".into(), Value::Object(converted));
    }
    if let Some(schemes) = root.get("securityDefinitions").and_then(Value::as_object) {
        let converted = schemes.iter().map(|(name, s)| (name.clone(), security_scheme_of(s))).collect();
        components.insert("securitySchemes".into(), Value::Object(converted));
    }
    if !components.is_empty() {
        out.insert("components".into(), Value::Object(components));
    }

    let mut paths = Map::new();
    for (path, item) in root.get("paths").and_then(Value::as_object).into_iter().flatten() {
        let pointer = format!("/paths/{}", pointer_segment(path));
        paths.insert(path.clone(), path_item_of(item, &global_params, &consumes, &produces, &pointer)?);
    }
    out.insert("paths".into(), Value::Object(paths));
    let mut out = Value::Object(out);
    move_refs(&mut out, &global_params);
    Ok(out)
}

/// `schemes`, `host` and `basePath` as server URLs (relative when there is no host).
fn servers(root: &Map<String, Value>) -> Value {
    let base = root.get("basePath").and_then(Value::as_str).unwrap_or("");
    let Some(host) = root.get("host").and_then(Value::as_str) else {
        return json!([{"url": if base.is_empty() { "/" } else { base }}]);
    };
    let schemes: Vec<&str> = root
        .get("schemes")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .filter(|s: &Vec<&str>| !s.is_empty())
        .unwrap_or_else(|| vec!["https"]);
    Value::Array(schemes.into_iter().map(|scheme| json!({"url": format!("{scheme}://{host}{base}")})).collect())
}

fn media_list(value: Option<&Value>, default: &str) -> Vec<String> {
    let listed: Vec<String> = value
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if listed.is_empty() {
        vec![default.to_owned()]
    } else {
        listed
    }
}

fn path_item_of(
    item: &Value,
    global_params: &Map<String, Value>,
    consumes: &[String],
    produces: &[String],
    pointer: &str,
) -> Result<Value, (String, String)> {
    let Some(item) = item.as_object() else { return Ok(item.clone()) };
    let shared: Vec<Value> = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = Map::new();
    for (key, value) in item {
        match key.as_str() {
            "get" | "put" | "post" | "delete" | "options" | "head" | "patch" => {
                let at = format!("{pointer}/{key}");
                out.insert(key.clone(), operation_of(value, &shared, global_params, consumes, produces, &at)?);
            }
            // Path-level parameters are copied into each operation, where a body or form field
            // becomes part of that operation's request body.
            "parameters" => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(Value::Object(out))
}

fn operation_of(
    op: &Value,
    shared: &[Value],
    global_params: &Map<String, Value>,
    consumes: &[String],
    produces: &[String],
    pointer: &str,
) -> Result<Value, (String, String)> {
    let Some(op) = op.as_object() else { return Ok(op.clone()) };
    let consumes = op.get("consumes").map_or_else(|| consumes.to_vec(), |c| media_list(Some(c), "application/json"));
    let produces = op.get("produces").map_or_else(|| produces.to_vec(), |p| media_list(Some(p), "application/json"));
    let own: Vec<Value> = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    // An operation's parameter overrides a path-level one of the same name and location.
    let resolve = |param: &Value| -> Value {
        let target = param.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/parameters/"));
        target.and_then(|name| global_params.get(&unescape(name))).cloned().unwrap_or_else(|| param.clone())
    };
    let key = |param: &Value| {
        let p = resolve(param);
        (
            p.get("name").and_then(Value::as_str).map(str::to_owned),
            p.get("in").and_then(Value::as_str).map(str::to_owned),
        )
    };
    let mut params: Vec<Value> = shared.iter().filter(|s| !own.iter().any(|o| key(o) == key(s))).cloned().collect();
    params.extend(own);

    let mut out = Map::new();
    let (mut parameters, mut form, mut body) = (Vec::new(), Vec::new(), None);
    for (index, param) in params.iter().enumerate() {
        let resolved = resolve(param);
        let at = format!("{pointer}/parameters/{index}");
        match resolved.get("in").and_then(Value::as_str) {
            Some("body") => {
                body = Some(match param.get("$ref").and_then(Value::as_str) {
                    Some(reference) => {
                        json!({"$ref": reference.replace("#/parameters/", "#/components/requestBodies/")})
                    }
                    None => body_of(&resolved, &consumes, &at)?,
                });
            }
            Some("formData") => form.push(resolved),
            _ if param.get("$ref").is_some() => parameters.push(param.clone()),
            _ => parameters.push(parameter_of(&resolved)),
        }
    }
    if !form.is_empty() {
        body = Some(form_body_of(&form, &consumes));
    }
    for (key, value) in op {
        match key.as_str() {
            "consumes" | "produces" | "parameters" | "schemes" => {}
            "responses" => {
                let responses = value
                    .as_object()
                    .map(|r| {
                        r.iter().map(|(status, response)| (status.clone(), response_of(response, &produces))).collect()
                    })
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(responses));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if !parameters.is_empty() {
        out.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = body {
        out.insert("requestBody".into(), body);
    }
    Ok(Value::Object(out))
}

/// A `body` parameter as a request body, one media type per `consumes`.
fn body_of(param: &Value, consumes: &[String], pointer: &str) -> Result<Value, (String, String)> {
    let Some(schema) = param.get("schema") else {
        return Err((format!("{pointer}/schema"), "a body parameter needs a schema".to_owned()));
    };
    let schema = schema_of(schema);
    let content: Map<String, Value> =
        consumes.iter().map(|media| (media.clone(), json!({"schema": schema.clone()}))).collect();
    let mut body = Map::new();
    copy(param, &mut body, &["description", "x-examples"]);
    body.insert("content".into(), Value::Object(content));
    body.insert("required".into(), json!(param.get("required").and_then(Value::as_bool).unwrap_or(false)));
    Ok(Value::Object(body))
}

/// `formData` parameters as one object schema: multipart when a field is a file or the operation
/// consumes multipart, else URL-encoded.
fn form_body_of(fields: &[Value], consumes: &[String]) -> Value {
    let (mut properties, mut required) = (Map::new(), Vec::new());
    let mut has_file = false;
    for field in fields {
        let Some(name) = field.get("name").and_then(Value::as_str) else { continue };
        has_file |= field.get("type").and_then(Value::as_str) == Some("file");
        let mut schema = type_schema_of(field);
        if let (Some(description), Value::Object(map)) = (field.get("description"), &mut schema) {
            map.insert("description".into(), description.clone());
        }
        properties.insert(name.to_owned(), schema);
        if field.get("required").and_then(Value::as_bool) == Some(true) {
            required.push(json!(name));
        }
    }
    let multipart = has_file || consumes.iter().any(|m| m.starts_with("multipart/form-data"));
    let media = if multipart { "multipart/form-data" } else { "application/x-www-form-urlencoded" };
    // 2.0 lists the form's fields one by one: a field it does not list is not part of the form.
    let mut schema = json!({"type": "object", "properties": properties, "additionalProperties": false});
    if !required.is_empty() {
        schema["required"] = Value::Array(required.clone());
    }
    json!({"content": {media: {"schema": schema}}, "required": !required.is_empty()})
}

/// A query, path, header or cookie parameter with its type keywords moved into `schema`.
fn parameter_of(param: &Value) -> Value {
    let Some(map) = param.as_object() else { return param.clone() };
    let mut out = Map::new();
    copy(param, &mut out, &["name", "in", "description", "required", "allowEmptyValue", "deprecated"]);
    for (key, value) in map.iter().filter(|(k, _)| k.starts_with("x-")) {
        out.insert(key.clone(), value.clone());
    }
    let location = map.get("in").and_then(Value::as_str).unwrap_or("query");
    if map.get("type").and_then(Value::as_str) == Some("array") {
        let format = map.get("collectionFormat").and_then(Value::as_str).unwrap_or("csv");
        let (style, explode) = match (format, location) {
            ("multi", _) => ("form", true),
            ("ssv", "query") => ("spaceDelimited", false),
            ("pipes", "query") => ("pipeDelimited", false),
            (_, "query" | "cookie") => ("form", false),
            _ => ("simple", false),
        };
        out.insert("style".into(), json!(style));
        out.insert("explode".into(), json!(explode));
    }
    out.insert("schema".into(), type_schema_of(param));
    Value::Object(out)
}

/// The JSON Schema keywords of a non-body parameter, header or array `items`.
fn type_schema_of(param: &Value) -> Value {
    const KEYWORDS: [&str; 16] = [
        "type",
        "format",
        "enum",
        "default",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "x-nullable",
    ];
    let mut schema = Map::new();
    copy(param, &mut schema, &KEYWORDS);
    if let Some(items) = param.get("items") {
        schema.insert("items".into(), type_schema_of(items));
    }
    if let Some(reference) = param.get("$ref") {
        schema.insert("$ref".into(), reference.clone());
    }
    schema_of(&Value::Object(schema))
}

/// A Swagger schema as an OpenAPI 3.0 schema (recursively).
fn schema_of(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                match key.as_str() {
                    "x-nullable" => {
                        out.insert("nullable".into(), value.clone());
                    }
                    "type" if value.as_str() == Some("file") => {
                        out.insert("type".into(), json!("string"));
                        out.insert("format".into(), json!("binary"));
                    }
                    "discriminator" if value.is_string() => {
                        out.insert(key.clone(), json!({"propertyName": value}));
                    }
                    // Keywords whose value is a schema or schemas; the rest are data (`enum`,
                    // `example`, `default`) and stay as they are.
                    "items" | "additionalProperties" | "not" => {
                        out.insert(key.clone(), schema_of(value));
                    }
                    "allOf" | "anyOf" | "oneOf" => {
                        let list = value.as_array().map(|l| l.iter().map(schema_of).collect()).unwrap_or_default();
                        out.insert(key.clone(), Value::Array(list));
                    }
                    "properties" => {
                        let properties = value
                            .as_object()
                            .map(|p| p.iter().map(|(name, s)| (name.clone(), schema_of(s))).collect())
                            .unwrap_or_default();
                        out.insert(key.clone(), Value::Object(properties));
                    }
                    _ => {
                        out.insert(key.clone(), value.clone());
                    }
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// A response with its `schema`, `examples` and `headers` in 3.0's places.
fn response_of(response: &Value, produces: &[String]) -> Value {
    let Some(map) = response.as_object() else { return response.clone() };
    if map.contains_key("$ref") {
        return response.clone();
    }
    let mut out = Map::new();
    for (key, value) in map {
        if !matches!(key.as_str(), "schema" | "examples" | "headers") {
            out.insert(key.clone(), value.clone());
        }
    }
    out.entry("description").or_insert_with(|| json!(""));
    let examples = map.get("examples").and_then(Value::as_object);
    if let Some(schema) = map.get("schema") {
        let schema = schema_of(schema);
        let content: Map<String, Value> = produces
            .iter()
            .map(|media| {
                let mut entry = json!({"schema": schema.clone()});
                if let Some(example) = examples.and_then(|e| e.get(media)) {
                    entry["example"] = example.clone();
                }
                (media.clone(), entry)
            })
            .collect();
        out.insert("content".into(), Value::Object(content));
    }
    if let Some(headers) = map.get("headers").and_then(Value::as_object) {
        let converted: Map<String, Value> = headers
            .iter()
            .map(|(name, header)| {
                let mut entry = Map::new();
                copy(header, &mut entry, &["description"]);
                entry.insert("schema".into(), type_schema_of(header));
                (name.clone(), Value::Object(entry))
            })
            .collect();
        out.insert("headers".into(), Value::Object(converted));
    }
    Value::Object(out)
}

fn security_scheme_of(scheme: &Value) -> Value {
    let Some(map) = scheme.as_object() else { return scheme.clone() };
    let mut out = Map::new();
    copy(scheme, &mut out, &["description"]);
    match map.get("type").and_then(Value::as_str) {
        Some("basic") => {
            out.insert("type".into(), json!("http"));
            out.insert("scheme".into(), json!("basic"));
        }
        Some("oauth2") => {
            out.insert("type".into(), json!("oauth2"));
            let scopes = map.get("scopes").cloned().unwrap_or_else(|| json!({}));
            let mut flow = Map::new();
            flow.insert("scopes".into(), scopes);
            copy(scheme, &mut flow, &["authorizationUrl", "tokenUrl"]);
            let name = match map.get("flow").and_then(Value::as_str) {
                Some("implicit") => "implicit",
                Some("password") => "password",
                Some("application") => "clientCredentials",
                _ => "authorizationCode",
            };
            out.insert("flows".into(), json!({name: flow}));
        }
        _ => {
            for (key, value) in map {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// Every `$ref` pointed at its 3.0 place; a reference to a body parameter points at the request
/// body it became.
fn move_refs(value: &mut Value, global_params: &Map<String, Value>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref") {
                *reference = moved(reference, global_params);
            }
            for (key, child) in map.iter_mut() {
                match (key.as_str(), child) {
                    // Property names and statuses are names, whatever they are called (`default`):
                    // each one holds a schema or a response.
                    ("properties" | "responses", Value::Object(named)) => {
                        named.values_mut().for_each(|child| move_refs(child, global_params))
                    }
                    // Examples and enums are data, never references.
                    ("example" | "examples" | "enum" | "default" | "x-examples", _) => {}
                    (_, child) => move_refs(child, global_params),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| move_refs(item, global_params)),
        _ => {}
    }
}

fn moved(reference: &str, global_params: &Map<String, Value>) -> String {
    let (file, fragment) = reference.split_once('#').unwrap_or((reference, ""));
    let fragment = if let Some(name) = fragment.strip_prefix("/definitions/") {
        format!("/components/schemas/{name}")
    } else if let Some(name) = fragment.strip_prefix("/parameters/") {
        let body = global_params.get(&unescape(name)).and_then(|p| p.get("in")).and_then(Value::as_str) == Some("body");
        format!("/components/{}/{name}", if body { "requestBodies" } else { "parameters" })
    } else if let Some(name) = fragment.strip_prefix("/responses/") {
        format!("/components/responses/{name}")
    } else {
        fragment.to_owned()
    };
    if reference.contains('#') {
        format!("{file}#{fragment}")
    } else {
        reference.to_owned()
    }
}

fn copy(from: &Value, to: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(value) = from.get(*key) {
            to.insert((*key).to_owned(), value.clone());
        }
    }
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn shelter() -> Value {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../emulator/tests/fixtures/swagger2/shelter.yaml");
        let text = std::fs::read_to_string(&file).expect("fixture");
        let doc: Value = serde_yaml::from_str(&text).expect("YAML");
        convert(&doc).expect("converts")
    }

    #[test]
    fn the_converted_document_is_structurally_valid_openapi_3_0() {
        let converted = shelter();
        let parsed: Result<openapiv3::OpenAPI, _> = serde_path_to_error::deserialize(&converted);
        assert!(parsed.is_ok(), "{:?}", parsed.err());
        assert_eq!(converted["servers"], json!([{"url": "https://shelter.example.com/shelter/v1"}]));
        let text = converted.to_string();
        for old in ["#/definitions/", "#/parameters/", "\"#/responses/"] {
            assert!(!text.contains(old), "{old} left in {text}");
        }
    }

    #[test]
    fn bodies_forms_and_files_become_request_bodies() {
        let converted = shelter();
        let admit = &converted["paths"]["/animals"]["post"];
        assert_eq!(admit["requestBody"], json!({"$ref": "#/components/requestBodies/NewAnimalBody"}));
        assert!(admit.get("parameters").is_none(), "the body is not a parameter any more");
        let body = &converted["components"]["requestBodies"]["NewAnimalBody"];
        assert_eq!(body["required"], true);
        assert_eq!(body["content"]["application/json"]["schema"], json!({"$ref": "#/components/schemas/NewAnimal"}));

        let upload = &converted["paths"]["/animals/{animal_id}/photo"]["post"];
        let form = &upload["requestBody"]["content"]["multipart/form-data"]["schema"];
        assert_eq!(form["properties"]["file"], json!({"type": "string", "format": "binary"}));
        assert_eq!(form["required"], json!(["file"]));
        assert_eq!(
            upload["parameters"][0]["$ref"], "#/components/parameters/AnimalId",
            "path-level parameter copied in"
        );

        let visit = &converted["paths"]["/visits"]["post"]["requestBody"];
        let form = &visit["content"]["application/x-www-form-urlencoded"]["schema"];
        assert_eq!(form["properties"]["day"], json!({"type": "string", "format": "date"}));
        assert_eq!(visit["required"], true);
    }

    #[test]
    fn parameters_responses_and_schemas_move_to_their_3_0_places() {
        let converted = shelter();
        let list = &converted["paths"]["/animals"]["get"];
        let species = list["parameters"].as_array().expect("parameters").iter().find(|p| p["name"] == "species");
        let species = species.expect("species");
        assert_eq!((&species["style"], &species["explode"]), (&json!("form"), &json!(true)));
        assert_eq!(species["schema"]["items"]["enum"], json!(["cat", "dog", "rabbit"]));
        let tags = list["parameters"].as_array().expect("parameters").iter().find(|p| p["name"] == "tags");
        assert_eq!(tags.expect("tags")["explode"], false, "csv is form, not exploded");
        assert_eq!(converted["components"]["parameters"]["Limit"]["schema"]["maximum"], 50);
        let ok = &list["responses"]["200"];
        assert_eq!(ok["headers"]["X-Total-Count"]["schema"], json!({"type": "integer"}));
        assert_eq!(ok["content"]["application/json"]["schema"]["items"]["$ref"], "#/components/schemas/Animal");
        let created = &converted["paths"]["/animals"]["post"]["responses"]["201"]["content"]["application/json"];
        assert_eq!(created["example"]["name"], "Tom");
        assert_eq!(
            converted["paths"]["/animals/{animal_id}"]["get"]["responses"]["404"]["$ref"],
            "#/components/responses/NotFound"
        );
        let chip = &converted["components"]["schemas"]["NewAnimal"]["properties"]["chip"];
        assert_eq!(chip["nullable"], true);
        assert!(chip.get("x-nullable").is_none());
        let oauth = &converted["components"]["securitySchemes"]["partner"];
        assert_eq!(oauth["flows"]["clientCredentials"]["tokenUrl"], "https://shelter.example.com/oauth/token");
    }

    #[test]
    fn a_response_without_a_schema_has_no_content() {
        let doc = json!({"swagger": "2.0", "produces": ["application/json"], "paths": {"/x": {"delete": {
            "responses": {"204": {"description": "gone"}}
        }}}});
        let converted = convert(&doc).expect("converts");
        assert_eq!(converted["paths"]["/x"]["delete"]["responses"]["204"], json!({"description": "gone"}));
        assert_eq!(converted["servers"], json!([{"url": "/"}]), "no host: a relative server");
    }

    #[test]
    fn another_swagger_version_is_refused_by_name() {
        let (pointer, problem) = convert(&json!({"swagger": "1.2", "paths": {}})).expect_err("refused");
        assert_eq!(pointer, "/swagger");
        assert!(problem.contains("1.2"), "{problem}");
        let (pointer, _) = convert(
            &json!({"swagger": "2.0", "paths": {"/x": {"post": {"parameters": [{"name": "b", "in": "body"}]}}}}),
        )
        .expect_err("a body without a schema");
        assert_eq!(pointer, "/paths/~1x/post/parameters/0/schema");
    }
}
