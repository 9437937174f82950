//! With `control_plane.mail.smtp_url` set, what the portal and the control plane tell people is
//! sent over SMTP (a stand-in mail server here) and marked sent; when the server cannot be reached
//! the message waits in the outbox with the error and is tried again.

use std::time::{Duration, Instant};

use sandgate_testkit::smtp::SmtpSink;
use sandgate_testkit::TestSandgate;

use crate::visitor::Visitor;

fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_invitation_reaches_the_mail_server_and_is_marked_sent() {
    let sink = SmtpSink::start();
    let yaml = format!(
        "sandgate:\n  control_plane:\n    mail:\n      from: \"Acme Developers <developers@acme.test>\"\n      smtp_url: {}\n",
        sink.url()
    );
    let sandgate = TestSandgate::start_with(None, &yaml);
    let mut owner = Visitor::sign_up(&sandgate, "Mail Co", "owner@mail.test");
    let app = owner.create_app("mail-app", "");
    assert_eq!(owner.post(&format!("/applications/{app}/invitations"), &[("email", "dev@mail.test")]).status, 303);
    let message = wait_for("the invitation at the mail server", || sink.received().into_iter().next());
    assert_eq!(message.to, ["dev@mail.test"]);
    assert!(
        message.data.contains("From: \"Acme Developers\" <developers@acme.test>")
            || message.data.contains("From: Acme Developers <developers@acme.test>"),
        "{}",
        message.data
    );
    assert!(message.data.contains("one-time password"), "{}", message.data);
    assert!(message.data.contains(&format!("{}/invitations/", sandgate.portal)), "the link points at the portal");
    let sent = wait_for("the outbox to say sent", || {
        let mails = sandgate.store().mails(Some("dev@mail.test"), 10).expect("mails");
        mails.into_iter().find(|m| m.status == "sent")
    });
    assert_eq!(sent.attempts, 1);
}

#[test]
fn an_unreachable_mail_server_leaves_the_message_waiting_with_its_error() {
    let closed = sandgate_testkit::free_port();
    let yaml = format!("sandgate:\n  control_plane:\n    mail:\n      smtp_url: smtp://{closed}\n");
    let sandgate = TestSandgate::start_with(None, &yaml);
    let mut visitor = Visitor::sign_up(&sandgate, "Down Co", "owner@down.test");
    visitor.post("/signout", &[]);
    visitor.get("/signin");
    assert_eq!(visitor.post("/signin/link", &[("link_email", "owner@down.test")]).status, 303);
    let waiting = wait_for("a failed attempt", || {
        let mails = sandgate.store().mails(Some("owner@down.test"), 10).expect("mails");
        mails.into_iter().find(|m| m.attempts >= 1)
    });
    assert_eq!(waiting.status, "pending", "it is retried later, not dropped");
    assert!(waiting.error.as_deref().is_some_and(|e| !e.is_empty()), "{waiting:?}");
}
