//! The request id: propagated from `x-request-id` when it is a sane token, else a new UUID v4.

/// The header carrying the request id, in and out.
pub const HEADER: &str = "x-request-id";

/// The id to use for a request whose `x-request-id` header is `incoming`.
pub fn assign(incoming: Option<&[u8]>) -> String {
    match incoming {
        Some(bytes) if is_sane(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => new_id(),
    }
}

/// A new UUID v4, written straight into a string of its size (`to_string` goes through the
/// formatting machinery and may grow the string on the way).
pub fn new_id() -> String {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf).to_owned()
}

/// 1–128 characters of `[A-Za-z0-9._:-]`, so an id can never inject into logs or headers.
fn is_sane(bytes: &[u8]) -> bool {
    (1..=128).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assign_keeps_sane_ids_and_replaces_others() {
        assert_eq!(assign(Some(b"abc-123")), "abc-123");
        assert_eq!(assign(None).len(), 36);
        assert_eq!(assign(Some(b"evil\r\nx: y")).len(), 36);
        assert_eq!(assign(Some(&[b'a'; 200])).len(), 36);
    }
}
