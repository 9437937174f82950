//! The OpenAPI engine's model: documents loaded from files, normalised into APIs, operations and
//! JSON Schemas that the router, generator and validators share.
//!
//! Pipeline: `load` (file → JSON value, version check, structural validation) → `normalize`
//! (OpenAPI schema dialect → JSON Schema 2020-12) → `model` (APIs and operations).

pub mod load;
pub mod model;
pub mod normalize;
pub mod shape;

pub use load::{load_dir, load_file, LoadError};
pub use model::{
    Api, BodyMedia, Callback, Link, MediaSpec, Operation, ParamLocation, ParamStyle, Parameter, RequestBody,
    ResponseHeader, ResponseSpec, SchemaSet, SecurityScheme, StatusKey,
};
