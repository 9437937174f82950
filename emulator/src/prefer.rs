//! The `Prefer` request header (RFC 7240) a client uses to pick an outcome, as Prism does:
//! `code=404` answers with any documented response, `example=name` with a named example of it,
//! `dynamic=true|false` with fabricated data or the spec's example. Unknown preferences are
//! ignored, as the RFC asks; a malformed known one is an error the client should see.

use http::HeaderMap;

/// What the client prefers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Preference {
    /// The status to answer with.
    pub code: Option<u16>,
    /// The named example to answer with.
    pub example: Option<String>,
    /// `true`: fabricate even when an example exists; `false`: the example when there is one.
    pub dynamic: Option<bool>,
}

impl Preference {
    /// Reads every `Prefer` header; `Err` names the malformed preference.
    pub fn from_headers(headers: &HeaderMap) -> Result<Preference, String> {
        let mut preference = Preference::default();
        for header in headers.get_all("prefer") {
            let text = header.to_str().map_err(|_| "the Prefer header is not ASCII".to_owned())?;
            for token in text.split([',', ';']).map(str::trim).filter(|t| !t.is_empty()) {
                let (key, value) = token.split_once('=').unwrap_or((token, ""));
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "code" => {
                        let code = value.parse::<u16>().ok().filter(|c| (100..600).contains(c));
                        preference.code =
                            Some(code.ok_or_else(|| format!("Prefer: code={value}: not an HTTP status"))?);
                    }
                    "example" if !value.is_empty() => preference.example = Some(value.to_owned()),
                    "example" => return Err("Prefer: example= needs the name of an example".to_owned()),
                    "dynamic" => {
                        preference.dynamic = Some(match value {
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

    /// The `Preference-Applied` value for what was honoured (`None` when nothing was asked).
    pub fn applied(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(code) = self.code {
            parts.push(format!("code={code}"));
        }
        if let Some(example) = &self.example {
            parts.push(format!("example={example}"));
        }
        if let Some(dynamic) = self.dynamic {
            parts.push(format!("dynamic={dynamic}"));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
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
        assert_eq!(p.applied().as_deref(), Some("code=409, example=wrong_inputs, dynamic=true"));
        assert_eq!(prefer(&[]).expect("none"), Preference::default());
    }

    #[test]
    fn malformed_known_preferences_are_errors() {
        for bad in ["code=abc", "code=99", "code=600", "example=", "dynamic=yes"] {
            assert!(prefer(&[bad]).is_err(), "{bad}");
        }
        assert!(prefer(&["handling=strict"]).is_ok(), "unknown preferences are ignored");
    }
}
