//! Request limits as the phases read them, compiled from `sandgate.limits` (request code never
//! sees a `*Config`).

use crate::config::{LimitsConfig, UndocumentedQuery};

/// The limits of one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body (413 above).
    pub max_body_bytes: usize,
    /// Largest total size of request header names and values (431 above).
    pub max_header_bytes: usize,
    /// Most request headers (431 above).
    pub max_headers: usize,
    /// Time allowed to read a request body chunk or the next request, in seconds.
    pub read_timeout_secs: u64,
    /// Idle keep-alive time between requests, in seconds.
    pub idle_timeout_secs: u64,
    /// Refuse (400) rather than drop the query parameters an operation does not document.
    pub refuse_undocumented_query: bool,
}

impl From<&LimitsConfig> for Limits {
    fn from(config: &LimitsConfig) -> Limits {
        Limits {
            max_body_bytes: config.max_body_bytes,
            max_header_bytes: config.max_header_bytes,
            max_headers: config.max_headers,
            read_timeout_secs: config.read_timeout_secs,
            idle_timeout_secs: config.idle_timeout_secs,
            refuse_undocumented_query: config.undocumented_query == UndocumentedQuery::Refuse,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::from(&LimitsConfig::default())
    }
}
