//! Fills JSON templates written in specs and scenario files: `{{ name }}` placeholders looked up in
//! a context.
//!
//! A string that is exactly one placeholder takes the looked-up value with its JSON type (a number
//! stays a number, a list a list) and, when the name has no value, the member or item is left
//! out. Placeholders inside longer strings are interpolated as text (missing: empty).
//!
//! A placeholder is a name, a number, or names and numbers joined by ` + `, ` - `, ` * `, ` / `
//! (spaces around the operator, evaluated left to right): `{{state.remaining - request.body.amount}}`.
//! In arithmetic a missing name counts as 0 (a counter never set), and the result keeps as many
//! decimals as the most precise operand, so money stays money (`250 - 100.1` is `149.9`).

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

/// The value of one placeholder expression (see the module docs).
pub fn evaluate(expr: &str, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
    let tokens: Vec<&str> = expr.split_whitespace().collect();
    let operand = |token: &str| -> Option<Value> {
        match token.parse::<f64>() {
            Ok(_) => serde_json::from_str(token).ok(),
            Err(_) => lookup(token),
        }
    };
    let [first, rest @ ..] = tokens.as_slice() else { return None };
    if rest.is_empty() {
        return operand(first);
    }
    let number = |value: Option<Value>| -> Option<(f64, usize)> {
        match value {
            None | Some(Value::Null) => Some((0.0, 0)),
            Some(Value::Number(n)) => {
                let text = n.to_string();
                Some((n.as_f64()?, text.split_once('.').map_or(0, |(_, d)| d.len())))
            }
            Some(Value::String(s)) => Some((s.parse().ok()?, s.split_once('.').map_or(0, |(_, d)| d.len()))),
            Some(_) => None,
        }
    };
    let (mut total, mut decimals) = number(operand(first))?;
    for pair in rest.chunks(2) {
        let [op, token] = pair else { return None };
        let (value, places) = number(operand(token))?;
        decimals = decimals.max(places);
        total = match *op {
            "+" => total + value,
            "-" => total - value,
            "*" => total * value,
            "/" if value != 0.0 => total / value,
            _ => return None,
        };
    }
    let scale = 10f64.powi(i32::try_from(decimals.min(9)).unwrap_or(9));
    let rounded = (total * scale).round() / scale;
    if decimals == 0 && rounded.fract() == 0.0 && rounded.abs() < 9.0e15 {
        return Some(Value::Number((rounded as i64).into()));
    }
    serde_json::Number::from_f64(rounded).map(Value::Number)
}

fn render_text(text: &str, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
    if let Some(expr) = whole_placeholder(text) {
        return evaluate(expr, lookup);
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
        match evaluate(after[..end].trim(), lookup) {
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

/// A JSON value as text: a string without its quotes, anything else as JSON. Ids, filters and
/// URLs built from request values all read values this way.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
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
    fn arithmetic_keeps_money_decimals_and_counts_missing_as_zero() {
        let money = |name: &str| match name {
            "a" => Some(json!(250.0)),
            "b" => Some(json!(100.1)),
            "count" => Some(json!(2)),
            _ => None,
        };
        assert_eq!(evaluate("a - b", &money), Some(json!(149.9)));
        assert_eq!(evaluate("count + 1", &money), Some(json!(3)));
        assert_eq!(evaluate("never + 1", &money), Some(json!(1)));
        assert_eq!(evaluate("a / 0", &money), None);
        assert_eq!(evaluate("7", &money), Some(json!(7)));
        assert_eq!(render(&json!("left: {{a - b}}"), &money), Some(json!("left: 149.9")));
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
