//! A compiled `/regex/` operand, with Heka's shortcuts for plain literals.
//!
//! Heka replaces `^literal` by a prefix test and `literal$` by a suffix
//! test; we also turn `^literal$` into an equality test. "Literal" means
//! text with no regex metacharacter, where a metacharacter escaped with a
//! backslash (`\.`, `\$`, ...) counts as itself. Anything else is compiled
//! with `regex::bytes` (RE2-like syntax, linear-time matching, works on
//! message bytes that are not UTF-8).

use regex::bytes::{Regex, RegexBuilder};

/// Characters with a meaning in a regex outside a character class. Inside a
/// literal they must be escaped; escaped, they stand for themselves.
const META: &str = r"\.+*?()|[]{}^$";

/// A compiled regular expression operand.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    /// `/^literal/`
    Prefix(Box<[u8]>),
    /// `/literal$/`
    Suffix(Box<[u8]>),
    /// `/^literal$/`
    Exact(Box<[u8]>),
    /// Anything else.
    Regex(Regex),
}

impl Pattern {
    /// Compiles a pattern (already unescaped: `\/` is `/`).
    pub(crate) fn compile(src: &str) -> Result<Pattern, regex::Error> {
        if let Some(rest) = src.strip_prefix('^') {
            if let Some(lit) = literal(rest) {
                return Ok(Pattern::Prefix(lit));
            }
            if let Some(lit) = rest.strip_suffix('$').and_then(literal) {
                return Ok(Pattern::Exact(lit));
            }
        }
        if let Some(lit) = src.strip_suffix('$').and_then(literal) {
            return Ok(Pattern::Suffix(lit));
        }
        RegexBuilder::new(src).build().map(Pattern::Regex)
    }

    /// True when the pattern matches anywhere in `s` (per its anchors).
    #[inline]
    pub(crate) fn is_match(&self, s: &[u8]) -> bool {
        match self {
            Pattern::Prefix(p) => s.starts_with(p),
            Pattern::Suffix(p) => s.ends_with(p),
            Pattern::Exact(p) => s == &p[..],
            Pattern::Regex(re) => re.is_match(s),
        }
    }
}

/// The text `src` stands for when it contains no unescaped metacharacter.
fn literal(src: &str) -> Option<Box<[u8]>> {
    let mut out = String::with_capacity(src.len());
    let mut chars = src.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let escaped = chars.next()?;
            if !META.contains(escaped) {
                return None;
            }
            out.push(escaped);
        } else if META.contains(c) {
            return None;
        } else {
            out.push(c);
        }
    }
    Some(out.into_bytes().into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind(p: &Pattern) -> &'static str {
        match p {
            Pattern::Prefix(_) => "prefix",
            Pattern::Suffix(_) => "suffix",
            Pattern::Exact(_) => "exact",
            Pattern::Regex(_) => "regex",
        }
    }

    #[test]
    fn literals_take_the_shortcuts() {
        let cases = [
            ("^TE", "prefix"),
            ("ST$", "suffix"),
            ("^TEST$", "exact"),
            (r"^10\.0\.", "prefix"),
            (r"^/var/log", "prefix"),
            (r"a\$$", "suffix"),
            ("^", "prefix"),
            ("$", "suffix"),
            ("^$", "exact"),
            ("TEST", "regex"),
            ("^T.ST", "regex"),
            (r"^a\d", "regex"),
            ("^a|b", "regex"),
            (r"abc\$", "regex"),
            ("^(?i)te", "regex"),
            ("^^a", "regex"),
        ];
        for (src, want) in cases {
            let p = Pattern::compile(src).unwrap();
            assert_eq!(kind(&p), want, "{src}");
        }
    }

    #[test]
    fn shortcuts_agree_with_the_regex_engine() {
        let patterns = [
            "^TE",
            "ST$",
            "^TEST$",
            r"^10\.0\.",
            r"a\$$",
            "^",
            "$",
            "^$",
            r"^a\\",
            r"\\$",
            "^é",
            "é$",
            r"^\(x\)",
            r"\[\]$",
        ];
        let subjects: [&[u8]; 12] = [
            b"",
            b"TEST",
            b"TE",
            b"test",
            b"10.0.0.1",
            b"10x0x",
            b"a$",
            b"xa$",
            b"a\\b",
            b"\xc3\xa9t\xc3\xa9",
            b"(x)[]",
            b"\xff\xfeST",
        ];
        for src in patterns {
            let fast = Pattern::compile(src).unwrap();
            assert_ne!(kind(&fast), "regex", "{src}");
            let full = Regex::new(src).unwrap();
            for s in subjects {
                assert_eq!(fast.is_match(s), full.is_match(s), "{src} on {s:?}");
            }
        }
    }

    #[test]
    fn invalid_regex_is_an_error() {
        assert!(Pattern::compile(r"\ytest").is_err());
        assert!(Pattern::compile("(").is_err());
        assert!(Pattern::compile("^a(").is_err());
    }

    /// Escapes every metacharacter so the regex stands for `lit` itself.
    fn escape(lit: &str) -> String {
        let mut s = String::new();
        for c in lit.chars() {
            if META.contains(c) {
                s.push('\\');
            }
            s.push(c);
        }
        s
    }

    proptest! {
        #[test]
        fn anchored_literals_match_like_the_regex(
            lit in "[a-c.$^\\\\()é ]{0,4}",
            subject in "[a-c.$^\\\\()é ]{0,8}",
            anchors in 0u8..3,
        ) {
            let body = escape(&lit);
            let src = match anchors {
                0 => format!("^{body}"),
                1 => format!("{body}$"),
                _ => format!("^{body}$"),
            };
            let fast = Pattern::compile(&src).unwrap();
            prop_assert_ne!(kind(&fast), "regex");
            let full = Regex::new(&src).unwrap();
            for s in [subject.clone(), format!("{lit}{subject}"), format!("{subject}{lit}"), lit.clone()] {
                prop_assert_eq!(fast.is_match(s.as_bytes()), full.is_match(s.as_bytes()), "{} on {:?}", src, s);
            }
        }

        #[test]
        fn any_pattern_agrees_or_fails_like_the_regex(src in "[a-c^$\\\\.*]{0,6}", subject in "[a-c^$\\\\.]{0,6}") {
            match (Pattern::compile(&src), Regex::new(&src)) {
                (Ok(fast), Ok(full)) => prop_assert_eq!(fast.is_match(subject.as_bytes()), full.is_match(subject.as_bytes()), "{}", src),
                (Err(_), Err(_)) => {}
                (a, b) => prop_assert!(false, "{src}: ours {:?}, regex {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }
}
