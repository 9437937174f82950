//! State: the objects partners create in the sandbox, so a `POST` is readable by the next `GET`.
//!
//! `infer` decides per operation what it does to which collection (create, read, replace, update,
//! delete, list; `x-sandgate-resource` overrides); `act` carries that out on a [`StateStore`] and
//! shapes the answer. Objects are kept per [`Tenant`] (environment and partner), in memory, in an
//! SQLite file, or in PostgreSQL shared by several nodes.

pub mod act;
pub mod cached;
pub mod fixtures;
pub use sandgate_openapi::infer;
pub mod database;
pub mod memory;

use crate::error::EmulatorError;
use serde_json::Value;

use sandgate_openapi::template::text;

/// Whose objects: one environment and one partner. One tenant never sees another's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tenant<'a> {
    /// The environment (`training`).
    pub environment: &'a str,
    /// The partner account id.
    pub partner: &'a str,
}

/// What a scrub removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrubScope<'a> {
    /// Every object of every tenant.
    All,
    /// Every object of one environment.
    Environment(&'a str),
    /// Every object of one partner in one environment.
    Tenant(Tenant<'a>),
}

/// A page of a collection, in creation order (or newest first).
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The objects on this page.
    pub items: Vec<Value>,
    /// How many objects the collection (after filtering) holds in all.
    pub total: usize,
}

/// Which part of a collection to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageRequest {
    /// Skip this many matching objects.
    pub offset: usize,
    /// Return at most this many.
    pub limit: usize,
    /// Start after the object with this id (cursor paging).
    pub after: Option<String>,
    /// Keep only objects whose top-level field equals the value.
    pub filters: Vec<(String, Value)>,
    /// Keep only objects whose top-level date field is within these bounds.
    pub ranges: Vec<DateRange>,
    /// Newest first: the collection in reverse creation order (a cursor counts in that order).
    pub newest_first: bool,
}

/// Bounds on a date or date-time field, inclusive, compared as text (RFC 3339 in UTC sorts as
/// text). A bound that is a date (`2026-01-05`) takes the whole day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DateRange {
    /// The field.
    pub field: String,
    /// The first date or time admitted.
    pub from: Option<String>,
    /// The last date or time admitted.
    pub to: Option<String>,
}

impl DateRange {
    fn admits(&self, object: &Value) -> bool {
        let Some(value) = object.get(&self.field).and_then(Value::as_str) else { return false };
        let after_start = self.from.as_deref().is_none_or(|from| value >= from);
        // `to` 2026-01-05 admits 2026-01-05T23:59:59Z: compare as many characters as it has.
        let before_end = self.to.as_deref().is_none_or(|to| value.get(..to.len()).unwrap_or(value) <= to);
        after_start && before_end
    }
}

/// `object`'s field `select`, or the whole object.
pub fn selected(object: &Value, select: Option<&str>) -> Value {
    match select {
        Some(field) => object.get(field).cloned().unwrap_or(Value::Null),
        None => object.clone(),
    }
}

/// Whether `object`'s top-level `fields` equal the texts, ignoring ASCII case.
pub fn matches_fields(object: &Value, fields: &[(&str, &str)]) -> bool {
    fields
        .iter()
        .all(|(field, wanted)| object.get(*field).is_some_and(|found| text(found).eq_ignore_ascii_case(wanted)))
}

impl PageRequest {
    /// Whether `object` passes the filters (compared as JSON, or as text for strings vs numbers).
    pub fn admits(&self, object: &Value) -> bool {
        self.filters.iter().all(|(field, wanted)| match object.get(field) {
            Some(value) if value == wanted => true,
            Some(value) => text(value) == text(wanted),
            None => false,
        }) && self.ranges.iter().all(|range| range.admits(object))
    }
}

/// What a state store call returns.
pub type StateResult<T> = Result<T, EmulatorError>;

/// Where objects live. Every call is atomic; a scrub is atomic for readers.
pub trait StateStore: Send + Sync + std::fmt::Debug {
    /// The object `id` of `collection`.
    fn get(&self, tenant: Tenant<'_>, collection: &str, id: &str) -> StateResult<Option<Value>>;
    /// Stores `object` under `id`, replacing any previous one (keeping its place in the order).
    fn put(&self, tenant: Tenant<'_>, collection: &str, id: &str, object: &Value) -> StateResult<()>;
    /// Stores `object` under `id` only if no object of `collection` has had that id since the
    /// last scrub, deleted ones included: a partner who reads a deleted object gets 404, never
    /// another object that took its id. Whether it was stored.
    fn insert_new(&self, tenant: Tenant<'_>, collection: &str, id: &str, object: &Value) -> StateResult<bool>;
    /// Removes object `id` and retires the id until the next scrub; whether it existed.
    fn delete(&self, tenant: Tenant<'_>, collection: &str, id: &str) -> StateResult<bool>;
    /// Lists a page of `collection`.
    fn list(&self, tenant: Tenant<'_>, collection: &str, page: &PageRequest) -> StateResult<Page>;
    /// How many objects `collection` holds.
    fn count(&self, tenant: Tenant<'_>, collection: &str) -> StateResult<usize>;
    /// The first `limit` objects of `collection`, in order, whose top-level `fields` equal the
    /// given texts, ignoring ASCII case (a scenario's `load: {where}`); with `select`, only that
    /// field of each (null when absent). Only what is returned is decoded: a search over a large
    /// collection must not decode every object.
    fn find(
        &self,
        tenant: Tenant<'_>,
        collection: &str,
        fields: &[(&str, &str)],
        select: Option<&str>,
        limit: usize,
    ) -> StateResult<Vec<Value>>;
    /// Removes every object in `scope`; how many were removed.
    fn scrub(&self, scope: ScrubScope<'_>) -> StateResult<usize>;
    /// Whether a call waits on the network (a database server), so a caller on an async worker
    /// should make it from a blocking thread.
    fn is_remote(&self) -> bool {
        false
    }
}

/// Where the emulator keeps its objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StateBackend {
    /// In memory: gone on restart.
    #[default]
    Memory,
    /// In an SQLite file (WAL): survives restarts.
    Sqlite(std::path::PathBuf),
    /// In PostgreSQL at this URL: survives restarts, shared by every node on it.
    Postgres(String),
}

impl StateBackend {
    /// Opens the store.
    pub fn open(&self) -> StateResult<Box<dyn StateStore>> {
        Ok(match self {
            StateBackend::Memory => Box::new(memory::MemoryStore::default()),
            StateBackend::Sqlite(path) => {
                Box::new(cached::ReadThrough::new(database::DatabaseStore::open_sqlite(path)?))
            }
            StateBackend::Postgres(url) => Box::new(database::DatabaseStore::open_postgres(url)?),
        })
    }
}
