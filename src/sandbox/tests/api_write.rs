//! `write_message` in decoders (in place) and encoders (copy-on-write).

use super::{start, test_message, test_pack};
use crate::message::{FieldValue, Message, PackMut, decode};
use crate::sandbox::{DecodeOutcome, EncodeOutcome, SandboxKind};

/// Runs `body` in a decoder and returns the forwarded message.
fn decoded(body: &str) -> Message {
    let (mut sb, _h, _s) =
        start(SandboxKind::Decoder, &format!("function process_message()\n{body}\nreturn 0\nend"));
    let mut out = Vec::new();
    let r = sb.decode(PackMut::from_message(test_message()), &mut out);
    assert_eq!(r, Ok(DecodeOutcome::Forwarded), "{body}");
    let p = out.pop().expect("forwarded pack");
    let bytes = p.trusted_bytes().expect("re-encoded").to_vec();
    assert_eq!(decode(&bytes).unwrap(), p.message, "bytes match the changed message");
    p.message.clone()
}

#[test]
fn headers() {
    let m = decoded(
        r#"write_message("Type", "new_type")
           write_message("Logger", "new_logger")
           write_message("Payload", "new payload")
           write_message("EnvVersion", "9")
           write_message("Hostname", "new_host")
           write_message("Uuid", "7a7b8c8d-0000-4000-8000-000000000001")
           write_message("Severity", 2)
           write_message("Pid", "77")
           write_message("Timestamp", 1234567890123456789)"#,
    );
    assert_eq!(m.msg_type, b"new_type");
    assert_eq!(m.logger, b"new_logger");
    assert_eq!(m.payload, b"new payload");
    assert_eq!(m.env_version, b"9");
    assert_eq!(m.hostname, b"new_host");
    assert_eq!(m.uuid_string(), "7a7b8c8d-0000-4000-8000-000000000001");
    assert_eq!(m.severity, Some(2));
    assert_eq!(m.pid, Some(77));
    assert_eq!(m.timestamp, 1_234_567_890_123_456_789);
    assert_eq!(
        decoded(r#"write_message("Timestamp", "2014-02-10T16:46:41Z")"#).timestamp,
        1_392_050_801_000_000_000
    );
    assert_eq!(
        decoded(r#"write_message("Timestamp", "2014-02-10 16:46:41")"#).timestamp,
        1_392_050_801_000_000_000
    );
    assert_eq!(
        decoded(r#"write_message("Timestamp", "1392050801000000001")"#).timestamp,
        1_392_050_801_000_000_001
    );
    assert_eq!(decoded(r#"write_message("Timestamp", 1.5e9)"#).timestamp, 1_500_000_000);
    assert!(decoded(r#"write_message("Payload", nil)"#).payload.is_empty());
}

#[test]
fn fields_set_append_and_delete() {
    let m = decoded(
        r#"write_message("Fields[foo]", "changed")
           write_message("Fields[foo]", "third", "", 2)
           write_message("Fields[new_num]", 5, "ms")
           write_message("Fields[flag]", false)
           write_message("Fields[int]", 7, "", 0, 2)
           write_message("Fields[double]", 1.25, "x")
           write_message("Fields[bytes]", "raw", "", 0, 0)
           write_message("Fields[bool]", nil)
           write_message("Fields[foo]", nil, "", 1)"#,
    );
    let names: Vec<&str> = m.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["foo", "number", "bytes", "int", "double", "empty_bytes", "foo", "new_num", "flag"],
        "bool deleted, second foo deleted, third foo appended"
    );
    assert_eq!(m.field_value("foo", 0, 0), Some(crate::message::Scalar::String(b"changed")));
    assert_eq!(m.field_value("foo", 1, 0), Some(crate::message::Scalar::String(b"third")));
    let num = m.field("new_num").unwrap();
    assert_eq!(
        (num.value.clone(), num.representation.as_str()),
        (FieldValue::Double(vec![5.0]), "ms")
    );
    assert_eq!(m.field("flag").unwrap().value, FieldValue::Bool(vec![false]));
    assert_eq!(m.field("int").unwrap().value, FieldValue::Integer(vec![999, 1024, 7]));
    assert_eq!(m.field("double").unwrap().representation, "x");
    assert_eq!(m.field("bytes").unwrap().value, FieldValue::Bytes(vec![b"raw".to_vec()]));
    // Deleting one array element only when the index is given.
    let m = decoded(r#"write_message("Fields[int]", nil, "", 0, 0)"#);
    assert_eq!(m.field("int").unwrap().value, FieldValue::Integer(vec![1024]));
}

#[test]
fn errors() {
    for body in [
        r#"write_message("Type")"#,
        r#"write_message("Type", 1, "", 0, 0, 0)"#,
        r#"write_message("Type", {})"#,
        r#"write_message("Uuid", "not-a-uuid")"#,
        r#"write_message("Timestamp", "yesterday")"#,
        r#"write_message("Severity", "high")"#,
        r#"write_message("Fields[foo]", 1)"#,
        r#"write_message("Fields[bool]", "x")"#,
        r#"write_message("Fields[foo]", "x", "", 3)"#,
        r#"write_message("Fields[int]", 1, "", 0, 5)"#,
        r#"write_message("Fields[new]", "x", "", 0, 1)"#,
        r#"write_message("Fields[missing]", nil)"#,
        r#"write_message("Fields[x]", function() end)"#,
        r#"write_message("Unknown", "x")"#,
    ] {
        let (mut sb, _h, _s) = start(
            SandboxKind::Decoder,
            &format!("function process_message()\n{body}\nreturn 0\nend"),
        );
        let err = sb.decode(PackMut::from_message(test_message()), &mut Vec::new()).unwrap_err();
        assert!(
            err.message.contains("write_message() failed")
                || err.message.contains("write_message() incorrect number"),
            "{body}: {}",
            err.message
        );
    }
}

#[test]
fn encoder_writes_copy_on_write() {
    let (mut sb, _h, _s) = start(
        SandboxKind::Encoder,
        r#"function process_message() write_message("Payload", "encoded " .. read_message("Payload")) return 0 end"#,
    );
    let pack = test_pack();
    let mut out = Vec::new();
    assert_eq!(sb.encode(&pack, &mut out), Ok(EncodeOutcome::Output));
    let m = decode(&out).unwrap();
    assert_eq!(m.payload, b"encoded Test Payload");
    assert_eq!(pack.message.payload, b"Test Payload", "the routed pack is untouched");
    assert_eq!(m.fields, pack.message.fields);
}
