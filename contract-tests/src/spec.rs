//! The specs under test: loaded with the emulator's OpenAPI engine (3.0 and 3.1, `$ref`s,
//! `x-sandgate-extends`), fingerprinted, and narrowed to the operations the filters select.

use std::path::{Path, PathBuf};

use regex::Regex;
use sha2::{Digest, Sha256};

use sandgate_openapi::{self, shape, Api, OpenApiError, Operation};

/// The loaded specs.
pub struct Specs {
    /// Every API, in the order the files were given (folders sorted by path).
    pub apis: Vec<Api>,
    /// SHA-256 over every document read (extended ones too), hex: a failure names the exact
    /// specs it was found with.
    pub hash: String,
    /// The files, as given or found.
    pub files: Vec<PathBuf>,
}

/// Which operations run.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// `operationId`s (any of them).
    pub operation_ids: Vec<String>,
    /// Tags (any of them).
    pub tags: Vec<String>,
    /// Regular expressions over the path template (any of them).
    pub paths: Vec<Regex>,
    /// Methods, upper-case (any of them).
    pub methods: Vec<String>,
}

impl Filters {
    /// Whether `op` passes every filter that is set.
    pub fn admits(&self, op: &Operation) -> bool {
        let any = |list_empty: bool, found: bool| list_empty || found;
        any(self.operation_ids.is_empty(), op.operation_id.as_ref().is_some_and(|id| self.operation_ids.contains(id)))
            && any(self.tags.is_empty(), op.tags.iter().any(|t| self.tags.contains(t)))
            && any(self.paths.is_empty(), self.paths.iter().any(|p| p.is_match(&op.path)))
            && any(self.methods.is_empty(), self.methods.iter().any(|m| m.eq_ignore_ascii_case(op.method.as_str())))
    }
}

impl Specs {
    /// Loads every OpenAPI document in `paths` (files, or folders searched recursively).
    pub fn load(paths: &[PathBuf]) -> Result<Specs, OpenApiError> {
        let mut files = Vec::new();
        for path in paths {
            if path.is_dir() {
                let mut found = Vec::new();
                sandgate_openapi::load::collect_files(path, &mut found)?;
                found.sort();
                for file in found {
                    let doc = sandgate_openapi::load::read_document(&file)?;
                    if doc.get("openapi").is_some() {
                        files.push(file);
                    }
                }
            } else {
                files.push(path.clone());
            }
        }
        let mut apis = Vec::new();
        for file in &files {
            apis.extend(sandgate_openapi::load_file(file)?);
        }
        if apis.is_empty() {
            let dir = paths.first().cloned().unwrap_or_default();
            return Err(OpenApiError::Empty { dir });
        }
        // The documents given and those they extend (`x-sandgate-extends`): a change to either
        // changes what the operations are.
        let mut read: Vec<PathBuf> = files.clone();
        read.extend(apis.iter().flat_map(|api| api.operations.iter().filter_map(|op| op.inherited_from.clone())));
        read.sort();
        read.dedup();
        let mut hasher = Sha256::new();
        for file in &read {
            let bytes = std::fs::read(file).map_err(|source| OpenApiError::Io { file: file.clone(), source })?;
            hasher.update(&bytes);
        }
        let hash = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Specs { apis, hash, files })
    }

    /// The file and pointer of a place in an operation's document, for failure messages.
    pub fn location(&self, api: usize, op: usize, pointer: &str) -> String {
        let api = &self.apis[api];
        let file = api.operations[op].inherited_from.as_deref().unwrap_or(&api.file);
        format!("{}#{pointer}", display(file))
    }
}

/// A path as people read it (relative to the working directory when inside it).
pub fn display(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

/// The scopes any operation of `api` declares (`x-sandgate-scopes`), sorted, without repeats.
pub fn declared_scopes(api: &Api) -> Vec<String> {
    let mut scopes: Vec<String> = api.operations.iter().flat_map(|op| op.scopes.iter().flatten().cloned()).collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// The token endpoint among the specs: the operation whose body documents a `grant_type`.
pub fn token_operation(apis: &[Api]) -> Option<(usize, usize)> {
    for (a, api) in apis.iter().enumerate() {
        for (o, op) in api.operations.iter().enumerate() {
            let documents_grant = op.request_body.iter().flat_map(|b| &b.content).any(|media| {
                let schema = media.schema.as_ref().and_then(|s| shape::deref(s, &op.schemas.defs));
                schema.and_then(|s| s.pointer("/properties/grant_type")).is_some()
            });
            if documents_grant && op.method == http::Method::POST {
                return Some((a, o));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_covers_the_document_a_spec_extends() {
        let dir = tempfile::tempdir().expect("temp dir");
        let temp = dir.path();
        let base = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: /t/v1}]\npaths:\n  /a:\n    get:\n      responses: {'200': {description: ok}}\n";
        let child = "openapi: 3.0.3\ninfo: {title: t, version: '1.1'}\nservers: [{url: /t/v1.1}]\nx-sandgate-extends: base.yaml\npaths: {}\n";
        std::fs::write(temp.join("base.yaml"), base).expect("write");
        std::fs::write(temp.join("child.yaml"), child).expect("write");
        let before = Specs::load(&[temp.join("child.yaml")]).expect("loads").hash;
        std::fs::write(temp.join("base.yaml"), base.replace("ok", "fine")).expect("write");
        let after = Specs::load(&[temp.join("child.yaml")]).expect("loads").hash;
        assert_ne!(before, after, "a change in the extended document changes the hash");
    }
}
