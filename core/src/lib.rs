//! Sandgate's leaf crate: the types every other crate shares, with no I/O and no dependency on
//! another Sandgate crate.
//!
//! - [`problem`]: the problem kinds (slug, status, title) and the problem+json body, one table
//!   for the gateway, the control plane, the emulator and the CLI.

pub mod problem;
