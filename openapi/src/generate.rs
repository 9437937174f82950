//! Fabricates JSON that conforms to a (normalised) response schema, seeded and realistic.
//!
//! Schemas are compiled once at start-up into a `Node` tree (`$ref`s become indices, so recursive
//! schemas are fine; `allOf` is merged; `pattern`s become string generators). Generation walks the
//! tree with a seeded RNG: the same seed gives the same value. Property names guide realism
//! (`first_name` looks like a first name, `dob` is a plausible birth date, `amount` has cents).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use fake::faker::address::en::{StateAbbr, StreetName};
use fake::faker::company::en::CompanyName;
use fake::faker::internet::en::{IPv4, IPv6, SafeEmail};
use fake::faker::lorem::en::Word;
use fake::faker::name::en::{FirstName, LastName, Name};
use fake::rand::rngs::StdRng;
use fake::rand::SeedableRng;
use fake::{Fake, RngExt};
use serde_json::{Map, Number, Value};

use crate::error::OpenApiError;
use crate::normalize::DEFS_REF;
use crate::SchemaSet;

/// Deeper than this, optional properties are left out and arrays get their minimum size, so
/// recursive schemas terminate.
const MAX_DEPTH: usize = 8;
/// Upper bound for array sizes when the schema gives none (keeps answers small).
const DEFAULT_MAX_ITEMS: usize = 3;
/// Samples tried for a `pattern` before the last is taken.
const PATTERN_TRIES: usize = 32;

/// Longest repetition a `pattern` quantifier like `+` or `*` expands to.
const PATTERN_MAX_REPEAT: u32 = 8;

/// The compiled component schemas of one document, shared by every program built from it.
#[derive(Debug)]
pub struct CompiledSet {
    defs: Vec<Node>,
    /// Index in `defs` of each component name, for the `$ref`s of programs compiled later.
    names: HashMap<String, usize>,
}

/// A compiled schema, ready to generate values.
#[derive(Debug, Clone)]
pub struct Program {
    root: Node,
    set: Arc<CompiledSet>,
}

impl CompiledSet {
    /// Compiles every component schema of `schemas`.
    pub fn compile(schemas: &SchemaSet) -> Result<Arc<CompiledSet>, OpenApiError> {
        let names: HashMap<String, usize> = schemas.defs.keys().enumerate().map(|(i, k)| (k.clone(), i)).collect();
        let compiler = Compiler { schemas, names: &names };
        let mut defs = Vec::with_capacity(schemas.defs.len());
        for (name, schema) in &schemas.defs {
            defs.push(compiler.node(schema, &format!("{DEFS_REF}{name}"))?);
        }
        Ok(Arc::new(CompiledSet { defs, names }))
    }
}

impl Program {
    /// Compiles `schema` (normalised, refs into `schemas`) against an already compiled set.
    pub fn compile(schema: &Value, schemas: &SchemaSet, set: &Arc<CompiledSet>) -> Result<Program, OpenApiError> {
        let root = Compiler { schemas, names: &set.names }.node(schema, "")?;
        Ok(Program { root, set: Arc::clone(set) })
    }

    /// Generates one value from `seed`. Identical seeds give identical values.
    pub fn generate(&self, seed: u64) -> Value {
        let mut rng = StdRng::seed_from_u64(seed);
        Gen { set: &self.set, rng: &mut rng }.value(&self.root, "", 0)
    }
}

#[derive(Debug, Clone)]
enum Node {
    Any,
    Ref(usize),
    Const(Value),
    Enum(Vec<Value>),
    Null,
    Bool,
    Integer {
        min: i64,
        max: i64,
        multiple: Option<i64>,
    },
    Number {
        min: f64,
        max: f64,
    },
    Str(Box<StrSpec>),
    Array {
        /// `prefixItems`: the first items, each by its own schema.
        prefix: Vec<Node>,
        /// The rest (`None`: `items: false`, nothing after the prefix).
        items: Option<Box<Node>>,
        min: usize,
        max: usize,
        unique: bool,
    },
    Object {
        props: Vec<Prop>,
        min_props: usize,
        /// Values of undeclared properties, when the schema admits them: what fills the object up
        /// to `minProperties` when its declared ones are too few (a map like `{id: API}`).
        extra: Option<Box<Node>>,
    },
    /// `oneOf`/`anyOf`, or a list of `type`s: one branch is chosen.
    Choice(Vec<Node>),
    /// A branch of a `oneOf`/`anyOf` whose objects carry fixed values that tell it from the
    /// others: its discriminator value, and (`oneOf`) each property it pins with `const` or a
    /// one-value `enum`, even where that property is optional. Without them an object of one
    /// branch can also be valid under another, and `oneOf` then refuses it (Spotify's artist
    /// and track).
    Tagged {
        node: Box<Node>,
        tags: Vec<(String, Value)>,
    },
    /// `type: [T, "null"]`: usually T, sometimes null.
    Nullable(Box<Node>),
}

#[derive(Debug, Clone)]
struct Prop {
    name: String,
    node: Node,
    required: bool,
}

#[derive(Debug, Clone)]
struct StrSpec {
    format: Option<String>,
    min_len: usize,
    max_len: Option<usize>,
    pattern: Option<PatternGen>,
}

/// Strings for a `pattern`: sampled from it, or, when it uses what a generator cannot
/// (ECMA-262 look-arounds such as `(?!\s*$)`, common in AWS specs; back-references), from the
/// pattern without its look-arounds, each sample checked against the whole pattern.
#[derive(Debug, Clone)]
struct PatternGen {
    /// Samples candidates (`None`: nothing of the pattern can be sampled; realistic text is
    /// tried against `check` instead).
    sampler: Option<rand_regex::Regex>,
    /// The whole pattern, when the sampler leaves part of it out.
    check: Option<fancy_regex::Regex>,
    /// The pattern is not anchored at its end (no `$`): text after a match keeps it matching, so
    /// a sample shorter than `minLength` can be lengthened (`[A-z0-9]` with `minLength: 24`).
    open_end: bool,
}

struct Compiler<'a> {
    schemas: &'a SchemaSet,
    names: &'a HashMap<String, usize>,
}

impl Compiler<'_> {
    fn node(&self, schema: &Value, at: &str) -> Result<Node, OpenApiError> {
        let obj = match schema {
            Value::Bool(_) => return Ok(Node::Any),
            Value::Object(obj) => obj,
            _ => return Err(err(at, "a schema must be an object or a boolean")),
        };
        if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
            let name = target.strip_prefix(DEFS_REF).ok_or_else(|| err(at, format!("unsupported $ref {target:?}")))?;
            let index = self.names.get(name).ok_or_else(|| err(at, format!("$ref {target:?} names no schema")))?;
            return Ok(Node::Ref(*index));
        }
        if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
            let merged = self.merge_all_of(obj, all, at, 0)?;
            return self.node(&Value::Object(merged), at);
        }
        if let Some(value) = obj.get("const") {
            return Ok(Node::Const(value.clone()));
        }
        if let Some(values) = obj.get("enum").and_then(Value::as_array) {
            if values.is_empty() {
                return Err(err(at, "enum is empty: no value can satisfy it"));
            }
            return Ok(Node::Enum(values.clone()));
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = obj.get(key).and_then(Value::as_array) {
                // Keywords beside the branches hold for every branch (a branch often only narrows
                // a property the outer schema declares): each branch is generated with them.
                let outer: Map<String, Value> = obj
                    .iter()
                    .filter(|(k, _)| !is_annotation(k) && *k != key)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let discriminator = Discriminator::of(obj);
                let nodes = branches
                    .iter()
                    .enumerate()
                    .map(|(i, branch)| {
                        let at = format!("{at}/{key}/{i}");
                        // A `$ref` branch stays a reference (recursive schemas must not unfold).
                        let node = if outer.is_empty() || branch.get("$ref").is_some() {
                            self.node(branch, &at)?
                        } else {
                            let merged = self.merge_all_of(&outer, std::slice::from_ref(branch), &at, 0)?;
                            self.node(&Value::Object(merged), &at)?
                        };
                        let tags = self.tags(&outer, branch, discriminator.as_ref(), key == "oneOf", &at);
                        Ok(match tags.is_empty() {
                            true => node,
                            false => Node::Tagged { node: Box::new(node), tags },
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(Node::Choice(nodes));
            }
        }
        match obj.get("type") {
            Some(Value::String(t)) => self.typed(t, obj, at),
            Some(Value::Array(types)) => {
                let mut branches = Vec::new();
                let mut nullable = false;
                for t in types.iter().filter_map(Value::as_str) {
                    if t == "null" {
                        nullable = true;
                    } else {
                        branches.push(self.typed(t, obj, at)?);
                    }
                }
                let inner = match branches.len() {
                    0 => Node::Null,
                    1 => branches.remove(0),
                    _ => Node::Choice(branches),
                };
                Ok(if nullable { Node::Nullable(Box::new(inner)) } else { inner })
            }
            _ if obj.contains_key("properties") => self.typed("object", obj, at),
            _ if obj.contains_key("items") || obj.contains_key("prefixItems") => self.typed("array", obj, at),
            _ => Ok(Node::Any),
        }
    }

    fn typed(&self, t: &str, obj: &Map<String, Value>, at: &str) -> Result<Node, OpenApiError> {
        let num = |k: &str| obj.get(k).and_then(Value::as_f64);
        let count = |k: &str| obj.get(k).and_then(Value::as_u64).map(|n| n as usize);
        Ok(match t {
            "null" => Node::Null,
            "boolean" => Node::Bool,
            "integer" => {
                let min = num("minimum").map(|m| m.ceil()).or(num("exclusiveMinimum").map(|m| m.floor() + 1.0));
                let max = num("maximum").map(|m| m.floor()).or(num("exclusiveMaximum").map(|m| m.ceil() - 1.0));
                let (min, max) = default_range(min, max, 1.0, 1000.0);
                if min > max {
                    return Err(err(at, "minimum is above maximum: no integer fits"));
                }
                let multiple = obj.get("multipleOf").and_then(Value::as_i64).filter(|m| *m > 0);
                // Bounds beyond 2^53 lose precision as f64: take integer bounds exactly.
                let exact = |k: &str| obj.get(k).and_then(Value::as_i64);
                let min =
                    exact("minimum").or(exact("exclusiveMinimum").map(|m| m.saturating_add(1))).unwrap_or(min as i64);
                let max =
                    exact("maximum").or(exact("exclusiveMaximum").map(|m| m.saturating_sub(1))).unwrap_or(max as i64);
                Node::Integer { min, max, multiple }
            }
            "number" => {
                let min = num("minimum").or(num("exclusiveMinimum").map(|m| m + 0.01));
                let max = num("maximum").or(num("exclusiveMaximum").map(|m| m - 0.01));
                let (min, max) = default_range(min, max, 1.0, 1000.0);
                if min > max {
                    return Err(err(at, "minimum is above maximum: no number fits"));
                }
                Node::Number { min, max }
            }
            "string" => {
                let pattern = match obj.get("pattern").and_then(Value::as_str) {
                    Some(p) => Some(compile_pattern(p).map_err(|e| err(&format!("{at}/pattern"), e))?),
                    None => None,
                };
                Node::Str(Box::new(StrSpec {
                    format: obj.get("format").and_then(Value::as_str).map(str::to_owned),
                    min_len: count("minLength").unwrap_or(0),
                    max_len: count("maxLength"),
                    pattern,
                }))
            }
            "array" => {
                let mut prefix = Vec::new();
                for (i, item) in obj.get("prefixItems").and_then(Value::as_array).into_iter().flatten().enumerate() {
                    prefix.push(self.node(item, &format!("{at}/prefixItems/{i}"))?);
                }
                // `items: false` (2020-12): nothing may follow the prefix.
                let items = match obj.get("items") {
                    Some(Value::Bool(false)) => None,
                    Some(items) => Some(Box::new(self.node(items, &format!("{at}/items"))?)),
                    None => Some(Box::new(Node::Any)),
                };
                let min = count("minItems").unwrap_or(0);
                let mut max = count("maxItems").unwrap_or(DEFAULT_MAX_ITEMS.max(min).max(prefix.len())).max(min);
                if items.is_none() {
                    max = max.min(prefix.len());
                    if min > max {
                        return Err(err(at, "minItems is above the prefixItems that items: false allows"));
                    }
                }
                let unique = obj.get("uniqueItems").and_then(Value::as_bool).unwrap_or(false);
                Node::Array { prefix, items, min, max, unique }
            }
            "object" => {
                let required: Vec<&str> = obj
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let mut props = Vec::new();
                for (name, schema) in obj.get("properties").and_then(Value::as_object).into_iter().flatten() {
                    if schema.get("writeOnly").and_then(Value::as_bool) == Some(true) {
                        continue; // never sent in a response
                    }
                    let node = self.node(schema, &format!("{at}/properties/{name}"))?;
                    props.push(Prop { name: name.clone(), node, required: required.contains(&name.as_str()) });
                }
                // A required property the schema does not declare (real specs have them) still
                // has to be there: with the value `additionalProperties` describes, else any.
                let extra = obj.get("additionalProperties").filter(|s| s.is_object());
                let undeclared: Vec<&str> =
                    required.iter().copied().filter(|n| !props.iter().any(|p| p.name == *n)).collect();
                for name in undeclared {
                    let node = match extra {
                        Some(schema) => self.node(schema, &format!("{at}/additionalProperties"))?,
                        None => Node::Any,
                    };
                    props.push(Prop { name: name.to_owned(), node, required: true });
                }
                let extra = match obj.get("additionalProperties") {
                    Some(Value::Bool(false)) => None,
                    Some(schema @ Value::Object(_)) => {
                        Some(Box::new(self.node(schema, &format!("{at}/additionalProperties"))?))
                    }
                    _ => Some(Box::new(Node::Any)),
                };
                Node::Object { props, min_props: count("minProperties").unwrap_or(0), extra }
            }
            other => return Err(err(at, format!("unknown type {other:?}"))),
        })
    }

    /// The fixed values an object of `branch` carries (see `Node::Tagged`): the discriminator's
    /// property gets the value that names this branch (a `mapping` key, else the schema's name),
    /// unless the branch's own schema of that property rules the value out; then, and in every
    /// `oneOf` branch, a property the branch pins to one value gets that value. Only properties
    /// the branch (or the schema around it) declares are set.
    fn tags(
        &self,
        outer: &Map<String, Value>,
        branch: &Value,
        discriminator: Option<&Discriminator>,
        exclusive: bool,
        at: &str,
    ) -> Vec<(String, Value)> {
        let mut properties = outer.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        if let Ok(merged) = self.merge_all_of(&Map::new(), std::slice::from_ref(branch), at, 0) {
            properties.extend(merged.get("properties").and_then(Value::as_object).cloned().unwrap_or_default());
        }
        let mut tags = Vec::new();
        for (name, schema) in &properties {
            let schema = self.resolve(schema);
            let pinned = pinned_value(schema);
            let named = discriminator.filter(|d| d.property == *name).and_then(|d| {
                let admits = |value: &str| match schema.get("enum").and_then(Value::as_array) {
                    Some(values) => values.iter().any(|v| v.as_str() == Some(value)),
                    None => free_text(schema),
                };
                d.values_for(branch).into_iter().find(|value| admits(value)).map(Value::String)
            });
            if let Some(value) =
                named.or(pinned.filter(|_| exclusive || discriminator.is_some_and(|d| d.property == *name)))
            {
                tags.push((name.clone(), value));
            }
        }
        tags
    }

    /// `schema`, or the component its `$ref` names (followed through chains of references).
    fn resolve<'s>(&'s self, mut schema: &'s Value) -> &'s Value {
        for _ in 0..16 {
            let Some(target) = schema.get("$ref").and_then(Value::as_str) else { break };
            match target.strip_prefix(DEFS_REF).and_then(|name| self.schemas.defs.get(name)) {
                Some(resolved) => schema = resolved,
                None => break,
            }
        }
        schema
    }

    /// Merges `allOf` members (following `$ref`s) into one schema: properties and `required`
    /// are united, other keywords keep their first value.
    fn merge_all_of(
        &self,
        outer: &Map<String, Value>,
        all: &[Value],
        at: &str,
        depth: usize,
    ) -> Result<Map<String, Value>, OpenApiError> {
        if depth > 16 {
            return Err(err(at, "allOf nests too deep (a cycle?)"));
        }
        let mut merged: Map<String, Value> =
            outer.iter().filter(|(k, _)| *k != "allOf").map(|(k, v)| (k.clone(), v.clone())).collect();
        for member in all {
            let mut member = member.as_object().cloned().unwrap_or_default();
            while let Some(target) = member.get("$ref").and_then(Value::as_str) {
                let name = target.strip_prefix(DEFS_REF).unwrap_or(target);
                let resolved =
                    self.schemas.defs.get(name).ok_or_else(|| err(at, format!("$ref {target:?} names no schema")))?;
                member = resolved.as_object().cloned().unwrap_or_default();
            }
            if let Some(nested) = member.get("allOf").and_then(Value::as_array).cloned() {
                member = self.merge_all_of(&member, &nested, at, depth + 1)?;
            }
            for (key, value) in member {
                match (key.as_str(), merged.get_mut(&key)) {
                    // A property or item both declare must satisfy both.
                    ("properties", Some(Value::Object(props))) => {
                        for (name, schema) in value.as_object().cloned().unwrap_or_default() {
                            let both = match props.remove(&name) {
                                Some(first) if first != schema && inline(&first) && inline(&schema) => {
                                    serde_json::json!({"allOf": [first, schema]})
                                }
                                _ => schema,
                            };
                            props.insert(name, both);
                        }
                    }
                    ("items", Some(first)) if *first != value && inline(first) && inline(&value) => {
                        *first = serde_json::json!({"allOf": [first.clone(), value]});
                    }
                    ("required", Some(Value::Array(list))) => {
                        for name in value.as_array().into_iter().flatten() {
                            if !list.contains(name) {
                                list.push(name.clone());
                            }
                        }
                    }
                    (_, Some(_)) => {}
                    (_, None) => {
                        merged.insert(key, value);
                    }
                }
            }
        }
        Ok(merged)
    }
}

/// Whether a schema is written out rather than a `$ref`: only those are merged member by member
/// (a reference stays one, so recursive schemas never unfold).
fn inline(schema: &Value) -> bool {
    schema.as_object().is_some_and(|o| !o.contains_key("$ref"))
}

/// A `discriminator` (OpenAPI): the property whose value names the branch an object is of.
pub(crate) struct Discriminator {
    pub(crate) property: String,
    /// `mapping`: value → the `$ref` (or bare schema name) of the branch it names.
    mapping: Vec<(String, String)>,
}

impl Discriminator {
    pub(crate) fn of(schema: &Map<String, Value>) -> Option<Discriminator> {
        let discriminator = schema.get("discriminator")?;
        let property = discriminator.get("propertyName")?.as_str()?.to_owned();
        let mapping = discriminator
            .get("mapping")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(value, target)| Some((value.clone(), target.as_str()?.to_owned())))
            .collect();
        Some(Discriminator { property, mapping })
    }

    /// The values that name `branch`: the `mapping` keys pointing at it, then (OpenAPI's implicit
    /// mapping) the name of the component it references.
    pub(crate) fn values_for(&self, branch: &Value) -> Vec<String> {
        let Some(name) = branch.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()) else {
            return Vec::new();
        };
        let mut values: Vec<String> = self
            .mapping
            .iter()
            .filter(|(_, target)| target.rsplit('/').next() == Some(name))
            .map(|(value, _)| value.clone())
            .collect();
        values.push(name.to_owned());
        values
    }
}

/// The one value `schema` admits (`const`, or an `enum` of one value), if it pins one.
fn pinned_value(schema: &Value) -> Option<Value> {
    if let Some(value) = schema.get("const") {
        return Some(value.clone());
    }
    match schema.get("enum").and_then(Value::as_array).map(Vec::as_slice) {
        Some([only]) => Some(only.clone()),
        _ => None,
    }
}

/// Whether any text fits `schema` (a string with no pattern, format or length bounds, or no type).
fn free_text(schema: &Value) -> bool {
    let typed = match schema.get("type") {
        None => true,
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
        Some(_) => false,
    };
    typed
        && ["pattern", "format", "minLength", "maxLength", "const", "enum", "not"]
            .iter()
            .all(|k| schema.get(k).is_none())
}

/// Keywords that describe a schema without constraining its values.
fn is_annotation(key: &str) -> bool {
    matches!(
        key,
        "title"
            | "description"
            | "default"
            | "examples"
            | "example"
            | "deprecated"
            | "$comment"
            | "discriminator"
            | "xml"
            | "externalDocs"
    )
}

fn err(at: &str, problem: impl Into<String>) -> OpenApiError {
    OpenApiError::Generate { pointer: at.to_owned(), problem: problem.into() }
}

fn default_range(min: Option<f64>, max: Option<f64>, low: f64, high: f64) -> (f64, f64) {
    match (min, max) {
        (Some(min), Some(max)) => (min, max),
        (Some(min), None) => (min, min.max(0.0) + high),
        (None, Some(max)) if max >= low => (low, max),
        (None, Some(max)) => (max - high, max),
        (None, None) => (low, high),
    }
}

/// How exactly the generator follows a `pattern` (for the spec lint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternSupport {
    /// Samples match it by construction.
    Exact,
    /// Sampled without its look-arounds, each sample checked against it.
    Checked,
    /// Nothing of it can be sampled (back-references): values are checked, rarely match.
    Unsampled,
    /// Not a regular expression: the spec cannot be served.
    Invalid(String),
}

/// How the generator handles `pattern`.
pub fn pattern_support(pattern: &str) -> PatternSupport {
    match compile_pattern(pattern) {
        Ok(PatternGen { check: None, .. }) => PatternSupport::Exact,
        Ok(PatternGen { sampler: Some(_), .. }) => PatternSupport::Checked,
        Ok(PatternGen { sampler: None, .. }) => PatternSupport::Unsampled,
        Err(e) => PatternSupport::Invalid(e),
    }
}

/// The generator of a `pattern`. Fails only when the pattern is not a regular expression at all.
fn compile_pattern(pattern: &str) -> Result<PatternGen, String> {
    let open_end = !pattern.ends_with('$') || pattern.ends_with("\\$");
    if let Ok(sampler) = sampler(pattern) {
        return Ok(PatternGen { sampler: Some(sampler), check: None, open_end });
    }
    let check = fancy_regex::Regex::new(pattern).map_err(|e| format!("pattern {pattern:?} cannot be parsed: {e}"))?;
    Ok(PatternGen { sampler: sampler(&without_lookarounds(pattern)).ok(), check: Some(check), open_end })
}

/// `pattern` without its look-around groups (`(?=…)`, `(?!…)`, `(?<=…)`, `(?<!…)`), which
/// only constrain where the rest matches.
fn without_lookarounds(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = ["(?=", "(?!", "(?<=", "(?<!"].iter().filter_map(|open| rest.find(open)).min() {
        // A look-around's opening parenthesis must not be escaped.
        let escaped = rest[..start].chars().rev().take_while(|c| *c == '\\').count() % 2 == 1;
        out.push_str(&rest[..start]);
        if escaped {
            out.push('(');
            rest = &rest[start + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = rest.len();
        let mut chars = rest[start..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// JSON Schema patterns match anywhere; the generator needs the pattern without its anchors.
fn sampler(pattern: &str) -> Result<rand_regex::Regex, String> {
    let trimmed = pattern.strip_prefix('^').unwrap_or(pattern);
    let trimmed = match trimmed.strip_suffix('$') {
        Some(rest) if !rest.ends_with('\\') => rest,
        _ => trimmed,
    };
    // ASCII classes first (`\w` → [A-Za-z0-9_]) so generated ids look like ids; Unicode if needed.
    let ascii = regex_syntax::ParserBuilder::new().unicode(false).utf8(true).build().parse(trimmed);
    let hir = match ascii {
        Ok(hir) => hir,
        Err(_) => regex_syntax::Parser::new()
            .parse(&ecma_classes(trimmed))
            .map_err(|e| format!("pattern {pattern:?} cannot be parsed: {e}"))?,
    };
    rand_regex::Regex::with_hir(hir, PATTERN_MAX_REPEAT)
        .map_err(|e| format!("pattern {pattern:?} cannot be used to generate strings: {e}"))
}

/// `pattern` with ECMA-262's meaning of `\d` and `\w` (ASCII: `[0-9]`, `[A-Za-z0-9_]`), which JSON
/// Schema patterns have and Unicode-aware parsers do not (a Thai or Tai Tham digit is `\d` to
/// them, and then fails every ECMA validator). Inside a class the ranges go in as they are.
fn ecma_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('d' | 'D' | 'w' | 'W')) => {
                    let set = if e.eq_ignore_ascii_case(&'d') { "0-9" } else { "A-Za-z0-9_" };
                    match (in_class, e.is_ascii_uppercase()) {
                        (true, false) => out.push_str(set),
                        // A negated class inside a class has no plain form: keep it.
                        (true, true) => {
                            out.push('\\');
                            out.push(e);
                        }
                        (false, negated) => out.push_str(&format!("[{}{set}]", if negated { "^" } else { "" })),
                    }
                }
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` right after `[` or `[^` is a literal.
                let mut ahead = chars.clone();
                match ahead.next() {
                    Some('^') if ahead.next() == Some(']') => {
                        out.push_str("^]");
                        chars.next();
                        chars.next();
                    }
                    Some(']') => {
                        out.push(']');
                        chars.next();
                    }
                    _ => {}
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

struct Gen<'a> {
    set: &'a CompiledSet,
    rng: &'a mut StdRng,
}

impl Gen<'_> {
    fn value(&mut self, node: &Node, hint: &str, depth: usize) -> Value {
        match node {
            Node::Any => Value::String(Word().fake_with_rng(self.rng)),
            Node::Ref(index) => {
                let set = self.set;
                set.defs.get(*index).map_or(Value::Null, |target| self.value(target, hint, depth + 1))
            }
            Node::Const(value) => value.clone(),
            Node::Enum(values) => values[self.rng.random_range(0..values.len())].clone(),
            Node::Null => Value::Null,
            Node::Bool => Value::Bool(self.rng.random_bool(0.5)),
            Node::Integer { min, max, multiple } => self.integer(*min, *max, *multiple, hint),
            Node::Number { min, max } => self.number(*min, *max, hint),
            Node::Str(spec) => Value::String(self.string(spec, hint)),
            Node::Array { prefix, items, min, max, unique } => {
                // A list answer with nothing in it is a poor sandbox: the top level gets at least
                // one item whenever the schema allows it.
                let floor = if depth == 0 { (*min).max(1).min(*max) } else { *min };
                let len = if depth >= MAX_DEPTH { *min } else { self.rng.random_range(floor..=*max) };
                let singular = hint.strip_suffix('s').unwrap_or(hint);
                let mut out: Vec<Value> = Vec::with_capacity(len);
                let mut attempts = 0;
                while out.len() < len && attempts < len * 10 + 10 {
                    attempts += 1;
                    let item = match (prefix.get(out.len()), items) {
                        (Some(node), _) => self.value(node, singular, depth + 1),
                        (None, Some(node)) => self.value(node, singular, depth + 1),
                        (None, None) => break,
                    };
                    if !*unique || !out.contains(&item) {
                        out.push(item);
                    }
                }
                Value::Array(out)
            }
            Node::Object { props, min_props, extra } => {
                let mut out = Map::with_capacity(props.len());
                for prop in props {
                    let include =
                        prop.required || out.len() < *min_props || (depth < MAX_DEPTH && self.rng.random_bool(0.8));
                    if include {
                        out.insert(prop.name.clone(), self.value(&prop.node, &prop.name, depth + 1));
                    }
                }
                if let Some(extra) = extra {
                    for n in 1.. {
                        if out.len() >= *min_props {
                            break;
                        }
                        let name = format!("key{n}");
                        if !out.contains_key(&name) {
                            let value = self.value(extra, &name, depth + 1);
                            out.insert(name, value);
                        }
                    }
                }
                Value::Object(out)
            }
            Node::Choice(branches) => {
                if branches.is_empty() {
                    return Value::Null;
                }
                let pick = self.rng.random_range(0..branches.len());
                self.value(&branches[pick], hint, depth + 1)
            }
            Node::Tagged { node, tags } => {
                let mut value = self.value(node, hint, depth);
                if let Value::Object(object) = &mut value {
                    for (name, tag) in tags {
                        object.insert(name.clone(), tag.clone());
                    }
                }
                value
            }
            Node::Nullable(inner) => {
                if self.rng.random_bool(0.1) {
                    Value::Null
                } else {
                    self.value(inner, hint, depth)
                }
            }
        }
    }

    fn integer(&mut self, min: i64, max: i64, multiple: Option<i64>, _hint: &str) -> Value {
        let value = match multiple {
            Some(m) => {
                let low = min.div_euclid(m) + i64::from(min.rem_euclid(m) != 0);
                let high = max.div_euclid(m);
                if low > high {
                    min
                } else {
                    self.rng.random_range(low..=high).saturating_mul(m)
                }
            }
            None => self.rng.random_range(min..=max),
        };
        Value::Number(value.into())
    }

    fn number(&mut self, min: f64, max: f64, hint: &str) -> Value {
        let is_rate = (max <= 1.0 && min >= 0.0) || hint.contains("rate") || hint == "air" || hint == "apr";
        // Interest rates look like interest rates (9.99 %–39.99 %) when the bounds allow it.
        let (low, high) = if is_rate && min <= 0.0999 && max >= 0.3999 { (0.0999, 0.3999) } else { (min, max) };
        let raw = if low == high { low } else { self.rng.random_range(low..=high) };
        // Money and most decimals have cents; rates have four places (0.2999).
        let places = if is_rate { 4 } else { 2 };
        let scale = 10f64.powi(places);
        let mut rounded = (raw * scale).round() / scale;
        if rounded < min || rounded > max {
            rounded = raw;
        }
        Number::from_f64(rounded).map(Value::Number).unwrap_or(Value::Null)
    }

    fn string(&mut self, spec: &StrSpec, hint: &str) -> String {
        let mut text = match &spec.pattern {
            Some(pattern) => {
                let mut candidate = String::new();
                for _ in 0..PATTERN_TRIES {
                    candidate = match &pattern.sampler {
                        Some(sampler) => {
                            let generated: Result<String, _> = self.rng.sample(sampler);
                            generated.unwrap_or_default()
                        }
                        None => self.realistic(hint),
                    };
                    // Too short for `minLength` under a pattern open at its end: more samples
                    // after the first keep the match and fill the length.
                    if let (true, Some(sampler)) = (pattern.open_end, &pattern.sampler) {
                        let mut tries = 0;
                        while candidate.chars().count() < spec.min_len && tries < spec.min_len {
                            let more: Result<String, _> = self.rng.sample(sampler);
                            candidate.push_str(&more.unwrap_or_else(|_| "a".to_owned()));
                            tries += 1;
                        }
                        if let Some((cut, _)) = spec.max_len.and_then(|max| candidate.char_indices().nth(max)) {
                            candidate.truncate(cut);
                        }
                    }
                    let len = candidate.chars().count();
                    let fits = len >= spec.min_len && spec.max_len.is_none_or(|max| len <= max);
                    if fits && pattern.check.as_ref().is_none_or(|check| check.is_match(&candidate).unwrap_or(false)) {
                        break;
                    }
                }
                return candidate;
            }
            None => match spec.format.as_deref() {
                Some(format) => self.formatted(format, hint),
                None => self.realistic(hint),
            },
        };
        if let Some(max) = spec.max_len {
            if let Some((cut, _)) = text.char_indices().nth(max) {
                text.truncate(cut);
            }
        }
        while text.chars().count() < spec.min_len {
            text.push(char::from(b'a' + self.rng.random_range(0..26u8)));
        }
        text
    }

    fn formatted(&mut self, format: &str, hint: &str) -> String {
        match format {
            "date" if is_birth_date(hint) => format!(
                "{:04}-{:02}-{:02}",
                self.rng.random_range(1950..=2004),
                self.rng.random_range(1..=12),
                self.rng.random_range(1..=28)
            ),
            "date" => self.relative_time(hint).format("%Y-%m-%d").to_string(),
            "date-time" => self.relative_time(hint).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "time" => format!(
                "{:02}:{:02}:{:02}Z",
                self.rng.random_range(0..24),
                self.rng.random_range(0..60),
                self.rng.random_range(0..60)
            ),
            "email" => SafeEmail().fake_with_rng(self.rng),
            "uuid" => {
                let bytes: [u8; 16] = self.rng.random();
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                format!(
                    "{}-{}-4{}-{}{}-{}",
                    &hex[0..8],
                    &hex[8..12],
                    &hex[13..16],
                    ["8", "9", "a", "b"][usize::from(bytes[8] % 4)],
                    &hex[17..20],
                    &hex[20..32]
                )
            }
            "uri" | "url" | "iri" | "uri-reference" => {
                format!("https://example.com/{}", Word().fake_with_rng::<String, _>(self.rng))
            }
            "hostname" | "idn-hostname" => format!("{}.example.com", Word().fake_with_rng::<String, _>(self.rng)),
            "ipv4" => IPv4().fake_with_rng(self.rng),
            "ipv6" => IPv6().fake_with_rng(self.rng),
            "byte" => {
                let bytes: [u8; 12] = self.rng.random();
                base64::engine::general_purpose::STANDARD.encode(bytes)
            }
            _ => self.realistic(hint),
        }
    }

    /// A time relative to today: within the last two years for what has happened (`created`,
    /// `date`), within the next year for what is ahead (`expires_at`, `due_date`, `valid_until`).
    /// Anchored on today's midnight (UTC), so one request answers the same all day.
    fn relative_time(&mut self, hint: &str) -> chrono::DateTime<chrono::Utc> {
        let h = hint.to_ascii_lowercase();
        let ahead = FUTURE_WORDS.iter().any(|word| h.contains(word));
        let today = chrono::Utc::now().date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
        let days: u32 = if ahead { 365 } else { 730 };
        let seconds = i64::from(self.rng.random_range(3_600..=days * 86_400));
        let offset = chrono::Duration::seconds(seconds);
        if ahead {
            today + offset
        } else {
            today - offset
        }
    }

    fn realistic(&mut self, hint: &str) -> String {
        let h = hint.to_ascii_lowercase();
        let has = |needle: &str| h.contains(needle);
        if has("first_name") || has("middle_name") || has("given_name") || h == "firstname" {
            FirstName().fake_with_rng(self.rng)
        } else if has("last_name") || has("lname") || has("surname") || h == "lastname" {
            LastName().fake_with_rng(self.rng)
        } else if has("merchant") || has("company") || has("business") {
            CompanyName().fake_with_rng(self.rng)
        } else if has("name") && !has("plan") {
            Name().fake_with_rng(self.rng)
        } else if has("email") {
            SafeEmail().fake_with_rng(self.rng)
        } else if has("phone") {
            format!("{}{:09}", self.rng.random_range(2..=9), self.rng.random_range(0..1_000_000_000u32))
        } else if has("city") {
            pick(self.rng, CITIES).to_owned()
        } else if has("address") || has("street") {
            format!("{} {}", self.rng.random_range(1..2000), StreetName().fake_with_rng::<String, _>(self.rng))
        } else if has("province") {
            pick(self.rng, PROVINCES).to_owned()
        } else if has("state") {
            StateAbbr().fake_with_rng(self.rng)
        } else if is_birth_date(&h) || has("date") {
            self.formatted("date", &h)
        } else if has("url") || h == "uri" || h.ends_with("_uri") || h.starts_with("uri_") {
            // "uri" as a word: `security_question` holds the letters too.
            self.formatted("uri", &h)
        } else if has("plan") && has("name") {
            pick(self.rng, PLAN_NAMES).to_owned()
        } else if has("question") {
            pick(self.rng, SECURITY_QUESTIONS).to_owned()
        } else if has("message") || h == "msg" || has("description") || has("text") || has("title") || has("reason") {
            // Words with a meaning where a person reads them; lorem ipsum only for fields nobody
            // reads (see below).
            pick(self.rng, MESSAGES).to_owned()
        } else if has("reference") {
            format!("REF-{:06}", self.rng.random_range(0..1_000_000u32))
        } else if h.ends_with("_id") || h == "id" || has("number") || has("code") {
            format!("{}", self.rng.random_range(100_000..10_000_000u32))
        } else {
            Word().fake_with_rng(self.rng)
        }
    }
}

/// One of `items`.
fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// Real cities, for fields named like one (the fictional ones of a faker read as made up).
const CITIES: &[&str] = &[
    "Toronto",
    "Montréal",
    "Vancouver",
    "Calgary",
    "Ottawa",
    "Edmonton",
    "Winnipeg",
    "Québec",
    "Halifax",
    "Victoria",
    "Hamilton",
    "Saskatoon",
    "Regina",
    "St. John's",
    "Kitchener",
];

/// Canadian provinces and territories, for fields named `province`.
const PROVINCES: &[&str] = &["AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"];

/// Financing plan names, for fields like `plan_name`.
const PLAN_NAMES: &[&str] = &[
    "Equal payments, 12 months",
    "Equal payments, 24 months",
    "No payment, no interest for 6 months",
    "Deferred payment, 12 months",
    "Regular interest",
];

/// Security questions, for fields like `security_question`.
const SECURITY_QUESTIONS: &[&str] = &[
    "What is the name of your first pet?",
    "In which city were you born?",
    "What was the make of your first car?",
    "What is your mother's maiden name?",
];

/// Messages and descriptions a person reads, neutral enough for any answer.
const MESSAGES: &[&str] = &[
    "The request was processed.",
    "Approved.",
    "Completed successfully.",
    "Please review the details and try again.",
    "The information was updated.",
    "Thank you; no further action is needed.",
];

/// Words in a field name that put its date ahead of today.
const FUTURE_WORDS: [&str; 9] = ["expir", "due", "until", "next", "renew", "deadline", "valid_to", "ends", "scheduled"];

fn is_birth_date(hint: &str) -> bool {
    hint == "dob" || hint.contains("birth")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `schema` compiled for a document without components.
    fn compiled(schema: &Value) -> Result<Program, OpenApiError> {
        let schemas = SchemaSet::default();
        Program::compile(schema, &schemas, &CompiledSet::compile(&schemas).expect("empty set"))
    }

    /// A document of `components` (OpenAPI form) and a program for `schema` in it.
    fn compiled_in(components: Value, schema: &Value) -> (Program, Value) {
        let defs: Map<String, Value> = components
            .as_object()
            .expect("components")
            .iter()
            .map(|(name, schema)| (name.clone(), crate::normalize::schema(schema)))
            .collect();
        let root = crate::normalize::schema(schema);
        let schemas = SchemaSet::new(defs.clone());
        let program = Program::compile(&root, &schemas, &CompiledSet::compile(&schemas).expect("compiles"));
        let mut document = root.as_object().cloned().expect("an object schema");
        document.insert("$defs".into(), Value::Object(defs));
        (program.expect("compiles"), Value::Object(document))
    }

    #[test]
    fn an_object_of_one_branch_is_never_valid_under_another() {
        // Spotify's artist and track: every property optional, each tells itself apart only by a
        // one-value `type`. An artist without its `type` is also a valid track, and `oneOf` then
        // refuses it.
        let thing = |kind: &str| {
            json!({"type": "object", "properties": {
                "name": {"type": "string"}, "id": {"type": "string"}, "type": {"type": "string", "enum": [kind]}}})
        };
        let components = json!({"Artist": thing("artist"), "Track": thing("track"), "Show": thing("show")});
        let schema = json!({"oneOf": [
            {"$ref": "#/components/schemas/Artist"}, {"$ref": "#/components/schemas/Track"},
            {"allOf": [{"$ref": "#/components/schemas/Show"}, {"required": ["name"]}]}]});
        let (program, document) = compiled_in(components, &schema);
        let validator = jsonschema::validator_for(&document).expect("a valid schema");
        let mut kinds = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let value = program.generate(seed);
            assert!(validator.is_valid(&value), "seed {seed}: {value}");
            kinds.insert(value["type"].as_str().expect("a type").to_owned());
        }
        assert_eq!(kinds.len(), 3, "every branch is generated: {kinds:?}");
    }

    #[test]
    fn a_discriminator_property_names_the_branch_an_object_is_of() {
        let pet = |extra: &str| {
            json!({"type": "object", "required": ["petType"], "properties": {
                "petType": {"type": "string"}, extra: {"type": "integer"}}})
        };
        let components = json!({"Dog": pet("bark"), "Cat": pet("purr"), "Lizard": pet("scales")});
        let schema = json!({
            "oneOf": [{"$ref": "#/components/schemas/Dog"}, {"$ref": "#/components/schemas/Cat"},
                      {"$ref": "#/components/schemas/Lizard"}],
            "discriminator": {"propertyName": "petType", "mapping": {"dog": "#/components/schemas/Dog", "lizard": "Lizard"}}});
        let (program, _) = compiled_in(components, &schema);
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..100 {
            let value = program.generate(seed);
            let pet_type = value["petType"].as_str().expect("a petType").to_owned();
            let own = match pet_type.as_str() {
                "dog" => "bark",
                "Cat" => "purr",
                "lizard" => "scales",
                other => panic!("seed {seed}: {other:?} names no branch: {value}"),
            };
            assert!(value.as_object().is_some_and(|o| o.keys().all(|k| k == "petType" || k == own)), "{value}");
            seen.insert(pet_type);
        }
        // A mapping key where one names the branch (by `$ref` or bare name), else the schema name.
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["Cat", "dog", "lizard"]);
    }

    #[test]
    fn an_unanchored_pattern_is_lengthened_to_its_minimum_length() {
        let schema = json!({"type": "string", "pattern": "[A-z0-9]", "minLength": 24, "maxLength": 24});
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        let program = compiled(&schema).expect("compiles");
        for seed in 0..20 {
            let value = program.generate(seed);
            assert!(validator.is_valid(&value), "seed {seed}: {value}");
        }
    }

    #[test]
    fn digits_and_word_characters_are_ecma_ascii_even_beside_a_dot() {
        assert_eq!(ecma_classes(r"arn:aws:iam::\d+:role/.*"), "arn:aws:iam::[0-9]+:role/.*");
        assert_eq!(ecma_classes(r"[\d\w-]+\D\."), r"[0-9A-Za-z0-9_-]+[^0-9]\.");
        assert_eq!(ecma_classes(r"[]\d]"), r"[]0-9]");
        let schema = json!({"type": "string", "pattern": r"^arn:aws:iam::\d+:role/.*$"});
        let program = compiled(&schema).expect("compiles");
        let ascii_digits = regex::Regex::new(r"^arn:aws:iam::[0-9]+:role/").expect("regex");
        for seed in 0..30 {
            let value = program.generate(seed);
            assert!(ascii_digits.is_match(value.as_str().expect("a string")), "seed {seed}: {value}");
        }
    }

    #[test]
    fn required_and_minimum_properties_are_there_even_when_undeclared() {
        // Spotify's PagingObject requires `items` and declares only the paging fields.
        let open =
            json!({"type": "object", "required": ["total", "items"], "properties": {"total": {"type": "integer"}}});
        let map = json!({"type": "object", "required": ["a"], "additionalProperties": {"type": "integer"}});
        // APIs.guru's list: a map of at least one entry, no property declared.
        let listed = json!({"type": "object", "minProperties": 2, "additionalProperties": {"type": "boolean"}});
        for schema in [open, map, listed] {
            let validator = jsonschema::validator_for(&schema).expect("a valid schema");
            let program = compiled(&schema).expect("compiles");
            for seed in 0..10 {
                let value = program.generate(seed);
                assert!(validator.is_valid(&value), "seed {seed}: {value} against {schema}");
            }
        }
    }

    #[test]
    fn a_branch_that_narrows_the_outer_schema_generates_values_valid_for_both() {
        // The control plane's application: every type narrows the scopes it may ask for.
        let schema = json!({"type": "object", "additionalProperties": false, "required": ["type", "scopes"],
        "properties": {"type": {"type": "string"}, "scopes": {"type": "array", "minItems": 1, "items": {"type": "string"}}},
        "oneOf": [
            {"title": "a", "properties": {"type": {"enum": ["a"]}, "scopes": {"items": {"enum": ["read"]}}}},
            {"title": "b", "properties": {"type": {"enum": ["b"]}, "scopes": {"items": {"enum": ["write", "admin"]}}}}
        ]});
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        let program = compiled(&schema).expect("compiles");
        let mut types = Vec::new();
        for seed in 0..40 {
            let value = program.generate(seed);
            assert!(validator.is_valid(&value), "seed {seed}: {value}");
            types.push(value["type"].clone());
        }
        assert!(types.contains(&json!("a")) && types.contains(&json!("b")), "both branches: {types:?}");
    }

    #[test]
    fn fields_people_read_get_words_with_a_meaning() {
        let schema = json!({"type": "object", "required": ["message", "province", "plan_name", "city", "security_question"],
            "properties": {"message": {"type": "string"}, "province": {"type": "string"}, "plan_name": {"type": "string"},
                           "city": {"type": "string"}, "security_question": {"type": "string"}}});
        let program = compiled(&schema).expect("compiles");
        for seed in 0..50 {
            let value = program.generate(seed);
            let text = |field: &str| value[field].as_str().expect("a string").to_owned();
            assert!(MESSAGES.contains(&text("message").as_str()), "{value}");
            assert!(PROVINCES.contains(&text("province").as_str()), "{value}");
            assert!(PLAN_NAMES.contains(&text("plan_name").as_str()), "{value}");
            assert!(CITIES.contains(&text("city").as_str()), "{value}");
            assert!(text("security_question").ends_with('?'), "{value}");
        }
        let short = json!({"type": "string", "maxLength": 10});
        let program =
            compiled(&json!({"type": "object", "required": ["description"], "properties": {"description": short}}))
                .expect("compiles");
        assert!(
            program.generate(1)["description"].as_str().is_some_and(|d| d.chars().count() <= 10),
            "maxLength still holds"
        );
    }

    #[test]
    fn ecma_look_arounds_are_generated_and_hold() {
        for pattern in [r"^(?!\s*$).+", r"^(?=.*[0-9])(?=.*[A-Z])[A-Za-z0-9]{8,12}$", r"^(?!aws:)[a-z:]{3,20}$"] {
            let program = compiled(&json!({"type": "string", "pattern": pattern}))
                .expect("an ECMA pattern never stops a spec from being served");
            let check = fancy_regex::Regex::new(pattern).expect("the pattern");
            for seed in 0..20 {
                let value = program.generate(seed);
                let text = value.as_str().expect("a string");
                assert!(check.is_match(text).expect("matches"), "{pattern} → {text:?}");
            }
        }
        assert_eq!(without_lookarounds(r"^(?!\s*$)a\(?=b(c))d"), r"^a\(?=b(c))d", "an escaped parenthesis stays");
        assert!(compiled(&json!({"type": "string", "pattern": "("})).is_err(), "not a regex");
    }

    #[test]
    fn dates_are_relative_to_today_past_for_events_ahead_for_expiries() {
        let time = json!({"type": "string", "format": "date-time"});
        let day = json!({"type": "string", "format": "date"});
        let schema = json!({"type": "object", "required": ["created_at", "expires_at", "due_date", "dob"],
            "properties": {"created_at": time, "expires_at": time, "due_date": day, "dob": day}});
        let program = compiled(&schema).expect("compiles");
        let now = chrono::Utc::now();
        let today = now.format("%Y-%m-%d").to_string();
        for seed in 0..50 {
            let value = program.generate(seed);
            let at = |field: &str| {
                let text = value[field].as_str().expect("a string");
                chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339").with_timezone(&chrono::Utc)
            };
            assert!(at("created_at") < now && at("created_at") > now - chrono::Duration::days(731), "{value}");
            assert!(at("expires_at") > now - chrono::Duration::days(1), "{value}");
            assert!(value["due_date"].as_str().is_some_and(|d| d >= today.as_str()), "{value}");
            assert!(value["dob"].as_str().is_some_and(|d| d < "2005"), "a birth date is an adult's: {value}");
        }
    }
}
