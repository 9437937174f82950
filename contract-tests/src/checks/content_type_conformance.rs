//! `content_type_conformance`: a documented response with a body comes with a `Content-Type`
//! the operation documents for that status.

use sandgate_openapi::validate::body::{admits, essence};

use super::{CheckId, Findings, Seen};

/// Checks the answer's `Content-Type` against the documented media types.
pub(super) fn check(seen: &Seen<'_>, out: &mut Findings) {
    let Some((_, response)) = seen.response_with_body() else { return };
    out.ran(CheckId::ContentTypeConformance);
    let (status, answer) = (seen.answer.status, seen.answer);
    let documented_types = || response.content.iter().map(|m| m.media_type.as_str()).collect::<Vec<_>>().join(", ");
    let Some(content_type) = answer.header("content-type") else {
        if !answer.body.is_empty() {
            out.fail(
                CheckId::ContentTypeConformance,
                format!("{status} without Content-Type"),
                format!("a {status} body came without Content-Type; documented: {}", documented_types()),
            );
        }
        return;
    };
    let actual = essence(content_type);
    if !response.content.iter().any(|m| admits(&m.media_type, &actual)) {
        out.fail(
            CheckId::ContentTypeConformance,
            format!("{status} answered as {actual}"),
            format!(
                "Content-Type {content_type:?} is not documented for {status} at {}; documented: {}",
                seen.at(&response.pointer),
                documented_types()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::cases::Expect;
    use crate::checks::testing::{answer, failed, Shop};
    use crate::checks::CheckId;

    #[test]
    fn an_undocumented_or_missing_content_type_fails() {
        let shop = Shop::load();
        let check = CheckId::ContentTypeConformance;
        assert!(failed(&shop, "getItem", &Expect::Valid, &answer(200, "text/html", "<p>"), check));
        assert!(failed(&shop, "getItem", &Expect::Valid, &answer(200, "", "{}"), check));
        assert!(!failed(
            &shop,
            "getItem",
            &Expect::Valid,
            &answer(200, "application/json; charset=utf-8", "{}"),
            check
        ));
        assert!(!failed(&shop, "deleteItem", &Expect::Valid, &answer(204, "text/html", ""), check), "204 has no body");
    }
}
