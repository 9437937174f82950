//! The portal's HTTP edges: reading a request (form body capped, cookies), and building pages,
//! redirects and downloads with the security headers every answer carries.

use http::Response;
use pingora::protocols::http::ServerSession;

/// Largest form the portal reads.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// Every answer's security headers: no inline script or style, no framing, no referrer, no
/// sniffing, nothing cached.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cache-control", "no-store"),
];

/// One portal request, read in full.
#[derive(Debug, Default, Clone)]
pub struct WebRequest {
    /// `GET`, `POST`.
    pub method: http::Method,
    /// The path.
    pub path: String,
    /// Query pairs, decoded.
    pub query: Vec<(String, String)>,
    /// Form pairs (an `application/x-www-form-urlencoded` body), decoded.
    pub form: Vec<(String, String)>,
    /// Cookies sent.
    pub cookies: Vec<(String, String)>,
    /// `Origin`, when sent.
    pub origin: Option<String>,
    /// `Sec-Fetch-Site`, when sent.
    pub fetch_site: Option<String>,
    /// `Host`.
    pub host: String,
    /// The client's address (for the sign-in throttle and the sandbox's trust list).
    pub client_ip: Option<std::net::IpAddr>,
}

impl WebRequest {
    /// A form field (trimmed; `""` when absent).
    pub fn field(&self, name: &str) -> &str {
        self.form.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
    }

    /// A form field as sent, untrimmed (passwords).
    pub fn raw_field(&self, name: &str) -> &str {
        self.form.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every value of a repeated form field (checkboxes).
    pub fn fields(&self, name: &str) -> Vec<String> {
        self.form.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).collect()
    }

    /// A query parameter (`""` when absent).
    pub fn param(&self, name: &str) -> &str {
        self.query.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// A cookie's value.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The body is over [`MAX_FORM_BYTES`].
    TooLarge,
    /// The connection failed mid-body.
    Broken,
}

/// Reads the head and the form body.
pub async fn read(session: &mut ServerSession) -> Result<WebRequest, ReadError> {
    let head = session.req_header();
    let header = |name: &str| head.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if header("content-length").and_then(|v| v.trim().parse::<usize>().ok()).is_some_and(|n| n > MAX_FORM_BYTES) {
        return Err(ReadError::TooLarge);
    }
    let cookies = head
        .headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut request = WebRequest {
        method: head.method.clone(),
        path: head.uri.path().to_owned(),
        query: form_urlencoded::parse(head.uri.query().unwrap_or_default().as_bytes()).into_owned().collect(),
        form: Vec::new(),
        cookies,
        origin: header("origin"),
        fetch_site: header("sec-fetch-site"),
        host: header("host").unwrap_or_default(),
        client_ip: session.client_addr().and_then(|a| a.as_inet()).map(|a| a.ip()),
    };
    let mut body = Vec::new();
    while let Some(chunk) = session.read_request_body().await.map_err(|_| ReadError::Broken)? {
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    request.form = form_urlencoded::parse(&body).into_owned().collect();
    Ok(request)
}

/// An answer before its security headers.
#[derive(Debug)]
pub struct Page {
    /// Status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
    /// Extra headers (`Location`, `Set-Cookie`, `Content-Disposition`).
    pub headers: Vec<(&'static str, String)>,
}

impl Page {
    /// An HTML page.
    pub fn html(status: u16, body: String) -> Page {
        Page { status, content_type: "text/html; charset=utf-8", body: body.into_bytes(), headers: Vec::new() }
    }

    /// `303 See Other` to `location` (after a form: the browser then GETs it).
    pub fn redirect(location: &str) -> Page {
        let mut page = Page::html(303, String::new());
        page.headers.push(("location", location.to_owned()));
        page
    }

    /// A download.
    pub fn download(content_type: &'static str, file_name: &str, body: Vec<u8>) -> Page {
        let mut page = Page { status: 200, content_type, body, headers: Vec::new() };
        page.headers.push(("content-disposition", format!("attachment; filename=\"{file_name}\"")));
        page
    }

    /// Adds a `Set-Cookie`.
    pub fn with_cookie(mut self, cookie: String) -> Page {
        self.headers.push(("set-cookie", cookie));
        self
    }

    /// The response, with the security headers.
    pub fn into_response(self) -> Response<Vec<u8>> {
        let mut builder = Response::builder()
            .status(self.status)
            .header("content-type", self.content_type)
            .header("content-length", self.body.len());
        for (name, value) in SECURITY_HEADERS {
            builder = builder.header(*name, *value);
        }
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        builder.body(self.body).unwrap_or_else(|_| Response::new(Vec::new()))
    }
}

/// A cookie for the whole portal: HttpOnly, SameSite=Strict, `Secure` when the portal is served
/// over HTTPS. `max_age` 0 deletes it.
pub fn cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// What a path segment escapes: all but the unreserved characters (RFC 3986).
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `text` percent-encoded for one path segment.
pub fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}
