//! `max_response_time`: every answer within the time budget (`--max-response-time`).

use super::{CheckId, Findings, Seen};

/// Fails an answer slower than the budget.
pub(super) fn check(seen: &Seen<'_>, out: &mut Findings) {
    out.ran(CheckId::MaxResponseTime);
    let (took, budget) = (seen.answer.elapsed, seen.cx.max_response_time);
    if took > budget {
        out.fail(
            CheckId::MaxResponseTime,
            format!("slower than {} ms", budget.as_millis()),
            format!(
                "the answer took {} ms; the budget is {} ms (--max-response-time)",
                took.as_millis(),
                budget.as_millis()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::cases::Expect;
    use crate::checks::testing::{answer, failed, Shop};
    use crate::checks::CheckId;

    #[test]
    fn an_answer_over_the_budget_fails() {
        let shop = Shop::load();
        let mut slow = answer(204, "", "");
        slow.elapsed = Duration::from_secs(10);
        assert!(failed(&shop, "deleteItem", &Expect::Valid, &slow, CheckId::MaxResponseTime));
        assert!(!failed(&shop, "deleteItem", &Expect::Valid, &answer(204, "", ""), CheckId::MaxResponseTime));
    }
}
