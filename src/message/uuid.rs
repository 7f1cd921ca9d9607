//! Type-4 UUIDs for new messages and their text form.

/// 16 random bytes with the version-4 and RFC 4122 variant bits set.
pub fn new_v4() -> [u8; 16] {
    *::uuid::Uuid::new_v4().as_bytes()
}

/// Length of the hyphenated text form.
pub const TEXT_LEN: usize = 36;

/// Lower-case `8-4-4-4-12` text, or "" unless `bytes` is 16 long (Heka).
pub fn format(bytes: &[u8]) -> String {
    format_into(bytes, &mut [0; TEXT_LEN]).to_owned()
}

/// [`format`] into a stack buffer, for callers that must not allocate
/// (the matcher tests `Uuid` for every message).
#[inline]
pub fn format_into<'b>(bytes: &[u8], buf: &'b mut [u8; TEXT_LEN]) -> &'b str {
    match ::uuid::Uuid::from_slice(bytes) {
        Ok(u) => u.hyphenated().encode_lower(buf),
        Err(_) => "",
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
        let mut buf = [0; TEXT_LEN];
        assert_eq!(format_into(&b, &mut buf), s);
        assert_eq!(format_into(&[1, 2, 3], &mut buf), "");
        assert_ne!(new_v4(), new_v4());
    }
}
