//! Answers in every media type a spec documents: CSV with a header line, XML rooted at the
//! schema's `xml.name`, a well-formed JWT, a valid PNG, the spec's text example; `Accept` chooses
//! among them, and nothing acceptable is 406.

use crate::common;

use http::{HeaderMap, Method};
use sandgate_emulator::{EmuResponse, Emulator, EmulatorOptions};

fn media() -> Emulator {
    let spec = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media/media.yaml");
    Emulator::new(sandgate_openapi::load_file(&spec).expect("fixture loads"), EmulatorOptions::default())
        .expect("compiles")
}

fn ask(emulator: &Emulator, method: Method, path: &str, accept: Option<&str>) -> EmuResponse {
    let mut headers = HeaderMap::new();
    if let Some(accept) = accept {
        headers.insert(http::header::ACCEPT, accept.parse().expect("header"));
    }
    common::send(emulator, method, &format!("/media-api/v1{path}"), &headers, b"")
}

fn text(response: &EmuResponse) -> String {
    String::from_utf8(response.body.clone()).expect("UTF-8")
}

#[test]
fn accept_chooses_among_the_documented_media_types() {
    let media = media();
    let json = ask(&media, Method::GET, "/report", None);
    assert_eq!(json.content_type.as_deref(), Some("application/json"), "the first documented, by default");
    let csv = ask(&media, Method::GET, "/report", Some("text/csv, application/json;q=0.5"));
    assert_eq!((csv.status, csv.content_type.as_deref()), (200, Some("text/csv")));
    let lines: Vec<String> = text(&csv).lines().map(str::to_owned).collect();
    assert_eq!(lines[0], "id,name", "{lines:?}");
    assert!((3..=4).contains(&lines.len()), "a header and 2–3 rows: {lines:?}");
    let refused = ask(&media, Method::GET, "/report", Some("image/gif"));
    assert_eq!(refused.status, 406);
    assert!(text(&refused).contains("text/csv"), "the detail lists what is documented: {}", text(&refused));
}

#[test]
fn xml_jwt_png_and_text_are_well_formed() {
    let media = media();
    let pet = ask(&media, Method::GET, "/pets/7", None);
    assert_eq!((pet.status, pet.content_type.as_deref()), (200, Some("application/xml")));
    let xml = text(&pet);
    assert!(xml.starts_with("<?xml") && xml.contains("<pet><id>") && xml.ends_with("</pet>"), "{xml}");

    let session = ask(&media, Method::POST, "/session", Some("application/jwt"));
    assert_eq!((session.status, session.content_type.as_deref()), (201, Some("application/jwt")));
    assert_eq!(text(&session).split('.').count(), 3, "header.payload.signature: {}", text(&session));

    let avatar = ask(&media, Method::GET, "/avatar", Some("image/*"));
    assert_eq!(avatar.content_type.as_deref(), Some("image/png"));
    assert!(avatar.body.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG file");

    let readme = ask(&media, Method::GET, "/readme", None);
    assert_eq!(
        (readme.content_type.as_deref(), text(&readme).as_str()),
        (Some("text/plain"), "Welcome to the sandbox.")
    );
}
