//! `GET /.well-known/jwks.json` on each data listener: the public keys that verify that
//! environment's tokens (EdDSA deployments; an empty set for HS256, whose keys are secret), so an
//! operator's backend can verify a partner's token itself. Answered before routing: it is no
//! partner API's path, needs no token, and reveals nothing secret.

/// The path (RFC 8615 well-known URI, as OpenID Connect discovery uses).
pub const PATH: &str = "/.well-known/jwks.json";
