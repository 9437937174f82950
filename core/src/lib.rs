//! Sandgate's leaf crate: the types every other crate shares, with no I/O and no dependency on
//! another Sandgate crate.
//!
//! - [`problem`]: the problem kinds (slug, status, title) and the problem+json body, one table
//!   for the gateway, the control plane, the emulator and the CLI.
//! - [`control_config`]: the control plane's section of the config file.
//! - [`clock`]: the system clock, or one a test can move forward.
//! - [`environment`]: TRAINING, PRODUCTION and configured environments, with credential minting.
//! - [`secret`]: random bytes from the OS and the keyed hash secrets are stored under.
//! - [`trust_list`]: an application's CIDRs and trust URLs, parsed once.
//! - [`event`]: a sandbox event on its way to a partner's webhook; [`delivery`]: its delivery log.

pub mod clock;
pub mod control_config;
pub mod delivery;
pub mod environment;
pub mod event;
pub mod problem;
pub mod secret;
pub mod trust_list;
