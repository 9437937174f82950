//! Sandgate's process assembly, shared by the `sandgate` binary (`main.rs`) and the test kit:
//! `assembly` opens the data directory, store and keys, loads the specs, builds the emulator, the
//! data plane's tables and the control plane's context, and starts the Pingora servers; `reload`
//! re-reads the config into both; `node_sync` keeps the application directory current with
//! writes made through other nodes; `embedded_specs` are the specs inside the binary, used when
//! there is no `specs/` folder; `admin_listener` serves health, metrics, reload and the
//! control plane on the admin port (never a data port); `portal_bridge` lets the developer portal's
//! "try it" call TRAINING through the gateway; `demo_calls` are the first commands a new TRAINING
//! credential can run.

pub mod admin_listener;
pub mod assembly;
pub mod demo_calls;
pub mod embedded_specs;
mod node_sync;
pub mod portal_bridge;
pub mod reload;
mod scrub_claim;
