//! Fixture data: objects every partner finds in the sandbox without creating them (declared in
//! scenario files under `fixtures:`). A collection is seeded the first time a partner touches it,
//! and again after a scrub; an object the partner changed is never overwritten.

use std::collections::HashSet;
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::infer::collection_key;
use super::{StateStore, Tenant};
use crate::error::EmulatorError;
use sandgate_openapi::template::text;

/// The objects of one collection template.
#[derive(Debug, Clone, PartialEq)]
pub struct Fixture {
    /// The API's name.
    pub api: String,
    /// The collection's path template (`/client-id/{client_id}/authorization`).
    pub collection: String,
    /// The field holding each object's id.
    pub id_field: String,
    /// The objects.
    pub objects: Vec<Value>,
}

/// Every fixture, and which collections have been seeded since the last scrub.
#[derive(Debug, Default)]
pub struct Fixtures {
    list: Vec<Fixture>,
    /// `(environment, partner, collection key)` already seeded.
    seeded: Mutex<HashSet<(String, String, String)>>,
}

impl Fixtures {
    /// Adds fixtures.
    pub fn extend(&mut self, fixtures: impl IntoIterator<Item = Fixture>) {
        self.list.extend(fixtures);
    }

    /// Seeds the collections of `api` the operation `touches` (by template) that a request with
    /// these path parameters reaches; other operations pay nothing.
    pub fn ensure(
        &self,
        store: &dyn StateStore,
        tenant: Tenant<'_>,
        api: &str,
        touches: &dyn Fn(&str) -> bool,
        path: &Map<String, Value>,
    ) -> Result<(), EmulatorError> {
        let relevant = |f: &&Fixture| f.api == api && touches(&f.collection) && reachable(&f.collection, path);
        for fixture in self.list.iter().filter(relevant) {
            let key = collection_key(api, &fixture.collection, path);
            let marker = (tenant.environment.to_owned(), tenant.partner.to_owned(), key);
            if self.seeded.lock().unwrap_or_else(|p| p.into_inner()).contains(&marker) {
                continue;
            }
            for object in &fixture.objects {
                let id = object.get(&fixture.id_field).map(text).unwrap_or_default();
                if store.get(tenant, &marker.2, &id)?.is_none() {
                    store.put(tenant, &marker.2, &id, object)?;
                }
            }
            self.seeded.lock().unwrap_or_else(|p| p.into_inner()).insert(marker);
        }
        Ok(())
    }

    /// Forgets what was seeded (after a scrub), so the next request seeds again.
    pub fn forget(&self) {
        self.seeded.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Whether there are any.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Whether every `{parameter}` of `template` has a value in `path`.
fn reachable(template: &str, path: &Map<String, Value>) -> bool {
    template
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .all(|name| path.contains_key(name))
}
