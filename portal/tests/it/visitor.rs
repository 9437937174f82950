//! A visitor of the portal: keeps its cookies, reads each page's anti-forgery token, never follows
//! redirects by itself (a test looks at each answer).

use sandgate_testkit::TestSandgate;

/// One page as the visitor got it.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) location: String,
    pub(crate) headers: reqwest::header::HeaderMap,
}

/// A browser-like client of one portal.
pub(crate) struct Visitor {
    base: String,
    client: reqwest::blocking::Client,
    pub(crate) cookies: Vec<(String, String)>,
    /// The anti-forgery token of the last page that had a form.
    pub(crate) csrf: String,
}

impl Visitor {
    pub(crate) fn new(sandgate: &TestSandgate) -> Visitor {
        let client =
            sandgate_testkit::http_builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Visitor { base: sandgate.portal.clone(), client, cookies: Vec::new(), csrf: String::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, response: reqwest::blocking::Response) -> Answer {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(k, _)| k != name);
                if !value.is_empty() && !text.contains("Max-Age=0") {
                    self.cookies.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let body = response.text().unwrap_or_default();
        if let Some(start) = body.find("name=\"csrf\" value=\"") {
            let rest = &body[start + 19..];
            self.csrf = rest[..rest.find('"').unwrap_or(0)].to_owned();
        }
        Answer { status, body, location, headers }
    }

    /// `GET path`.
    pub(crate) fn get(&mut self, path: &str) -> Answer {
        let response =
            self.client.get(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).send().expect("GET");
        self.keep(response)
    }

    /// `POST path` with a form, the page's anti-forgery token added, as the browser sends it from
    /// the portal's own page (same-origin).
    pub(crate) fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let csrf = self.csrf.clone();
        self.post_with(path, form, &[("sec-fetch-site", "same-origin")], Some(&csrf))
    }

    /// `POST path` with exactly these extra headers and this token (`None`: no token).
    pub(crate) fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
        csrf: Option<&str>,
    ) -> Answer {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        if let Some(csrf) = csrf {
            fields.push(("csrf", csrf));
        }
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().expect("POST");
        self.keep(response)
    }

    /// Signs up a new partner account; the visitor is then its signed-in owner.
    pub(crate) fn sign_up(sandgate: &TestSandgate, organisation: &str, email: &str) -> Visitor {
        let mut visitor = Visitor::new(sandgate);
        visitor.get("/signup");
        let answer = visitor.post(
            "/signup",
            &[
                ("name", organisation),
                ("owner.name", "Owner"),
                ("owner.email", email),
                ("password", PASSWORD),
                ("terms", "accepted"),
            ],
        );
        assert_eq!(answer.status, 303, "sign-up: {}", answer.body);
        visitor.get("/");
        visitor
    }

    /// Creates an application (as an owner); returns its id.
    pub(crate) fn create_app(&mut self, name: &str, description: &str) -> String {
        self.get("/applications/new");
        let answer = self.post(
            "/applications/new",
            &[
                ("name", name),
                ("type", "generic"),
                ("permission", "read_write"),
                ("description", description),
                ("scopes", "merchant"),
                ("trust_list", "127.0.0.1/32"),
            ],
        );
        assert_eq!(answer.status, 303, "create: {}", answer.body);
        let id = answer.location.trim_start_matches("/applications/").split('?').next().unwrap_or_default().to_owned();
        self.get(&format!("/applications/{id}"));
        id
    }
}

/// The password every test account uses.
pub(crate) const PASSWORD: &str = "correct horse battery staple";
