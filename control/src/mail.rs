//! E-mail to people: what the control plane and the portal tell partners (invitations with their
//! one-time password, sign-in links, review decisions, credential events). Every message goes
//! into the store's outbox first; with `control_plane.mail.smtp_url` set, [`send_due`] delivers
//! it over SMTP (lettre, TLS through rustls) and retries with back-off; without, it stays in the
//! outbox, listed for operators, so every flow works with no mail server.

use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport};

use crate::context::ControlContext;
use sandgate_store::{Application, Mail, StoreError};

/// Attempts before a message is marked failed.
const MAX_ATTEMPTS: i64 = 8;

/// Queues a message to `to`. A failure is logged, never raised: the action that caused the
/// message has happened, and the outbox shows what was sent.
pub fn notify(control: &ControlContext, to: &str, subject: &str, body: &str, kind: &str) -> Option<Mail> {
    let deliver = control.settings.load().control_plane.mail.smtp_url.is_some();
    match control.store.queue_mail(to, subject, body, kind, deliver) {
        Ok(mail) => {
            if deliver {
                control.mail_wake.notify_one();
            }
            Some(mail)
        }
        Err(e) => {
            tracing::error!(error = %e, kind, "could not queue an e-mail");
            None
        }
    }
}

/// The portal's address for links in messages (`None` when the portal is off).
pub fn portal_link(control: &ControlContext, path: &str) -> Option<String> {
    control.settings.load().portal_url.as_ref().map(|base| format!("{base}{path}"))
}

/// Tells the owners and admins of the application's partner about `event` on it.
pub fn notify_admins(control: &ControlContext, app: &Application, subject: &str, body: &str, kind: &str) {
    let members = match control.store.members(&app.partner_id) {
        Ok(members) => members,
        Err(e) => {
            tracing::error!(error = %e, kind, "could not list the members to e-mail");
            return;
        }
    };
    let link = portal_link(control, &format!("/applications/{}", app.id))
        .map(|url| format!("\n\nOpen the application in the developer portal: {url}\n"))
        .unwrap_or_default();
    for member in members.iter().filter(|m| m.status == "active" && m.role != "developer") {
        notify(control, &member.email, subject, &format!("Hello {},\n\n{body}{link}", member.name), kind);
    }
}

/// Sends what is due (blocking); returns how many were sent. Called by the mail worker when
/// SMTP is configured.
pub fn send_due(control: &ControlContext) -> Result<usize, StoreError> {
    let settings = control.settings.load();
    let Some(url) = settings.control_plane.mail.smtp_url.as_deref() else { return Ok(0) };
    let due = control.store.due_mails(50)?;
    if due.is_empty() {
        return Ok(0);
    }
    let transport = match SmtpTransport::from_url(url) {
        Ok(builder) => builder.timeout(Some(std::time::Duration::from_secs(10))).build(),
        Err(e) => {
            tracing::error!(error = %e, "control_plane.mail.smtp_url is not usable; nothing sent");
            return Ok(0);
        }
    };
    let mut sent = 0;
    for mail in due {
        let outcome = message(&settings.control_plane.mail.from, &mail)
            .and_then(|message| transport.send(&message).map(drop).map_err(|e| e.to_string()));
        match outcome {
            Ok(()) => {
                sent += 1;
                control.store.mail_attempted(&mail.id, Ok(()))?;
            }
            Err(error) => {
                let attempts = mail.attempts + 1;
                let retry_at = (attempts < MAX_ATTEMPTS)
                    .then(|| control.store.now_unix() + 30 * (1_i64 << attempts.min(10)).min(3600));
                tracing::warn!(mail = %mail.id, attempts, %error, "e-mail not delivered");
                control.store.mail_attempted(&mail.id, Err((&error, retry_at)))?;
            }
        }
    }
    Ok(sent)
}

fn message(from: &str, mail: &Mail) -> Result<Message, String> {
    let from = from.parse().map_err(|e| format!("control_plane.mail.from {from:?}: {e}"))?;
    let to = mail.to.parse().map_err(|e| format!("recipient {:?}: {e}", mail.to))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| e.to_string())
}

/// `GET /v1/mail` (operators): the outbox, newest first.
pub(crate) fn list(call: &crate::Call<'_>) -> Result<crate::http::Reply, crate::http::Problem> {
    use sandgate_core::problem::ProblemKind;
    call.actor.operator()?;
    let (mut to, mut limit) = (None, 100);
    for (key, value) in form_urlencoded::parse(call.request.query.as_bytes()) {
        match key.as_ref() {
            "to" if value.chars().count() <= 254 => to = Some(value.into_owned()),
            "to" => {
                let detail = "to is an e-mail address: at most 254 characters";
                return Err(crate::http::Problem::new(ProblemKind::InvalidRequest, detail, Some("to".into())));
            }
            "limit" => {
                limit = value.parse().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                    let detail = format!("limit must be 1 to 1000; got {value:?}");
                    crate::http::Problem::new(ProblemKind::InvalidRequest, detail, Some("limit".into()))
                })?;
            }
            other => {
                let detail = format!("unknown query parameter {other:?}");
                return Err(crate::http::Problem::new(ProblemKind::InvalidRequest, detail, Some(other.to_owned())));
            }
        }
    }
    let mails = call.control.store.mails(to.as_deref(), limit)?;
    crate::json_reply(200, serde_json::json!({"mails": mails}))
}

/// Whether `from` is a usable sender (checked at start and on reload).
pub fn check_sender(from: &str) -> Result<(), String> {
    from.parse::<lettre::message::Mailbox>().map(drop).map_err(|e| format!("{from:?} is not a mailbox: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_carries_sender_recipient_subject_and_text() {
        let mail = Mail {
            id: "mail_1".into(),
            to: "dev@example.com".into(),
            subject: "Your invitation".into(),
            body: "one-time password 123456".into(),
            kind: "invitation".into(),
            status: "pending".into(),
            attempts: 0,
            error: None,
            created_at: String::new(),
        };
        let text = String::from_utf8(message("Sandgate <no-reply@example.com>", &mail).expect("builds").formatted())
            .expect("utf-8");
        assert!(text.contains("From: Sandgate <no-reply@example.com>"), "{text}");
        assert!(text.contains("To: dev@example.com"), "{text}");
        assert!(text.contains("Subject: Your invitation"), "{text}");
        assert!(text.contains("one-time password 123456"), "{text}");
        assert!(message("not a mailbox", &mail).is_err());
        assert!(check_sender("Sandgate <no-reply@sandgate.invalid>").is_ok());
        assert!(check_sender("nobody").is_err());
    }
}
