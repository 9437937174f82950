//! Reads OpenAPI documents from files and folders and turns them into [`Api`]s.
//!
//! YAML and JSON are accepted. OpenAPI 3.0.x documents are checked structurally with `openapiv3`
//! before the model is built; 3.1.x documents (which `openapiv3` does not parse) by our own check
//! of the parts the model reads. A broken document fails with the file, the JSON pointer and the
//! problem. Both versions then go through the same model: 3.1 schemas already are JSON Schema
//! 2020-12, so normalisation only bundles their `$ref`s. References to other files are brought
//! into the document first (`bundle`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::{pointer_segment, OpenApiError};
use super::model::{self, Api};

/// Loads every OpenAPI document under `dir` (recursively, sorted by path so results are stable).
/// Files that are not OpenAPI documents (no top-level `openapi` key) are skipped; Swagger 2.0
/// documents are converted to OpenAPI 3.0 as they are read (`swagger2`).
pub fn load_dir(dir: &Path) -> Result<Vec<Api>, OpenApiError> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    let values = read_all(&files);
    let mut docs = Vec::new();
    for (file, value) in files.into_iter().zip(values) {
        let value = value?;
        // `x-sandgate-emulate: false` marks documents that describe Sandgate itself (the control
        // plane): they must never be served on a data port.
        let emulate = value.get("x-sandgate-emulate").and_then(Value::as_bool) != Some(false);
        if value.get("openapi").is_some() && emulate {
            docs.push((file, value));
        }
    }
    if docs.is_empty() {
        return Err(OpenApiError::Empty { dir: dir.to_path_buf() });
    }
    build_all(docs)
}

/// Loads one OpenAPI document (and the documents it extends, see `x-sandgate-extends`).
pub fn load_file(file: &Path) -> Result<Vec<Api>, OpenApiError> {
    let value = read_document(file)?;
    let mut docs = vec![(file.to_path_buf(), value)];
    if let Some(parent) = docs[0].1.get("x-sandgate-extends").and_then(Value::as_str) {
        let base = file.parent().unwrap_or(Path::new(".")).join(parent);
        let base_value = read_document(&base)?;
        docs.insert(0, (base, base_value));
    }
    let mut apis = build_all(docs)?;
    // Only the requested document is served; its base was loaded to inherit operations from.
    apis.retain(|api| api.file == file);
    Ok(apis)
}

/// Reads and parses `files`, one contiguous share per core (parsing is most of start-up); the
/// results are in the order of `files`.
fn read_all(files: &[PathBuf]) -> Vec<Result<Value, OpenApiError>> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len()).max(1);
    std::thread::scope(|scope| {
        let shares: Vec<_> = files
            .chunks(files.len().div_ceil(workers).max(1))
            .map(|share| scope.spawn(move || share.iter().map(|file| read_document(file)).collect::<Vec<_>>()))
            .collect();
        let join = |share: std::thread::ScopedJoinHandle<'_, Vec<_>>| {
            share.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
        shares.into_iter().flat_map(join).collect()
    })
}

fn build_all(docs: Vec<(PathBuf, Value)>) -> Result<Vec<Api>, OpenApiError> {
    // References to other files are brought in first: everything after reads one document.
    let docs = docs
        .into_iter()
        .map(|(file, value)| super::bundle::bundle(&file, value, &read_document).map(|value| (file, value)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut apis = Vec::with_capacity(docs.len());
    for (file, value) in &docs {
        // The structural check (a full openapiv3 parse) and the model read the same value: run
        // them side by side. The check's error wins, as it names the problem best.
        let (checked, built) = std::thread::scope(|scope| {
            let check = scope.spawn(|| check_structure(file, value));
            let built = model::build_api(file, value);
            (check.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), built)
        });
        checked?;
        apis.push(built?);
    }
    model::apply_extends(&mut apis, &docs)?;
    Ok(apis)
}

/// Every `.yaml`, `.yml` and `.json` file under `dir`, recursively.
pub fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), OpenApiError> {
    let io = |source| OpenApiError::Io { file: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads YAML or JSON into a JSON value. YAML map keys that are numbers (`200:`) become strings.
/// A Swagger 2.0 document comes back converted to OpenAPI 3.0 (errors then point into the
/// converted document).
pub fn read_document(file: &Path) -> Result<Value, OpenApiError> {
    let text = std::fs::read_to_string(file).map_err(|source| OpenApiError::Io { file: file.to_path_buf(), source })?;
    let value = parse_document(file, &text)?;
    if !super::swagger2::is_swagger2(&value) {
        return Ok(value);
    }
    super::swagger2::convert(&value).map_err(|(pointer, problem)| OpenApiError::invalid(file, &pointer, problem))
}

/// Parses YAML or JSON text read from `file` (named in errors) into a JSON value. A `.json` file
/// goes through serde_json, several times faster than a YAML parser on large documents; YAML is
/// read straight into a JSON value, where scalar keys (`200:`, `true:`) become strings.
pub fn parse_document(file: &Path, text: &str) -> Result<Value, OpenApiError> {
    if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        return serde_json::from_str(text).map_err(|e| OpenApiError::invalid(file, "", format!("not JSON: {e}")));
    }
    serde_yaml::from_str(text).map_err(|e| OpenApiError::invalid(file, "", format!("not YAML or JSON: {e}")))
}

fn check_structure(file: &Path, value: &Value) -> Result<(), OpenApiError> {
    let version = value.get("openapi").and_then(Value::as_str).unwrap_or("");
    if version.starts_with("3.0.") {
        if let Some(pointer) = type_list_in(value) {
            let problem = "a list of types is OpenAPI 3.1; in 3.0 use one type (and nullable: true for null)";
            return Err(OpenApiError::invalid(file, pointer, problem));
        }
        // Checked a path item at a time, then the components in place, then an outline of the
        // rest: Microsoft Graph beta whole, as `openapiv3` structures beside its JSON value, made
        // most of start-up's peak memory.
        let at = |e: serde_path_to_error::Error<serde_json::Error>, prefix: &str| {
            (format!("{prefix}{}", to_pointer(e.path())), e.into_inner().to_string())
        };
        let invalid = |(pointer, problem): (String, String)| OpenApiError::invalid(file, pointer, problem);
        let paths = value.get("paths").and_then(Value::as_object);
        for (path, item) in paths.into_iter().flatten().filter(|(path, _)| !path.starts_with("x-")) {
            let checked: Result<openapiv3::ReferenceOr<openapiv3::PathItem>, _> =
                serde_path_to_error::deserialize(item);
            if let Err(e) = checked {
                // openapiv3 reads a path item through flattened maps, which hides where inside it
                // the problem is: look again, one operation at a time.
                let item_at = format!("/paths/{}", pointer_segment(path));
                return Err(invalid(locate_in_item(item, &item_at).unwrap_or_else(|| at(e, &item_at))));
            }
        }
        if let Some(components) = value.get("components") {
            let checked: Result<openapiv3::Components, _> = serde_path_to_error::deserialize(components);
            checked.map_err(|e| invalid(at(e, "/components")))?;
        }
        let outline: serde_json::Map<String, Value> = value
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, _)| *key != "components")
            .map(|(key, node)| match (key.as_str(), node) {
                ("paths", Value::Object(_)) => (key.clone(), Value::Object(serde_json::Map::new())),
                _ => (key.clone(), node.clone()),
            })
            .collect();
        let parsed: Result<openapiv3::OpenAPI, _> = serde_path_to_error::deserialize(&Value::Object(outline));
        parsed.map(drop).map_err(|e| invalid(at(e, "")))
    } else if version.starts_with("3.1.") {
        check_structure_31(value).map_err(|(pointer, problem)| OpenApiError::invalid(file, pointer, problem))
    } else {
        let problem = format!("unsupported OpenAPI version {version:?}; expected 3.0.x or 3.1.x");
        Err(OpenApiError::invalid(file, "/openapi", problem))
    }
}

/// The pointer to the first `type` given as a list, outside examples, defaults and extensions
/// (which hold data, not schemas). openapiv3 reads such a schema as "any type", silently.
fn type_list_in(doc: &Value) -> Option<String> {
    // Segments innermost first: the pointer is only spelled out for the node found, not for
    // every node visited (this walk covers the whole document at each start-up).
    fn find(node: &Value) -> Option<Vec<String>> {
        match node {
            Value::Object(map) => {
                if map.get("type").is_some_and(Value::is_array) {
                    return Some(vec!["type".to_owned()]);
                }
                map.iter()
                    .filter(|(key, _)| {
                        !matches!(key.as_str(), "example" | "examples" | "default" | "enum" | "const")
                            && !key.starts_with("x-")
                    })
                    .find_map(|(key, child)| {
                        let mut segments = find(child)?;
                        segments.push(pointer_segment(key));
                        Some(segments)
                    })
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(i, child)| {
                let mut segments = find(child)?;
                segments.push(i.to_string());
                Some(segments)
            }),
            _ => None,
        }
    }
    find(doc).map(|segments| segments.iter().rev().map(|segment| format!("/{segment}")).collect())
}

/// The JSON Schema dialect 3.1 documents use unless they say otherwise; the only one we take.
const DIALECT_2020_12: &str = "https://spec.openapis.org/oas/3.1/dialect/base";

/// Checks what the model reads from a 3.1 document: `info`, the dialect, and every path item,
/// operation, parameter list and response map. Returns the JSON pointer and the problem.
fn check_structure_31(doc: &Value) -> Result<(), (String, String)> {
    let info =
        doc.get("info").and_then(Value::as_object).ok_or(("/info".to_owned(), "info must be an object".to_owned()))?;
    for key in ["title", "version"] {
        if !info.get(key).is_some_and(Value::is_string) {
            return Err((format!("/info/{key}"), format!("info.{key} is required and must be a string")));
        }
    }
    if let Some(dialect) = doc.get("jsonSchemaDialect") {
        let known = [DIALECT_2020_12, "https://json-schema.org/draft/2020-12/schema"];
        if !dialect.as_str().is_some_and(|d| known.contains(&d)) {
            let problem =
                format!("jsonSchemaDialect {dialect} is not supported; use JSON Schema 2020-12 ({DIALECT_2020_12})");
            return Err(("/jsonSchemaDialect".to_owned(), problem));
        }
    }
    if ["paths", "webhooks", "components"].iter().all(|key| doc.get(key).is_none()) {
        return Err(("".to_owned(), "a 3.1 document needs paths, webhooks or components".to_owned()));
    }
    for section in ["paths", "webhooks"] {
        let Some(items) = doc.get(section) else { continue };
        let items = items.as_object().ok_or((format!("/{section}"), format!("{section} must be an object")))?;
        for (name, item) in items {
            let at = format!("/{section}/{}", pointer_segment(name));
            let item = item.as_object().ok_or((at.clone(), "a path item must be an object".to_owned()))?;
            check_parameters(item.get("parameters"), &at)?;
            for method in ["get", "put", "post", "delete", "options", "head", "patch", "trace"] {
                let Some(op) = item.get(method) else { continue };
                let at = format!("{at}/{method}");
                let op = op.as_object().ok_or((at.clone(), "an operation must be an object".to_owned()))?;
                check_parameters(op.get("parameters"), &at)?;
                if let Some(responses) = op.get("responses") {
                    let responses = responses
                        .as_object()
                        .ok_or((format!("{at}/responses"), "responses must be an object".to_owned()))?;
                    for (status, response) in responses {
                        let code_ok = status == "default"
                            || (status.len() == 3
                                && (status.bytes().all(|b| b.is_ascii_digit()) || status.ends_with("XX")));
                        if !code_ok || !response.is_object() {
                            let problem = format!(
                                "response {status:?} must be a status code, nXX or default, mapping to an object"
                            );
                            let key = pointer_segment(status);
                            return Err((format!("{at}/responses/{key}"), problem));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn check_parameters(parameters: Option<&Value>, at: &str) -> Result<(), (String, String)> {
    let Some(parameters) = parameters else { return Ok(()) };
    let list = parameters.as_array().ok_or((format!("{at}/parameters"), "parameters must be a list".to_owned()))?;
    for (i, parameter) in list.iter().enumerate() {
        let is_ref = parameter.get("$ref").is_some_and(Value::is_string);
        let named = parameter.get("name").is_some_and(Value::is_string)
            && parameter
                .get("in")
                .and_then(Value::as_str)
                .is_some_and(|l| ["path", "query", "header", "cookie"].contains(&l));
        if !is_ref && !named {
            let problem = "a parameter needs a name and in: path, query, header or cookie (or a $ref)".to_owned();
            return Err((format!("{at}/parameters/{i}"), problem));
        }
    }
    Ok(())
}

/// Where inside the path item `item` (at `item_at`) openapiv3 finds a problem: each operation
/// first, then the item itself.
fn locate_in_item(item: &Value, item_at: &str) -> Option<(String, String)> {
    fn check<T: serde::de::DeserializeOwned>(value: &Value, at: String) -> Option<(String, String)> {
        let result: Result<T, _> = serde_path_to_error::deserialize(value);
        result.err().map(|e| (format!("{at}{}", to_pointer(e.path())), e.into_inner().to_string()))
    }
    for method in ["get", "put", "post", "delete", "options", "head", "patch", "trace"] {
        if let Some(found) =
            item.get(method).and_then(|op| check::<openapiv3::Operation>(op, format!("{item_at}/{method}")))
        {
            return Some(found);
        }
    }
    check::<openapiv3::PathItem>(item, item_at.to_owned())
}

/// Turns serde_path_to_error's path into a JSON pointer (`/paths/~1pets/get`).
fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&pointer_segment(key)),
            Segment::Enum { variant } => out.push_str(variant),
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write fixture");
        path
    }

    fn temp_dir(tag: &str) -> tempfile::TempDir {
        tempfile::Builder::new().prefix(&format!("sandgate-load-{tag}-")).tempdir().expect("temp dir")
    }

    #[test]
    fn a_type_list_in_a_3_0_document_is_refused_with_its_pointer() {
        let temp = temp_dir("typelist");
        let dir = temp.path();
        let text = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    A:\n      type: object\n      example: {type: [a, b]}\n      properties:\n        b: {type: [string, 'null']}\n";
        let file = write(dir, "a.yaml", text);
        match load_file(&file) {
            Err(OpenApiError::Invalid { pointer, problem, .. }) => {
                assert_eq!(pointer, "/components/schemas/A/properties/b/type");
                assert!(problem.contains("3.1"), "{problem}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn load_file_broken_document_names_file_and_pointer() {
        let temp = temp_dir("broken");
        let dir = temp.path();
        let file = write(
            dir,
            "bad.yaml",
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses: 12\n",
        );
        let err = load_file(&file).expect_err("must fail").to_string();
        assert!(err.contains("bad.yaml"), "{err}");
        assert!(err.contains("/paths/~1x/get/responses"), "{err}");
    }

    #[test]
    fn a_3_0_document_checked_item_by_item_names_each_kind_of_problem() {
        let temp = temp_dir("structure");
        let dir = temp.path();
        let head = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";
        for (body, pointer) in [
            // A path item's own parameters, outside any operation.
            ("paths:\n  /x:\n    parameters: 5\n", "/paths/~1x/parameters"),
            // Outside `paths`: a component, and `info`.
            ("paths: {}\ncomponents:\n  responses:\n    e: {description: d, content: 5}\n", "/components/responses/e"),
            ("paths: {}\nservers: 3\n", "/servers"),
            ("paths: [1]\n", "/paths"),
            ("components: {}\n", "paths"),
        ] {
            let file = write(dir, "doc.yaml", &format!("{head}{body}"));
            let err = load_file(&file).expect_err(body).to_string();
            assert!(err.contains(pointer), "{body}: {err}");
        }
        // Extensions among the paths are not path items.
        let file = write(
            dir,
            "ok.yaml",
            &format!("{head}paths:\n  x-note: [1, 2]\n  /x: {{get: {{responses: {{'200': {{description: ok}}}}}}}}\n"),
        );
        load_file(&file).expect("loads");
    }

    #[test]
    fn load_file_openapi_31_problems_name_the_pointer() {
        let temp = temp_dir("v31");
        let dir = temp.path();
        for (text, pointer) in [
            ("openapi: 3.1.0\ninfo: {version: '1'}\npaths: {}\n", "/info/title"),
            (
                "openapi: 3.1.0\ninfo: {title: t, version: '1'}\njsonSchemaDialect: https://example.com/d\npaths: {}\n",
                "/jsonSchemaDialect",
            ),
            (
                "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {/x: {get: {responses: {'20': {}}}}}\n",
                "/paths/~1x/get/responses/20",
            ),
            (
                "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {/x: {get: {parameters: [{in: query}]}}}\n",
                "/paths/~1x/get/parameters/0",
            ),
            ("openapi: 2.0\ninfo: {title: t, version: '1'}\n", "/openapi"),
        ] {
            let file = write(dir, "a.yaml", text);
            let err = load_file(&file).expect_err("must fail").to_string();
            assert!(err.contains(pointer), "{pointer}: {err}");
        }
        let file = write(dir, "ok.yaml", "openapi: 3.1.0\ninfo: {title: t, version: '1'}\nwebhooks: {}\n");
        assert!(load_file(&file).is_ok(), "a webhooks-only 3.1 document loads");
    }

    #[test]
    fn yaml_scalar_keys_become_strings_and_aliases_resolve() {
        let text = "responses:\n  200: &ok {description: ok}\n  404: *ok\ntrue: 1\n1.5: x\n";
        let value = parse_document(Path::new("a.yaml"), text).expect("parses");
        let ok = serde_json::json!({"description": "ok"});
        assert_eq!(value, serde_json::json!({"responses": {"200": ok, "404": ok}, "true": 1, "1.5": "x"}));
    }

    #[test]
    fn a_broken_json_document_names_the_file_and_line() {
        let temp = temp_dir("json");
        let file = write(temp.path(), "api.json", "{\"openapi\": \"3.0.3\",\n  \"info\": }\n");
        let err = load_file(&file).expect_err("must fail").to_string();
        assert!(err.contains("api.json") && err.contains("not JSON") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn documents_of_a_folder_load_in_file_order_whichever_thread_parses_them() {
        let temp = temp_dir("order");
        for name in ["c", "a", "d", "b", "e"] {
            let text = format!("openapi: 3.0.3\ninfo: {{title: {name}, version: '1'}}\npaths: {{}}\n");
            write(temp.path(), &format!("{name}.yaml"), &text);
        }
        let titles: Vec<String> = load_dir(temp.path()).expect("loads").into_iter().map(|api| api.title).collect();
        assert_eq!(titles, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn a_document_split_over_files_loads_as_one() {
        let temp = temp_dir("split");
        let dir = temp.path();
        write(dir, "common.yaml", "Pet: {type: object, required: [id], properties: {id: {type: integer}}}\n");
        let api = write(
            dir,
            "api.yaml",
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: /t/v1}]\npaths:\n  /pets:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'common.yaml#/Pet'}\n",
        );
        let apis = load_file(&api).expect("the split document loads");
        assert!(apis[0].schemas.defs.contains_key("Pet"), "the schema is a component of the document");
        let dir_apis = load_dir(dir).expect("a folder with the split document loads");
        assert_eq!(dir_apis.len(), 1, "common.yaml is not a document of its own");
    }

    #[test]
    fn a_swagger_2_document_is_served_converted() {
        let temp = temp_dir("swagger");
        let dir = temp.path();
        write(dir, "a.yaml", "openapi: 3.0.3\ninfo: {title: a, version: '1'}\npaths: {}\n");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../emulator/tests/fixtures/swagger2/shelter.yaml");
        std::fs::copy(&fixture, dir.join("shelter.yaml")).expect("copy");
        let apis = load_dir(dir).expect("loads");
        let shelter = apis.iter().find(|api| api.file.ends_with("shelter.yaml")).expect("the 2.0 document is served");
        assert_eq!(shelter.operations.len(), 6);
        write(dir, "old.yaml", "swagger: '1.2'\ninfo: {title: old, version: '1'}\npaths: {}\n");
        let error = load_dir(dir).expect_err("1.2 has no conversion").to_string();
        assert!(error.contains("old.yaml") && error.contains("1.2"), "{error}");
    }

    #[test]
    fn load_dir_without_documents_fails() {
        let temp = temp_dir("empty");
        let dir = temp.path();
        write(dir, "notes.yaml", "hello: world\n");
        assert!(matches!(load_dir(dir), Err(OpenApiError::Empty { .. })));
    }
}
