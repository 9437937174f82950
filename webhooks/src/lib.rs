//! Signed webhook delivery, shared by the control plane (connection events) and the emulator
//! (scenario events and OpenAPI callbacks): one signature scheme, one retry policy, one sender.
//!
//! Where the pending deliveries live (an outbox table, memory) is the caller's business; this crate
//! signs, sends one attempt and says when the next one is due.

pub mod destination;
pub mod retry;
pub mod send;
pub mod signature;

pub use destination::Destinations;
pub use retry::RetryPolicy;
pub use send::{Attempt, Sender};
pub use signature::{sign, verify, SignatureError, SIGNATURE_HEADER};
