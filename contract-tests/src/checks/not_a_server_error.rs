//! `not_a_server_error`: no answer is a 5xx, whatever was sent.

use super::{excerpt, CheckId, Findings, Seen};

/// Fails a 5xx answer.
pub(super) fn check(seen: &Seen<'_>, out: &mut Findings) {
    out.ran(CheckId::NotAServerError);
    let status = seen.answer.status;
    if status >= 500 {
        out.fail(
            CheckId::NotAServerError,
            format!("{status} server error"),
            format!("the server answered {status}; body: {}", excerpt(&seen.answer.body)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::cases::Expect;
    use crate::checks::testing::{answer, failed, Shop};
    use crate::checks::CheckId;

    #[test]
    fn a_5xx_fails_and_a_4xx_does_not() {
        let shop = Shop::load();
        let check = CheckId::NotAServerError;
        assert!(failed(&shop, "getItem", &Expect::Valid, &answer(503, "", ""), check));
        assert!(!failed(&shop, "getItem", &Expect::Valid, &answer(404, "application/problem+json", "{}"), check));
    }
}
