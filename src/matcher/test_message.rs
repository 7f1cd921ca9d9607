//! Heka's matcher test message, in the library so that the conformance
//! tests, the matcher benchmark and the matcher fuzz target all evaluate
//! against the same message.

use crate::message::{Field, FieldValue, Message};

/// Heka's test message (`getTestMessage` plus the matcher test's fields).
/// Support for tests, benchmarks and fuzzing; not part of the API.
#[doc(hidden)]
pub fn test_message() -> Message {
    let mut msg = Message::new();
    msg.msg_type = b"TEST".to_vec();
    msg.logger = b"GoSpec".to_vec();
    msg.severity = Some(6);
    msg.payload = b"Test Payload".to_vec();
    msg.env_version = b"0.8".to_vec();
    msg.pid = Some(4242);
    msg.hostname = b"sandpiper-test-host".to_vec();
    msg.add_field(Field::string("foo", "bar"));
    msg.add_field(Field::integer("number", 64));
    msg.add_field(Field::new("bytes", FieldValue::Bytes(vec![b"data".to_vec()])));
    msg.add_field(Field::new("int", FieldValue::Integer(vec![999, 1024])));
    msg.add_field(Field::double("double", 99.9));
    msg.add_field(Field::bool("bool", true));
    msg.add_field(Field::string("foo", "alternate"));
    msg.add_field(Field::string("Payload", "name=test;type=web;"));
    msg.add_field(
        Field::string("Timestamp", "Mon Jan 02 15:04:05 -0700 2006")
            .with_representation("date-time"),
    );
    msg.add_field(Field::integer("zero", 0));
    msg.add_field(Field::string("string", "43"));
    msg
}
