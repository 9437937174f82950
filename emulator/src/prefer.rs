//! The `Prefer` request header (RFC 7240) a client uses to pick an outcome, as Prism does:
//! `code=404` answers with any documented response, `example=name` with a named example of it,
//! `dynamic=true|false` with fabricated data or the spec's example. Unknown preferences, and
//! headers that are not ASCII, are ignored, as the RFC asks; the first instance of a preference
//! counts; a malformed known one is an error the client should see.

use http::HeaderMap;

/// What the client prefers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Preference {
    /// The status to answer with (200–599).
    pub code: Option<u16>,
    /// The named example to answer with.
    pub example: Option<String>,
    /// `true`: fabricate even when an example exists; `false`: the example when there is one.
    pub dynamic: Option<bool>,
}

impl Preference {
    /// Reads every `Prefer` header; `Err` names the malformed preference.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Preference, String> {
        let mut preference = Preference::default();
        for header in headers.get_all("prefer") {
            let Ok(text) = header.to_str() else { continue };
            for (key, value) in tokens(text) {
                match key.to_ascii_lowercase().as_str() {
                    "code" if preference.code.is_none() => {
                        let code = value.parse::<u16>().ok().filter(|c| (200..600).contains(c));
                        preference.code = Some(
                            code.ok_or_else(|| format!("Prefer: code={value}: not a final HTTP status (200-599)"))?,
                        );
                    }
                    "example" if preference.example.is_none() => {
                        if value.is_empty() {
                            return Err("Prefer: example= needs the name of an example".to_owned());
                        }
                        preference.example = Some(value);
                    }
                    "dynamic" if preference.dynamic.is_none() => {
                        preference.dynamic = Some(match value.as_str() {
                            "true" => true,
                            "false" => false,
                            other => return Err(format!("Prefer: dynamic={other}: use true or false")),
                        })
                    }
                    _ => {}
                }
            }
        }
        Ok(preference)
    }
}

/// `key=value` pairs of a header, split on `,` and `;` outside double quotes; quoted values are
/// unquoted (with `\` escapes).
fn tokens(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut key, mut value, mut in_value, mut quoted, mut escaped) =
        (String::new(), String::new(), false, false, false);
    let mut flush = |key: &mut String, value: &mut String| {
        if !key.trim().is_empty() {
            out.push((key.trim().to_owned(), value.trim().to_owned()));
        }
        key.clear();
        value.clear();
    };
    for c in text.chars() {
        match c {
            _ if escaped => {
                value.push(c);
                escaped = false;
            }
            '\\' if quoted => escaped = true,
            '"' if in_value => quoted = !quoted,
            ',' | ';' if !quoted => {
                flush(&mut key, &mut value);
                in_value = false;
            }
            '=' if !in_value => in_value = true,
            _ if in_value => value.push(c),
            _ => key.push(c),
        }
    }
    flush(&mut key, &mut value);
    out
}

/// A `Preference-Applied` value for what was actually done.
#[derive(Debug, Default)]
pub struct Applied {
    parts: Vec<String>,
}

impl Applied {
    /// Records `key=value`, quoting a value that is not a plain token.
    pub fn push(&mut self, key: &str, value: &str) {
        let plain =
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if plain {
            self.parts.push(format!("{key}={value}"));
        } else {
            self.parts.push(format!("{key}=\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")));
        }
    }

    /// The header value, when something was applied.
    pub fn header(self) -> Option<String> {
        (!self.parts.is_empty()).then(|| self.parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefer(values: &[&str]) -> Result<Preference, String> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("prefer", value.parse().expect("header"));
        }
        Preference::from_headers(&headers)
    }

    #[test]
    fn reads_code_example_and_dynamic_across_headers_and_separators() {
        let p = prefer(&["code=409; example=\"wrong_inputs\"", "dynamic=true, respond-async"]).expect("valid");
        assert_eq!(p, Preference { code: Some(409), example: Some("wrong_inputs".into()), dynamic: Some(true) });
        assert_eq!(prefer(&[]).expect("none"), Preference::default());
    }

    #[test]
    fn quoted_values_keep_their_separators_and_the_first_instance_wins() {
        let p = prefer(&["example=\"a,b;code=500\"", "code=404", "code=500, code=abc"]).expect("valid");
        assert_eq!(p.example.as_deref(), Some("a,b;code=500"));
        assert_eq!(p.code, Some(404));
        let mut applied = Applied::default();
        applied.push("example", "a,b");
        applied.push("code", "404");
        assert_eq!(applied.header().as_deref(), Some("example=\"a,b\", code=404"));
    }

    #[test]
    fn malformed_known_preferences_are_errors_and_unknown_ones_ignored() {
        for bad in ["code=abc", "code=101", "code=600", "example=", "dynamic=yes"] {
            assert!(prefer(&[bad]).is_err(), "{bad}");
        }
        assert!(prefer(&["handling=strict"]).is_ok(), "unknown preferences are ignored");
        let mut headers = HeaderMap::new();
        headers.insert("prefer", http::HeaderValue::from_bytes(b"foo=\"\xe9\"").expect("obs-text"));
        assert_eq!(Preference::from_headers(&headers), Ok(Preference::default()), "non-ASCII headers are ignored");
    }
}
