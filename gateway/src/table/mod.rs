//! Tables: everything a request reads, built off the request path from the checked settings and
//! swapped whole on reload (`ArcSwap`); a request keeps the snapshot it started with.

mod lease;
pub mod limiter;
pub mod limits;
pub mod pool;
pub mod routes;
pub mod scopes;

use std::sync::Arc;

use ipnet::IpNet;
use sandgate_emulator::Emulator;
use sandgate_openapi::Api;

use crate::config::{Settings, Upstream as UpstreamConfig};
use crate::metrics::RouteMetricsCache;
use crate::token::cache::TokenCache;
use crate::token::TokenIssuer;
use limiter::Limiter;
use limits::Limits;
use pool::Pool;
use routes::RouteTable;
use sandgate_cluster::RedisLink;
use sandgate_core::environment::{Environment, Environments};
use sandgate_store::keys::KeyRing;
use sandgate_store::signing::KeySet;
use scopes::Scopes;

/// An environment's upstream, ready to use.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// The built-in emulator.
    Emulator(Arc<Emulator>),
    /// An HTTP backend: its endpoints (peers built once, cloned per request), health and choice.
    Http(Arc<Pool>),
    /// No backend configured.
    None,
}

/// One environment's tables.
#[derive(Debug)]
pub struct EnvTables {
    /// Which environment.
    pub env: Environment,
    /// Where its requests go.
    pub upstream: Upstream,
    /// Its token issuer.
    pub issuer: TokenIssuer,
    /// Tokens already verified.
    pub token_cache: TokenCache,
    /// Accepted `Host` names; empty: any.
    pub hosts: Vec<String>,
    /// Each operation's latency histograms here, once looked up.
    pub route_metrics: RouteMetricsCache,
}

/// The request-time view of the settings.
#[derive(Debug)]
pub struct Tables {
    /// The settings these tables were built from (for reload diffs).
    pub settings: Settings,
    /// Routes and operation policies.
    pub routes: RouteTable,
    /// Scope names in use.
    pub scopes: Scopes,
    /// Every environment, in the settings' order.
    pub envs: Vec<EnvTables>,
    /// The environments, for naming a wrong credential's environment.
    pub environments: Environments,
    /// Rate limiters (kept across reloads while the plans are unchanged).
    pub limiter: Arc<Limiter>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Size limits.
    pub limits: Limits,
}

impl Tables {
    /// Builds the tables. `redis` holds the shared rate budgets (when the settings ask for them);
    /// `previous` lends state worth keeping (local rate-limit budgets).
    pub fn build(
        settings: Settings,
        apis: &[Api],
        emulator: Option<&Arc<Emulator>>,
        keys: &KeyRing,
        redis: Option<&Arc<RedisLink>>,
        previous: Option<&Tables>,
    ) -> Tables {
        let scopes = Scopes::from_apis(apis);
        let routes = RouteTable::new(apis, &settings.versions, &scopes);
        let environments = settings.environment_list();
        let envs = settings
            .environments
            .iter()
            .map(|env_settings| {
                let env = env_settings.env;
                // Read from secrets/ on every build, so a reload after `sandgate keys rotate`
                // signs with the new key while the retired one still verifies.
                let signing = keys.signing_set(env, settings.token_algorithm, settings.token_ttl_secs);
                let signing = signing.unwrap_or_else(|e| {
                    tracing::error!(environment = env.as_str(), error = %e, "cannot read the signing keys; tokens of this environment cannot be verified until they are readable and the config is reloaded");
                    let mut key = [0u8; 32];
                    sandgate_core::secret::fill_random(&mut key);
                    KeySet::single_hmac(key)
                });
                EnvTables {
                    env,
                    upstream: match (&env_settings.upstream, emulator) {
                        (UpstreamConfig::Emulator, Some(emulator)) => Upstream::Emulator(Arc::clone(emulator)),
                        (UpstreamConfig::Http { endpoints, backend }, _) => {
                            let pool = Pool::build(endpoints, backend, env_settings.timeouts, env.as_str());
                            let previous_pool = previous.and_then(|p| match &p.env(env).upstream {
                                Upstream::Http(pool) if p.env(env).env == env => Some(Arc::clone(pool)),
                                _ => None,
                            });
                            Upstream::Http(Arc::new(match previous_pool {
                                Some(previous_pool) => pool.inherit(&previous_pool),
                                None => pool,
                            }))
                        }
                        _ => Upstream::None,
                    },
                    issuer: TokenIssuer::with_keys(env, &signing, settings.token_ttl_secs)
                        .knowing(settings.environments.iter().map(|e| e.env)),
                    token_cache: TokenCache::default(),
                    hosts: env_settings.hosts.clone(),
                    route_metrics: RouteMetricsCache::new(routes.operation_counts()),
                }
            })
            .collect();
        let limiter = match previous {
            Some(previous) if previous.settings.rate_limits == settings.rate_limits => Arc::clone(&previous.limiter),
            _ => Arc::new(Limiter::configured(&settings.rate_limits, redis)),
        };
        Tables {
            environments,
            routes,
            scopes,
            envs,
            limiter,
            trusted_proxies: settings.trusted_proxies.clone(),
            limits: Limits::from(&settings.limits),
            settings,
        }
    }

    /// Whether an HTTP backend's name now resolves elsewhere than these tables send to (or
    /// resolves at last): the tables should be built again.
    pub fn upstreams_moved(&self) -> bool {
        self.envs.iter().any(|env| matches!(&env.upstream, Upstream::Http(pool) if pool.moved()))
    }

    /// The tables of `env` (every listener's environment has some; TRAINING's otherwise).
    pub fn env(&self, env: Environment) -> &EnvTables {
        self.envs.iter().find(|e| e.env == env).unwrap_or(&self.envs[0])
    }
}
