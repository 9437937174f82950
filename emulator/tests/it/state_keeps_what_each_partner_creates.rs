//! State: what a partner creates is there on the next request, for that partner only. Collections
//! and items are inferred from paths and methods (`x-sandgate-resource` overrides); lists page and
//! filter; PATCH merges, PUT replaces keeping server-set fields, DELETE removes; every answer still
//! conforms to its schema. The SQLite store keeps objects across restarts.

use crate::common;

use http::{HeaderMap, HeaderValue, Method};
use sandgate_emulator::state::{StateBackend, Tenant};
use sandgate_emulator::{EmuRequest, EmuResponse, Emulator, EmulatorOptions};
use serde_json::{json, Value};

const NOTES: &str = "/notes-api/v1/users/ann/notes";

fn notes(state: StateBackend) -> Emulator {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state/notes.yaml");
    let apis = sandgate_openapi::load_file(&file).expect("fixture loads");
    Emulator::new(apis, EmulatorOptions { state, ..EmulatorOptions::default() }).expect("fixture compiles")
}

/// One request as `partner` (TRAINING).
fn handle(emulator: &Emulator, partner: &str, method: &Method, path: &str, body: Option<(&str, Value)>) -> EmuResponse {
    let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
    let mut headers = HeaderMap::new();
    let bytes = match &body {
        Some((media, value)) => {
            headers.insert("content-type", HeaderValue::from_str(media).expect("media type"));
            serde_json::to_vec(value).expect("json")
        }
        None => Vec::new(),
    };
    let tenant = Some(Tenant { environment: "training", partner });
    emulator.handle(&EmuRequest { method, path, query, headers: &headers, body: &bytes, tenant, application: None })
}

/// One request as `partner` (TRAINING), checked against the documented schema of its answer.
fn send(emulator: &Emulator, partner: &str, method: Method, path: &str, body: Option<(&str, Value)>) -> (u16, Value) {
    let response = handle(emulator, partner, &method, path, body);
    let path = path.split('?').next().unwrap_or(path);
    let json = response.content_type.as_deref().is_some_and(|t| t.contains("json"));
    let value = match (response.body.is_empty(), json) {
        (true, _) => Value::Null,
        (false, true) => common::json(&response),
        (false, false) => Value::String(String::from_utf8_lossy(&response.body).into_owned()),
    };
    if let Some(schema) = emulator.response_schema(&method, path, response.status) {
        let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("schema compiles");
        assert!(validator.is_valid(&value), "{method} {path} → {} does not conform: {value}", response.status);
    }
    (response.status, value)
}

fn create(emulator: &Emulator, partner: &str, title: &str, status: &str) -> Value {
    let (code, note) = send(
        emulator,
        partner,
        Method::POST,
        NOTES,
        Some(("application/json", json!({"title": title, "status": status}))),
    );
    assert_eq!(code, 201, "{note}");
    note
}

#[test]
fn create_read_update_replace_delete_round_trip() {
    let emulator = notes(StateBackend::Memory);
    let note = create(&emulator, "p1", "milk", "open");
    assert_eq!((&note["title"], &note["status"]), (&json!("milk"), &json!("open")), "what was sent comes back");
    let id = note["id"].as_str().expect("server-set id").to_owned();
    let created_at = note["created_at"].clone();
    let item = format!("{NOTES}/{id}");

    assert_eq!(send(&emulator, "p1", Method::GET, &item, None), (200, note.clone()), "read returns what was created");

    let (code, patched) = send(
        &emulator,
        "p1",
        Method::PATCH,
        &item,
        Some(("application/merge-patch+json", json!({"status": "done", "tags": ["x"]}))),
    );
    assert_eq!(
        (code, &patched["status"], &patched["title"], &patched["tags"]),
        (200, &json!("done"), &json!("milk"), &json!(["x"]))
    );
    let (_, removed) =
        send(&emulator, "p1", Method::PATCH, &item, Some(("application/merge-patch+json", json!({"tags": null}))));
    assert!(removed.get("tags").is_none() || removed["tags"] != json!(["x"]), "null removes a field: {removed}");

    let (code, replaced) = send(
        &emulator,
        "p1",
        Method::PUT,
        &item,
        Some((
            "application/json",
            json!({"title": "oat milk", "status": "open", "created_at": "1999-01-01T00:00:00Z"}),
        )),
    );
    assert_eq!((code, &replaced["title"], &replaced["id"]), (200, &json!("oat milk"), &json!(id)));
    assert_eq!(replaced["created_at"], created_at, "a read-only field is the server's, not the client's");

    assert_eq!(send(&emulator, "p1", Method::DELETE, &item, None).0, 204);
    let (code, missing) = send(&emulator, "p1", Method::GET, &item, None);
    assert_eq!((code, missing), (404, json!({"code": 404, "error": "not_found"})), "the documented 404 example");
    assert_eq!(send(&emulator, "p1", Method::DELETE, &item, None).0, 404);
    assert_eq!(send(&emulator, "p1", Method::PATCH, &item, Some(("application/merge-patch+json", json!({})))).0, 404);
}

#[test]
fn one_partner_never_sees_another_partners_objects() {
    let emulator = notes(StateBackend::Memory);
    let note = create(&emulator, "p1", "secret", "open");
    let item = format!("{NOTES}/{}", note["id"].as_str().unwrap_or_default());
    assert_eq!(send(&emulator, "p2", Method::GET, &item, None).0, 404);
    assert_eq!(send(&emulator, "p2", Method::DELETE, &item, None).0, 404);
    assert_eq!(send(&emulator, "p2", Method::GET, NOTES, None).1["data"], json!([]));
    assert_eq!(
        send(&emulator, "p1", Method::GET, &item.replace("/ann/", "/bob/"), None).0,
        404,
        "collections are per parent"
    );
    assert_eq!(send(&emulator, "p1", Method::GET, &item, None).0, 200, "the owner still sees it");
}

#[test]
fn lists_page_filter_and_follow_overrides() {
    let emulator = notes(StateBackend::Memory);
    let ids: Vec<String> = (0..5)
        .map(|i| create(&emulator, "p1", &format!("n{i}"), if i % 2 == 0 { "open" } else { "done" }))
        .map(|n| n["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let titles = |body: &Value| -> Vec<String> {
        let list = body.get("data").unwrap_or(body);
        list.as_array().into_iter().flatten().filter_map(|n| n["title"].as_str()).map(str::to_owned).collect()
    };
    assert_eq!(
        titles(&send(&emulator, "p1", Method::GET, NOTES, None).1),
        ["n0", "n1", "n2", "n3", "n4"],
        "creation order"
    );
    assert_eq!(titles(&send(&emulator, "p1", Method::GET, &format!("{NOTES}?limit=2&offset=1"), None).1), ["n1", "n2"]);
    let after = format!("{NOTES}?starting_after={}&limit=2", ids[2]);
    assert_eq!(titles(&send(&emulator, "p1", Method::GET, &after, None).1), ["n3", "n4"]);
    assert_eq!(titles(&send(&emulator, "p1", Method::GET, &format!("{NOTES}?status=done"), None).1), ["n1", "n3"]);
    let open = "/notes-api/v1/users/ann/open-notes?status=open";
    assert_eq!(
        titles(&send(&emulator, "p1", Method::GET, open, None).1),
        ["n0", "n2", "n4"],
        "the override lists the same collection"
    );
    let preview = format!("{NOTES}/{}/preview", ids[0]);
    assert_eq!(
        send(&emulator, "p1", Method::GET, &preview.replace(&ids[0], "gone"), None).0,
        200,
        "x-sandgate-resource: false stays stateless"
    );
}

#[test]
fn the_sqlite_store_keeps_objects_across_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = StateBackend::Sqlite(dir.path().join("emulator.db"));
    let note = create(&notes(backend.clone()), "p1", "kept", "open");
    let item = format!("{NOTES}/{}", note["id"].as_str().unwrap_or_default());
    let restarted = notes(backend);
    assert_eq!(send(&restarted, "p1", Method::GET, &item, None), (200, note));
}

#[test]
fn a_pos_authorization_is_readable_and_listed_after_it_is_created() {
    let pos = common::emulator("pos-api/v2.5.yaml");
    let base = "/pos-api/v2.5/client-id/demo";
    let mut headers = HeaderMap::new();
    headers.insert("x-reference-id", HeaderValue::from_static(common::REFERENCE_ID));
    let request = json!({
        "amount": 250.0, "account_number": 12345678, "auto_capture": false,
        "financing_option": {"transaction_type": "regular_purchase"}
    });
    let created = common::call_json(&pos, Method::POST, &format!("{base}/authorization"), &headers, &request);
    assert_eq!(created.status, 200, "{}", String::from_utf8_lossy(&created.body));
    let authorization = common::json(&created);
    assert_eq!(authorization["amount"], 250.0, "what the client sent is kept");
    let id = authorization["authorization_id"].as_u64().expect("authorization_id");
    let read = common::call(&pos, Method::GET, &format!("{base}/authorization/{id}"), &headers);
    assert_eq!(common::json(&read), authorization);
    let listed = common::json(&common::call(&pos, Method::GET, &format!("{base}/authorizations"), &headers));
    assert_eq!(listed, json!([authorization]));
    let v251 = common::emulator("pos-api/v2.5.1.yaml");
    let other =
        common::call(&v251, Method::GET, &format!("/pos-api/v2.5.1/client-id/demo/authorization/{id}"), &headers);
    assert_eq!(other.status, 404, "a separate emulator has its own state");
}

/// The id the emulator gave a new label, created concurrently with others (not schema-checked:
/// compiling a validator per call would dominate 1,500 creates).
fn create_label(emulator: &Emulator, name: &str) -> i64 {
    let body = Some(("application/json", json!({ "name": name })));
    let response = handle(emulator, "p1", &Method::POST, "/notes-api/v1/labels", body);
    assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
    let label = common::json(&response);
    assert_eq!(label["name"], json!(name));
    label["id"].as_i64().expect("an integer id")
}

#[test]
fn server_ids_are_never_shared_or_reused_even_past_the_usual_range() {
    let dir = tempfile::tempdir().expect("temp dir");
    for backend in [StateBackend::Memory, StateBackend::Sqlite(dir.path().join("emulator.db"))] {
        let emulator = notes(backend.clone());
        let deleted = create_label(&emulator, "short-lived");
        let item = |id: i64| format!("/notes-api/v1/labels/{id}");
        assert_eq!(send(&emulator, "p1", Method::DELETE, &item(deleted), None).0, 204);

        // Two clients at once, 1,500 labels: more than the 1–1000 a generator picks ids from.
        let ids: Vec<i64> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..2)
                .map(|w| {
                    let emulator = &emulator;
                    scope.spawn(move || {
                        (0..750).map(|i| create_label(emulator, &format!("w{w}-{i}"))).collect::<Vec<i64>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().expect("worker")).collect::<Vec<i64>>()
        });
        let unique: std::collections::HashSet<i64> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "{backend:?}: two labels were given one id");
        assert!(!unique.contains(&deleted), "{backend:?}: the deleted label's id {deleted} was handed out again");
        assert!(ids.iter().all(|id| *id >= 1), "{backend:?}: ids keep the schema's minimum");
        let (code, _) = send(&emulator, "p1", Method::GET, &item(deleted), None);
        assert_eq!(code, 404, "{backend:?}: reading a deleted label finds nothing");
        let (code, last) = send(&emulator, "p1", Method::GET, &item(ids[ids.len() - 1]), None);
        assert_eq!((code, &last["name"]), (200, &json!("w1-749")), "{backend:?}");
    }
}

#[test]
fn a_collection_whose_ids_run_out_says_so_until_a_scrub() {
    let emulator = notes(StateBackend::Memory);
    let slot = || send(&emulator, "p1", Method::POST, "/notes-api/v1/slots", Some(("application/json", json!({}))));
    let ids: std::collections::BTreeSet<i64> =
        (0..3).map(|_| slot()).map(|(_, s)| s["id"].as_i64().unwrap_or(0)).collect();
    assert_eq!(ids, [1, 2, 3].into(), "every slot the schema allows, each once");
    let (code, problem) = slot();
    assert_eq!((code, &problem["type"]), (409, &json!("urn:sandgate:problem:conflict")), "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("no free id")), "{problem}");
    emulator.scrub(sandgate_emulator::state::ScrubScope::All).expect("scrub");
    assert_eq!(slot().0, 201, "a scrub frees the ids");
}

/// A `writeOnly` property (a password) is accepted on create and kept, but no answer carries it:
/// not the create, not a read, not a list. Answers still conform to the schema.
#[test]
fn a_write_only_property_is_never_answered() {
    let emulator = notes(StateBackend::Memory);
    let sent = json!({"title": "shared", "status": "open", "share_password": "correct horse battery"});
    let (code, created) = send(&emulator, "p1", Method::POST, NOTES, Some(("application/json", sent)));
    assert_eq!(code, 201, "{created}");
    assert!(created.get("share_password").is_none(), "the create answer leaks it: {created}");
    let id = created["id"].as_str().expect("id");
    let (_, read) = send(&emulator, "p1", Method::GET, &format!("{NOTES}/{id}"), None);
    assert_eq!(read["title"], "shared");
    assert!(read.get("share_password").is_none(), "a read leaks it: {read}");
    let (_, listed) = send(&emulator, "p1", Method::GET, NOTES, None);
    let items = listed["data"].as_array().expect("data");
    assert!(!items.is_empty() && items.iter().all(|n| n.get("share_password").is_none()), "a list leaks it: {listed}");
}

/// The same marks inside a nested object: a `readOnly` field a client sends there is not stored,
/// a `writeOnly` one is stored but never answered, on create, read, update and list.
#[test]
fn nested_read_only_and_write_only_fields_are_honoured() {
    for backend in [StateBackend::Memory, StateBackend::Sqlite(tempfile::tempdir().expect("dir").keep().join("e.db"))] {
        let emulator = notes(backend);
        let attachment =
            json!({"file_name": "a.pdf", "scanned_at": "1999-01-01T00:00:00Z", "download_key": "secret-key-1"});
        let sent = json!({"title": "with file", "status": "open", "attachment": attachment});
        let (code, created) = send(&emulator, "p1", Method::POST, NOTES, Some(("application/json", sent)));
        assert_eq!(code, 201, "{created}");
        let id = created["id"].as_str().expect("id").to_owned();
        let (_, read) = send(&emulator, "p1", Method::GET, &format!("{NOTES}/{id}"), None);
        let (_, listed) = send(&emulator, "p1", Method::GET, NOTES, None);
        let item = listed["data"].as_array().and_then(|items| items.iter().find(|n| n["id"] == id.as_str())).cloned();
        for answer in [&created, &read, &item.unwrap_or_default()] {
            assert_eq!(answer["attachment"]["file_name"], "a.pdf", "{answer}");
            assert!(answer["attachment"].get("download_key").is_none(), "writeOnly answered: {answer}");
            assert_ne!(
                answer["attachment"]["scanned_at"], "1999-01-01T00:00:00Z",
                "readOnly taken from the client: {answer}"
            );
        }
        let patch = json!({"attachment": {"file_name": "b.pdf", "scanned_at": "1999-01-01T00:00:00Z"}});
        let (code, updated) = send(
            &emulator,
            "p1",
            Method::PATCH,
            &format!("{NOTES}/{id}"),
            Some(("application/merge-patch+json", patch)),
        );
        assert_eq!(code, 200, "{updated}");
        assert_eq!(updated["attachment"]["file_name"], "b.pdf", "{updated}");
        assert_ne!(updated["attachment"]["scanned_at"], "1999-01-01T00:00:00Z", "{updated}");
        assert!(updated["attachment"].get("download_key").is_none(), "{updated}");
    }
}

#[test]
fn the_server_stamps_what_x_sandgate_resource_sets() {
    let notes = notes(StateBackend::Memory);
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let note = create(&notes, "p1", "stamped", "open");
    let stamped = note["created_at"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let stamped = stamped.expect("created_at is a timestamp");
    assert!(stamped >= before && stamped <= chrono::Utc::now(), "created_at is the creation time: {note}");
}

#[test]
fn has_more_says_whether_another_page_follows() {
    for backend in [StateBackend::Memory, StateBackend::Sqlite(tempfile::tempdir().expect("dir").keep().join("e.db"))] {
        let notes = notes(backend);
        let ids: Vec<String> = (0..3)
            .map(|i| create(&notes, "p1", &format!("n{i}"), "open")["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        let (_, first) = send(&notes, "p1", Method::GET, &format!("{NOTES}?limit=2"), None);
        assert_eq!(first["has_more"], true, "{first}");
        let (_, rest) = send(&notes, "p1", Method::GET, &format!("{NOTES}?limit=2&starting_after={}", ids[1]), None);
        assert_eq!((rest["data"].as_array().map(Vec::len), &rest["has_more"]), (Some(1), &json!(false)), "{rest}");
        let (_, end) = send(&notes, "p1", Method::GET, &format!("{NOTES}?starting_after={}", ids[2]), None);
        assert_eq!((end["data"].as_array().map(Vec::len), &end["has_more"]), (Some(0), &json!(false)), "{end}");
    }
}
