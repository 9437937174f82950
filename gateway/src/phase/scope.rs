//! Authorization: the token's scopes must cover the operation (`x-sandgate-scopes`), and a
//! read-only application may only call operations that read.
//!
//! Runs after `trust`, before `rate_limit`. Pure bit and flag checks.

use pingora::Error;
use sandgate_core::problem::ProblemKind;

use crate::directory::AppPolicy;
use crate::error::reject;
use crate::principal::Principal;
use crate::table::routes::OperationPolicy;
use crate::table::scopes::ScopeSet;

/// Checks the principal's scopes and the application's permission against the operation.
pub fn check(policy: &OperationPolicy, principal: &Principal, app: &AppPolicy) -> Result<(), Box<Error>> {
    if !policy.scopes.intersects(principal.scope_set) {
        return Err(reject(
            ProblemKind::InsufficientScope,
            format!("insufficient scope: {} needs another scope than {:?}", policy.label, principal.scopes),
        ));
    }
    if !policy.scopes.intersects(ScopeSet(principal.scope_set.0 & app.scope_set.0)) {
        return Err(reject(
            ProblemKind::InsufficientScope,
            format!(
                "insufficient scope: the application no longer has the scope {:?} that {} needs",
                principal.scopes, policy.label
            ),
        ));
    }
    if app.read_only && !policy.read_only {
        return Err(reject(
            ProblemKind::ReadOnlyApplication,
            format!("this application is read-only; {} writes", policy.label),
        ));
    }
    Ok(())
}
