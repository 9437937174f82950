//! `response_headers_conformance`: the headers a documented response requires are there, and
//! those present conform to their schema (read as the emulator reads a header parameter).

use serde_json::Value;

use sandgate_openapi::shape::Shape;

use super::{CheckId, Findings, Seen, Slot};

/// Checks the documented headers of the answer's response.
pub(super) fn check(seen: &Seen<'_>, out: &mut Findings) {
    let Some((response_index, response)) = seen.response() else { return };
    out.ran(CheckId::ResponseHeadersConformance);
    let (status, operation) = (seen.answer.status, seen.operation);
    for (index, header) in response.headers.iter().enumerate() {
        match seen.answer.header(&header.name) {
            None if header.required => out.fail(
                CheckId::ResponseHeadersConformance,
                format!("{status} lacks required header {}", header.name),
                format!(
                    "the header {} is required by {}",
                    header.name,
                    seen.at(&format!("{}/headers", response.pointer))
                ),
            ),
            Some(value) => {
                let Some(schema) = &header.schema else { continue };
                let validator =
                    seen.cx.validators.get((seen.api, seen.op, response_index, Slot::Header(index)), operation, schema);
                // Read as the emulator reads a header parameter: typed by its schema.
                let typed = match Shape::of(schema, &operation.schemas.defs) {
                    Shape::Scalar(types) => types.coerce(value),
                    Shape::Array(items) => Value::Array(value.split(',').map(|v| items.coerce(v.trim())).collect()),
                    Shape::Object(..) => Value::String(value.to_owned()),
                };
                let problem = validator.as_ref().as_ref().ok().and_then(|v| v.iter_errors(&typed).next());
                if let Some(problem) = problem {
                    out.fail(
                        CheckId::ResponseHeadersConformance,
                        format!("{status} header {} does not conform", header.name),
                        format!(
                            "header {}: {value:?}: {} ({})",
                            header.name,
                            problem.masked_with("the value"),
                            seen.at(&format!("{}/headers/{}/schema", response.pointer, header.name))
                        ),
                    );
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cases::Expect;
    use crate::checks::testing::{answer, failed, Shop};
    use crate::checks::CheckId;

    #[test]
    fn a_missing_required_header_or_a_mistyped_one_fails() {
        let shop = Shop::load();
        let check = CheckId::ResponseHeadersConformance;
        let mut listed = answer(200, "application/json", "[]");
        assert!(failed(&shop, "listItems", &Expect::Valid, &listed, check), "X-Total-Count is required");
        listed.headers.push(("x-total-count".into(), "many".into()));
        assert!(failed(&shop, "listItems", &Expect::Valid, &listed, check), "an integer header");
        listed.headers.pop();
        listed.headers.push(("x-total-count".into(), "3".into()));
        assert!(!failed(&shop, "listItems", &Expect::Valid, &listed, check));
    }
}
