//! A PostgreSQL database per test, created fresh on the server at `SANDGATE_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`, as this project's machines run; the
//! suite starts its own when none answers there) and dropped with its guard.

/// The server tests create their databases on.
pub fn server_url() -> String {
    std::env::var("SANDGATE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn admin(statement: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(&server_url(), tokio_postgres::NoTls).await.unwrap_or_else(|e| {
                panic!("no PostgreSQL at {} ({e}): start one or set SANDGATE_TEST_POSTGRES_URL", server_url())
            });
        let driver = tokio::spawn(connection);
        client.batch_execute(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        drop(client);
        let _ = driver.await;
    });
}

/// A fresh database, dropped (connections and all) when this is dropped.
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    name: String,
}

impl TestDatabase {
    /// Creates `sandgate_test_<tag>_<random>`.
    pub fn create(tag: &str) -> TestDatabase {
        let name = format!("sandgate_test_{tag}_{}", uuid::Uuid::new_v4().simple());
        admin(&format!("CREATE DATABASE {name}"));
        let server = server_url();
        let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
        TestDatabase { url: format!("{base}/{name}"), name }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Cuts every connection to the database at `url` (as a server restart or a failover would).
pub fn disconnect_all(url: &str) {
    let name = url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default();
    admin(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
        name.replace('\'', "")
    ));
}
