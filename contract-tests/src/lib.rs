//! Sandgate's contract tests: given OpenAPI documents, a base URL and credentials, generate
//! requests, check every response against the documents and report (human, JUnit, JSON).
//!
//! Not implemented yet: `sandgate contract` says so and exits with status 2. It will reuse the
//! emulator's OpenAPI engine ([`sandgate_emulator::openapi`] for the model and normalised JSON
//! Schemas, [`sandgate_emulator::generate`] for request data) rather than duplicating it.

/// What this crate can do today, shown by `sandgate contract`.
pub const STATUS: &str =
    "sandgate contract: not implemented yet. It will generate requests from the specs, check every \
                          response against them and write JUnit/JSON reports; until then nothing is checked.";

/// Exit code of the CLI for usage, config or spec errors (and for "not implemented").
pub const EXIT_USAGE: u8 = 2;
