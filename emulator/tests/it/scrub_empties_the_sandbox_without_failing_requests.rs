//! Scrub: removes a partner's, an environment's or every object at once; requests running during
//! scrubs never fail (they see the objects or a 404); every answer names the next scheduled scrub.

use crate::common;

use std::sync::Arc;

use http::{HeaderMap, Method};
use sandgate_emulator::scrub::{ScrubSchedule, NEXT_SCRUB_HEADER};
use sandgate_emulator::state::{ScrubScope, StateBackend, Tenant};
use sandgate_emulator::{EmuRequest, EmuResponse, Emulator, EmulatorOptions};
use serde_json::json;

const NOTES: &str = "/notes-api/v1/users/ann/notes";

fn notes(options: EmulatorOptions) -> Emulator {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state/notes.yaml");
    let apis = sandgate_openapi::load_file(&file).expect("fixture loads");
    Emulator::new(apis, options).expect("fixture compiles")
}

fn send(emulator: &Emulator, partner: &str, method: Method, path: &str, body: &[u8]) -> EmuResponse {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", http::HeaderValue::from_static("application/json"));
    let tenant = Some(Tenant { environment: "training", partner });
    emulator.handle(&EmuRequest {
        method: &method,
        path,
        query: None,
        headers: &headers,
        body,
        tenant,
        application: None,
    })
}

fn create(emulator: &Emulator, partner: &str) -> String {
    let created = send(emulator, partner, Method::POST, NOTES, br#"{"title": "t", "status": "open"}"#);
    assert_eq!(created.status, 201);
    let id = common::json(&created)["id"].as_str().unwrap_or_default().to_owned();
    format!("{NOTES}/{id}")
}

#[test]
fn scrubs_remove_a_partner_an_environment_or_everything() {
    let dir = tempfile::tempdir().expect("dir");
    for state in [StateBackend::Memory, StateBackend::Sqlite(dir.path().join("e.db"))] {
        let emulator = notes(EmulatorOptions { state, ..EmulatorOptions::default() });
        let (mine, theirs) = (create(&emulator, "p1"), create(&emulator, "p2"));
        let removed = emulator.scrub(ScrubScope::Tenant(Tenant { environment: "training", partner: "p1" }));
        assert_eq!(removed.expect("scrub"), 1);
        assert_eq!(send(&emulator, "p1", Method::GET, &mine, b"").status, 404, "p1's objects are gone");
        assert_eq!(send(&emulator, "p2", Method::GET, &theirs, b"").status, 200, "p2's are kept");
        assert_eq!(emulator.scrub(ScrubScope::Environment("production")).expect("scrub"), 0);
        assert_eq!(emulator.scrub(ScrubScope::Environment("training")).expect("scrub"), 1);
        assert_eq!(send(&emulator, "p2", Method::GET, &theirs, b"").status, 404);
        create(&emulator, "p3");
        assert_eq!(emulator.scrub(ScrubScope::All).expect("scrub"), 1);
    }
}

#[test]
fn every_answer_names_the_next_scheduled_scrub() {
    let schedule = ScrubSchedule::parse("03:00").expect("time");
    let emulator = notes(EmulatorOptions { scrub: Some(schedule), ..EmulatorOptions::default() });
    for response in
        [send(&emulator, "p1", Method::GET, NOTES, b""), send(&emulator, "p1", Method::GET, "/nothing", b"")]
    {
        let next = response.headers.iter().find(|(n, _)| *n == NEXT_SCRUB_HEADER).map(|(_, v)| v.clone());
        let next: chrono::DateTime<chrono::Utc> = next.expect("header on every answer").parse().expect("RFC 3339");
        let ahead = next - chrono::Utc::now();
        assert!(ahead > chrono::Duration::zero() && ahead <= chrono::Duration::days(1), "{next}");
        assert_eq!(next.format("%H:%M:%S").to_string(), "03:00:00");
    }
    let unscheduled = notes(EmulatorOptions::default());
    assert!(send(&unscheduled, "p1", Method::GET, NOTES, b"").headers.iter().all(|(n, _)| *n != NEXT_SCRUB_HEADER));
}

#[test]
fn requests_during_scrubs_never_fail() {
    let dir = tempfile::tempdir().expect("dir");
    let emulator = Arc::new(notes(EmulatorOptions {
        state: StateBackend::Sqlite(dir.path().join("e.db")),
        ..EmulatorOptions::default()
    }));
    let workers: Vec<_> = (0..3)
        .map(|worker| {
            let emulator = Arc::clone(&emulator);
            std::thread::spawn(move || {
                let partner = format!("p{worker}");
                let mut statuses = Vec::new();
                for _ in 0..150 {
                    let created =
                        send(&emulator, &partner, Method::POST, NOTES, br#"{"title": "t", "status": "open"}"#);
                    statuses.push(created.status);
                    let id = common::json(&created)["id"].as_str().unwrap_or_default().to_owned();
                    statuses.push(send(&emulator, &partner, Method::GET, &format!("{NOTES}/{id}"), b"").status);
                    statuses.push(send(&emulator, &partner, Method::GET, NOTES, b"").status);
                }
                statuses
            })
        })
        .collect();
    let mut scrubs = 0;
    while workers.iter().any(|w| !w.is_finished()) {
        emulator.scrub(ScrubScope::All).expect("scrub");
        scrubs += 1;
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    for worker in workers {
        let statuses = worker.join().expect("worker");
        assert!(statuses.iter().all(|s| [200, 201, 404].contains(s)), "only successes and 404s: {statuses:?}");
    }
    assert!(scrubs > 3, "scrubs ran while requests were in flight ({scrubs})");
    emulator.scrub(ScrubScope::All).expect("scrub");
    let page = common::json(&send(&emulator, "p0", Method::GET, NOTES, b""));
    assert_eq!(page["data"], json!([]), "nothing survives the last scrub");
}
