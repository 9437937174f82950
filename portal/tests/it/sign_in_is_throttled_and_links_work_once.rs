//! Sign-in: wrong passwords lock the address (even the right password then waits), unknown
//! addresses answer like wrong passwords, a sign-in link works once and not after it expires, and
//! bad or expired links say so and offer the next step.

use sandgate_testkit::TestSandgate;

use crate::visitor::{Visitor, PASSWORD};

#[test]
fn five_wrong_passwords_lock_the_address_and_unknown_addresses_look_the_same() {
    let sandgate = TestSandgate::start(None);
    drop(Visitor::sign_up(&sandgate, "Throttle Co", "owner@throttle.test"));
    let mut guesser = Visitor::new(&sandgate);
    guesser.get("/signin");
    let unknown = guesser.post("/signin", &[("email", "nobody@throttle.test"), ("password", "whatever it is 1")]);
    let wrong = guesser.post("/signin", &[("email", "owner@throttle.test"), ("password", "whatever it is 1")]);
    assert_eq!((unknown.status, wrong.status), (401, 401));
    assert!(unknown.body.contains("The e-mail address or the password is wrong."));
    assert!(wrong.body.contains("The e-mail address or the password is wrong."));
    for _ in 0..4 {
        guesser.post("/signin", &[("email", "owner@throttle.test"), ("password", "whatever it is 1")]);
    }
    let mut owner = Visitor::new(&sandgate);
    owner.get("/signin");
    let locked = owner.post("/signin", &[("email", "owner@throttle.test"), ("password", PASSWORD)]);
    assert_eq!(locked.status, 429, "locked even with the right password: {}", locked.body);
    assert!(locked.body.contains("Too many failed sign-ins"));
    sandgate.clock.advance(std::time::Duration::from_secs(61));
    let after = owner.post("/signin", &[("email", "owner@throttle.test"), ("password", PASSWORD)]);
    assert_eq!(after.status, 303, "the lock ends: {}", after.body);
}

#[test]
fn a_sign_in_link_works_once_and_expires() {
    let sandgate = TestSandgate::start(None);
    drop(Visitor::sign_up(&sandgate, "Link Co", "owner@link.test"));
    let mut visitor = Visitor::new(&sandgate);
    visitor.get("/signin");
    let sent = visitor.post("/signin/link", &[("link_email", "owner@link.test")]);
    assert_eq!(sent.status, 303);
    let nobody = visitor.post("/signin/link", &[("link_email", "nobody@link.test")]);
    assert_eq!((nobody.status, nobody.location.as_str()), (303, sent.location.as_str()), "the same answer for anyone");
    let mails = sandgate.store().mails(Some("owner@link.test"), 10).expect("mails");
    let sign_in = mails.iter().find(|m| m.kind == "sign-in-link").expect("a sign-in e-mail");
    let link = sign_in.body.split_whitespace().find(|w| w.contains("/signin/link/")).expect("link");
    let path = &link[link.find("/signin/link/").expect("path")..];
    assert!(sandgate.store().mails(Some("nobody@link.test"), 10).expect("mails").is_empty());

    let page = visitor.get(path);
    assert_eq!(page.status, 200, "opening the link does not use it (mail scanners open links)");
    let used = visitor.post(path, &[]);
    assert_eq!(used.status, 303, "{}", used.body);
    assert!(visitor.get("/").body.contains("Link Co"), "signed in");
    let mut again = Visitor::new(&sandgate);
    again.get(path);
    let twice = again.post(path, &[]);
    assert_eq!(twice.status, 410);
    assert!(twice.body.contains("already used") && twice.body.contains("/signin"), "{}", twice.body);

    let mut late = Visitor::new(&sandgate);
    late.get("/signin");
    late.post("/signin/link", &[("link_email", "owner@link.test")]);
    let mails = sandgate.store().mails(Some("owner@link.test"), 10).expect("mails");
    let link = mails[0].body.split_whitespace().find(|w| w.contains("/signin/link/")).expect("link").to_owned();
    let path = &link[link.find("/signin/link/").expect("path")..];
    sandgate.clock.advance(std::time::Duration::from_secs(16 * 60));
    late.get(path);
    let expired = late.post(path, &[]);
    assert_eq!(expired.status, 410);
    assert!(expired.body.contains("expired"), "{}", expired.body);
    let bogus = late.post("/signin/link/not-a-real-token", &[]);
    assert_eq!(bogus.status, 410);
    assert!(bogus.body.contains("not valid"));
}
