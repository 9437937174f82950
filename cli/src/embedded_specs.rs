//! The specs shipped inside the binary, so that `sandgate up` works from any folder (stripe-mock
//! ships its spec the same way): used when the specs folder is the default (`specs`) and the
//! working directory has none. They are written once into the data directory, under a name that
//! is the hash of their content, and read from there by the same loaders as any folder.

use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};
use sha2::{Digest, Sha256};

static SPECS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../specs");

/// The folder `sandgate.specs_dir` defaults to.
const DEFAULT_SPECS_DIR: &str = "specs";

/// `specs_dir` itself, or, when it is the default and does not exist, the built-in specs
/// written under `data_dir` (once per content).
pub fn resolve(specs_dir: &Path, data_dir: &Path) -> std::io::Result<PathBuf> {
    if specs_dir != Path::new(DEFAULT_SPECS_DIR) || specs_dir.exists() {
        return Ok(specs_dir.to_path_buf());
    }
    std::fs::create_dir_all(data_dir)?;
    let target = data_dir.join(format!("builtin-specs-{}", fingerprint()));
    if !target.is_dir() {
        // Written beside and renamed into place, so a crash or a second node starting at the
        // same moment never leaves a half-written folder under the final name.
        let partial = data_dir.join(format!(".builtin-specs-{}", uuid::Uuid::new_v4().simple()));
        write_all(&SPECS, &partial)?;
        if let Err(e) = std::fs::rename(&partial, &target) {
            let _ = std::fs::remove_dir_all(&partial);
            if !target.is_dir() {
                return Err(e);
            }
        }
    }
    Ok(target)
}

/// Hex SHA-256 (first 16 digits) over every file's path and content.
fn fingerprint() -> String {
    let mut hash = Sha256::new();
    let mut files = Vec::new();
    collect(&SPECS, &mut files);
    files.sort_by_key(|file| file.path());
    for file in files {
        hash.update(file.path().to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update(file.contents());
    }
    hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn collect<'a>(dir: &'a Dir<'a>, out: &mut Vec<&'a include_dir::File<'a>>) {
    out.extend(dir.files());
    for sub in dir.dirs() {
        collect(sub, out);
    }
}

fn write_all(dir: &Dir<'_>, root: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(root)?;
    for file in dir.files() {
        let path = root.join(file.path());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, file.contents())?;
    }
    for sub in dir.dirs() {
        write_all(sub, root)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_folder_falls_back_to_the_built_in_specs_once() {
        let data = tempfile::tempdir().expect("dir");
        let cwd_relative = Path::new(DEFAULT_SPECS_DIR);
        // The tests run in cli/, which has no specs/ folder.
        assert!(!cwd_relative.exists());
        let first = resolve(cwd_relative, data.path()).expect("written");
        assert!(first.join("pos-api/v2.5.yaml").is_file());
        assert_eq!(resolve(cwd_relative, data.path()).expect("again"), first, "written once, then reused");
        let apis = sandgate_openapi::load_dir(&first).expect("the built-in specs load");
        assert!(!apis.is_empty());
        let explicit = data.path().join("mine");
        assert_eq!(resolve(&explicit, data.path()).expect("kept"), explicit, "a folder the user names is kept");
    }
}
