//! Sandgate's OpenAPI engine: documents loaded from files, normalised into APIs, operations and
//! JSON Schemas, and what is built on them: routing, value generation, request validation and
//! the resources a spec describes. No Pingora, no SQLite: the emulator and the contract tests
//! both stand on it.
//!
//! Pipeline: `load` (file → JSON value, version check, structural validation) → `normalize`
//! (OpenAPI schema dialect → JSON Schema 2020-12) → `model` (APIs and operations); then
//! `router` (method + path → operation), `generate` (schema → value), `validate` (request →
//! verdict), `infer` (which operations create, read, list and delete which resource), and
//! `template` (the `{{ name }}` templates specs and scenarios are written with), `error_codes`
//! (the error codes an operation's error answers document) and `lint` (what in a spec would make
//! fabricated answers break it).

pub mod bundle;
pub mod error;
pub mod error_codes;
pub mod generate;
pub mod infer;
pub mod lint;
pub mod load;
pub mod model;
pub mod normalize;
pub mod router;
pub mod shape;
pub mod swagger2;
pub mod template;
pub mod validate;

pub use error::OpenApiError;
pub use load::{load_dir, load_file};
pub use model::{
    Api, BodyMedia, Callback, Link, MediaSpec, Operation, ParamLocation, ParamStyle, Parameter, RequestBody, Response,
    ResponseHeader, ResponseSpec, SchemaSet, SecurityScheme, StatusKey,
};
