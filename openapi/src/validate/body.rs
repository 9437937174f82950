//! Reads a request body by its media type (JSON, form-urlencoded, multipart, text) into the JSON
//! value its schema is checked against.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::shape::{self, Shape};

/// A media type without parameters, lower-case: `application/json; charset=utf-8` →
/// `application/json`.
pub fn essence(media_type: &str) -> String {
    media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Whether a documented media type (or range: `application/*`, `*/*`) admits `actual` (an essence).
pub fn admits(documented: &str, actual: &str) -> bool {
    let documented = essence(documented);
    if documented == actual || documented == "*/*" {
        return true;
    }
    match documented.strip_suffix("/*") {
        Some(kind) => actual.split('/').next() == Some(kind),
        None => false,
    }
}

/// Whether an essence is JSON (`application/json` or any `+json`).
pub fn is_json(essence: &str) -> bool {
    essence == "application/json" || essence.ends_with("+json")
}

/// How a body of some media type is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Parsed as JSON.
    Json,
    /// `name=value&…`, values coerced by the schema's properties.
    Form,
    /// `multipart/form-data`: fields as strings (coerced), files as their text.
    Multipart,
    /// Any `text/*`: one string.
    Text,
    /// Anything else (`application/octet-stream`, images…): bytes the schema cannot describe.
    Opaque,
}

impl Reading {
    /// The reading for an essence.
    pub fn of(essence: &str) -> Reading {
        match essence {
            e if is_json(e) => Reading::Json,
            "application/x-www-form-urlencoded" => Reading::Form,
            "multipart/form-data" => Reading::Multipart,
            e if e.starts_with("text/") => Reading::Text,
            _ => Reading::Opaque,
        }
    }
}

/// The body's schema and the components it refers to, for fields nested with brackets.
pub type Schema<'a> = Option<(&'a Value, &'a Map<String, Value>)>;

/// Reads `body` sent as `content_type`. `None` for opaque bodies; `Err` names what is malformed.
pub(crate) fn read(
    reading: Reading,
    content_type: &str,
    body: &[u8],
    shape: &Shape,
    schema: Schema<'_>,
) -> Result<Option<Value>, String> {
    match reading {
        Reading::Json => serde_json::from_slice(body)
            .map(|mut value| {
                beyond_int64(&mut value);
                Some(value)
            })
            .map_err(|e| format!("malformed JSON: {e}")),
        Reading::Form => {
            let mut fields: Vec<(String, String)> = Vec::new();
            let mut nested: Vec<(String, String)> = Vec::new();
            for (name, value) in form_urlencoded::parse(body) {
                let deep = schema.is_some() && name.ends_with(']') && name.find('[').is_some_and(|i| i > 0);
                if deep { &mut nested } else { &mut fields }.push((name.into_owned(), value.into_owned()));
            }
            let mut object = fields_to_object(fields, shape);
            if let (Some((schema, defs)), Value::Object(map)) = (schema, &mut object) {
                deep_object_fields(map, nested, schema, defs)?;
            }
            Ok(Some(object))
        }
        Reading::Multipart => multipart(content_type, body).map(|fields| Some(fields_to_object(fields, shape))),
        Reading::Text => std::str::from_utf8(body)
            .map(|text| Some(Value::String(text.to_owned())))
            .map_err(|_| "text body is not valid UTF-8".to_owned()),
        Reading::Opaque => Ok(None),
    }
}

/// Named fields to an object: a field sent more than once, or documented as an array, becomes an
/// array; every value is coerced by the schema of its property.
fn fields_to_object(fields: Vec<(String, String)>, shape: &Shape) -> Value {
    let mut object = Map::new();
    for (name, raw) in fields {
        let items = match shape {
            Shape::Object(properties, _) => properties.iter().find(|(n, _)| *n == name).map(|(_, t)| *t),
            _ => None,
        };
        let value = items.unwrap_or_default().coerce(&raw);
        match object.get_mut(&name) {
            Some(Value::Array(list)) => list.push(value),
            Some(first) => {
                let first = first.take();
                object.insert(name, Value::Array(vec![first, value]));
            }
            None => {
                object.insert(name, value);
            }
        }
    }
    Value::Object(object)
}

/// Adds fields written with brackets (`metadata[order_id]=6735`, `items[0][price]=p_1`,
/// `expand[]=customer`), as form bodies encode deepObject properties (Stripe's whole API does),
/// into `object`: each leaf coerced by the schema at its path, and levels the schema calls arrays
/// made arrays (in index order; `[]` appends). A field that gives a value where another gives
/// nested fields (`a=1&a[b]=2`) is refused, naming it, rather than one of them dropped.
fn deep_object_fields(
    object: &mut Map<String, Value>,
    fields: Vec<(String, String)>,
    schema: &Value,
    defs: &Map<String, Value>,
) -> Result<(), String> {
    let mut roots: Vec<String> = Vec::new();
    for (name, raw) in fields {
        let Some(open) = name.find('[') else { continue };
        let root = &name[..open];
        let segments: Vec<&str> = name[open + 1..name.len() - 1].split("][").collect();
        let mut at = shape::child(schema, defs, root);
        let mut slot = object.entry(root.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        let conflict = || format!("form field {name:?}: {root} is sent both as a value and with nested fields");
        for (depth, segment) in segments.iter().enumerate() {
            at = at.and_then(|s| shape::child(s, defs, segment));
            let Value::Object(level) = slot else { return Err(conflict()) };
            // `[]` appends: a fresh index past those already there.
            let key = if segment.is_empty() { level.len().to_string() } else { (*segment).to_owned() };
            let leaf = depth + 1 == segments.len();
            let value = if leaf {
                at.map_or_else(Default::default, |s| shape::types(s, defs)).coerce(&raw)
            } else {
                Value::Object(Map::new())
            };
            if leaf && level.get(&key).is_some_and(Value::is_object) {
                return Err(conflict());
            }
            slot = level.entry(key).or_insert(value);
        }
        if !roots.iter().any(|r| r == root) {
            roots.push(root.to_owned());
        }
    }
    for root in roots {
        if let (Some(value), Some(child)) = (object.get_mut(&root), shape::child(schema, defs, &root)) {
            arrays_where_documented(value, child, defs);
        }
    }
    Ok(())
}

/// Turns the objects of index keys that `schema` documents as arrays into arrays.
fn arrays_where_documented(value: &mut Value, schema: &Value, defs: &Map<String, Value>) {
    let Value::Object(map) = value else { return };
    for (key, child) in map.iter_mut() {
        if let Some(child_schema) = shape::child(schema, defs, key) {
            arrays_where_documented(child, child_schema, defs);
        }
    }
    let is_array = shape::types(schema, defs).has_array() && map.keys().all(|k| k.parse::<usize>().is_ok());
    if is_array {
        let mut items: Vec<(usize, Value)> =
            std::mem::take(map).into_iter().filter_map(|(k, v)| Some((k.parse().ok()?, v))).collect();
        items.sort_by_key(|(index, _)| *index);
        *value = Value::Array(items.into_iter().map(|(_, v)| v).collect());
    }
}

/// The fields of a `multipart/form-data` body; a file part's value is its content as text.
fn multipart(content_type: &str, body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| format!("multipart Content-Type: {e}"))?;
    let chunk = Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(chunk) });
    let mut parts = multer::Multipart::new(stream, boundary);
    // The whole body is already in memory, so the stream never waits: block_on returns at once.
    futures_executor::block_on(async move {
        let mut fields = Vec::new();
        while let Some(field) = parts.next_field().await.map_err(|e| format!("malformed multipart body: {e}"))? {
            let name = field.name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|e| format!("malformed multipart part {name:?}: {e}"))?;
            fields.push((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
        Ok(fields)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object_shape() -> Shape {
        Shape::of(
            &json!({"type": "object", "properties": {"n": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}}}),
            &Map::new(),
        )
    }

    #[test]
    fn bracketed_form_fields_become_the_objects_and_arrays_the_schema_documents() {
        let defs = json!({"Address": {"type": "object", "properties": {"zip": {"type": "integer"}}}});
        let defs = defs.as_object().expect("map");
        let schema = json!({"type": "object", "properties": {
            "metadata": {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"type": "string", "enum": [""]}]},
            "items": {"type": "array", "items": {"type": "object", "properties": {"qty": {"type": "integer"}, "address": {"$ref": "#/$defs/Address"}}}},
            "expand": {"type": "array", "items": {"type": "string"}},
            "name": {"type": "string"}}});
        let shape = Shape::of(&schema, defs);
        let body = b"name=Jo&metadata[order]=6735&items[1][qty]=2&items[0][qty]=1&items[0][address][zip]=94107&expand[]=a&expand[]=b";
        let form = read(Reading::Form, "application/x-www-form-urlencoded", body, &shape, Some((&schema, defs)));
        assert_eq!(
            form.expect("reads"),
            Some(
                json!({"name": "Jo", "metadata": {"order": "6735"}, "items": [{"qty": 1, "address": {"zip": 94107}}, {"qty": 2}], "expand": ["a", "b"]})
            )
        );
    }

    #[test]
    fn a_field_sent_both_as_a_value_and_nested_is_refused_by_name() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "object"}}});
        let shape = Shape::of(&schema, &Map::new());
        for body in [&b"a=1&a[b]=2"[..], b"a[b][c]=1&a[b]=2", b"a[b]=1&a[b][c]=2"] {
            let form =
                read(Reading::Form, "application/x-www-form-urlencoded", body, &shape, Some((&schema, &Map::new())));
            assert!(form.as_ref().is_err_and(|e| e.contains("form field") && e.contains("a[b")), "{form:?}");
        }
    }

    #[test]
    fn media_ranges_admit_their_kind() {
        assert!(admits("application/json", "application/json"));
        assert!(admits("application/*", "application/merge-patch+json"));
        assert!(admits("*/*", "image/png"));
        assert!(!admits("application/json", "text/plain"));
        assert_eq!(essence("Application/JSON; charset=utf-8"), "application/json");
    }

    #[test]
    fn form_and_multipart_bodies_become_objects() {
        let form =
            read(Reading::Form, "application/x-www-form-urlencoded", b"n=5&tags=a&tags=b", &object_shape(), None);
        assert_eq!(form, Ok(Some(json!({"n": 5, "tags": ["a", "b"]}))));
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n7\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--XyZ--\r\n";
        let multipart =
            read(Reading::Multipart, "multipart/form-data; boundary=XyZ", body.as_bytes(), &object_shape(), None);
        assert_eq!(multipart, Ok(Some(json!({"n": 7, "file": "hello"}))));
        let broken = read(Reading::Multipart, "multipart/form-data", body.as_bytes(), &object_shape(), None);
        assert!(broken.is_err_and(|e| e.contains("boundary")));
    }

    #[test]
    fn malformed_json_says_where() {
        let error = read(Reading::Json, "application/json", b"{\"a\": ", &object_shape(), None).expect_err("malformed");
        assert!(error.contains("line 1"), "{error}");
    }
}

/// A JSON integer below i64::MIN is read as the float -2^63, which equals i64::MIN and so would
/// pass an `int64` bound; an in-range integer is always read as an integer. Such floats move one
/// step further out (the value was past what a float holds exactly anyway), so the bound refuses
/// them and i64::MIN itself still passes.
fn beyond_int64(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() && n.as_f64() == Some(-9_223_372_036_854_775_808.0) => {
            if let Some(further) =
                serde_json::Number::from_f64(f64::from_bits((-9_223_372_036_854_775_808.0_f64).to_bits() + 1))
            {
                *n = further;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(beyond_int64),
        Value::Object(members) => members.values_mut().for_each(beyond_int64),
        _ => {}
    }
}

#[cfg(test)]
mod int64_tests {
    use super::*;

    #[test]
    fn an_integer_below_i64_min_stays_below_it() {
        let mut below: Value =
            serde_json::from_str(r#"{"id": -9223372036854775809, "min": -9223372036854775808}"#).expect("JSON");
        beyond_int64(&mut below);
        assert!(below["id"].as_f64().is_some_and(|f| f < -9_223_372_036_854_775_808.0), "{below}");
        assert_eq!(below["min"].as_i64(), Some(i64::MIN), "i64::MIN itself is untouched");
    }
}
