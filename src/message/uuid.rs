//! Type-4 UUIDs for new messages and their text form.

/// 16 random bytes with the version-4 and RFC 4122 variant bits set.
pub fn new_v4() -> [u8; 16] {
    *::uuid::Uuid::new_v4().as_bytes()
}

/// Lower-case `8-4-4-4-12` text, or "" unless `bytes` is 16 long (Heka).
pub fn format(bytes: &[u8]) -> String {
    match ::uuid::Uuid::from_slice(bytes) {
        Ok(u) => u.hyphenated().to_string(),
        Err(_) => String::new(),
    }
}

/// Parses the RFC 4122 text form into 16 bytes.
pub fn parse(text: &str) -> Option<[u8; 16]> {
    ::uuid::Uuid::parse_str(text).ok().map(|u| *u.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_round_trip() {
        let b = new_v4();
        let s = format(&b);
        assert_eq!(s.len(), 36);
        assert_eq!(s, s.to_lowercase());
        assert_eq!(parse(&s), Some(b));
        assert_eq!(format(&[1, 2, 3]), "");
        assert_ne!(new_v4(), new_v4());
    }
}
