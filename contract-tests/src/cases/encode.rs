//! Turns parameter and body values into an HTTP request by each parameter's OpenAPI style, the
//! inverse of the emulator's `sandgate_openapi::validate::params` readers (so the validator can judge the result).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use sandgate_openapi::{Api, Operation, ParamLocation, ParamStyle, Parameter};

use super::Request;

/// Bytes left as they are in a path segment or query value (RFC 3986 unreserved).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// What a request carries before it is encoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    /// `(index into op.parameters, value)`; parameters absent here are not sent.
    pub params: Vec<(usize, Value)>,
    /// The body, if any.
    pub body: Option<Body>,
}

/// A request body before encoding.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A value sent as the media type documented at this index of the request body.
    Value {
        /// Index into `op.request_body.content`.
        media: usize,
        /// The value.
        value: Value,
    },
    /// Bytes sent as they are (malformed bodies, undocumented media types).
    Raw {
        /// The `Content-Type`.
        content_type: String,
        /// The text.
        text: String,
    },
}

/// An encoded request and its raw path segments (what a router hands the validator).
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The request.
    pub request: Request,
    /// `(name, percent-encoded value)` of each path parameter.
    pub path_params: Vec<(String, String)>,
}

/// The multipart boundary of generated bodies.
const BOUNDARY: &str = "sandgate-contract-boundary";

/// Encodes `draft` as a request to `op` of `api`.
pub fn encode(api: &Api, op: &Operation, draft: &Draft) -> Encoded {
    let mut path = op.path.clone();
    let mut path_params = Vec::new();
    let mut query: Vec<String> = Vec::new();
    let mut headers = Vec::new();
    let mut cookies = Vec::new();
    for (index, value) in &draft.params {
        let Some(param) = op.parameters.get(*index) else { continue };
        match param.location {
            ParamLocation::Path => {
                let segment = path_value(param, value);
                path = path.replace(&format!("{{{}}}", param.name), &segment);
                path_params.push((param.name.clone(), segment));
            }
            ParamLocation::Query => query.extend(query_pairs(param, value)),
            ParamLocation::Header => headers.push((param.name.clone(), simple(param, value, ','))),
            ParamLocation::Cookie => cookies.push(format!("{}={}", param.name, simple(param, value, ','))),
        }
    }
    if !cookies.is_empty() {
        headers.push(("cookie".to_owned(), cookies.join("; ")));
    }
    let body = draft.body.as_ref().and_then(|body| match body {
        Body::Raw { content_type, text } => {
            headers.push(("content-type".to_owned(), content_type.clone()));
            Some(text.clone())
        }
        Body::Value { media, value } => {
            let media_type = op.request_body.as_ref()?.content.get(*media)?.media_type.as_str();
            let (content_type, text) = body_text(media_type, value);
            headers.push(("content-type".to_owned(), content_type));
            Some(text)
        }
    });
    let request = Request {
        method: op.method.to_string(),
        path: format!("{}{path}", api.base_path),
        query: query.join("&"),
        headers,
        body,
    };
    Encoded { request, path_params }
}

/// A scalar as the text it travels as.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `raw` percent-encoded for a path segment or a query value.
pub fn escape(raw: &str) -> String {
    utf8_percent_encode(raw, UNRESERVED).to_string()
}

/// `simple` serialisation: `a,b` for arrays, `k,v` (or `k=v` exploded) for objects.
fn simple(param: &Parameter, value: &Value, separator: char) -> String {
    if param.json_content {
        return value.to_string();
    }
    let sep = separator.to_string();
    match value {
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(&sep),
        Value::Object(map) if param.explode => {
            map.iter().map(|(k, v)| format!("{k}={}", text(v))).collect::<Vec<_>>().join(&sep)
        }
        Value::Object(map) => map.iter().flat_map(|(k, v)| [k.clone(), text(v)]).collect::<Vec<_>>().join(&sep),
        scalar => text(scalar),
    }
}

fn path_value(param: &Parameter, value: &Value) -> String {
    match param.style {
        ParamStyle::Label => {
            let separator = if param.explode { '.' } else { ',' };
            format!(".{}", escape(&simple(param, value, separator)))
        }
        ParamStyle::Matrix => match value {
            Value::Array(items) if param.explode => {
                items.iter().map(|item| format!(";{}={}", param.name, escape(&text(item)))).collect()
            }
            _ => format!(";{}={}", param.name, escape(&simple(param, value, ','))),
        },
        _ => escape(&simple(param, value, ',')),
    }
}

fn query_pairs(param: &Parameter, value: &Value) -> Vec<String> {
    let pair = |name: &str, raw: &str| format!("{}={}", escape(name), escape(raw));
    if param.json_content {
        return vec![pair(&param.name, &value.to_string())];
    }
    match (param.style, value) {
        (ParamStyle::DeepObject, Value::Object(map)) => {
            map.iter().map(|(k, v)| pair(&format!("{}[{k}]", param.name), &text(v))).collect()
        }
        (ParamStyle::Form, Value::Object(map)) if param.explode => map.iter().map(|(k, v)| pair(k, &text(v))).collect(),
        (ParamStyle::Form, Value::Array(items)) if param.explode => {
            items.iter().map(|item| pair(&param.name, &text(item))).collect()
        }
        (ParamStyle::SpaceDelimited, _) => vec![pair(&param.name, &simple(param, value, ' '))],
        (ParamStyle::PipeDelimited, _) => vec![pair(&param.name, &simple(param, value, '|'))],
        _ => vec![pair(&param.name, &simple(param, value, ','))],
    }
}

/// The `Content-Type` and text of a body value sent as `media_type`.
fn body_text(media_type: &str, value: &Value) -> (String, String) {
    let essence = sandgate_openapi::validate::body::essence(media_type);
    let fields = || -> Vec<(String, String)> {
        let Value::Object(map) = value else { return Vec::new() };
        map.iter()
            .flat_map(|(name, value)| match value {
                Value::Array(items) => items.iter().map(|item| (name.clone(), text(item))).collect::<Vec<_>>(),
                other => vec![(name.clone(), text(other))],
            })
            .collect()
    };
    match essence.as_str() {
        "application/x-www-form-urlencoded" => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (name, value) in fields() {
                form.append_pair(&name, &value);
            }
            (essence, form.finish())
        }
        "multipart/form-data" => {
            let mut out = String::new();
            for (name, value) in fields() {
                out.push_str(&format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                ));
            }
            out.push_str(&format!("--{BOUNDARY}--\r\n"));
            (format!("multipart/form-data; boundary={BOUNDARY}"), out)
        }
        e if e.starts_with("text/") => (essence.clone(), text(value)),
        // A range (`application/*`, `*/*`) is sent as JSON, the one body Sandgate fabricates.
        e if e.contains('*') => ("application/json".to_owned(), value.to_string()),
        _ => (essence, value.to_string()),
    }
}
