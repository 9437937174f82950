//! The expected-status checks: what a case was built to provoke, held to the status that shows
//! it. `negative_data_rejection` (an invalid request is refused with a 4xx),
//! `positive_data_acceptance` (a valid one is not refused for its shape), `ignored_auth` (no
//! credentials → 401), `environment_separation` (another environment's token → 401),
//! `scope_enforcement` (a token without the scope → 403), `ensure_resource_availability` (what
//! was created can be read) and `use_after_free` (what was deleted cannot).

use super::{excerpt, CheckId, Findings, Seen};
use crate::cases::Expect;

/// Holds the answer to the status its case expects.
pub(super) fn check(seen: &Seen<'_>, out: &mut Findings) {
    let status = seen.answer.status;
    let (check, fails, wanted_text) = expectation(seen.expect);
    out.ran(check);
    if fails(status) {
        let (title, what) = match seen.expect {
            Expect::Invalid { mutation } => (format!("accepted: {mutation}"), format!("a request with {mutation}")),
            Expect::NoCredentials => {
                ("answered without credentials".to_owned(), "a request without credentials".to_owned())
            }
            Expect::ForeignToken => (
                "accepted another environment's token".to_owned(),
                "a request with another environment's token".to_owned(),
            ),
            Expect::MissingScope { scope } => (
                format!("accepted a token with only scope {scope}"),
                format!("a request whose token has only the scope {scope:?}"),
            ),
            Expect::Created => {
                ("created object not found".to_owned(), "reading what the previous step created".to_owned())
            }
            Expect::Deleted => {
                ("deleted object still there".to_owned(), "reading what the previous step deleted".to_owned())
            }
            Expect::Valid | Expect::Setup => {
                (format!("refused a valid request with {status}"), "a request valid by the spec".to_owned())
            }
        };
        let body =
            if seen.answer.body.is_empty() { String::new() } else { format!(": {}", excerpt(&seen.answer.body)) };
        out.fail(check, title, format!("{what} was answered {status}{body}; expected {wanted_text}"));
    }
}

/// A check, the statuses that fail it, and what was expected instead.
type Expectation = (CheckId, fn(u16) -> bool, &'static str);

/// The check an answer to `expect` is held to, which statuses fail it, and what was expected.
/// Most fail only on what they are about (`ensure_resource_availability` on a 404 or 410,
/// `use_after_free` on a 2xx); the credential checks want their exact status.
fn expectation(expect: &Expect) -> Expectation {
    match expect {
        Expect::Invalid { .. } => (CheckId::NegativeDataRejection, |s| s < 400, "a 4xx"),
        // Refusals for who is asking (401, 403), for what is there (404, 409) or for how often
        // (429) are not about the request's shape; Schemathesis admits the same statuses.
        Expect::Valid | Expect::Setup => (
            CheckId::PositiveDataAcceptance,
            |s| (400..500).contains(&s) && !matches!(s, 401 | 403 | 404 | 409 | 429),
            "a status other than 400, 405, 406, 413, 415, 422 and the like",
        ),
        Expect::NoCredentials => (CheckId::IgnoredAuth, |s| s != 401, "401"),
        Expect::ForeignToken => (CheckId::EnvironmentSeparation, |s| s != 401, "401"),
        Expect::MissingScope { .. } => (CheckId::ScopeEnforcement, |s| s != 403, "403"),
        Expect::Created => (CheckId::EnsureResourceAvailability, |s| s == 404 || s == 410, "a 2xx"),
        Expect::Deleted => (CheckId::UseAfterFree, |s| (200..300).contains(&s), "404 or 410"),
    }
}

#[cfg(test)]
mod tests {
    use crate::cases::Expect;
    use crate::checks::testing::{answer, failed, Shop};
    use crate::checks::CheckId;

    #[test]
    fn each_expectation_fails_on_what_it_is_about_only() {
        let shop = Shop::load();
        let problem = |status| answer(status, "application/problem+json", r#"{"type": "x"}"#);
        let invalid = Expect::Invalid { mutation: "limit out of range".into() };
        assert!(failed(
            &shop,
            "listItems",
            &invalid,
            &answer(200, "application/json", "[]"),
            CheckId::NegativeDataRejection
        ));
        assert!(!failed(&shop, "listItems", &invalid, &problem(400), CheckId::NegativeDataRejection));
        assert!(failed(&shop, "getItem", &Expect::Valid, &problem(400), CheckId::PositiveDataAcceptance));
        assert!(
            !failed(&shop, "getItem", &Expect::Valid, &problem(404), CheckId::PositiveDataAcceptance),
            "404 is about what is there"
        );
        assert!(failed(&shop, "getItem", &Expect::NoCredentials, &problem(404), CheckId::IgnoredAuth));
        assert!(!failed(&shop, "getItem", &Expect::NoCredentials, &problem(401), CheckId::IgnoredAuth));
        assert!(failed(&shop, "getItem", &Expect::ForeignToken, &problem(404), CheckId::EnvironmentSeparation));
        let scope = Expect::MissingScope { scope: "read".into() };
        assert!(failed(&shop, "deleteItem", &scope, &answer(204, "", ""), CheckId::ScopeEnforcement));
        assert!(!failed(&shop, "deleteItem", &scope, &problem(403), CheckId::ScopeEnforcement));
        assert!(failed(&shop, "getItem", &Expect::Created, &problem(404), CheckId::EnsureResourceAvailability));
        assert!(failed(
            &shop,
            "getItem",
            &Expect::Deleted,
            &answer(200, "application/json", "{}"),
            CheckId::UseAfterFree
        ));
        assert!(!failed(&shop, "getItem", &Expect::Deleted, &problem(404), CheckId::UseAfterFree));
    }
}
