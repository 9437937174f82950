//! What a member may reach is what the control plane's rules say: another partner's pages answer
//! 404 (ids do not leak), a developer gets no owner pages, and every action is in the activity log
//! under the member who did it.

use sandgate_testkit::TestSandgate;

use crate::visitor::Visitor;

#[test]
fn another_partners_pages_are_not_found_and_developers_stay_developers() {
    let sandgate = TestSandgate::start(None);
    let mut owner = Visitor::sign_up(&sandgate, "Owner Co", "owner@owner.test");
    let app = owner.create_app("owners-app", "mine");
    let issued = owner.post(&format!("/applications/{app}/credentials"), &[("environment", "training")]);
    assert_eq!(issued.status, 201, "{}", issued.body);
    let client_id =
        issued.body.split("id=\"client-id\">").nth(1).and_then(|s| s.split('<').next()).expect("client id").to_owned();

    let mut other = Visitor::sign_up(&sandgate, "Other Co", "owner@other.test");
    for path in [
        format!("/applications/{app}"),
        format!("/applications/{app}/edit"),
        format!("/applications/{app}/activity"),
        format!("/applications/{app}/activity.csv"),
    ] {
        let answer = other.get(&path);
        assert_eq!(answer.status, 404, "{path}");
        assert!(!answer.body.contains("owners-app"), "{path} leaks the name");
    }
    other.get("/");
    assert_eq!(
        other.post(&format!("/credentials/{client_id}/revoke"), &[]).status,
        404,
        "another partner's credential"
    );
    assert_eq!(other.post(&format!("/applications/{app}/revoke"), &[]).status, 404);
    assert_eq!(other.get("/operator").status, 404, "members do not reach the operator area");

    // A developer invited to the application.
    owner.get(&format!("/applications/{app}"));
    assert_eq!(owner.post(&format!("/applications/{app}/invitations"), &[("email", "dev@owner.test")]).status, 303);
    let mail = sandgate.store().mails(Some("dev@owner.test"), 10).expect("mails");
    assert_eq!(mail.len(), 1, "the invitee is e-mailed");
    let otp = mail[0].body.split("one-time password: ").nth(1).and_then(|s| s.split_whitespace().next()).expect("otp");
    let invitation =
        mail[0].body.split("/invitations/").nth(1).and_then(|s| s.split_whitespace().next()).expect("link");
    let mut developer = Visitor::new(&sandgate);
    developer.get(&format!("/invitations/{invitation}"));
    let wrong = developer
        .post(&format!("/invitations/{invitation}"), &[("otp", "000000"), ("password", "developer passphrase 1")]);
    assert_eq!(wrong.status, 422, "a wrong one-time password is shown next to its field");
    assert!(wrong.body.contains("e-otp"), "{}", wrong.body);
    let accepted =
        developer.post(&format!("/invitations/{invitation}"), &[("otp", otp), ("password", "developer passphrase 1")]);
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let page = developer.get(&format!("/applications/{app}"));
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Revoke owners-app") && !page.body.contains("Invite a developer"), "no owner controls");
    assert!(!page.body.contains("value=\"production\""), "a developer is offered TRAINING credentials only");
    assert_eq!(developer.get(&format!("/applications/{app}/edit")).status, 404);
    assert_eq!(developer.get(&format!("/applications/{app}/review")).status, 404);
    assert_eq!(developer.post(&format!("/applications/{app}/revoke"), &[]).status, 403);
    assert_eq!(
        developer.post(&format!("/applications/{app}/credentials"), &[("environment", "production")]).status,
        403
    );
    developer.get(&format!("/applications/{app}"));
    assert_eq!(developer.post(&format!("/applications/{app}/credentials"), &[("environment", "training")]).status, 201);
    // The invitation works once.
    let again = Visitor::new(&sandgate).get(&format!("/invitations/{invitation}"));
    assert_eq!(again.status, 410, "{}", again.body);

    // The activity log names the member who acted.
    let events = sandgate.store().events(&sandgate_store::EventFilter {
        application_id: Some(app.clone()),
        limit: 100,
        ..Default::default()
    });
    let actors: Vec<(String, String)> = events.expect("events").into_iter().map(|e| (e.event, e.actor)).collect();
    assert!(actors.contains(&("application.created".into(), "member:owner@owner.test".into())), "{actors:?}");
    assert!(actors.contains(&("credential.issued".into(), "member:dev@owner.test".into())), "{actors:?}");
}
