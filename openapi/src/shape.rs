//! Reads the outline of a schema once, at compile time: what a parameter or form field expects
//! (so the validator can turn raw strings into JSON values), an object's top-level fields and where
//! a list keeps its items (for the state stage).

use serde_json::{Map, Number, Value};

/// A set of JSON types (empty: the schema does not say).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Types(u8);

impl Types {
    const STRING: u8 = 1;
    const INTEGER: u8 = 2;
    const NUMBER: u8 = 4;
    const BOOLEAN: u8 = 8;
    const NULL: u8 = 16;
    const ARRAY: u8 = 32;
    const OBJECT: u8 = 64;

    fn of_name(name: &str) -> u8 {
        match name {
            "string" => Types::STRING,
            "integer" => Types::INTEGER,
            "number" => Types::NUMBER,
            "boolean" => Types::BOOLEAN,
            "null" => Types::NULL,
            "array" => Types::ARRAY,
            "object" => Types::OBJECT,
            _ => 0,
        }
    }

    fn of_value(value: &Value) -> u8 {
        match value {
            Value::String(_) => Types::STRING,
            Value::Number(n) if n.is_i64() || n.is_u64() => Types::INTEGER,
            Value::Number(_) => Types::NUMBER,
            Value::Bool(_) => Types::BOOLEAN,
            Value::Null => Types::NULL,
            Value::Array(_) => Types::ARRAY,
            Value::Object(_) => Types::OBJECT,
        }
    }

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// Whether arrays are among the types.
    pub fn has_array(self) -> bool {
        self.has(Types::ARRAY)
    }

    /// Whether `value`'s JSON type is among the types (an integer is a number too); an empty set
    /// (the schema does not say) admits anything.
    pub fn admits(self, value: &Value) -> bool {
        let bits = Types::of_value(value);
        self.0 == 0 || self.has(bits) || (bits == Types::INTEGER && self.has(Types::NUMBER))
    }

    /// The JSON value a raw string stands for under these types: the first of integer, number,
    /// boolean, null that the types allow and the text parses as, else the string itself (so the
    /// validator names a mismatch). A non-string reading wins because it is the narrower one:
    /// `3` under `oneOf: [integer, {enum: [S, M]}]` is the integer.
    pub fn coerce(self, raw: &str) -> Value {
        if self.has(Types::INTEGER) || self.has(Types::NUMBER) {
            if let Ok(int) = raw.parse::<i64>() {
                return Value::Number(int.into());
            }
            if let Ok(int) = raw.parse::<u64>() {
                return Value::Number(int.into());
            }
            // An integer past 64 bits is still an integer to JSON Schema (a float without a
            // fraction): read as text it would be refused as "not of type integer".
            let digits = raw.strip_prefix('-').unwrap_or(raw);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                if let Some(number) = raw.parse::<f64>().ok().and_then(Number::from_f64) {
                    return Value::Number(number);
                }
            }
        }
        if self.has(Types::NUMBER) {
            if let Some(number) = raw.parse::<f64>().ok().and_then(Number::from_f64) {
                return Value::Number(number);
            }
        }
        if self.has(Types::BOOLEAN) && (raw == "true" || raw == "false") {
            return Value::Bool(raw == "true");
        }
        if self.has(Types::NULL) && raw == "null" {
            return Value::Null;
        }
        Value::String(raw.to_owned())
    }
}

/// The outline of a value: one scalar, an array of scalars, or an object of scalar properties.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A single value of these types.
    Scalar(Types),
    /// An array whose items have these types.
    Array(Types),
    /// An object: its documented properties and the types of any other property.
    Object(Vec<(String, Types)>, Types),
}

impl Shape {
    /// The outline of `schema`, following `$ref`s into `defs` and composition keywords.
    pub fn of(schema: &Value, defs: &Map<String, Value>) -> Shape {
        let outline = Reader { defs }.types(schema, 0);
        if outline.has(Types::ARRAY) && !outline.has(Types::OBJECT) {
            let items = Reader { defs }.member(schema, "items", 0);
            return Shape::Array(items.map_or_else(Types::default, |i| Reader { defs }.types(i, 0)));
        }
        if outline.has(Types::OBJECT) {
            return Shape::Object(Reader { defs }.properties(schema, 0), Types::default());
        }
        Shape::Scalar(outline)
    }

    /// The types of property `name` of an object shape (unknown properties: unconstrained).
    pub fn property(&self, name: &str) -> Types {
        match self {
            Shape::Object(properties, other) => {
                properties.iter().find(|(n, _)| n == name).map_or(*other, |(_, types)| *types)
            }
            _ => Types::default(),
        }
    }
}

/// One top-level property of an object schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Whether the schema marks it `readOnly` (set by the server, never taken from a request).
    pub read_only: bool,
    /// Whether the schema marks it `writeOnly` (taken from a request, never answered: a
    /// password, a card number).
    pub write_only: bool,
    /// Whether it is a date or a date-time (`format: date-time` or `date`).
    pub timestamp: bool,
}

/// The top-level properties of `schema` (through `$ref`s and composition).
pub fn fields(schema: &Value, defs: &Map<String, Value>) -> Vec<Field> {
    let reader = Reader { defs };
    let mut out: Vec<Field> = Vec::new();
    reader.walk_properties(schema, 0, &mut |name, property| {
        if !out.iter().any(|f| f.name == name) {
            let flag =
                |name: &str| reader.deref(property, 0).and_then(|p| p.get(name)).and_then(Value::as_bool) == Some(true);
            let format = reader.deref(property, 0).and_then(|p| p.get("format")).and_then(Value::as_str);
            out.push(Field {
                name: name.to_owned(),
                read_only: flag("readOnly"),
                write_only: flag("writeOnly"),
                timestamp: matches!(format, Some("date-time" | "date")),
            });
        }
    });
    out
}

/// Where a list answer keeps its items: the schema itself when it is an array (`None`), or its
/// first array property; with the items' schema and the most items allowed.
pub fn list_items(schema: &Value, defs: &Map<String, Value>) -> Option<(Option<String>, Value, Option<u64>)> {
    let reader = Reader { defs };
    let items_of = |array: &Value| {
        let array = reader.deref(array, 0)?;
        let is_array = reader.types(array, 0).has(Types::ARRAY);
        let items = reader.member(array, "items", 0).filter(|_| is_array)?;
        Some((items.clone(), array.get("maxItems").and_then(Value::as_u64)))
    };
    if let Some((items, max)) = items_of(schema) {
        return Some((None, items, max));
    }
    let mut found = None;
    reader.walk_properties(schema, 0, &mut |name, property| {
        if found.is_none() {
            if let Some((items, max)) = items_of(property) {
                found = Some((Some(name.to_owned()), items, max));
            }
        }
    });
    found
}

/// `schema` with its `$ref`s followed into `defs` (`None`: a reference that leads nowhere, or a
/// cycle of references only).
pub fn deref<'a>(schema: &'a Value, defs: &'a Map<String, Value>) -> Option<&'a Value> {
    Reader { defs }.deref(schema, 0)
}

/// The schema one level below `schema` for a segment of a bracketed form field
/// (`address[city]`, `items[0][price]`): an array's `items` for an index (or an empty `[]`),
/// else the named property, else `additionalProperties`; found through `$ref`s and composition.
pub fn child<'a>(schema: &'a Value, defs: &'a Map<String, Value>, segment: &str) -> Option<&'a Value> {
    let reader = Reader { defs };
    let index = segment.is_empty() || segment.bytes().all(|b| b.is_ascii_digit());
    if index && reader.types(schema, 0).has(Types::ARRAY) {
        return reader.any_member(schema, "items", 0);
    }
    let mut found = None;
    reader.walk_properties(schema, 0, &mut |name, property| {
        if found.is_none() && name == segment {
            found = Some(property);
        }
    });
    found.or_else(|| reader.any_member(schema, "additionalProperties", 0).filter(|s| s.is_object()))
}

/// Removes from `value`, at every depth below the top level, the properties `schema` marks with
/// `flag` (`readOnly`: what a client may not set, before a request body is stored; `writeOnly`:
/// what is never answered). The top level is the state's own business (`fields`): an id the
/// server sets is kept there while a nested one sent by a client is not.
pub fn strip_nested(value: &mut Value, schema: &Value, defs: &Map<String, Value>, flag: &str) {
    Reader { defs }.strip(value, schema, flag, 0, true);
}

/// The types `schema` admits (through `$ref`s and composition).
pub fn types(schema: &Value, defs: &Map<String, Value>) -> Types {
    Reader { defs }.types(schema, 0)
}

/// Follows references at most this deep (recursive schemas stop here).
const MAX_DEPTH: usize = 16;

struct Reader<'a> {
    defs: &'a Map<String, Value>,
}

impl<'a> Reader<'a> {
    fn deref(&self, schema: &'a Value, depth: usize) -> Option<&'a Value> {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(target) if depth < MAX_DEPTH => {
                let name = target.strip_prefix(super::normalize::DEFS_REF)?;
                self.deref(self.defs.get(name)?, depth + 1)
            }
            Some(_) => None,
            None => Some(schema),
        }
    }

    fn types(&self, schema: &'a Value, depth: usize) -> Types {
        let Some(schema) = self.deref(schema, depth) else { return Types::default() };
        let mut bits = match schema.get("type") {
            Some(Value::String(name)) => Types::of_name(name),
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).fold(0, |b, n| b | Types::of_name(n)),
            _ => 0,
        };
        if bits == 0 {
            if let Some(values) = schema.get("enum").and_then(Value::as_array) {
                bits = values.iter().fold(0, |b, v| b | Types::of_value(v));
            } else if let Some(value) = schema.get("const") {
                bits = Types::of_value(value);
            }
        }
        if bits == 0 && depth < MAX_DEPTH {
            for key in ["allOf", "anyOf", "oneOf"] {
                for member in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
                    bits |= self.types(member, depth + 1).0;
                }
            }
            if schema.get("properties").is_some() {
                bits |= Types::OBJECT;
            }
        }
        Types(bits)
    }

    /// `schema[key]`, looked up through `$ref`s and `allOf`.
    fn member(&self, schema: &'a Value, key: &str, depth: usize) -> Option<&'a Value> {
        self.member_in(schema, key, &["allOf"], depth)
    }

    /// `schema[key]` in the schema or any member of its `allOf`/`anyOf`/`oneOf`.
    fn any_member(&self, schema: &'a Value, key: &str, depth: usize) -> Option<&'a Value> {
        self.member_in(schema, key, &["allOf", "anyOf", "oneOf"], depth)
    }

    fn member_in(&self, schema: &'a Value, key: &str, compositions: &[&str], depth: usize) -> Option<&'a Value> {
        let schema = self.deref(schema, depth)?;
        if let Some(found) = schema.get(key) {
            return Some(found);
        }
        if depth >= MAX_DEPTH {
            return None;
        }
        compositions.iter().find_map(|composition| {
            let members = schema.get(*composition)?.as_array()?;
            members.iter().find_map(|m| self.member_in(m, key, compositions, depth + 1))
        })
    }

    /// Strips the `flag`ged properties inside `value`, at every depth, and `value`'s own unless
    /// it is the `top` level.
    fn strip(&self, value: &mut Value, schema: &'a Value, flag: &str, depth: usize, top: bool) {
        if depth >= MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(object) => {
                let mut properties: Vec<(String, &'a Value)> = Vec::new();
                self.walk_properties(schema, 0, &mut |name, property| properties.push((name.to_owned(), property)));
                for (name, property) in properties {
                    let marked =
                        self.deref(property, 0).and_then(|p| p.get(flag)).and_then(Value::as_bool) == Some(true);
                    if marked && !top {
                        object.remove(&name);
                    } else if let Some(child) = object.get_mut(&name) {
                        self.strip(child, property, flag, depth + 1, false);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = self.any_member(schema, "items", 0) {
                    for item in items {
                        self.strip(item, item_schema, flag, depth + 1, false);
                    }
                }
            }
            _ => {}
        }
    }

    /// Calls `visit` with every top-level property (own first, then `allOf`/`anyOf`/`oneOf`
    /// members'), duplicates included.
    fn walk_properties(&self, schema: &'a Value, depth: usize, visit: &mut dyn FnMut(&str, &'a Value)) {
        let Some(schema) = self.deref(schema, depth) else { return };
        for (name, property) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
            visit(name, property);
        }
        if depth < MAX_DEPTH {
            for key in ["allOf", "anyOf", "oneOf"] {
                for member in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
                    self.walk_properties(member, depth + 1, visit);
                }
            }
        }
    }

    fn properties(&self, schema: &'a Value, depth: usize) -> Vec<(String, Types)> {
        let mut out: Vec<(String, Types)> = Vec::new();
        self.walk_properties(schema, depth, &mut |name, property| {
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_owned(), self.types(property, depth + 1)));
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn nested_marked_properties_are_stripped_at_every_depth_below_the_top() {
        use serde_json::json;
        let defs = json!({"Line": {"type": "object", "properties": {
            "sku": {"type": "string"}, "line_id": {"type": "string", "readOnly": true},
            "secret": {"type": "string", "writeOnly": true}
        }}});
        let defs = defs.as_object().expect("defs").clone();
        let schema = json!({"type": "object", "properties": {
            "id": {"type": "string", "readOnly": true},
            "customer": {"allOf": [{"type": "object", "properties": {"card": {"type": "string", "writeOnly": true}, "created": {"type": "string", "readOnly": true}, "name": {"type": "string"}}}]},
            "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}}
        }});
        let sent = json!({"id": "mine", "customer": {"card": "4111", "created": "x", "name": "Ann"},
            "lines": [{"sku": "a", "line_id": "forged", "secret": "s"}]});
        let mut stored = sent.clone();
        super::strip_nested(&mut stored, &schema, &defs, "readOnly");
        assert_eq!(
            stored,
            json!({"id": "mine", "customer": {"card": "4111", "name": "Ann"},
            "lines": [{"sku": "a", "secret": "s"}]}),
            "the top level is left to the state"
        );
        super::strip_nested(&mut stored, &schema, &defs, "writeOnly");
        assert_eq!(stored, json!({"id": "mine", "customer": {"name": "Ann"}, "lines": [{"sku": "a"}]}));
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn an_integer_past_64_bits_is_still_an_integer() {
        let value = Types(Types::INTEGER).coerce("-518833048042674651136");
        assert!(value.is_number(), "{value}");
        let schema = serde_json::json!({"type": "integer"});
        assert!(jsonschema::validator_for(&schema).expect("compiles").is_valid(&value), "{value}");
        assert_eq!(Types(Types::INTEGER).coerce("12a"), Value::String("12a".into()));
    }

    #[test]
    fn coerce_keeps_strings_and_parses_what_the_schema_asks_for() {
        let integer = Types(Types::INTEGER);
        assert_eq!(integer.coerce("42"), json!(42));
        assert_eq!(integer.coerce("4.5"), json!("4.5"), "left for the validator to name");
        assert_eq!(Types(Types::NUMBER).coerce("4.5"), json!(4.5));
        assert_eq!(Types(Types::BOOLEAN).coerce("true"), json!(true));
        assert_eq!(Types(Types::STRING).coerce("42"), json!("42"));
        assert_eq!(Types(Types::STRING | Types::INTEGER).coerce("42"), json!(42));
        assert_eq!(Types(Types::STRING | Types::INTEGER).coerce("M"), json!("M"));
        assert_eq!(Types(Types::INTEGER | Types::NULL).coerce("null"), Value::Null);
        assert_eq!(Types::default().coerce("x"), json!("x"));
    }

    #[test]
    fn shape_follows_refs_and_composition() {
        let defs =
            json!({"Id": {"type": "integer"}, "Filter": {"allOf": [{"properties": {"min": {"$ref": "#/$defs/Id"}}}]}});
        let defs = defs.as_object().expect("map");
        assert_eq!(
            Shape::of(&json!({"type": "array", "items": {"$ref": "#/$defs/Id"}}), defs),
            Shape::Array(Types(Types::INTEGER))
        );
        let filter = Shape::of(&json!({"$ref": "#/$defs/Filter"}), defs);
        assert_eq!(filter.property("min"), Types(Types::INTEGER));
        assert_eq!(Shape::of(&json!({"enum": [1, 2]}), defs), Shape::Scalar(Types(Types::INTEGER)));
        assert_eq!(Shape::of(&json!({"$ref": "#/$defs/Loop"}), defs), Shape::Scalar(Types::default()));
    }
}
