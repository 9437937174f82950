//! The real `sandgate` binary on three free loopback ports (TRAINING, PRODUCTION, admin) with the
//! repository's specs, as every process test starts it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use sandgate_testkit as common;

/// `sandgate <args…> --data-dir <dir> --specs-dir specs` with fresh listener ports; add flags,
/// then spawn. The ports are TRAINING, PRODUCTION and admin.
pub(crate) fn sandgate(args: &[&str], data_dir: &Path) -> (Command, [SocketAddr; 3]) {
    let ports = [common::free_port(), common::free_port(), common::free_port()];
    let mut command = Command::new(env!("CARGO_BIN_EXE_sandgate"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--specs-dir")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs"))
        .args(["--training-listen", &ports[0].to_string()])
        .args(["--production-listen", &ports[1].to_string()])
        .args(["--admin-listen", &ports[2].to_string()]);
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
