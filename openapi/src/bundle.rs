//! Bundles a document split over several files into one: every `$ref` to another file
//! (`./schemas.yaml#/Pet`, `common.yaml`) is brought into the document, so the rest of the engine
//! only ever sees local references. A schema is added to `components/schemas` (once, under the
//! name its pointer or file ends with), so references between files may form cycles; anything
//! else (a parameter, a response) is copied where it is referenced. References inside a file
//! that was brought in resolve against that file. Remote (`https://…`) references are refused
//! by name: a sandbox must not depend on the network at start-up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::OpenApiError;

/// Reads one document (YAML or JSON) from a file: the loader's reader.
pub type Reader<'a> = &'a dyn Fn(&Path) -> Result<Value, OpenApiError>;

/// How many references deep a copied (non-schema) object may go: deeper is a cycle.
const MAX_COPY_DEPTH: usize = 32;

/// `doc`, read from `file`, with every reference to another file brought in (read with `read`).
/// A document without such references is returned as it is.
pub fn bundle(file: &Path, mut doc: Value, read: Reader<'_>) -> Result<Value, OpenApiError> {
    if !has_external_ref(&doc) {
        return Ok(doc);
    }
    let mut bundler =
        Bundler { root: file.to_path_buf(), read, files: HashMap::new(), names: HashMap::new(), added: Map::new() };
    bundler.files.insert(file.to_path_buf(), doc.clone());
    bundler.walk(&mut doc, file, false, 0)?;
    if !bundler.added.is_empty() {
        let components =
            doc.as_object_mut().map(|d| d.entry("components").or_insert_with(|| Value::Object(Map::new())));
        let schemas = components
            .and_then(Value::as_object_mut)
            .map(|c| c.entry("schemas").or_insert_with(|| Value::Object(Map::new())));
        if let Some(Value::Object(schemas)) = schemas {
            schemas.extend(std::mem::take(&mut bundler.added));
        }
    }
    Ok(doc)
}

fn has_external_ref(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.get("$ref").and_then(Value::as_str).is_some_and(|r| !r.starts_with('#'))
                || map.values().any(has_external_ref)
        }
        Value::Array(items) => items.iter().any(has_external_ref),
        _ => false,
    }
}

struct Bundler<'r> {
    root: PathBuf,
    read: Reader<'r>,
    /// Documents read so far, by path.
    files: HashMap<PathBuf, Value>,
    /// The component name given to each (file, pointer) schema brought in.
    names: HashMap<(PathBuf, String), String>,
    /// The schemas brought in, by component name.
    added: Map<String, Value>,
}

impl Bundler<'_> {
    /// Brings in what `value` (read from `file`) refers to outside the root document; `schema`:
    /// whether `value` is a schema (or inside one).
    fn walk(&mut self, value: &mut Value, file: &Path, schema: bool, depth: usize) -> Result<(), OpenApiError> {
        match value {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(Value::as_str).map(str::to_owned) {
                    let local_to_root = reference.starts_with('#') && file == self.root;
                    if !local_to_root {
                        *value = self.resolve(&reference, file, schema, depth)?;
                        return Ok(());
                    }
                }
                for (key, member) in map.iter_mut() {
                    let inside = schema || matches!(key.as_str(), "schema" | "schemas");
                    self.walk(member, file, inside, depth)?;
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(item, file, schema, depth)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// What replaces the reference `reference` written in `file`.
    fn resolve(&mut self, reference: &str, file: &Path, schema: bool, depth: usize) -> Result<Value, OpenApiError> {
        let (path, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        if path.contains("://") {
            let problem = format!(
                "remote $ref {reference:?} is not followed: save the file beside the spec and refer to it by path"
            );
            return Err(OpenApiError::invalid(file, "", problem));
        }
        let target_file = match path {
            "" => file.to_path_buf(),
            relative => file.parent().unwrap_or(Path::new(".")).join(relative),
        };
        if !self.files.contains_key(&target_file) {
            let document = (self.read)(&target_file)?;
            self.files.insert(target_file.clone(), document);
        }
        let key = (target_file.clone(), pointer.to_owned());
        if schema {
            if let Some(name) = self.names.get(&key) {
                return Ok(schema_ref(name));
            }
            let name = self.free_name(&target_file, pointer);
            self.names.insert(key, name.clone());
            let mut target = self.target(&target_file, pointer, reference, file)?;
            self.walk(&mut target, &target_file, true, depth)?;
            self.added.insert(name.clone(), target);
            return Ok(schema_ref(&name));
        }
        if depth >= MAX_COPY_DEPTH {
            let problem =
                format!("$ref {reference:?} refers to itself through other files (only schemas may form cycles)");
            return Err(OpenApiError::invalid(file, "", problem));
        }
        let mut target = self.target(&target_file, pointer, reference, file)?;
        self.walk(&mut target, &target_file, false, depth + 1)?;
        Ok(target)
    }

    /// The value at `pointer` in the document read from `target_file`.
    fn target(&self, target_file: &Path, pointer: &str, reference: &str, file: &Path) -> Result<Value, OpenApiError> {
        let document = self.files.get(target_file).unwrap_or(&Value::Null);
        document.pointer(pointer).cloned().ok_or_else(|| {
            OpenApiError::invalid(
                file,
                "",
                format!("$ref {reference:?}: {} has nothing at {pointer:?}", target_file.display()),
            )
        })
    }

    /// A component name not yet taken: the pointer's last segment, else the file's stem.
    fn free_name(&self, target_file: &Path, pointer: &str) -> String {
        let stem = target_file.file_stem().and_then(|s| s.to_str()).unwrap_or("Schema");
        let last = pointer.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(stem);
        let base: String =
            last.chars().map(|c| if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' }).collect();
        let taken = |name: &str| {
            self.added.contains_key(name)
                || self
                    .files
                    .get(&self.root)
                    .and_then(|root| root.pointer(&format!("/components/schemas/{name}")))
                    .is_some()
        };
        let mut name = base.clone();
        let mut n = 2;
        while taken(&name) {
            name = format!("{base}{n}");
            n += 1;
        }
        name
    }
}

fn schema_ref(name: &str) -> Value {
    let mut map = Map::new();
    map.insert("$ref".into(), Value::String(format!("#/components/schemas/{name}")));
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_in_other_files_become_components_and_may_refer_to_each_other() {
        let dir = tempfile::tempdir().expect("dir");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
        write(
            "api.yaml",
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: /t/v1}]\npaths:\n  /pets:\n    get:\n      parameters:\n        - $ref: 'common.yaml#/parameters/Limit'\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: './schemas/pet.yaml#/Pet'}\n",
        );
        write("common.yaml", "parameters:\n  Limit: {name: limit, in: query, schema: {type: integer, maximum: 50}}\n");
        std::fs::create_dir(dir.path().join("schemas")).expect("dir");
        write(
            "schemas/pet.yaml",
            "Pet:\n  type: object\n  properties:\n    owner: {$ref: 'owner.yaml'}\n    friends: {type: array, items: {$ref: '#/Pet'}}\n",
        );
        write(
            "schemas/owner.yaml",
            "type: object\nproperties:\n  pets: {type: array, items: {$ref: 'pet.yaml#/Pet'}}\n",
        );
        let file = dir.path().join("api.yaml");
        let doc = bundle(&file, read(&file).expect("reads"), &read).expect("bundles");
        let schema = &doc["paths"]["/pets"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(schema["$ref"], "#/components/schemas/Pet");
        let pet = &doc["components"]["schemas"]["Pet"];
        assert_eq!(
            pet["properties"]["friends"]["items"]["$ref"], "#/components/schemas/Pet",
            "a cycle stays a reference"
        );
        assert_eq!(pet["properties"]["owner"]["$ref"], "#/components/schemas/owner");
        assert_eq!(
            doc["components"]["schemas"]["owner"]["properties"]["pets"]["items"]["$ref"],
            "#/components/schemas/Pet"
        );
        assert_eq!(doc["paths"]["/pets"]["get"]["parameters"][0]["name"], "limit", "a parameter is copied in");
    }

    /// Reads a YAML test file.
    fn read(file: &Path) -> Result<Value, OpenApiError> {
        let text =
            std::fs::read_to_string(file).map_err(|source| OpenApiError::Io { file: file.to_path_buf(), source })?;
        serde_yaml::from_str(&text).map_err(|e| OpenApiError::invalid(file, "", e.to_string()))
    }

    #[test]
    fn remote_and_missing_references_are_refused_by_name() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("api.yaml");
        let doc = |reference: &str| {
            serde_json::json!({"paths": {"/x": {"get": {"responses": {"200": {"description": "ok",
            "content": {"application/json": {"schema": {"$ref": reference}}}}}}}}})
        };
        let remote = bundle(&file, doc("https://example.com/s.yaml#/Pet"), &read).expect_err("refused").to_string();
        assert!(remote.contains("remote $ref"), "{remote}");
        let missing = bundle(&file, doc("nowhere.yaml#/Pet"), &read).expect_err("refused").to_string();
        assert!(missing.contains("nowhere.yaml"), "{missing}");
    }
}
