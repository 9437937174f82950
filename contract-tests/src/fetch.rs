//! `--spec https://…`: a spec named by URL is downloaded, with the files its relative `$ref`s
//! name, into a folder of its own under the system's temporary directory, and then loaded like
//! any file. The folder is kept, so `sandgate contract replay` can read the specs a finding
//! names; its name comes from the URL, so a later run overwrites it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ContractError;

/// Most files one spec may pull in through its `$ref`s.
const MAX_FILES: usize = 200;
/// Largest document accepted (Microsoft Graph's beta spec is about 47 MB).
const MAX_BYTES: u64 = 128 * 1024 * 1024;

/// Whether a `--spec` value names a URL rather than a file.
pub fn is_url(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://")
}

/// Downloads the spec at `url` and every file its relative `$ref`s reach, and answers the path
/// of the local copy of the spec itself.
pub fn download(url: &str) -> Result<PathBuf, ContractError> {
    let failed = |why: String| ContractError::BadFlag { flag: "--spec", value: url.to_owned(), why };
    let root = Url::parse(url).map_err(|e| failed(format!("not a URL: {e}")))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| failed(format!("no HTTP client: {e}")))?;
    let hash: String = Sha256::digest(url.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join("sandgate-contract").join(hash);
    let mut pending = vec![root.clone()];
    let mut seen: Vec<Url> = Vec::new();
    while let Some(next) = pending.pop() {
        if seen.contains(&next) {
            continue;
        }
        if seen.len() == MAX_FILES {
            return Err(failed(format!("its $refs reach more than {MAX_FILES} files")));
        }
        let local = dir.join(relative(&root, &next).ok_or_else(|| {
            failed(format!("{next} is referred to but lies outside the folder of the spec; only files beside or below it are fetched"))
        })?);
        let text = get(&client, &next).map_err(|why| failed(format!("{next}: {why}")))?;
        if let Some(parent) = local.parent() {
            std::fs::create_dir_all(parent).map_err(|e| failed(format!("cannot write {}: {e}", parent.display())))?;
        }
        std::fs::write(&local, &text).map_err(|e| failed(format!("cannot write {}: {e}", local.display())))?;
        let document = sandgate_openapi::load::parse_document(&local, &text)?;
        for reference in file_refs(&document) {
            let target = next.join(&reference).map_err(|e| failed(format!("$ref {reference:?}: {e}")))?;
            let mut target = target;
            target.set_fragment(None);
            pending.push(target);
        }
        seen.push(next);
    }
    relative(&root, &root).map(|name| dir.join(name)).ok_or_else(|| failed("no file name".to_owned()))
}

/// The body of `url`, refused when the server does not answer 2xx or sends too much.
fn get(client: &reqwest::blocking::Client, url: &Url) -> Result<String, String> {
    let answer = client.get(url.clone()).send().map_err(|e| e.to_string())?;
    let status = answer.status();
    if !status.is_success() {
        return Err(format!("answered {status}"));
    }
    if answer.content_length().is_some_and(|length| length > MAX_BYTES) {
        return Err(format!("larger than {MAX_BYTES} bytes"));
    }
    answer.text().map_err(|e| e.to_string())
}

/// Where `url` goes in the download folder: its path relative to the spec's own folder, or
/// `None` when it is not beside or below it (another host, or `../` out of it).
fn relative(root: &Url, url: &Url) -> Option<PathBuf> {
    if url.origin() != root.origin() {
        return None;
    }
    let folder = &root.path()[..root.path().rfind('/').map_or(0, |i| i + 1)];
    let rest = url.path().strip_prefix(folder)?;
    let mut path = PathBuf::new();
    for segment in rest.split('/') {
        let segment = percent_encoding::percent_decode_str(segment).decode_utf8().ok()?;
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains(['/', '\\']) {
            return None;
        }
        path.push(Path::new(segment.as_ref()));
    }
    (!path.as_os_str().is_empty()).then_some(path)
}

/// Every file a document's `$ref`s name (the part before `#`), without repeats; references
/// inside the document and absolute URLs to other hosts are left to `relative` to sort out.
fn file_refs(document: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![document];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let file = reference.split('#').next().unwrap_or_default();
                    if !file.is_empty() && !out.iter().any(|f| f == file) {
                        out.push(file.to_owned());
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_beside_or_below_the_spec_have_a_place() {
        let root = Url::parse("https://example.com/apis/shop/openapi.yaml").expect("url");
        let place = |u: &str| relative(&root, &Url::parse(u).expect("url"));
        assert_eq!(place("https://example.com/apis/shop/openapi.yaml"), Some(PathBuf::from("openapi.yaml")));
        assert_eq!(place("https://example.com/apis/shop/schemas/pet.yaml"), Some(PathBuf::from("schemas/pet.yaml")));
        assert_eq!(place("https://example.com/apis/other.yaml"), None, "above the spec's folder");
        assert_eq!(place("https://other.example/apis/shop/pet.yaml"), None, "another host");
        assert_eq!(place("https://example.com/apis/shop/%2e%2e/x.yaml"), None, "an encoded dot segment");
    }

    #[test]
    fn file_refs_name_each_file_once_and_skip_local_pointers() {
        let document = serde_json::json!({
            "a": {"$ref": "#/components/schemas/A"},
            "b": {"$ref": "schemas.yaml#/Pet"},
            "c": [{"$ref": "schemas.yaml#/Owner"}, {"$ref": "./common/errors.yaml"}],
        });
        let mut refs = file_refs(&document);
        refs.sort();
        assert_eq!(refs, vec!["./common/errors.yaml".to_owned(), "schemas.yaml".to_owned()]);
    }
}
