//! Mending a body to its documented schema: a response schema compiled on first use, and the
//! smallest changes that make a body conform (see [`Conforms::repair`]). The state answers stored
//! objects through it; error answers shaped by the spec use it too.

use std::sync::Arc;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use sandgate_openapi::Operation;

/// A response schema, compiled on first use: a spec of a thousand operations would otherwise
/// compile a thousand validators (each over every component schema) before serving anything.
pub(crate) struct Conforms {
    schema: Value,
    schemas: Arc<sandgate_openapi::SchemaSet>,
    validator: std::sync::OnceLock<Option<jsonschema::Validator>>,
}

impl std::fmt::Debug for Conforms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Conforms")
    }
}

impl Conforms {
    pub(crate) fn new(schema: &Value, op: &Operation) -> Conforms {
        let schemas = Arc::clone(&op.schemas);
        Conforms { schema: schema.clone(), schemas, validator: std::sync::OnceLock::new() }
    }

    pub(crate) fn validator(&self) -> Option<&jsonschema::Validator> {
        self.validator
            .get_or_init(|| {
                let root = self.schemas.json_schema(&self.schema);
                jsonschema::options().should_validate_formats(true).build(&root).ok()
            })
            .as_ref()
    }

    /// Makes `body` conform, changing as little as it can: a field that is missing is taken from
    /// `fabricated`, one the schema does not allow is dropped and one that does not fit is
    /// replaced by its fabricated value, each at the deepest place the validator names. So an
    /// object one version stored keeps its values when another version reads it (a v2.5.1
    /// `financing_option` read through v2.5 loses `annual_rates`, keeps its plan and term).
    pub(crate) fn repair(&self, body: &mut Value, fabricated: &Value) {
        let Some(validator) = self.validator() else { return };
        for _ in 0..REPAIR_PASSES {
            if validator.is_valid(body) {
                return;
            }
            let fixes: Vec<Fix> = validator
                .iter_errors(body)
                .map(|e| {
                    let at = e.instance_path().as_str().to_owned();
                    match e.kind() {
                        ValidationErrorKind::Required { property } => match property.as_str() {
                            Some(name) => Fix::Fill(at, name.to_owned()),
                            None => Fix::Replace(at),
                        },
                        ValidationErrorKind::AdditionalProperties { unexpected }
                        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                            Fix::Drop(at, unexpected.clone())
                        }
                        _ => Fix::Replace(at),
                    }
                })
                .collect();
            for fix in fixes {
                fix.apply(body, fabricated);
            }
        }
        if !validator.is_valid(body) {
            body.clone_from(fabricated);
        }
    }
}

/// How many rounds of fixes [`Conforms::repair`] makes before answering the fabricated body.
const REPAIR_PASSES: usize = 4;

/// One change that brings a body closer to its schema; the strings are JSON pointers.
enum Fix {
    /// Add the missing field (from the fabricated body) to the object at the pointer.
    Fill(String, String),
    /// Remove these fields from the object at the pointer.
    Drop(String, Vec<String>),
    /// Put the fabricated value at the pointer (remove the value when there is none).
    Replace(String),
}

impl Fix {
    fn apply(self, body: &mut Value, fabricated: &Value) {
        match self {
            Fix::Fill(at, name) => {
                let value = fabricated.pointer(&at).and_then(|o| o.get(&name)).cloned();
                match (body.pointer_mut(&at).and_then(Value::as_object_mut), value) {
                    (Some(object), Some(value)) => {
                        object.insert(name, value);
                    }
                    _ => Fix::Replace(at).apply(body, fabricated),
                }
            }
            Fix::Drop(at, names) => {
                if let Some(object) = body.pointer_mut(&at).and_then(Value::as_object_mut) {
                    for name in names {
                        object.remove(&name);
                    }
                }
            }
            Fix::Replace(at) if at.is_empty() => body.clone_from(fabricated),
            Fix::Replace(at) => match fabricated.pointer(&at) {
                Some(value) => {
                    if let Some(slot) = body.pointer_mut(&at) {
                        slot.clone_from(value);
                    }
                }
                None => {
                    let (parent, last) = at.rsplit_once('/').unwrap_or(("", &at));
                    let last = last.replace("~1", "/").replace("~0", "~");
                    match body.pointer_mut(parent) {
                        Some(Value::Object(object)) => {
                            object.remove(&last);
                        }
                        Some(Value::Array(items)) => {
                            if let Ok(index) = last.parse::<usize>() {
                                if index < items.len() {
                                    items.remove(index);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            },
        }
    }
}
