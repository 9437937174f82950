//! `response_schema_conformance`: a JSON body conforms to the schema documented for its status
//! and media type; each distinct violation is one finding, the same for every instance of it.

use serde_json::Value;

use sandgate_openapi::validate::body::{essence, is_json};

use super::{excerpt, generic, or_root, CheckId, Findings, Seen, Slot};

/// Validates a JSON body against its documented schema.
pub(super) fn check(seen: &Seen<'_>, out: &mut Findings) {
    let (Some((response_index, _)), Some((media_index, media))) = (seen.response(), seen.media()) else { return };
    let actual = seen.answer.header("content-type").map(essence).unwrap_or_default();
    let (Some(schema), true) = (&media.schema, is_json(&actual)) else { return };
    out.ran(CheckId::ResponseSchemaConformance);
    let status = seen.answer.status;
    let body: Value = match serde_json::from_str(&seen.answer.body) {
        Ok(body) => body,
        Err(e) => {
            out.fail(
                CheckId::ResponseSchemaConformance,
                format!("{status} body is not JSON"),
                format!("the {actual} body does not parse ({e}): {}", excerpt(&seen.answer.body)),
            );
            return;
        }
    };
    let validator =
        seen.cx.validators.get((seen.api, seen.op, response_index, Slot::Body(media_index)), seen.operation, schema);
    match validator.as_ref() {
        Err(e) => out.fail(
            CheckId::ResponseSchemaConformance,
            "response schema does not compile".to_owned(),
            format!("{} cannot be compiled: {e}", seen.at(&media.pointer)),
        ),
        Ok(validator) => {
            for error in validator.iter_errors(&body).take(10) {
                let instance = error.instance_path().as_str().to_owned();
                let schema_path = error.schema_path().as_str().to_owned();
                out.fail(
                    CheckId::ResponseSchemaConformance,
                    // The masked message names a missing or extra property, never the value: one
                    // line per distinct violation, the same for every instance of it.
                    format!("{status} body at {}: {}", or_root(&generic(&instance)), error.masked_with("the value")),
                    format!(
                        "body{instance}: {} — value {}; schema {}{schema_path}",
                        error.masked_with("the value"),
                        excerpt(&error.instance().to_string()),
                        seen.at(&media.pointer),
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cases::Expect;
    use crate::checks::testing::{answer, failed, Shop};
    use crate::checks::CheckId;

    #[test]
    fn a_body_off_its_schema_fails() {
        let shop = Shop::load();
        let check = CheckId::ResponseSchemaConformance;
        assert!(failed(&shop, "getItem", &Expect::Valid, &answer(200, "application/json", "not json"), check));
        assert!(failed(&shop, "getItem", &Expect::Valid, &answer(200, "application/json", r#"{"id": "one"}"#), check));
        let item = shop.valid_item();
        assert!(!failed(&shop, "getItem", &Expect::Valid, &answer(200, "application/json", &item), check), "{item}");
    }
}
