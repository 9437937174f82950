//! Rate-limit admission: decides whether this application may spend one request in this
//! environment. Runs after `scope`, before `forward`. Reads `Tables::limiter`.

use pingora::Error;
use sandgate_core::problem::ProblemKind;

use crate::config::WhenRedisFails;
use crate::directory::AppPolicy;
use crate::error::reject;
use crate::table::limiter::{Admission, Limiter};
use sandgate_core::environment::Environment;

/// Spends one request; on refusal the `Admission` (for the 429's headers) is returned too.
pub async fn admit(limiter: &Limiter, env: Environment, app: &AppPolicy) -> (Admission, Result<(), Box<Error>>) {
    let admission = limiter.admit(env, &app.id, &app.plan).await;
    if admission.allowed {
        return (admission, Ok(()));
    }
    if admission.fallback == Some(WhenRedisFails::Deny) {
        let detail = "the shared rate budget cannot be checked right now and this gateway is set to refuse meanwhile (rate_limits.when_redis_fails: deny); retry shortly";
        return (admission, Err(reject(ProblemKind::RateLimitUnavailable, detail.to_owned())));
    }
    let detail = format!(
        "the application's plan allows {} requests at once; retry in {} s",
        admission.limit, admission.reset_secs
    );
    (admission, Err(reject(ProblemKind::RateLimited, detail)))
}

/// The `RateLimit-*` (and, when refused, `Retry-After`) headers of an admission.
pub fn headers(admission: &Admission) -> [(&'static str, u64); 3] {
    [
        ("ratelimit-limit", u64::from(admission.limit)),
        ("ratelimit-remaining", u64::from(admission.remaining)),
        ("ratelimit-reset", admission.reset_secs),
    ]
}
