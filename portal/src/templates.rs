//! The pages' templates (askama, compiled in; every value HTML-escaped) and the frame every
//! page shares (`Chrome`: who is signed in, the account, the anti-forgery token, a notice).

use askama::Template;

use crate::form::Form;
use crate::session::Viewer;
use crate::web::Page;
use crate::Ctx;

/// What the frame around every page shows.
#[derive(Debug, Default)]
pub(crate) struct Chrome {
    /// The page's title.
    pub(crate) title: String,
    /// Who is signed in (`""`: nobody).
    pub(crate) who: String,
    /// The account and role acted as.
    pub(crate) account: String,
    /// An operator is signed in.
    pub(crate) operator: bool,
    /// The session's anti-forgery token.
    pub(crate) csrf: String,
    /// A one-line notice (after an action).
    pub(crate) notice: String,
    /// A person's memberships: (member id, label, current).
    pub(crate) memberships: Vec<(String, String, bool)>,
}

impl Chrome {
    /// The frame of a page titled `title` for this request's viewer.
    pub(crate) fn new(ctx: &Ctx<'_>, title: &str) -> Chrome {
        let mut chrome =
            Chrome { title: title.to_owned(), notice: notice(ctx.request.param("done")), ..Chrome::default() };
        if let Some(viewer) = ctx.viewer {
            chrome.who = viewer.label();
            chrome.operator = viewer.is_operator();
            chrome.csrf = viewer.session.csrf.clone();
            chrome.account =
                viewer.membership().map(|m| format!("{} ({})", m.partner_name, m.member.role)).unwrap_or_default();
            chrome.memberships = memberships(viewer);
        } else {
            chrome.csrf = ctx.anonymous_csrf.clone();
        }
        chrome
    }
}

fn memberships(viewer: &Viewer) -> Vec<(String, String, bool)> {
    let current = viewer.session.member_id.as_deref();
    viewer
        .memberships
        .iter()
        .map(|m| {
            (
                m.member.id.clone(),
                format!("{} ({})", m.partner_name, m.member.role),
                Some(m.member.id.as_str()) == current,
            )
        })
        .collect()
}

/// The fixed notices a redirect may ask for (`?done=…`): never text from the query itself.
fn notice(code: &str) -> String {
    match code {
        "created" => "Saved.",
        "signed-up" => "Your account is ready.",
        "invited" => "Invitation sent: the developer receives an e-mail with a one-time password.",
        "renewed" => "A new one-time password was e-mailed.",
        "revoked" => "Revoked.",
        "submitted" => "Submitted for production review. You will get an e-mail when the operator decides.",
        "approved" => "Approved. The partner's owners and admins were told by e-mail.",
        "rejected" => "Changes requested. The partner's owners and admins were told by e-mail.",
        "link-sent" => "If an account uses that address, a sign-in link is on its way.",
        "scrubbed" => "TRAINING data scrubbed.",
        "signed-out-everywhere" => "Every other session was signed out.",
        "password-set" => "Your password was changed; other sessions were signed out.",
        _ => "",
    }
    .to_owned()
}

/// Renders a template into a page (a rendering failure is a plain 500, never its text).
pub(crate) fn render(status: u16, template: &impl Template) -> Page {
    match template.render() {
        Ok(html) => Page::html(status, html),
        Err(e) => {
            tracing::error!(error = %e, "a portal template failed to render");
            Page::html(500, "<!doctype html><title>Error</title><p>The page could not be built.</p>".to_owned())
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct Message {
    pub(crate) chrome: Chrome,
    pub(crate) heading: String,
    pub(crate) text: String,
    pub(crate) link: String,
    pub(crate) link_label: String,
}

/// A page that says one thing, without the viewer's frame (errors before a viewer is known).
pub(crate) fn message_page(status: u16, heading: &str, text: &str, link: &str, link_label: &str) -> Page {
    let page = Message {
        chrome: Chrome { title: heading.to_owned(), ..Chrome::default() },
        heading: heading.to_owned(),
        text: text.to_owned(),
        link: link.to_owned(),
        link_label: link_label.to_owned(),
    };
    render(status, &page)
}

/// A page that says one thing, in the viewer's frame.
pub(crate) fn message(ctx: &Ctx<'_>, status: u16, heading: &str, text: &str, link: &str, link_label: &str) -> Page {
    let page = Message {
        chrome: Chrome::new(ctx, heading),
        heading: heading.to_owned(),
        text: text.to_owned(),
        link: link.to_owned(),
        link_label: link_label.to_owned(),
    };
    render(status, &page)
}

/// 404: also what another partner's pages answer, so ids do not leak.
pub(crate) fn not_found(ctx: &Ctx<'_>) -> Page {
    message(ctx, 404, "Not found", "There is no such page, or it is not yours to see.", "/", "Home")
}

/// The store could not be asked.
pub(crate) fn store_down(error: &sandgate_store::StoreError) -> Page {
    tracing::error!(error = %error, "portal: store unavailable");
    message_page(
        503,
        "Briefly unavailable",
        "The service cannot reach its data right now; nothing was changed. Try again in a moment.",
        "/",
        "Home",
    )
}

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct Home {
    pub(crate) chrome: Chrome,
}

#[derive(Template)]
#[template(path = "signup.html")]
pub(crate) struct SignUp {
    pub(crate) chrome: Chrome,
    pub(crate) csrf: String,
    pub(crate) form: Form,
}

#[derive(Template)]
#[template(path = "signin.html")]
pub(crate) struct SignIn {
    pub(crate) chrome: Chrome,
    pub(crate) csrf: String,
    pub(crate) form: Form,
    pub(crate) link_form: Form,
}

#[derive(Template)]
#[template(path = "link.html")]
pub(crate) struct Link {
    pub(crate) chrome: Chrome,
    pub(crate) csrf: String,
    pub(crate) email: String,
    pub(crate) token: String,
    pub(crate) form: Form,
}

#[derive(Template)]
#[template(path = "accept.html")]
pub(crate) struct Accept {
    pub(crate) chrome: Chrome,
    pub(crate) csrf: String,
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) needs_password: bool,
    pub(crate) form: Form,
}

/// One row of an applications table.
#[derive(Debug)]
pub(crate) struct AppRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) status: String,
    pub(crate) review: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub(crate) struct Dashboard {
    pub(crate) chrome: Chrome,
    pub(crate) partner: String,
    pub(crate) role: String,
    pub(crate) can_admin: bool,
    pub(crate) apps: Vec<AppRow>,
    /// (name, email, role, status).
    pub(crate) members: Vec<(String, String, String, String)>,
    pub(crate) form: Form,
}

#[derive(Template)]
#[template(path = "apps.html")]
pub(crate) struct Apps {
    pub(crate) chrome: Chrome,
    pub(crate) apps: Vec<AppRow>,
    pub(crate) can_admin: bool,
}

/// An application type as the form offers it.
#[derive(Debug)]
pub(crate) struct TypeOption {
    pub(crate) name: String,
    pub(crate) scopes: Vec<String>,
}

#[derive(Template)]
#[template(path = "app_form.html")]
pub(crate) struct AppForm {
    pub(crate) chrome: Chrome,
    pub(crate) editing: bool,
    pub(crate) action: String,
    pub(crate) types: Vec<TypeOption>,
    pub(crate) scopes: Vec<String>,
    pub(crate) form: Form,
}

/// An application as its page shows it.
#[derive(Debug)]
pub(crate) struct AppView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) permission: String,
    pub(crate) scopes: String,
    pub(crate) trust: Vec<String>,
    pub(crate) webhooks: Vec<String>,
    pub(crate) entities: String,
    pub(crate) benefits: String,
    pub(crate) description: String,
    pub(crate) status: String,
    pub(crate) review: String,
}

/// A credential row.
#[derive(Debug)]
pub(crate) struct CredentialRow {
    pub(crate) client_id: String,
    pub(crate) environment: String,
    pub(crate) status: String,
    pub(crate) created_at: String,
    pub(crate) grace: String,
    /// The viewer may rotate or revoke it.
    pub(crate) manageable: bool,
}

/// An invitation row.
#[derive(Debug)]
pub(crate) struct InvitationRow {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) status: String,
    pub(crate) expires_at: String,
}

#[derive(Template)]
#[template(path = "app.html")]
pub(crate) struct AppPage {
    pub(crate) chrome: Chrome,
    pub(crate) operator: bool,
    pub(crate) can_admin: bool,
    pub(crate) partner: String,
    pub(crate) app: AppView,
    pub(crate) credentials: Vec<CredentialRow>,
    pub(crate) environments: Vec<String>,
    pub(crate) invitations: Vec<InvitationRow>,
    /// (event, url, status, attempts, next attempt).
    pub(crate) deliveries: Vec<(String, String, String, i64, String)>,
    pub(crate) reasons: Vec<String>,
    /// (heading, text) of the submitted review, for the operator.
    pub(crate) submission: Vec<(String, String)>,
    pub(crate) form: Form,
}

#[derive(Template)]
#[template(path = "secret.html")]
pub(crate) struct Secret {
    pub(crate) chrome: Chrome,
    pub(crate) heading: String,
    pub(crate) app_id: String,
    pub(crate) app_name: String,
    pub(crate) environment: String,
    pub(crate) client_id: String,
    pub(crate) secret: String,
    pub(crate) curl: String,
}

#[derive(Template)]
#[template(path = "activity.html")]
pub(crate) struct Activity {
    pub(crate) chrome: Chrome,
    pub(crate) app_id: String,
    pub(crate) app_name: String,
    pub(crate) event: String,
    pub(crate) actor: String,
    pub(crate) since: String,
    pub(crate) until: String,
    pub(crate) error: String,
    /// (at, event, actor, details).
    pub(crate) events: Vec<(String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "review.html")]
pub(crate) struct ReviewForm {
    pub(crate) chrome: Chrome,
    pub(crate) app_id: String,
    pub(crate) app_name: String,
    /// (field name, label) per scope.
    pub(crate) scopes: Vec<(String, String)>,
    pub(crate) reasons: Vec<String>,
    pub(crate) form: Form,
}

#[derive(Template)]
#[template(path = "operator_signin.html")]
pub(crate) struct OperatorSignIn {
    pub(crate) chrome: Chrome,
    pub(crate) csrf: String,
    pub(crate) form: Form,
}

/// A partner in the operator's list.
#[derive(Debug)]
pub(crate) struct PartnerRow {
    pub(crate) name: String,
    pub(crate) contact: String,
    /// (id, name, review status).
    pub(crate) apps: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "operator.html")]
pub(crate) struct Operator {
    pub(crate) chrome: Chrome,
    /// (app id, app name, partner, type, submitted at).
    pub(crate) queue: Vec<(String, String, String, String, String)>,
    pub(crate) partners: Vec<PartnerRow>,
}

#[derive(Template)]
#[template(path = "mail.html")]
pub(crate) struct MailOutbox {
    pub(crate) chrome: Chrome,
    pub(crate) smtp: bool,
    pub(crate) mails: Vec<sandgate_store::Mail>,
}
