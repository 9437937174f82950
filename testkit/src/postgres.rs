//! The PostgreSQL side of the whole-process tests: they run on it with
//! `SANDGATE_TEST_STORE=postgres`, each in a database of its own ([`TestDatabase`]).

pub use sandgate_db::testing::{disconnect_all, server_url, TestDatabase};

/// Whether the whole-process tests run on PostgreSQL.
pub fn selected() -> bool {
    std::env::var("SANDGATE_TEST_STORE").is_ok_and(|v| v == "postgres")
}
