//! One `when` condition of a scenario: a field of the request or the loaded state, and a test.

use regex::Regex;
use serde_json::Value;

use sandgate_openapi::template::text;

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Condition {
    field: String,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Equals(Value),
    NotEquals(Value),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    Greater(Value, bool),
    Less(Value, bool),
    Matches(Box<Regex>),
    Exists(bool),
}

const TESTS: &str = "equals, not_equals, in, not_in, gt, gte, lt, lte, matches, exists";

impl Condition {
    /// Parses `{field: request.body.amount, gt: 10000}`; `related` names the scenario's other
    /// loaded objects, which a field may also start with. The error says what is wrong.
    pub(crate) fn parse(spec: &Value, related: &[String]) -> Result<Condition, String> {
        let map = spec.as_object().ok_or("a condition is a map: {field: …, <test>: …}")?;
        let field = map.get("field").and_then(Value::as_str).ok_or("field is required (e.g. request.body.amount)")?;
        let root = field.split('.').next().unwrap_or_default();
        let known = matches!(root, "state" | "request") && (root == "state" || field.contains('.'))
            || field == "api.version"
            || related.iter().any(|name| name == root);
        if !known {
            return Err(format!(
                "field {field:?} must start with request. or state. (or be api.version, or name a related object)"
            ));
        }
        let tests: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| *k != "field").collect();
        let [(name, operand)] = tests.as_slice() else {
            return Err(format!("exactly one test is needed, one of {TESTS}"));
        };
        let list = || operand.as_array().cloned().ok_or(format!("{name} takes a list"));
        let test = match name.as_str() {
            "equals" => Test::Equals((*operand).clone()),
            "not_equals" => Test::NotEquals((*operand).clone()),
            "in" => Test::In(list()?),
            "not_in" => Test::NotIn(list()?),
            "gt" => Test::Greater((*operand).clone(), false),
            "gte" => Test::Greater((*operand).clone(), true),
            "lt" => Test::Less((*operand).clone(), false),
            "lte" => Test::Less((*operand).clone(), true),
            "matches" => {
                let pattern = operand.as_str().ok_or("matches takes a regular expression")?;
                Test::Matches(Box::new(Regex::new(pattern).map_err(|e| format!("matches: {e}"))?))
            }
            "exists" => Test::Exists(operand.as_bool().ok_or("exists takes true or false")?),
            other => return Err(format!("unknown test {other:?}; use one of {TESTS}")),
        };
        Ok(Condition { field: field.to_owned(), test })
    }

    /// Whether the condition holds; operands may be templates over the same context.
    pub fn holds(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> bool {
        let value = lookup(&self.field);
        let operand = |v: &Value| sandgate_openapi::template::render(v, lookup).unwrap_or(Value::Null);
        match &self.test {
            Test::Exists(wanted) => value.is_some_and(|v| !v.is_null()) == *wanted,
            Test::Equals(other) => value.is_some_and(|v| same(&v, &operand(other))),
            Test::NotEquals(other) => !value.is_some_and(|v| same(&v, &operand(other))),
            Test::In(list) => value.is_some_and(|v| list.iter().any(|o| same(&v, &operand(o)))),
            Test::NotIn(list) => !value.is_some_and(|v| list.iter().any(|o| same(&v, &operand(o)))),
            Test::Greater(other, or_equal) => {
                compare(value, operand(other)).is_some_and(|o| o.is_gt() || (*or_equal && o.is_eq()))
            }
            Test::Less(other, or_equal) => {
                compare(value, operand(other)).is_some_and(|o| o.is_lt() || (*or_equal && o.is_eq()))
            }
            Test::Matches(regex) => value.is_some_and(|v| regex.is_match(&text(&v))),
        }
    }
}

/// Equal as JSON, as numbers when both are and one is a fraction (`100` equals `100.0`; money
/// sums such as `33.33 + 66.67` within a billionth; two integers only when they are the same, so
/// account numbers never round into each other), or as text (`40000000000001` equals
/// `"40000000000001"`).
fn same(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-9,
            _ => false,
        },
        (Value::Number(_), Value::Number(_)) => false,
        _ => !a.is_null() && text(a) == text(b),
    }
}

fn compare(a: Option<Value>, b: Value) -> Option<std::cmp::Ordering> {
    number(&a?)?.partial_cmp(&number(&b)?)
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup(name: &str) -> Option<Value> {
        match name {
            "request.body.amount" => Some(json!(120.5)),
            "request.body.account_number" => Some(json!(40000000000002_u64)),
            "state.remaining" => Some(json!(100)),
            _ => None,
        }
    }

    fn holds(spec: Value) -> bool {
        Condition::parse(&spec, &[]).expect("parses").holds(&lookup)
    }

    #[test]
    fn tests_compare_numbers_text_lists_and_templates() {
        assert!(holds(json!({"field": "request.body.amount", "gt": "{{state.remaining}}"})));
        assert!(!holds(json!({"field": "request.body.amount", "lte": 100})));
        assert!(holds(json!({"field": "request.body.account_number", "in": ["40000000000001", "40000000000002"]})));
        assert!(holds(json!({"field": "request.body.account_number", "matches": "^4000000000000[1-4]$"})));
        assert!(holds(json!({"field": "state.missing", "exists": false})));
        assert!(holds(json!({"field": "state.missing", "not_equals": 3})));
        assert!(!holds(json!({"field": "state.missing", "gt": 3})), "a missing field is never greater");
        assert!(holds(json!({"field": "state.remaining", "equals": 100.0})), "100 is 100.0");
        assert!(
            holds(json!({"field": "state.remaining", "equals": "{{33.33 + 66.67}}"})),
            "money sums within a billionth"
        );
        assert!(!holds(json!({"field": "state.remaining", "equals": 100.01})));
        assert!(
            !holds(json!({"field": "request.body.account_number", "equals": 40000000000001_u64})),
            "exact integers"
        );
    }

    #[test]
    fn malformed_conditions_say_what_is_wrong() {
        let error = |spec: Value| Condition::parse(&spec, &["plan".to_owned()]).expect_err("refused");
        assert!(error(json!({"field": "request.body.a", "gtt": 1})).contains("unknown test \"gtt\""));
        assert!(error(json!({"field": "body.a", "gt": 1})).contains("request. or state."));
        assert!(error(json!({"field": "request.body.a"})).contains("exactly one test"));
        assert!(error(json!({"field": "account.status", "gt": 1})).contains("related object"));
        assert!(Condition::parse(&json!({"field": "plan.apr", "gt": 1}), &["plan".to_owned()]).is_ok());
        assert!(error(json!({"field": "request.body.a", "matches": "("})).contains("matches"));
    }
}
