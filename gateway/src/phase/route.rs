//! What a path addresses: `/{api}/v{version}/oauth/token`, or an API call under
//! `/{api}/v{version}/…` (with the reference API's `client-id/{client_id}` prefix when present).
//!
//! Dot segments (`..`, `.`, or their percent-encodings) are refused outright, so no path trick can
//! address another version or API than the one the checks ran for.

use pingora::Error;
use sandgate_emulator::problem::ProblemKind;

use crate::error::reject;

/// What the request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The environment's token endpoint.
    Token,
    /// An API operation; `client_id` is the path's `client-id/{client_id}` segment, if any.
    Api {
        /// The client id named in the path.
        client_id: Option<String>,
    },
}

/// Classifies `path` (without query string).
pub fn classify(path: &str) -> Result<Target, Box<Error>> {
    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/');
    if path.split('/').any(is_dot_segment) {
        return Err(reject(ProblemKind::InvalidRequest, "the path must not contain . or .. segments (encoded or not)"));
    }
    let api = segments.next().unwrap_or_default();
    let version = segments.next().unwrap_or_default();
    let is_version = version.strip_prefix('v').is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()));
    if api.is_empty() || !is_version {
        return Err(reject(
            ProblemKind::UnknownRoute,
            format!("{path} is not an API path; API paths look like /{{api}}/v{{version}}/…, e.g. /pos-api/v2.5/oauth/token"),
        ));
    }
    let rest: Vec<&str> = segments.collect();
    Ok(match rest.as_slice() {
        ["oauth", "token"] => Target::Token,
        ["client-id", client_id, ..] if !client_id.is_empty() => {
            Target::Api { client_id: Some((*client_id).to_owned()) }
        }
        _ => Target::Api { client_id: None },
    })
}

fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::kind_of;

    #[test]
    fn classify_recognises_token_and_api_paths() {
        assert_eq!(classify("/pos-api/v2.5/oauth/token").ok(), Some(Target::Token));
        assert_eq!(
            classify("/pos-api/v2.5.1/client-id/trn_1/customers/search").ok(),
            Some(Target::Api { client_id: Some("trn_1".into()) })
        );
        assert_eq!(classify("/pos-api/v2.5/i18n").ok(), Some(Target::Api { client_id: None }));
    }

    #[test]
    fn classify_refuses_non_api_paths_and_dot_segments() {
        for (path, kind) in [
            ("/", ProblemKind::UnknownRoute),
            ("/favicon.ico", ProblemKind::UnknownRoute),
            ("/pos-api/latest/x", ProblemKind::UnknownRoute),
            ("/pos-api/v2.5/../v2.4/x", ProblemKind::InvalidRequest),
            ("/pos-api/v2.5/%2e%2E/x", ProblemKind::InvalidRequest),
        ] {
            let err = classify(path).expect_err(path);
            assert_eq!(kind_of(&err), kind, "{path}");
        }
    }
}
