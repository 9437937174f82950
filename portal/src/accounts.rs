//! Signing up, in and out: partner sign-up (the owner), e-mail and password (argon2id, a policy,
//! a throttle per address and per client address), one-time sign-in links by e-mail, accepting
//! an invitation with its one-time password, switching between accounts, signing out everywhere.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use sandgate_control::partners::SignUp;
use sandgate_store::{LinkRefusal, SessionSubject};

use crate::form::Form;
use crate::session;
use crate::templates::{self, render, Accept, Chrome, Home, Link, SignIn, SignUp as SignUpPage};
use crate::web::Page;
use crate::Ctx;

/// Failed sign-ins in a row before an address (or a client address) is locked.
const ALLOWED_FAILURES: i64 = 5;
/// The first lock; each further failure doubles it.
const LOCK_SECS: i64 = 60;
/// How long a sign-in link works.
const LINK_SECS: i64 = 15 * 60;

pub(crate) fn home(ctx: &Ctx<'_>) -> Page {
    render(200, &Home { chrome: Chrome::new(ctx, "Developer portal") })
}

/// E-mail addresses are compared in lower case in the portal.
fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The password policy: long enough, not the address, not one repeated character.
fn check_password(password: &str, email: &str) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < 12 {
        return Err("Use at least 12 characters.");
    }
    if length > 256 {
        return Err("Use at most 256 characters.");
    }
    if password.to_lowercase().contains(&email.to_lowercase()) && !email.is_empty() {
        return Err("The password must not contain your e-mail address.");
    }
    let first = password.chars().next();
    if password.chars().all(|c| Some(c) == first) {
        return Err("The password must not be one character repeated.");
    }
    Ok(())
}

/// An argon2id hash (PHC string) of `password` with a random salt.
fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    sandgate_core::secret::fill_random(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Checks `password` against a stored hash; a malformed hash never matches.
fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A hash to verify against when the address has no password, so an unknown address takes as
/// long as a known one.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never matches").unwrap_or_default())
}

pub(crate) fn signup_page(ctx: &Ctx<'_>) -> Page {
    if !ctx.portal.settings.open_signup {
        return templates::message(
            ctx,
            403,
            "Sign-up is closed",
            "Accounts are created by the operator here; ask them for an invitation.",
            "/signin",
            "Sign in",
        );
    }
    let page = SignUpPage { chrome: Chrome::new(ctx, "Create an account"), csrf: ctx.csrf(), form: Form::default() };
    render(200, &page)
}

pub(crate) fn signup(ctx: &Ctx<'_>) -> Page {
    if !ctx.portal.settings.open_signup {
        return signup_page(ctx);
    }
    let r = ctx.request;
    let email = normalise(r.field("owner.email"));
    let mut form = Form::with(
        ["name", "owner.name", "contact.name", "contact.email", "terms"].map(|k| (k.to_owned(), r.field(k).to_owned())),
    );
    form.set("owner.email", email.clone());
    if r.field("terms") != "accepted" {
        form.fail("terms", "Accept the terms of use to create an account.");
    }
    if let Err(problem) = check_password(r.raw_field("password"), &email) {
        form.fail("password", problem);
    }
    let contact_name = if r.field("contact.name").is_empty() { r.field("owner.name") } else { r.field("contact.name") };
    let contact_email =
        if r.field("contact.email").is_empty() { email.clone() } else { normalise(r.field("contact.email")) };
    let fields = ["name", "owner.name", "owner.email", "contact.name", "contact.email"];
    if !form.failed() {
        let sign_up = SignUp {
            organisation: r.field("name"),
            contact: (contact_name, &contact_email),
            owner: (r.field("owner.name"), &email),
        };
        match sandgate_control::partners::sign_up(&ctx.portal.control, &sign_up) {
            Ok((_, owner)) => {
                let stored = match hash_password(r.raw_field("password")) {
                    Ok(hash) => ctx.portal.control.store.set_portal_password(&email, &hash),
                    Err(e) => {
                        tracing::error!(error = %e, "password hashing failed");
                        Ok(())
                    }
                };
                if let Err(e) = stored {
                    return templates::store_down(&e);
                }
                return match session::open(ctx.portal, &SessionSubject::Person(email), Some(&owner.id)) {
                    Ok(cookie) => Page::redirect("/?done=signed-up").with_cookie(cookie),
                    Err(e) => templates::store_down(&e),
                };
            }
            Err(problem) => form.problem(&problem, &fields),
        }
    }
    let page = SignUpPage { chrome: Chrome::new(ctx, "Create an account"), csrf: ctx.csrf(), form };
    render(422, &page)
}

pub(crate) fn signin_page(ctx: &Ctx<'_>) -> Page {
    if ctx.viewer.is_some() {
        return Page::redirect("/");
    }
    let page = SignIn {
        chrome: Chrome::new(ctx, "Sign in"),
        csrf: ctx.csrf(),
        form: Form::default(),
        link_form: Form::default(),
    };
    render(200, &page)
}

/// The throttle's subjects for a sign-in attempt: the address, and the client address.
fn throttle_subjects(ctx: &Ctx<'_>, email: &str) -> Vec<String> {
    let mut subjects = vec![format!("email:{email}")];
    if let Some(ip) = ctx.request.client_ip {
        subjects.push(format!("ip:{ip}"));
    }
    subjects
}

pub(crate) fn signin(ctx: &Ctx<'_>) -> Page {
    let store = &ctx.portal.control.store;
    let email = normalise(ctx.request.field("email"));
    let mut form = Form::with([("email".to_owned(), email.clone())]);
    let subjects = throttle_subjects(ctx, &email);
    let now = store.now_unix();
    let mut locked = 0;
    for subject in &subjects {
        match store.portal_locked_until(subject) {
            Ok(until) => locked = locked.max(until),
            Err(e) => return templates::store_down(&e),
        }
    }
    if locked > now {
        form.fail(
            "form",
            format!(
                "Too many failed sign-ins. Try again in {} seconds, or e-mail yourself a sign-in link.",
                locked - now
            ),
        );
        return signin_again(ctx, form, 429);
    }
    let stored = match store.portal_password(&email) {
        Ok(stored) => stored,
        Err(e) => return templates::store_down(&e),
    };
    let password = ctx.request.raw_field("password");
    let matches = verify_password(password, stored.as_deref().unwrap_or_else(|| decoy_hash())) && stored.is_some();
    let memberships = match store.memberships(&email) {
        Ok(memberships) => memberships,
        Err(e) => return templates::store_down(&e),
    };
    if !matches || memberships.is_empty() {
        for subject in &subjects {
            if let Err(e) = store.portal_sign_in_failed(subject, ALLOWED_FAILURES, LOCK_SECS) {
                return templates::store_down(&e);
            }
        }
        form.fail("form", "The e-mail address or the password is wrong.");
        return signin_again(ctx, form, 401);
    }
    for subject in &subjects {
        if let Err(e) = store.portal_sign_in_succeeded(subject) {
            return templates::store_down(&e);
        }
    }
    let member_id = memberships.first().map(|m| m.member.id.clone());
    match session::open(ctx.portal, &SessionSubject::Person(email), member_id.as_deref()) {
        Ok(cookie) => Page::redirect("/").with_cookie(cookie),
        Err(e) => templates::store_down(&e),
    }
}

fn signin_again(ctx: &Ctx<'_>, form: Form, status: u16) -> Page {
    let page = SignIn { chrome: Chrome::new(ctx, "Sign in"), csrf: ctx.csrf(), form, link_form: Form::default() };
    render(status, &page)
}

/// E-mails a one-time sign-in link when the address belongs to a member; says the same either
/// way, so the page does not tell who has an account.
pub(crate) fn send_link(ctx: &Ctx<'_>) -> Page {
    let store = &ctx.portal.control.store;
    let email = normalise(ctx.request.field("link_email"));
    if sandgate_control::rules::check_email("link_email", &email).is_err() {
        let mut link_form = Form::with([("link_email".to_owned(), email)]);
        link_form.fail("link_email", "Enter an e-mail address.");
        let page = SignIn { chrome: Chrome::new(ctx, "Sign in"), csrf: ctx.csrf(), form: Form::default(), link_form };
        return render(422, &page);
    }
    let members = match store.memberships(&email) {
        Ok(members) => members,
        Err(e) => return templates::store_down(&e),
    };
    if !members.is_empty() {
        let token = session::random_token();
        let hash = ctx.portal.control.keys.secret_hash.hash(&token);
        if let Err(e) = store.create_portal_link(&hash, &email, "sign-in", store.now_unix() + LINK_SECS) {
            return templates::store_down(&e);
        }
        let url = format!("{}/signin/link/{token}", ctx.portal.settings.public_url);
        let body = format!(
            "Hello,\n\nsign in to the Sandgate developer portal with this link (it works once, within 15 minutes):\n\n{url}\n\nIf you did not ask for it, ignore this message; nobody can use it without access to your mailbox.\n"
        );
        sandgate_control::mail::notify(&ctx.portal.control, &email, "Your sign-in link", &body, "sign-in-link");
    }
    Page::redirect("/signin?done=link-sent")
}

pub(crate) fn link_page(ctx: &Ctx<'_>, token: &str) -> Page {
    // Shown, not used: mail scanners that open links must not spend them. The button posts.
    let page = Link {
        chrome: Chrome::new(ctx, "Sign in"),
        csrf: ctx.csrf(),
        email: "your account".to_owned(),
        token: token.to_owned(),
        form: Form::default(),
    };
    render(200, &page)
}

pub(crate) fn redeem_link(ctx: &Ctx<'_>, token: &str) -> Page {
    let store = &ctx.portal.control.store;
    let password = ctx.request.raw_field("password");
    let hash = ctx.portal.control.keys.secret_hash.hash(token);
    let email = match store.redeem_portal_link(&hash, "sign-in") {
        Ok(Ok(email)) => email,
        Ok(Err(refusal)) => {
            let why = match refusal {
                LinkRefusal::Unknown => "This sign-in link is not valid.",
                LinkRefusal::Used => "This sign-in link was already used; each link works once.",
                LinkRefusal::Expired => "This sign-in link has expired; links work for 15 minutes.",
            };
            return templates::message(
                ctx,
                410,
                "Link not usable",
                &format!("{why} Ask for a new one."),
                "/signin",
                "Get a new link",
            );
        }
        Err(e) => return templates::store_down(&e),
    };
    let mut done = "";
    if !password.is_empty() {
        if let Err(problem) = check_password(password, &email) {
            return templates::message(
                ctx,
                422,
                "Password not changed",
                &format!("{problem} The link is used; ask for a new one to try again."),
                "/signin",
                "Sign in",
            );
        }
        match hash_password(password) {
            Ok(phc) => {
                if let Err(e) = store
                    .set_portal_password(&email, &phc)
                    .and_then(|()| store.close_portal_sessions_of(&email).map(drop))
                {
                    return templates::store_down(&e);
                }
                done = "?done=password-set";
            }
            Err(e) => tracing::error!(error = %e, "password hashing failed"),
        }
    }
    let _ = store.portal_sign_in_succeeded(&format!("email:{email}"));
    let member = store.memberships(&email).ok().and_then(|m| m.first().map(|m| m.member.id.clone()));
    match session::open(ctx.portal, &SessionSubject::Person(email), member.as_deref()) {
        Ok(cookie) => Page::redirect(&format!("/{done}")).with_cookie(cookie),
        Err(e) => templates::store_down(&e),
    }
}

pub(crate) fn signout(ctx: &Ctx<'_>, everywhere: bool) -> Page {
    let store = &ctx.portal.control.store;
    if let Some(viewer) = ctx.viewer {
        let outcome = match (&viewer.session.subject, everywhere) {
            (SessionSubject::Person(email), true) => store.close_portal_sessions_of(email).map(drop),
            _ => store.close_portal_session(&viewer.session_hash),
        };
        if let Err(e) = outcome {
            return templates::store_down(&e);
        }
    }
    Page::redirect("/signin").with_cookie(session::cleared(ctx.portal))
}

pub(crate) fn switch(ctx: &Ctx<'_>) -> Page {
    let Some(viewer) = ctx.viewer else { return Page::redirect("/signin") };
    let wanted = ctx.request.field("member_id");
    if !viewer.memberships.iter().any(|m| m.member.id == wanted) {
        return templates::not_found(ctx);
    }
    match ctx.portal.control.store.switch_portal_session(&viewer.session_hash, wanted) {
        Ok(()) => Page::redirect("/"),
        Err(e) => templates::store_down(&e),
    }
}

pub(crate) fn invitation_page(ctx: &Ctx<'_>, id: &str) -> Page {
    let invitation = match ctx.portal.control.store.invitation(id) {
        Ok(invitation) => invitation,
        Err(sandgate_store::StoreError::NotFound { .. }) => {
            return templates::message(
                ctx,
                404,
                "Invitation not found",
                "This invitation does not exist. Ask the person who invited you to send it again.",
                "/",
                "Home",
            );
        }
        Err(e) => return templates::store_down(&e),
    };
    if let Some(page) = unusable(ctx, &invitation.status) {
        return page;
    }
    accept_page(ctx, id, &invitation.email, Form::default(), 200)
}

fn unusable(ctx: &Ctx<'_>, status: &str) -> Option<Page> {
    let (heading, text) = match status {
        "verified" => ("Already accepted", "This invitation was accepted. Sign in to reach the application."),
        "revoked" => ("Invitation withdrawn", "This invitation was revoked. Ask the account's admin for a new one."),
        "expired" => (
            "Invitation expired",
            "The one-time password has expired. Ask the account's admin to send a new one (Resend).",
        ),
        _ => return None,
    };
    Some(templates::message(ctx, 410, heading, text, "/signin", "Sign in"))
}

fn accept_page(ctx: &Ctx<'_>, id: &str, email: &str, form: Form, status: u16) -> Page {
    let needs_password = ctx.portal.control.store.portal_password(&normalise(email)).map_or(true, |p| p.is_none());
    let page = Accept {
        chrome: Chrome::new(ctx, "Accept your invitation"),
        csrf: ctx.csrf(),
        id: id.to_owned(),
        email: email.to_owned(),
        needs_password,
        form,
    };
    render(status, &page)
}

pub(crate) fn accept_invitation(ctx: &Ctx<'_>, id: &str) -> Page {
    let store = &ctx.portal.control.store;
    let invitation = match store.invitation(id) {
        Ok(invitation) => invitation,
        Err(sandgate_store::StoreError::NotFound { .. }) => return invitation_page(ctx, id),
        Err(e) => return templates::store_down(&e),
    };
    let email = normalise(&invitation.email);
    let has_password = match store.portal_password(&email) {
        Ok(stored) => stored.is_some(),
        Err(e) => return templates::store_down(&e),
    };
    let mut form = Form::with([("otp".to_owned(), ctx.request.field("otp").to_owned())]);
    let password = ctx.request.raw_field("password");
    if !has_password {
        if let Err(problem) = check_password(password, &email) {
            form.fail("password", problem);
            return accept_page(ctx, id, &invitation.email, form, 422);
        }
    }
    let verified = store.verify_invitation(id, ctx.request.field("otp"), &ctx.portal.control.keys.secret_hash);
    let verified = match verified {
        Ok(verified) => verified,
        Err(e) => {
            let problem = sandgate_control::http::Problem::from(e);
            if problem.kind == sandgate_core::problem::ProblemKind::Gone || problem.field.as_deref() == Some("status") {
                return templates::message(
                    ctx,
                    410,
                    "Invitation not usable",
                    &crate::form::human(&problem),
                    "/signin",
                    "Sign in",
                );
            }
            form.problem(&problem, &["otp"]);
            return accept_page(ctx, id, &invitation.email, form, 422);
        }
    };
    if !has_password {
        match hash_password(password) {
            Ok(phc) => {
                if let Err(e) = store.set_portal_password(&email, &phc) {
                    return templates::store_down(&e);
                }
            }
            Err(e) => tracing::error!(error = %e, "password hashing failed"),
        }
    }
    match session::open(ctx.portal, &SessionSubject::Person(email), Some(&verified.member.id)) {
        Ok(cookie) => {
            Page::redirect(&format!("/applications/{}", verified.invitation.application_id)).with_cookie(cookie)
        }
        Err(e) => templates::store_down(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_policy_refuses_short_repeated_and_address_passwords() {
        assert!(check_password("short", "a@b.co").is_err());
        assert!(check_password("aaaaaaaaaaaaaaaa", "a@b.co").is_err());
        assert!(check_password("xx-dev@example.com-xx", "dev@example.com").is_err());
        assert!(check_password("correct horse battery", "dev@example.com").is_ok());
    }

    #[test]
    fn passwords_are_argon2id_and_verify_only_themselves() {
        let hash = hash_password("correct horse battery").expect("hashes");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }
}
