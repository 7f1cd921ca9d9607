//! `%ENV[NAME]` interpolation: a textual pass over a raw config file before
//! TOML parsing, as Heka did, so it also works in section names.

/// Replaces every `%ENV[NAME]` in `text` by `lookup(NAME)`, or by nothing
/// when the variable is unset. A `%` not followed by `ENV[` is kept as is.
///
/// Errors (Heka's two cases) carry the 1-based line of the `%ENV[`:
/// no `]` anywhere after it, or a name containing a space, tab, CR, LF or a
/// nested `%ENV[`. Like Heka, the pass also covers comments.
pub(crate) fn substitute(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    const OPEN: &str = "%ENV[";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let line = line_of(text, text.len() - rest.len() + start);
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find(']') else {
            return Err(format!("line {line}: missing closing delimiter ']' after %ENV["));
        };
        let name = &after[..end];
        if name.contains([' ', '\t', '\r', '\n']) || name.contains(OPEN) {
            let shown: String = name.lines().next().unwrap_or_default().chars().take(40).collect();
            return Err(format!(
                "line {line}: invalid characters in environment variable name {shown:?} \
                 (%ENV[NAME] must close on the same line; no spaces or tabs)"
            ));
        }
        out.push_str(&lookup(name).unwrap_or_default());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// 1-based line number of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "LOG_ENCODER" => Some("PayloadEncoder".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn replaces_variables_in_names_and_values() {
        let text = "[%ENV[LOG_ENCODER]]\n[LogOutput]\nencoder = \"%ENV[LOG_ENCODER]\"\n";
        assert_eq!(
            substitute(text, &env).unwrap(),
            "[PayloadEncoder]\n[LogOutput]\nencoder = \"PayloadEncoder\"\n"
        );
    }

    #[test]
    fn unset_and_empty_variables_become_nothing() {
        assert_eq!(substitute("a%ENV[NOPE]b%ENV[EMPTY]c", &env).unwrap(), "abc");
    }

    #[test]
    fn other_percent_signs_are_literal() {
        let text = "x = \"100% %EN %ENV %env[A] 50%\"";
        assert_eq!(substitute(text, &env).unwrap(), text);
    }

    #[test]
    fn missing_closing_delimiter_is_an_error_with_line() {
        let text = "[LogOutput]\nencoder = \"%ENV[this_has_no_ending\"\n\n";
        let err = substitute(text, &env).unwrap_err();
        assert!(err.starts_with("line 2: missing closing delimiter"), "{err}");
    }

    #[test]
    fn invalid_characters_are_an_error() {
        for text in [
            "encoder = \"%ENV[ spaces arent allowed]\"",
            "encoder = \"%ENV[TAB\tBED]\"",
            "a = \"%ENV[OPEN\"\n[Next]",
            "a = \"%ENV[A%ENV[B]]\"",
        ] {
            let err = substitute(text, &env).unwrap_err();
            assert!(err.contains("invalid characters in environment variable name"), "{err}");
        }
    }

    #[test]
    fn line_of_counts_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }
}
