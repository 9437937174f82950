//! Fills JSON templates written in specs and scenario files: `{{ name }}` placeholders looked up in
//! a context.
//!
//! A string that is exactly one placeholder takes the looked-up value with its JSON type (a number
//! stays a number, a list a list) and, when the name has no value, the member or item is left
//! out. Placeholders inside longer strings are interpolated as text (missing: empty).

use serde_json::{Map, Value};

/// Renders `template`, looking names up with `lookup`. `None` when the whole template is one
/// placeholder without a value.
pub fn render(template: &Value, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
    match template {
        Value::String(text) => render_text(text, lookup),
        Value::Array(items) => Some(Value::Array(items.iter().filter_map(|item| render(item, lookup)).collect())),
        Value::Object(members) => {
            let mut out = Map::with_capacity(members.len());
            for (key, value) in members {
                if let Some(rendered) = render(value, lookup) {
                    out.insert(key.clone(), rendered);
                }
            }
            Some(Value::Object(out))
        }
        other => Some(other.clone()),
    }
}

fn render_text(text: &str, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
    if let Some(name) = whole_placeholder(text) {
        return lookup(name);
    }
    if !text.contains("{{") {
        return Some(Value::String(text.to_owned()));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        match lookup(after[..end].trim()) {
            Some(Value::String(s)) => out.push_str(&s),
            Some(Value::Null) | None => {}
            Some(other) => out.push_str(&other.to_string()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Some(Value::String(out))
}

fn whole_placeholder(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim())
}

/// The placeholder names a template uses (for checking a template against its context up front).
pub fn names(template: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(template, &mut out);
    out
}

fn collect(template: &Value, out: &mut Vec<String>) {
    match template {
        Value::String(text) => {
            let mut rest = text.as_str();
            while let Some(start) = rest.find("{{") {
                let after = &rest[start + 2..];
                let Some(end) = after.find("}}") else { break };
                out.push(after[..end].trim().to_owned());
                rest = &after[end + 2..];
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
        Value::Object(members) => members.values().for_each(|value| collect(value, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup(name: &str) -> Option<Value> {
        match name {
            "n" => Some(json!(5)),
            "list" => Some(json!([1, 2])),
            "s" => Some(json!("x")),
            _ => None,
        }
    }

    #[test]
    fn whole_placeholders_keep_their_type_and_missing_ones_drop_the_member() {
        let out =
            render(&json!({"a": "{{n}}", "b": "{{ list }}", "c": "{{missing}}", "d": [ "{{missing}}", 1 ]}), &lookup);
        assert_eq!(out, Some(json!({"a": 5, "b": [1, 2], "d": [1]})));
    }

    #[test]
    fn placeholders_inside_text_are_interpolated() {
        assert_eq!(
            render(&json!("n={{n}}, s={{s}}, m={{missing}}, {{open"), &lookup),
            Some(json!("n=5, s=x, m=, {{open"))
        );
        assert_eq!(names(&json!({"a": "{{n}} and {{ s }}", "b": ["{{list}}"]})), vec!["n", "s", "list"]);
    }
}
