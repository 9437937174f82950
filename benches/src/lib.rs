//! Sandgate's benchmarks: criterion micro-benchmarks under `benches/` (`cargo bench -p
//! sandgate-benches`) and, later, the load benchmarks that compare the gateway and the emulator
//! with a direct hit and with their peers (nginx, Prism).

use std::path::PathBuf;

/// The repository's `specs/` folder.
pub fn specs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs")
}
