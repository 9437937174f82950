//! Objects in memory: per tenant, per collection, in creation order, with the ids deleted since
//! the last scrub. One lock: every call holds it for a map lookup or insert, never across I/O.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use indexmap::IndexMap;
use serde_json::Value;

use super::{Page, PageRequest, ScrubScope, StateResult, StateStore, Tenant};

type Collections = HashMap<String, Collection>;

#[derive(Debug, Default)]
struct Collection {
    objects: IndexMap<String, Value>,
    /// Ids of deleted objects: never given to a new object before the next scrub.
    retired: HashSet<String>,
}

/// The in-memory store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// `(environment, partner)` → collections.
    tenants: RwLock<HashMap<(String, String), Collections>>,
}

fn key(tenant: Tenant<'_>) -> (String, String) {
    (tenant.environment.to_owned(), tenant.partner.to_owned())
}

impl MemoryStore {
    fn read<T>(&self, f: impl FnOnce(&HashMap<(String, String), Collections>) -> T) -> T {
        // A panic while holding the lock leaves the maps consistent (every write is one insert or
        // remove), so a poisoned lock is still usable.
        f(&self.tenants.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn write<T>(&self, f: impl FnOnce(&mut HashMap<(String, String), Collections>) -> T) -> T {
        f(&mut self.tenants.write().unwrap_or_else(|p| p.into_inner()))
    }

    /// The collection, created empty if new, under the write lock.
    fn write_collection<T>(&self, tenant: Tenant<'_>, collection: &str, f: impl FnOnce(&mut Collection) -> T) -> T {
        self.write(|t| f(t.entry(key(tenant)).or_default().entry(collection.to_owned()).or_default()))
    }
}

impl StateStore for MemoryStore {
    fn get(&self, tenant: Tenant<'_>, collection: &str, id: &str) -> StateResult<Option<Value>> {
        Ok(self.read(|t| t.get(&key(tenant)).and_then(|c| c.get(collection)).and_then(|c| c.objects.get(id)).cloned()))
    }

    fn put(&self, tenant: Tenant<'_>, collection: &str, id: &str, object: &Value) -> StateResult<()> {
        self.write_collection(tenant, collection, |c| c.objects.insert(id.to_owned(), object.clone()));
        Ok(())
    }

    fn insert_new(&self, tenant: Tenant<'_>, collection: &str, id: &str, object: &Value) -> StateResult<bool> {
        Ok(self.write_collection(tenant, collection, |c| {
            let free = !c.retired.contains(id) && !c.objects.contains_key(id);
            if free {
                c.objects.insert(id.to_owned(), object.clone());
            }
            free
        }))
    }

    fn delete(&self, tenant: Tenant<'_>, collection: &str, id: &str) -> StateResult<bool> {
        Ok(self.write(|t| {
            let Some(objects) = t.get_mut(&key(tenant)).and_then(|c| c.get_mut(collection)) else { return false };
            let existed = objects.objects.shift_remove(id).is_some();
            if existed {
                objects.retired.insert(id.to_owned());
            }
            existed
        }))
    }

    fn list(&self, tenant: Tenant<'_>, collection: &str, page: &PageRequest) -> StateResult<Page> {
        Ok(self.read(|t| {
            let Some(objects) = t.get(&key(tenant)).and_then(|c| c.get(collection)).map(|c| &c.objects) else {
                return Page { items: Vec::new(), total: 0 };
            };
            let ordered: Vec<(&String, &Value)> = match page.newest_first {
                true => objects.iter().rev().collect(),
                false => objects.iter().collect(),
            };
            let start = match &page.after {
                Some(after) => ordered.iter().position(|(id, _)| *id == after).map_or(0, |i| i + 1),
                None => 0,
            };
            let matching: Vec<&Value> = ordered[start..].iter().map(|(_, o)| *o).filter(|o| page.admits(o)).collect();
            let total = matching.len();
            let items = matching.into_iter().skip(page.offset).take(page.limit).cloned().collect();
            Page { items, total }
        }))
    }

    fn find(
        &self,
        tenant: Tenant<'_>,
        collection: &str,
        fields: &[(&str, &str)],
        select: Option<&str>,
        limit: usize,
    ) -> StateResult<Vec<Value>> {
        Ok(self.read(|t| {
            let Some(objects) = t.get(&key(tenant)).and_then(|c| c.get(collection)).map(|c| &c.objects) else {
                return Vec::new();
            };
            let found = objects.values().filter(|o| super::matches_fields(o, fields)).take(limit);
            found.map(|o| super::selected(o, select)).collect()
        }))
    }

    fn count(&self, tenant: Tenant<'_>, collection: &str) -> StateResult<usize> {
        Ok(self.read(|t| t.get(&key(tenant)).and_then(|c| c.get(collection)).map_or(0, |c| c.objects.len())))
    }

    fn scrub(&self, scope: ScrubScope<'_>) -> StateResult<usize> {
        Ok(self.write(|t| {
            let size = |c: &Collections| c.values().map(|c| c.objects.len()).sum::<usize>();
            let before: usize = t.values().map(size).sum();
            match scope {
                ScrubScope::All => t.clear(),
                ScrubScope::Environment(env) => t.retain(|(e, _), _| e != env),
                ScrubScope::Tenant(tenant) => {
                    t.remove(&key(tenant));
                }
            }
            before - t.values().map(size).sum::<usize>()
        }))
    }
}
