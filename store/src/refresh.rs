//! Refresh-token chains: every `client_credentials` grant starts a chain; each refresh replaces
//! the chain's one usable refresh token with the next. Presenting a refresh token that was
//! already replaced means it leaked (or a client replays it): the whole chain is revoked.

use sandgate_db::{params, OptionalExtension};

use super::{Store, StoreError};

/// What became of a refresh attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainStep {
    /// The token was the chain's current one; its successor is current now.
    Advanced,
    /// The token had already been used: the chain is now revoked.
    Reused,
    /// The chain was revoked before, expired, or never existed.
    Unknown,
}

impl Store {
    /// Starts a chain whose usable refresh token is `jti`, until `expires_at` (Unix seconds).
    /// Also drops chains that expired, so the table holds only live ones.
    pub fn start_refresh_chain(
        &self,
        chain: &str,
        client_id: &str,
        jti: &str,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let run = || -> sandgate_db::Result<()> {
            conn.prepare_cached("DELETE FROM refresh_chains WHERE expires_at < ?1")?
                .execute(params![self.now_unix()])?;
            conn.prepare_cached(
                "INSERT INTO refresh_chains (chain, client_id, current_jti, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![chain, client_id, jti, expires_at as i64])?;
            Ok(())
        };
        run().map_err(|e| self.fail(e))
    }

    /// Replaces `presented` by `next` as the chain's usable refresh token, atomically: of two
    /// concurrent refreshes with the same token, one advances and the other finds it reused.
    pub fn advance_refresh_chain(
        &self,
        chain: &str,
        presented: &str,
        next: &str,
        expires_at: u64,
    ) -> Result<ChainStep, StoreError> {
        let conn = self.conn();
        let run = || -> sandgate_db::Result<ChainStep> {
            let advanced = conn
                .prepare_cached(
                    "UPDATE refresh_chains SET current_jti = ?3, expires_at = ?4
                     WHERE chain = ?1 AND current_jti = ?2 AND revoked = 0 AND expires_at >= ?5",
                )?
                .execute(params![chain, presented, next, expires_at as i64, self.now_unix()])?;
            if advanced == 1 {
                return Ok(ChainStep::Advanced);
            }
            let live: Option<bool> = conn
                .prepare_cached("SELECT revoked = 0 FROM refresh_chains WHERE chain = ?1")?
                .query_row(params![chain], |r| r.get(0))
                .optional()?;
            if live == Some(true) {
                conn.prepare_cached("UPDATE refresh_chains SET revoked = 1 WHERE chain = ?1")?
                    .execute(params![chain])?;
                return Ok(ChainStep::Reused);
            }
            Ok(ChainStep::Unknown)
        };
        run().map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_advances_once_per_token_and_a_replay_revokes_it() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let later = (store.now_unix() + 600) as u64;
        store.start_refresh_chain("c1", "trn_x", "j1", later).expect("start");
        assert_eq!(store.advance_refresh_chain("c1", "j1", "j2", later).expect("step"), ChainStep::Advanced);
        assert_eq!(store.advance_refresh_chain("c1", "j1", "j3", later).expect("step"), ChainStep::Reused);
        assert_eq!(
            store.advance_refresh_chain("c1", "j2", "j4", later).expect("step"),
            ChainStep::Unknown,
            "after a replay even the current token is dead"
        );
        assert_eq!(store.advance_refresh_chain("nope", "j1", "j2", later).expect("step"), ChainStep::Unknown);
    }
}
