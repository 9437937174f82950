//! `status_code_conformance`: the answer's status is documented for the operation (its exact
//! code, its range such as `4XX`, or `default`).

use super::{documented, CheckId, Findings, Seen};

/// Fails a status the operation does not document.
pub(super) fn check(seen: &Seen<'_>, out: &mut Findings) {
    out.ran(CheckId::StatusCodeConformance);
    if seen.response().is_some() {
        return;
    }
    let (status, operation) = (seen.answer.status, seen.operation);
    out.fail(
        CheckId::StatusCodeConformance,
        format!("undocumented status {status}"),
        format!(
            "{status} is not documented for {} at {}; documented: {}",
            operation.label(),
            seen.at(&format!("{}/responses", operation.pointer)),
            documented(operation)
        ),
    );
}

#[cfg(test)]
mod tests {
    use crate::cases::Expect;
    use crate::checks::testing::{answer, failed, Shop};
    use crate::checks::CheckId;

    #[test]
    fn an_undocumented_status_fails() {
        let shop = Shop::load();
        let check = CheckId::StatusCodeConformance;
        assert!(failed(&shop, "deleteItem", &Expect::Valid, &answer(418, "", ""), check));
        assert!(!failed(&shop, "deleteItem", &Expect::Valid, &answer(204, "", ""), check));
    }
}
