//! Fuzzes the matcher compiler: any UTF-8 text either fails to compile with
//! an error pointing inside the text, or compiles and evaluates against a
//! fixed message (the conformance tests' message, with a payload that is
//! not UTF-8) without panicking.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sandpiper::matcher::{Matcher, test_message};
use sandpiper::message::Message;

fn message() -> &'static Message {
    static MSG: OnceLock<Message> = OnceLock::new();
    MSG.get_or_init(|| {
        let mut msg = test_message();
        msg.payload.extend_from_slice(b" \xff");
        msg
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(expr) = std::str::from_utf8(data) else {
        return;
    };
    match Matcher::new(expr) {
        Ok(matcher) => {
            assert_eq!(matcher.as_str(), expr);
            let matched = matcher.matches(message());
            if matcher.is_match_all() {
                assert!(matched, "a match-all matcher must match");
            }
        }
        Err(err) => assert!(err.offset() <= expr.len(), "offset outside {expr:?}: {err}"),
    }
});
