//! Fuzzes the matcher compiler: any UTF-8 text either fails to compile with
//! an error pointing inside the text, or compiles and evaluates against a
//! fixed message without panicking.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sandpiper::matcher::Matcher;
use sandpiper::message::{Field, FieldValue, Message};

fn message() -> &'static Message {
    static MSG: OnceLock<Message> = OnceLock::new();
    MSG.get_or_init(|| {
        let mut msg = Message::new();
        msg.msg_type = b"TEST".to_vec();
        msg.logger = b"GoSpec".to_vec();
        msg.severity = Some(6);
        msg.payload = b"Test Payload \xff".to_vec();
        msg.env_version = b"0.8".to_vec();
        msg.pid = Some(1234);
        msg.hostname = b"fuzz-host".to_vec();
        msg.add_field(Field::string("foo", "bar"));
        msg.add_field(Field::integer("number", 64));
        msg.add_field(Field::new("bytes", FieldValue::Bytes(vec![b"data".to_vec()])));
        msg.add_field(Field::new("int", FieldValue::Integer(vec![999, 1024])));
        msg.add_field(Field::double("double", 99.9));
        msg.add_field(Field::bool("bool", true));
        msg.add_field(Field::string("foo", "alternate"));
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
