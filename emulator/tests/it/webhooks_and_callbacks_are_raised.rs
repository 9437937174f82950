//! Events: an OpenAPI callback is raised to the URL its runtime expression names, with a body its
//! schema accepts; a scenario's webhook is raised with its templated payload; the application
//! that called is named, so the gateway can deliver to its subscriptions. (Delivery itself, signed
//! and retried, is the gateway's outbox: see gateway/tests/it/training_state_is_kept_per_partner.rs.)

use crate::common;

use std::sync::{Arc, Mutex};

use http::{HeaderMap, Method};
use sandgate_emulator::events::{Event, EventSink};
use sandgate_emulator::state::Tenant;
use sandgate_emulator::{EmuRequest, Emulator, EmulatorOptions};
use serde_json::json;

#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<(String, Option<String>, Event)>>);

impl EventSink for Recorder {
    fn emit(&self, tenant: Tenant<'_>, application: Option<&str>, events: Vec<Event>) {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for event in events {
            seen.push((tenant.partner.to_owned(), application.map(str::to_owned), event));
        }
    }
}

fn taken(recorder: &Recorder) -> Vec<(String, Option<String>, Event)> {
    std::mem::take(&mut *recorder.0.lock().unwrap_or_else(|p| p.into_inner()))
}

#[test]
fn a_callback_goes_to_the_url_the_request_names_with_a_conforming_body() {
    let recorder = Arc::new(Recorder::default());
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state/notes.yaml");
    let apis = sandgate_openapi::load_file(&file).expect("fixture loads");
    let options = EmulatorOptions { events: Some(recorder.clone()), ..EmulatorOptions::default() };
    let notes = Emulator::new(apis, options).expect("compiles");
    let mut headers = HeaderMap::new();
    headers.insert("content-type", http::HeaderValue::from_static("application/json"));
    let request = |query: Option<&'static str>| {
        notes.handle(&EmuRequest {
            method: &Method::POST,
            path: "/notes-api/v1/users/ann/notes",
            query,
            headers: &headers,
            body: br#"{"title": "t", "status": "open"}"#,
            tenant: Some(Tenant { environment: "training", partner: "p1" }),
            application: Some("app_1"),
        })
    };
    let created = request(Some("callback_url=https%3A%2F%2Fhooks.example.com%2Fnotes"));
    let id = common::json(&created)["id"].as_str().expect("id").to_owned();
    let events = taken(&recorder);
    assert_eq!(events.len(), 1, "{events:?}");
    let (partner, application, event) = &events[0];
    assert_eq!((partner.as_str(), application.as_deref(), event.name.as_str()), ("p1", Some("app_1"), "noteCreated"));
    assert_eq!(event.url.as_deref(), Some(format!("https://hooks.example.com/notes?note={id}").as_str()));
    let note = json!({"$ref": "#/$defs/Note"});
    let schema = notes.apis()[0].schemas.json_schema(&note);
    assert!(jsonschema::validator_for(&schema).expect("compiles").is_valid(&event.payload), "{}", event.payload);

    request(None);
    assert!(taken(&recorder).is_empty(), "no callback URL, no callback");
}

#[test]
fn a_scenario_raises_its_webhook_with_the_templated_payload() {
    let recorder = Arc::new(Recorder::default());
    let options = EmulatorOptions { events: Some(recorder.clone()), ..EmulatorOptions::default() };
    let pos = Emulator::from_dir(&common::specs_dir(), options).expect("loads");
    let headers = HeaderMap::new();
    let create = json!({"account_number": 12345678, "amount": 80.0, "auto_capture": false,
                        "financing_option": {"transaction_type": "regular_purchase"}});
    let base = "/pos-api/v2.5/client-id/demo";
    let authorization =
        common::json(&common::call_json(&pos, Method::POST, &format!("{base}/authorization"), &headers, &create));
    let id = authorization["authorization_id"].as_u64().expect("id");
    assert!(taken(&recorder).is_empty(), "creating raises nothing");
    let capture = format!("{base}/authorization/{id}/capture");
    assert_eq!(common::call_json(&pos, Method::POST, &capture, &headers, &json!({"amount": 30.0})).status, 200);
    let events = taken(&recorder);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].2.name, "authorization.captured");
    assert_eq!(
        events[0].2.payload,
        json!({"authorization_id": id, "amount": 30.0, "remaining_authorization_amount": 50.0})
    );
    assert_eq!(events[0].2.url, None, "to the application's subscriptions");
    assert_eq!(common::call_json(&pos, Method::POST, &capture, &headers, &json!({"amount": 99.0})).status, 409);
    assert!(taken(&recorder).is_empty(), "a refused capture raises nothing");
}
