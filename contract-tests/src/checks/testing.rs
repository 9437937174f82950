//! Test support for the checks: the shop fixture's operations and answers built by hand, so each
//! check's test says exactly which answer it fails.

use std::path::PathBuf;
use std::time::Duration;

use super::{check, Answer, CheckId, Context, Validators};
use crate::cases::Expect;
use crate::spec::Specs;

/// The shop fixture (`tests/fixtures/shop.yaml`) and its validators.
pub(crate) struct Shop {
    specs: Specs,
    validators: Validators,
}

impl Shop {
    /// Loads the fixture.
    pub(crate) fn load() -> Shop {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop.yaml");
        Shop { specs: Specs::load(&[file]).expect("the shop fixture loads"), validators: Validators::default() }
    }

    /// A body the `Item` schema accepts.
    pub(crate) fn valid_item(&self) -> String {
        r#"{"id": 1, "name": "Lamp", "price": 12.5, "kind": "lamp"}"#.to_owned()
    }

    fn operation(&self, id: &str) -> (usize, usize) {
        for (api, spec) in self.specs.apis.iter().enumerate() {
            if let Some(op) = spec.operations.iter().position(|o| o.operation_id.as_deref() == Some(id)) {
                return (api, op);
            }
        }
        panic!("no operation {id} in the shop fixture")
    }
}

/// An answer with `status`, `Content-Type` (none when empty) and `body`, in a millisecond.
pub(crate) fn answer(status: u16, content_type: &str, body: &str) -> Answer {
    let headers = match content_type {
        "" => Vec::new(),
        media => vec![("content-type".to_owned(), media.to_owned())],
    };
    Answer { status, headers, body: body.to_owned(), elapsed: Duration::from_millis(1) }
}

/// Whether `check` ran on `answer` to operation `id` for a case that expected `expect`, and failed.
pub(crate) fn failed(shop: &Shop, id: &str, expect: &Expect, answer: &Answer, check_id: CheckId) -> bool {
    let (api, op) = shop.operation(id);
    let cx = Context { specs: &shop.specs, validators: &shop.validators, max_response_time: Duration::from_secs(1) };
    let (_, failures) = check(&cx, api, op, expect, answer);
    failures.iter().any(|f| f.check == check_id)
}
