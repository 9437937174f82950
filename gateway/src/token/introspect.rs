//! Token introspection (RFC 7662) for backends that cannot verify tokens themselves (HS256
//! deployments): the admin listener's `POST /introspect` answers whether a token is active now
//! — it verifies with its environment's keys, has not expired, and neither its credential nor
//! its application has been revoked — and, when it is, what it carries.

use serde_json::{json, Value};

use crate::directory::Directory;
use crate::table::Tables;

/// The RFC 7662 answer for `token`: `{"active": false}` unless it is an access or refresh token
/// of one of the environments, valid now and not revoked.
pub fn introspect(tables: &Tables, directory: &Directory, token: &str) -> Value {
    for env in &tables.envs {
        let (claims, token_type) = match env.issuer.verify_access(token) {
            Ok(claims) => (claims, "access_token"),
            Err(_) => match env.issuer.verify_refresh(token) {
                Ok(claims) => (claims, "refresh_token"),
                Err(_) => continue,
            },
        };
        let active = !directory.credential_revoked(&claims.sub) && directory.app(&claims.app).is_some_and(|a| a.active);
        if !active {
            return json!({"active": false});
        }
        return json!({
            "active": true,
            "scope": claims.scope,
            "client_id": claims.sub,
            "sub": claims.sub,
            "token_type": token_type,
            "exp": claims.exp,
            "iat": claims.iat,
            "nbf": claims.nbf,
            "iss": claims.iss,
            "aud": claims.aud,
            "jti": claims.jti,
            "environment": env.env.as_str(),
            "application": claims.app,
            "partner": claims.ptn,
        });
    }
    json!({"active": false})
}
