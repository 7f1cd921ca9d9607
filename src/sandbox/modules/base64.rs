//! Standard base64 (RFC 4648, with padding) for the binary state of the
//! bloom filter and HyperLogLog in preservation scripts: plain text that is
//! safe inside a Lua string literal.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Appends the base64 text of `data` to `out`.
pub fn encode(data: &[u8], out: &mut String) {
    STANDARD.encode_string(data, out);
}

/// Decodes base64 text; `None` if it is malformed.
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors_and_round_trip() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut s = String::new();
            encode(plain.as_bytes(), &mut s);
            assert_eq!(s, coded);
            assert_eq!(decode(coded.as_bytes()).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        let mut s = String::new();
        encode(&all, &mut s);
        assert_eq!(decode(s.as_bytes()).unwrap(), all);
        assert!(decode(b"Zm9").is_none());
        assert!(decode(b"Zg==Zg==").is_none());
        assert!(decode(b"Z!==").is_none());
    }
}
