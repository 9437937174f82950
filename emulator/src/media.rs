//! Answers in every media type a spec documents, not only JSON: text, CSV, XML (from the schema
//! with its `xml` hints), JWT, and binary types as tiny valid files; and the `Accept` header's
//! choice among them (RFC 9110 §12.5.1: quality values, `type/*`, `*/*`; nothing acceptable is
//! 406).

use base64::Engine;
use serde_json::{Map, Value};

/// How a documented media type is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Json,
    Text,
    Csv,
    Xml,
    Jwt,
    Png,
    Gif,
    Pdf,
    Binary,
}

impl Kind {
    /// The kind of `media_type` (parameters and case ignored).
    pub(crate) fn of(media_type: &str) -> Kind {
        let essence = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => Kind::Json,
            e if e.ends_with("+json") => Kind::Json,
            "text/csv" => Kind::Csv,
            "application/xml" | "text/xml" => Kind::Xml,
            e if e.ends_with("+xml") => Kind::Xml,
            "application/jwt" => Kind::Jwt,
            "image/png" => Kind::Png,
            "image/gif" => Kind::Gif,
            "application/pdf" => Kind::Pdf,
            e if e.starts_with("text/") => Kind::Text,
            _ => Kind::Binary,
        }
    }
}

/// How a documented media type is answered, and the `Content-Type` it is answered with: itself,
/// or for a range (`*/*`, `application/*`, `text/*`, `image/*`), which no answer can carry, a
/// type in it (JSON where a schema describes the value).
pub(crate) fn concrete(documented: &str, has_schema: bool) -> (Kind, String) {
    let essence = documented.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let Some(range) = essence.strip_suffix("/*") else { return (Kind::of(documented), documented.to_owned()) };
    match range {
        "*" | "application" if has_schema => (Kind::Json, "application/json".to_owned()),
        "text" => (Kind::Text, "text/plain".to_owned()),
        "image" => (Kind::Png, "image/png".to_owned()),
        _ => (Kind::Binary, "application/octet-stream".to_owned()),
    }
}

/// A 1×1 transparent PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A 1×1 GIF.
const GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// A one-page PDF with no content.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// The body of `value` (fabricated from the schema, or the spec's example) written as `kind`;
/// `root` names the XML root element (the schema's `xml.name`, else its component name).
pub(crate) fn write(kind: Kind, value: &Value, root: &str, seed: u64) -> Vec<u8> {
    match kind {
        Kind::Json => serde_json::to_vec(value).unwrap_or_default(),
        Kind::Text => plain(value).into_bytes(),
        Kind::Csv => csv(value).into_bytes(),
        Kind::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            xml(&mut out, root, value);
            out.into_bytes()
        }
        Kind::Jwt => jwt(value, seed).into_bytes(),
        Kind::Png => PNG.to_vec(),
        Kind::Gif => GIF.to_vec(),
        Kind::Pdf => PDF.to_vec(),
        Kind::Binary => (0..16u64).map(|i| (seed.rotate_left((i * 8) as u32) & 0xff) as u8).collect(),
    }
}

/// A string as itself, anything else as JSON text.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A list of objects as a header line and one line per object (RFC 4180 quoting); a string as
/// itself (a CSV document the schema describes as text).
fn csv(value: &Value) -> String {
    let field = |value: Option<&Value>| {
        let text = value.map(plain).unwrap_or_default();
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    match value {
        Value::Array(rows) => {
            let mut columns: Vec<&String> = Vec::new();
            for row in rows.iter().filter_map(Value::as_object) {
                for key in row.keys() {
                    if !columns.contains(&key) {
                        columns.push(key);
                    }
                }
            }
            if columns.is_empty() {
                return rows.iter().map(|v| field(Some(v))).collect::<Vec<_>>().join("\r\n") + "\r\n";
            }
            let mut out =
                columns.iter().map(|c| field(Some(&Value::String((*c).clone())))).collect::<Vec<_>>().join(",");
            out.push_str("\r\n");
            for row in rows {
                let line: Vec<String> = columns.iter().map(|c| field(row.get(c.as_str()))).collect();
                out.push_str(&line.join(","));
                out.push_str("\r\n");
            }
            out
        }
        Value::Object(object) => csv(&Value::Array(vec![Value::Object(object.clone())])),
        other => plain(other),
    }
}

/// `value` as the element `name`: objects as child elements, lists as repeated elements, the rest
/// as escaped text.
fn xml(out: &mut String, name: &str, value: &Value) {
    let name = element_name(name);
    match value {
        Value::Array(items) => {
            for item in items {
                xml(out, &name, item);
            }
        }
        Value::Object(members) => {
            out.push_str(&format!("<{name}>"));
            for (key, member) in members {
                xml(out, key, member);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Null => out.push_str(&format!("<{name}/>")),
        scalar => {
            let text = plain(scalar).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            out.push_str(&format!("<{name}>{text}</{name}>"));
        }
    }
}

/// A valid XML element name for a JSON key.
fn element_name(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' }).collect();
    if !out.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// A well-formed JWT (RFC 7519): the value's members as claims (a string value as `sub`), with
/// `iat` and `exp` around now, signed with a key nobody holds.
fn jwt(value: &Value, seed: u64) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = match value {
        Value::Object(members) => members.clone(),
        Value::String(subject) if subject.matches('.').count() == 2 => return subject.clone(),
        other => {
            let mut claims = Map::new();
            claims.insert("sub".into(), Value::String(plain(other)));
            claims
        }
    };
    claims.entry("iat").or_insert(Value::from(now));
    claims.entry("exp").or_insert(Value::from(now + 3_600));
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = encode(&serde_json::to_vec(&Value::Object(claims)).unwrap_or_default());
    let signature = encode(&seed.to_be_bytes().repeat(4));
    format!("{header}.{payload}.{signature}")
}

/// Which of `offered` (in the spec's order) the `Accept` header takes: the one with the highest
/// quality, the spec's order breaking ties; the first for an empty header. `None`: nothing
/// offered is acceptable (406).
pub(crate) fn negotiate(accept: &str, offered: &[&str]) -> Option<usize> {
    if accept.trim().is_empty() {
        return (!offered.is_empty()).then_some(0);
    }
    let ranges: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                .next()
                .unwrap_or(1.0);
            (!media.is_empty()).then_some((media, quality))
        })
        .collect();
    let quality = |offer: &str| -> f32 {
        let essence = offer.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let (kind, _) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
        // The most specific range that matches decides (RFC 9110: `text/csv;q=0` beats `text/*`).
        let specificity = |range: &str| match range {
            "*/*" => 0,
            r if r.ends_with("/*") => 1,
            _ => 2,
        };
        ranges
            .iter()
            .filter(|(range, _)| range == "*/*" || *range == essence || range.strip_suffix("/*") == Some(kind))
            .max_by_key(|(range, _)| specificity(range))
            .map_or(0.0, |(_, q)| *q)
    };
    let mut best: Option<(usize, f32)> = None;
    for (index, offer) in offered.iter().enumerate() {
        let q = quality(offer);
        if q > 0.0 && best.is_none_or(|(_, top)| q > top) {
            best = Some((index, q));
        }
    }
    best.map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accept_picks_by_quality_then_spec_order_and_refuses_what_nothing_matches() {
        let offered = ["application/json", "text/csv", "application/xml"];
        assert_eq!(negotiate("", &offered), Some(0));
        assert_eq!(negotiate("text/csv", &offered), Some(1));
        assert_eq!(negotiate("application/xml;q=0.9, text/*;q=0.5", &offered), Some(2));
        assert_eq!(negotiate("*/*", &offered), Some(0));
        assert_eq!(negotiate("text/*, text/csv;q=0", &offered), None, "the specific range wins");
        assert_eq!(negotiate("image/png", &offered), None);
    }

    #[test]
    fn a_documented_range_is_answered_with_a_type_in_it() {
        assert_eq!(concrete("*/*", true), (Kind::Json, "application/json".to_owned()));
        assert_eq!(concrete("*/*", false), (Kind::Binary, "application/octet-stream".to_owned()));
        assert_eq!(concrete("application/*", true), (Kind::Json, "application/json".to_owned()));
        assert_eq!(concrete("text/*", true), (Kind::Text, "text/plain".to_owned()));
        assert_eq!(concrete("image/*", false), (Kind::Png, "image/png".to_owned()));
        assert_eq!(concrete("text/csv", true), (Kind::Csv, "text/csv".to_owned()));
    }

    #[test]
    fn bodies_are_well_formed_in_each_type() {
        let rows = json!([{"id": 1, "name": "Rex, the dog"}, {"id": 2, "name": "Tom \"cat\""}]);
        assert_eq!(
            String::from_utf8(write(Kind::Csv, &rows, "pets", 1)).expect("utf-8"),
            "id,name\r\n1,\"Rex, the dog\"\r\n2,\"Tom \"\"cat\"\"\"\r\n"
        );
        let xml =
            String::from_utf8(write(Kind::Xml, &json!({"id": 1, "tags": ["a<b", "c"]}), "Pet", 1)).expect("utf-8");
        assert!(xml.ends_with("<Pet><id>1</id><tags>a&lt;b</tags><tags>c</tags></Pet>"), "{xml}");
        let token = String::from_utf8(write(Kind::Jwt, &json!({"sub": "u1"}), "", 7)).expect("utf-8");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{token}");
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url"),
        )
        .expect("JSON claims");
        assert!(claims["sub"] == "u1" && claims["exp"].as_i64() > claims["iat"].as_i64(), "{claims}");
        assert!(write(Kind::Png, &Value::Null, "", 1).starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(write(Kind::Pdf, &Value::Null, "", 1).starts_with(b"%PDF-"));
        assert_eq!(write(Kind::Text, &json!("hello"), "", 1), b"hello");
        assert_eq!(Kind::of("application/vnd.api+json"), Kind::Json);
        assert_eq!(Kind::of("application/atom+xml; charset=utf-8"), Kind::Xml);
    }
}
