//! The emulator run on its own over HTTP (`sandgate emulator`): the only part of the crate that
//! knows about sockets. `server` is the data port (any gateway, Sandgate's or another, can proxy
//! to it), `admin` the optional admin listener (delivery log, on-demand scrub, health, readiness
//! and `metrics`), and `delivery` signs and sends scenario webhooks and callbacks where no control
//! plane queues them.

pub mod admin;
pub mod delivery;
pub mod metrics;
pub mod server;
