//! The activity log (per partner, per application; filterable; JSON or RFC 4180 CSV) and the
//! webhook delivery log.

use sandgate_core::problem::ProblemKind;
use serde_json::json;

use super::applications::readable;
use super::http::{Problem, Reply};
use super::{json_reply, Call};
use sandgate_store::{Event, EventFilter};

fn bad_query(field: &str, detail: String) -> Problem {
    Problem::new(ProblemKind::InvalidRequest, detail, Some(field.to_owned()))
}

/// Reads the query parameters of an activity listing; a bad value is a 400 naming it. A JSON
/// answer is a page (100 events unless `limit` says); a CSV download is the whole matching log
/// unless `limit` says, since a spreadsheet has no cursor to follow.
fn filter(query: &str, accepts_csv: bool) -> Result<(EventFilter, bool), Problem> {
    let mut filter = EventFilter::default();
    let mut limit = None;
    let mut csv = accepts_csv;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "event" => filter.event_prefix = Some(value),
            "actor" => filter.actor = Some(value),
            "since" | "until" => {
                let parsed = chrono::DateTime::parse_from_rfc3339(&value)
                    .map_err(|_| bad_query(&key, format!("{key} must be an RFC 3339 date-time; got {value:?}")))?;
                let normalised =
                    parsed.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                if key == "since" {
                    filter.since = Some(normalised);
                } else {
                    filter.until = Some(normalised);
                }
            }
            "after" => {
                filter.after = Some(
                    value
                        .parse()
                        .map_err(|_| bad_query("after", format!("after must be an integer; got {value:?}")))?,
                )
            }
            "limit" => {
                let parsed = value.parse().ok().filter(|n| (1..=1000).contains(n));
                limit =
                    Some(parsed.ok_or_else(|| bad_query("limit", format!("limit must be 1 to 1000; got {value:?}")))?);
            }
            "format" => match value.as_str() {
                "json" => csv = false,
                "csv" => csv = true,
                other => return Err(bad_query("format", format!("format must be json or csv; got {other:?}"))),
            },
            other => return Err(bad_query(other, format!("unknown query parameter {other:?}"))),
        }
    }
    filter.limit = limit.unwrap_or(if csv { u32::MAX } else { 100 });
    Ok((filter, csv))
}

fn answer(call: &Call<'_>, filter: EventFilter, csv: bool) -> Result<Reply, Problem> {
    let limit = filter.limit as usize;
    let events = call.control.store.events(&filter)?;
    if csv {
        return to_csv(&events).map(Reply::Csv);
    }
    let next_after = (events.len() == limit).then(|| events.last().map(|e| e.seq)).flatten();
    json_reply(200, json!({"events": events, "next_after": next_after}))
}

/// RFC 4180: header row, CRLF line ends, fields quoted when they hold a comma, quote or newline.
fn to_csv(events: &[Event]) -> Result<String, Problem> {
    let failed = |_| Problem::new(ProblemKind::Internal, "could not write the CSV", None);
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    writer.write_record(["seq", "at", "partner_id", "application_id", "actor", "event", "details"]).map_err(failed)?;
    for e in events {
        let seq = e.seq.to_string();
        let details = e.details.to_string();
        let record = [
            seq.as_str(),
            e.at.as_str(),
            e.partner_id.as_deref().unwrap_or(""),
            e.application_id.as_deref().unwrap_or(""),
            e.actor.as_str(),
            e.event.as_str(),
            details.as_str(),
        ];
        writer.write_record(record).map_err(failed)?;
    }
    let bytes =
        writer.into_inner().map_err(|_| Problem::new(ProblemKind::Internal, "could not write the CSV", None))?;
    String::from_utf8(bytes).map_err(|_| Problem::new(ProblemKind::Internal, "could not write the CSV", None))
}

pub(super) fn of_partner(call: &Call<'_>) -> Result<Reply, Problem> {
    let partner_id = call.param("partner_id");
    call.actor.admin_of_partner(partner_id)?;
    call.control.store.partner(partner_id)?;
    let (mut filter, csv) = filter(&call.request.query, call.request.accepts_csv)?;
    filter.partner_id = Some(partner_id.to_owned());
    answer(call, filter, csv)
}

pub(super) fn of_application(call: &Call<'_>) -> Result<Reply, Problem> {
    let app = readable(call)?;
    let (mut filter, csv) = filter(&call.request.query, call.request.accepts_csv)?;
    filter.application_id = Some(app.id);
    answer(call, filter, csv)
}

pub(super) fn deliveries(call: &Call<'_>) -> Result<Reply, Problem> {
    let app = readable(call)?;
    json_reply(200, json!({"deliveries": call.control.store.deliveries(&app.id)?}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_commas_quotes_and_newlines() {
        let event = Event {
            seq: 7,
            at: "2026-11-21T10:00:00.000Z".into(),
            partner_id: Some("ptn_1".into()),
            application_id: None,
            actor: "member:a,b@example.com".into(),
            event: "application.updated".into(),
            details: json!({"note": "line one\nsaid \"hi\""}),
        };
        let text = to_csv(&[event]).expect("csv");
        assert_eq!(
            text,
            "seq,at,partner_id,application_id,actor,event,details\r\n\
             7,2026-11-21T10:00:00.000Z,ptn_1,,\"member:a,b@example.com\",application.updated,\"{\"\"note\"\":\"\"line one\\nsaid \\\"\"hi\\\"\"\"\"}\"\r\n"
        );
    }

    #[test]
    fn bad_query_values_name_the_parameter() {
        for (query, field) in [
            ("limit=0", "limit"),
            ("since=yesterday", "since"),
            ("format=xml", "format"),
            ("color=red", "color"),
            ("after=x", "after"),
        ] {
            let problem = filter(query, false).expect_err(query);
            assert_eq!(problem.field.as_deref(), Some(field), "{query}");
        }
        let (parsed, csv) =
            filter("event=credential.&limit=5&format=csv&since=2026-01-01T00:00:00%2B01:00", false).expect("valid");
        assert_eq!((parsed.limit, csv), (5, true));
        assert_eq!(parsed.since.as_deref(), Some("2025-12-31T23:00:00.000Z"));
        assert_eq!(filter("", false).expect("valid").0.limit, 100, "a JSON page");
        assert_eq!(filter("", true).expect("valid").0.limit, u32::MAX, "a CSV download is the whole log");
        assert!(!filter("format=json", true).expect("valid").1, "format= wins over Accept");
    }
}
