//! The real `sandgate` binary on four free loopback ports (TRAINING, PRODUCTION, admin, portal) with the
//! repository's specs, as every process test starts it.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use sandgate_testkit as common;

/// `sandgate <args…> --data-dir <dir> --specs-dir specs` with fresh listener ports; add flags,
/// then spawn. The ports are TRAINING, PRODUCTION, admin and the developer portal.
pub(crate) fn sandgate(args: &[&str], data_dir: &Path) -> (Command, [SocketAddr; 4]) {
    let ports = [common::free_port(), common::free_port(), common::free_port(), common::free_port()];
    let mut command = Command::new(env!("CARGO_BIN_EXE_sandgate"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--specs-dir")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs"))
        .args(["--training-listen", &ports[0].to_string()])
        .args(["--production-listen", &ports[1].to_string()])
        .args(["--admin-listen", &ports[2].to_string()])
        .args(["--portal-listen", &ports[3].to_string()]);
    (command, ports)
}

/// A running `sandgate gateway` (killed when dropped).
pub(crate) struct Node {
    pub(crate) child: std::process::Child,
    /// `http://…` of the TRAINING listener.
    pub(crate) training: String,
    /// `http://…` of the admin listener.
    pub(crate) admin: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sandgate gateway` on `data_dir` (with `--config config` when given) and waits until
/// every listener accepts connections.
pub(crate) fn gateway(data_dir: &Path, config: Option<&Path>) -> Node {
    let (mut command, ports) = sandgate(&["gateway"], data_dir);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let child = command
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn sandgate gateway");
    for port in ports {
        common::wait_listening(port);
    }
    Node { child, training: format!("http://{}", ports[0]), admin: format!("http://{}", ports[2]) }
}

/// A `sandgate up --json` started by [`start`]: the process and the banner it printed.
pub(crate) struct Up {
    pub(crate) child: std::process::Child,
    pub(crate) banner: serde_json::Value,
}

/// Spawns `command` (a `sandgate up --json`), reads its banner and waits for `ports`.
pub(crate) fn start(mut command: Command, ports: impl IntoIterator<Item = SocketAddr>) -> Up {
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn sandgate up");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("banner line");
    let banner: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    for port in ports {
        common::wait_listening(port);
    }
    Up { child, banner }
}
