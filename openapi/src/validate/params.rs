//! Reads one parameter out of the request by its location and style (OpenAPI's serialisation
//! rules) and turns it into the JSON value its schema is checked against.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::shape::{Shape, Types};
use crate::{ParamStyle, Parameter};

/// A parameter's raw value could not be read (only JSON `content` parameters can fail this way;
/// everything else reaches the validator, which names the mismatch).
pub type ReadError = String;

/// One parameter as compiled: what the document says and the outline of its schema.
#[derive(Debug, Clone)]
pub struct ParamReader {
    /// Name (headers lower-case).
    pub name: String,
    style: ParamStyle,
    explode: bool,
    json: bool,
    shape: Shape,
}

impl ParamReader {
    /// Compiles `param`, reading its schema's outline through `defs`.
    pub fn new(param: &Parameter, defs: &Map<String, Value>) -> ParamReader {
        let shape = param.schema.as_ref().map_or(Shape::Scalar(Types::default()), |s| Shape::of(s, defs));
        ParamReader {
            name: param.name.clone(),
            style: param.style,
            explode: param.explode,
            json: param.json_content,
            shape,
        }
    }

    /// A path parameter from its (percent-decoded) segment.
    pub fn from_path(&self, raw: &str) -> Result<Value, ReadError> {
        if self.json {
            return json(raw);
        }
        let (body, separator) = match self.style {
            ParamStyle::Label => {
                let body = raw.strip_prefix('.').unwrap_or(raw);
                (body, if self.explode { '.' } else { ',' })
            }
            ParamStyle::Matrix => return Ok(self.matrix(raw)),
            _ => (raw, ','),
        };
        Ok(self.delimited(body, separator))
    }

    /// A header parameter, when sent.
    pub fn from_header(&self, raw: &str) -> Result<Value, ReadError> {
        if self.json {
            return json(raw);
        }
        Ok(self.delimited(raw.trim(), ','))
    }

    /// A query (or cookie) parameter from the decoded pairs, `None` when absent.
    pub fn from_pairs(&self, pairs: &[(Cow<'_, str>, Cow<'_, str>)]) -> Option<Result<Value, ReadError>> {
        let mut named = pairs.iter().filter(|(k, _)| *k == self.name).map(|(_, v)| v.as_ref());
        if self.json {
            return named.next().map(json);
        }
        match (&self.shape, self.style) {
            (Shape::Object(..), ParamStyle::DeepObject) => {
                let mut object = Map::new();
                for (key, value) in pairs {
                    let inner = key.strip_prefix(self.name.as_str()).and_then(|k| k.strip_prefix('['));
                    if let Some(property) = inner.and_then(|k| k.strip_suffix(']')) {
                        object.insert(property.to_owned(), self.shape.property(property).coerce(value));
                    }
                }
                (!object.is_empty()).then_some(Ok(Value::Object(object)))
            }
            (Shape::Object(properties, _), ParamStyle::Form) if self.explode => {
                let mut object = Map::new();
                for (name, types) in properties {
                    if let Some((_, value)) = pairs.iter().find(|(k, _)| k == name) {
                        object.insert(name.clone(), types.coerce(value));
                    }
                }
                (!object.is_empty()).then_some(Ok(Value::Object(object)))
            }
            (Shape::Array(items), _) if self.explode => {
                let values: Vec<Value> = named.map(|v| items.coerce(v)).collect();
                (!values.is_empty()).then_some(Ok(Value::Array(values)))
            }
            (_, style) => {
                let separator = match style {
                    ParamStyle::SpaceDelimited => ' ',
                    ParamStyle::PipeDelimited => '|',
                    _ => ',',
                };
                named.next().map(|raw| Ok(self.delimited(raw, separator)))
            }
        }
    }

    /// `raw` split on `separator` as the shape needs: an array's items, an object's `k,v` pairs
    /// (or `k=v` items when exploded), or one scalar.
    fn delimited(&self, raw: &str, separator: char) -> Value {
        match &self.shape {
            Shape::Scalar(types) => types.coerce(raw),
            Shape::Array(_) if raw.is_empty() => Value::Array(Vec::new()),
            Shape::Array(items) => Value::Array(raw.split(separator).map(|item| items.coerce(item)).collect()),
            Shape::Object(..) => {
                let mut object = Map::new();
                if self.explode {
                    for item in raw.split(separator).filter(|i| !i.is_empty()) {
                        let (key, value) = item.split_once('=').unwrap_or((item, ""));
                        object.insert(key.to_owned(), self.shape.property(key).coerce(value));
                    }
                } else {
                    let mut parts = raw.split(separator).filter(|i| !i.is_empty());
                    while let Some(key) = parts.next() {
                        let value = parts.next().unwrap_or_default();
                        object.insert(key.to_owned(), self.shape.property(key).coerce(value));
                    }
                }
                Value::Object(object)
            }
        }
    }

    /// Matrix style: `;name=v`, `;name=1,2` / `;name=1;name=2`, `;k=v;k2=v2` (exploded object).
    fn matrix(&self, raw: &str) -> Value {
        let prefix = format!("{}=", self.name);
        let items = raw.split(';').filter(|i| !i.is_empty());
        match (&self.shape, self.explode) {
            (Shape::Array(types), true) => {
                Value::Array(items.filter_map(|i| i.strip_prefix(prefix.as_str())).map(|v| types.coerce(v)).collect())
            }
            (Shape::Object(..), true) => self.delimited(&raw.replace(';', ","), ','),
            _ => {
                let value = items.filter_map(|i| i.strip_prefix(prefix.as_str())).next().unwrap_or_default();
                self.delimited(value, ',')
            }
        }
    }
}

fn json(raw: &str) -> Result<Value, ReadError> {
    serde_json::from_str(raw).map_err(|e| format!("is not valid JSON: {e}"))
}

/// The `name=value` pairs of a `Cookie` header.
pub fn cookie_pairs(header: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(name, value)| (Cow::Borrowed(name.trim()), Cow::Borrowed(value.trim().trim_matches('"'))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParamLocation;
    use serde_json::json;

    fn reader(style: ParamStyle, explode: bool, schema: Value) -> ParamReader {
        let param = Parameter {
            name: "id".into(),
            location: ParamLocation::Query,
            required: false,
            schema: Some(schema),
            style,
            explode,
            json_content: false,
            example: None,
        };
        ParamReader::new(&param, &Map::new())
    }

    fn pairs(query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        form_urlencoded::parse(query.as_bytes()).collect()
    }

    #[test]
    fn query_styles_follow_the_openapi_serialisation_table() {
        let ints = json!({"type": "array", "items": {"type": "integer"}});
        let form = reader(ParamStyle::Form, true, ints.clone());
        assert_eq!(form.from_pairs(&pairs("id=3&id=4&x=1")).and_then(Result::ok), Some(json!([3, 4])));
        let form_flat = reader(ParamStyle::Form, false, ints.clone());
        assert_eq!(form_flat.from_pairs(&pairs("id=3,4")).and_then(Result::ok), Some(json!([3, 4])));
        let space = reader(ParamStyle::SpaceDelimited, false, ints.clone());
        assert_eq!(space.from_pairs(&pairs("id=3%204")).and_then(Result::ok), Some(json!([3, 4])));
        let pipe = reader(ParamStyle::PipeDelimited, false, ints);
        assert_eq!(pipe.from_pairs(&pairs("id=3|x")).and_then(Result::ok), Some(json!([3, "x"])));

        let object = json!({"type": "object", "properties": {"role": {"type": "string"}, "age": {"type": "integer"}}});
        let deep = reader(ParamStyle::DeepObject, true, object.clone());
        assert_eq!(
            deep.from_pairs(&pairs("id[role]=admin&id[age]=7")).and_then(Result::ok),
            Some(json!({"role": "admin", "age": 7}))
        );
        let exploded = reader(ParamStyle::Form, true, object.clone());
        assert_eq!(
            exploded.from_pairs(&pairs("role=admin&age=7")).and_then(Result::ok),
            Some(json!({"role": "admin", "age": 7}))
        );
        let flat = reader(ParamStyle::Form, false, object);
        assert_eq!(
            flat.from_pairs(&pairs("id=role,admin,age,7")).and_then(Result::ok),
            Some(json!({"role": "admin", "age": 7}))
        );
        assert!(flat.from_pairs(&pairs("other=1")).is_none(), "absent");
    }

    #[test]
    fn path_styles_simple_label_matrix() {
        let ints = json!({"type": "array", "items": {"type": "integer"}});
        assert_eq!(reader(ParamStyle::Simple, false, ints.clone()).from_path("3,4").ok(), Some(json!([3, 4])));
        assert_eq!(reader(ParamStyle::Label, true, ints.clone()).from_path(".3.4").ok(), Some(json!([3, 4])));
        assert_eq!(reader(ParamStyle::Matrix, true, ints.clone()).from_path(";id=3;id=4").ok(), Some(json!([3, 4])));
        assert_eq!(reader(ParamStyle::Matrix, false, ints).from_path(";id=3,4").ok(), Some(json!([3, 4])));
        let object = json!({"type": "object", "properties": {"x": {"type": "integer"}}});
        assert_eq!(reader(ParamStyle::Simple, true, object.clone()).from_path("x=1").ok(), Some(json!({"x": 1})));
        assert_eq!(reader(ParamStyle::Simple, false, object).from_path("x,1").ok(), Some(json!({"x": 1})));
    }

    #[test]
    fn cookies_split_on_semicolons() {
        let cookies = cookie_pairs("a=1; b=\"two\"; broken");
        assert_eq!(cookies, vec![(Cow::Borrowed("a"), Cow::Borrowed("1")), (Cow::Borrowed("b"), Cow::Borrowed("two"))]);
    }
}
