//! Sessions: a cookie set before sign-in is never promoted (session fixation), sign-out ends the
//! session on the server, "sign out everywhere" ends every session of the person.

use sandgate_testkit::TestSandgate;

use crate::visitor::{Visitor, PASSWORD};

#[test]
fn sign_in_issues_a_new_session_and_sign_out_everywhere_ends_them_all() {
    let sandgate = TestSandgate::start(None);
    let owner = Visitor::sign_up(&sandgate, "Fixation Inc", "owner@fixation.test");
    drop(owner);

    // An attacker plants a session cookie before the victim signs in.
    let mut victim = Visitor::new(&sandgate);
    victim.cookies.push(("sg_session".into(), "planted-by-attacker".into()));
    victim.get("/signin");
    let signed_in = victim.post("/signin", &[("email", "owner@fixation.test"), ("password", PASSWORD)]);
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let session = victim.cookies.iter().find(|(k, _)| k == "sg_session").map(|(_, v)| v.clone()).expect("session");
    assert_ne!(session, "planted-by-attacker", "sign-in must issue a fresh session id");
    let set_cookie = signed_in.headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let mut attacker = Visitor::new(&sandgate);
    attacker.cookies.push(("sg_session".into(), "planted-by-attacker".into()));
    assert!(attacker.get("/").body.contains("Create an account"), "the planted cookie stays signed out");

    // A second session of the same person (another browser).
    let mut laptop = Visitor::new(&sandgate);
    laptop.get("/signin");
    assert_eq!(laptop.post("/signin", &[("email", "owner@fixation.test"), ("password", PASSWORD)]).status, 303);
    assert!(laptop.get("/").body.contains("Fixation Inc"));

    victim.get("/");
    let everywhere = victim.post("/signout/everywhere", &[]);
    assert_eq!((everywhere.status, everywhere.location.as_str()), (303, "/signin"));
    assert!(laptop.get("/").body.contains("Create an account"), "the other session ended too");

    // A stolen copy of an ended session cookie does not come back.
    let mut replay = Visitor::new(&sandgate);
    replay.cookies.push(("sg_session".into(), session));
    assert!(replay.get("/applications").status == 303, "an ended session is signed out");
}
