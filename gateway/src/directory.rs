//! The application directory: what the gateway needs to know per application on every request
//! (active or revoked, read-only, trust list, plan) and which credentials are revoked.
//!
//! A snapshot of the store held in an `ArcSwap`: requests read it without locks; the store calls
//! [`Directory::reload`] after every committed write, so a revocation is in force before the
//! control plane acknowledges it. The lag between commit and swap is a metric. Each snapshot
//! knows the store version it was read at: other nodes' writes arrive as a newer version (by the
//! change bus, or found by the periodic comparison), and an older read never replaces a newer one.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;

use crate::table::scopes::{ScopeSet, Scopes};
use sandgate_core::trust_list::TrustList;
use sandgate_store::{DirectoryRow, Store, StoreError};

/// One application's policy.
#[derive(Debug, Clone)]
pub struct AppPolicy {
    /// Application id.
    pub id: String,
    /// Its partner.
    pub partner: String,
    /// Not revoked.
    pub active: bool,
    /// Permission `read`: only reading operations.
    pub read_only: bool,
    /// Where it may call from. A stored list that fails to parse denies everything.
    pub trust: TrustList,
    /// Rate-limit plan name (`""`: the default plan).
    pub plan: String,
    /// The scopes the application has now: a token's scopes count only where they meet these,
    /// so removing a scope takes effect on the next request, not when tokens expire.
    pub scope_set: ScopeSet,
    /// The stored row this policy was built from: a reload reuses the policy while it is unchanged.
    source: DirectoryRow,
}

/// Looked up twice per request (the application, and whether the credential is revoked), so
/// hashed with aHash: keyed at random like the standard library's SipHash, and cheaper.
#[derive(Debug, Default)]
struct Snapshot {
    version: i64,
    apps: HashMap<String, Arc<AppPolicy>, ahash::RandomState>,
    revoked_credentials: HashSet<String, ahash::RandomState>,
}

/// The live directory.
#[derive(Debug, Default)]
pub struct Directory {
    current: ArcSwap<Snapshot>,
    scopes: Scopes,
    /// Serialises reloads (a write here and a bus message may race).
    reloading: std::sync::Mutex<()>,
}

impl Directory {
    /// Loads the directory from `store`.
    pub fn load(store: &Store, scopes: Scopes) -> Result<Directory, StoreError> {
        let directory = Directory { current: ArcSwap::default(), scopes, reloading: Default::default() };
        directory.reload(store)?;
        Ok(directory)
    }

    /// Re-reads the store and swaps the snapshot in; returns how long the swap took after the
    /// read started (the revocation lag of this process).
    pub fn reload(&self, store: &Store) -> Result<std::time::Duration, StoreError> {
        let started = Instant::now();
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let read = store.directory_rows()?;
        let previous = self.current.load();
        if read.version < previous.version {
            return Ok(started.elapsed());
        }
        let apps = read
            .apps
            .into_iter()
            .map(|row| {
                // Unchanged applications keep their parsed policy: a write costs one parse, not one
                // per application.
                if let Some(same) = previous.apps.get(&row.id).filter(|p| p.source == row) {
                    return (row.id, Arc::clone(same));
                }
                let trust = TrustList::parse(&row.trust_list).unwrap_or_else(|e| {
                    tracing::error!(application = %row.id, error = %e, "stored trust list is invalid; the application is denied");
                    TrustList::default()
                });
                let policy = AppPolicy {
                    id: row.id.clone(),
                    partner: row.partner_id.clone(),
                    active: row.active,
                    read_only: row.permission == "read",
                    trust,
                    scope_set: self.scopes.parse(&row.scopes),
                    plan: row.plan.clone(),
                    source: row.clone(),
                };
                (row.id, Arc::new(policy))
            })
            .collect();
        let revoked_credentials = read.revoked.into_iter().collect();
        self.current.store(Arc::new(Snapshot { version: read.version, apps, revoked_credentials }));
        Ok(started.elapsed())
    }

    /// The store version the directory was read at.
    pub fn version(&self) -> i64 {
        self.current.load().version
    }

    /// The policy of an application, if it exists.
    pub fn app(&self, id: &str) -> Option<Arc<AppPolicy>> {
        self.current.load().apps.get(id).cloned()
    }

    /// Whether some active application lists `origin` among its trust URLs (CORS preflights,
    /// which carry no credentials).
    pub fn any_admits_origin(&self, origin: &[u8]) -> bool {
        self.current.load().apps.values().any(|app| app.active && app.trust.admits_origin(origin))
    }

    /// Whether a credential has been revoked.
    pub fn credential_revoked(&self, client_id: &str) -> bool {
        self.current.load().revoked_credentials.contains(client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sandgate_core::environment::Environment;
    use sandgate_core::secret::SecretHash;

    fn demo_application() -> sandgate_store::DemoApplication<'static> {
        static SCOPES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let scopes = SCOPES.get_or_init(|| vec!["merchant".to_owned()]);
        sandgate_store::DemoApplication { kind: "generic", scopes, entities: &[] }
    }

    #[test]
    fn a_reload_reuses_the_policies_of_unchanged_applications() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let hasher = SecretHash::new([3; 32]);
        store.ensure_demo(Environment::TRAINING, &hasher, false, &demo_application()).expect("demo");
        let app = store.application_id(sandgate_store::DEMO_APPLICATION).expect("store").expect("demo app");
        let directory = Directory::load(&store, Scopes::default()).expect("directory");
        let before = directory.app(&app).expect("policy");
        directory.reload(&store).expect("reload");
        assert!(Arc::ptr_eq(&before, &directory.app(&app).expect("policy")), "unchanged: not parsed again");
        let patch = sandgate_store::AppPatch { trust_list: Some(vec!["192.0.2.0/24".into()]), ..Default::default() };
        store.update_app("operator:test", &app, &patch).expect("update");
        directory.reload(&store).expect("reload");
        let after = directory.app(&app).expect("policy");
        assert!(!Arc::ptr_eq(&before, &after), "changed: rebuilt");
        assert!(after.trust.admits_addr("192.0.2.7".parse().expect("ip")));
    }
}
