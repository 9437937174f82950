//! Forwarding: where a request that passed every check goes.
//!
//! TRAINING's default upstream is the built-in emulator, called in-process (no loopback hop; see
//! DESIGN.md "The TRAINING hop"). An HTTP upstream is proxied by Pingora (`upstream_peer`). An
//! environment without a backend answers 503 `no-upstream`.

use pingora::Error;
use sandgate_core::problem::ProblemKind;
use sandgate_emulator::Emulator;
use std::sync::Arc;

use crate::error::reject;
use crate::table::Upstream;
use sandgate_core::environment::Environment;

/// What to do with a request that passed every check.
#[derive(Debug)]
pub enum Forward<'a> {
    /// Answer from the emulator in-process.
    Emulator(&'a Arc<Emulator>),
    /// Let Pingora proxy it to the backend.
    Proxy,
}

/// Chooses how to forward for `env`.
pub fn select(upstream: &Upstream, env: Environment) -> Result<Forward<'_>, Box<Error>> {
    match upstream {
        Upstream::Emulator(emulator) => Ok(Forward::Emulator(emulator)),
        Upstream::Http(pool) if pool.endpoints.iter().any(|e| e.resolved()) => Ok(Forward::Proxy),
        // No endpoint's name resolves (yet). The operator's backend names are theirs to see in
        // the log, not the partner's.
        Upstream::Http(_) => Err(reject(
            ProblemKind::UpstreamUnavailable,
            "the backend could not be reached or answered badly; try again later",
        )),
        Upstream::None => Err(reject(
            ProblemKind::NoUpstream,
            format!(
                "{} has no backend configured; set sandgate.environments.{}.upstream to http://host:port",
                env.display(),
                env.as_str()
            ),
        )),
    }
}
