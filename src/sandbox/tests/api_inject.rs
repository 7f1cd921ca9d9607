//! `inject_message`, `inject_payload` and `add_to_payload`.

use super::{config, script, start, start_with, test_message, test_pack};
use crate::message::{Field, FieldValue, PackMut, decode, encode};
use crate::sandbox::extensions::test_support;
use crate::sandbox::{ProcessStatus, SandboxKind};

/// Runs `body` in a filter's `process_message` and returns what it injected.
fn injected(body: &str, max_inject: u32) -> Vec<PackMut> {
    let s = script(&format!("function process_message()\n{body}\nreturn 0\nend"));
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.max_process_inject = max_inject;
    cfg.extensions = test_support::extensions();
    let (mut sb, host, _s) = start_with(cfg, s);
    assert_eq!(sb.process_message(&test_pack()), Ok(ProcessStatus::Ok), "{body}");
    let packs = host.take();
    for p in &packs {
        assert!(p.trusted_bytes().is_none(), "encoded lazily, only if an output needs it");
        assert_eq!(decode(&p.msg_bytes()).unwrap(), p.message, "bytes decode to the message");
    }
    packs
}

#[test]
fn hash_form_with_typed_fields() {
    let out = injected(
        r#"inject_message({
             Timestamp = 1392050801000000001, Type = "mytype", Payload = "p", EnvVersion = "1",
             Severity = 3, Pid = 12, Logger = "ignored", Hostname = "ignored", Uuid = "short",
             Fields = {
               str = "s", num = 5, float = 2.5, flag = true,
               arr = {1, 2, 3}, sarr = {"a", "b"},
               int = {value = 1413, value_type = 2, representation = "B"},
               ints = {value = {1, 2}, value_type = 2},
               bin = {value = "\0\1", value_type = 1},
               dbl = {value = 7, representation = "ms"},
             }})"#,
        1,
    );
    assert_eq!(out.len(), 1);
    let m = &out[0].message;
    assert_eq!(m.timestamp, 1_392_050_801_000_000_001);
    assert_eq!(m.msg_type, b"heka.sandbox.mytype");
    assert_eq!(m.logger, b"test_plugin", "forced to the plugin name");
    assert_eq!(m.hostname, b"test.host", "forced to the host name");
    assert_eq!((m.payload.as_slice(), m.env_version.as_slice()), (&b"p"[..], &b"1"[..]));
    assert_eq!((m.severity, m.pid), (Some(3), Some(12)));
    assert_eq!(m.uuid.len(), 16, "a bad Uuid is replaced by a random one");
    let f = |n: &str| m.field(n).unwrap_or_else(|| panic!("field {n}")).clone();
    assert_eq!(f("str").value, FieldValue::String(vec![b"s".to_vec()]));
    assert_eq!(f("num").value, FieldValue::Double(vec![5.0]), "numbers are DOUBLE, as in Heka");
    assert_eq!(f("float").value, FieldValue::Double(vec![2.5]));
    assert_eq!(f("flag").value, FieldValue::Bool(vec![true]));
    assert_eq!(f("arr").value, FieldValue::Double(vec![1.0, 2.0, 3.0]));
    assert_eq!(f("sarr").value, FieldValue::String(vec![b"a".to_vec(), b"b".to_vec()]));
    assert_eq!(f("int"), Field::integer("int", 1413).with_representation("B"));
    assert_eq!(f("ints").value, FieldValue::Integer(vec![1, 2]));
    assert_eq!(f("bin").value, FieldValue::Bytes(vec![vec![0, 1]]));
    assert_eq!(f("dbl"), Field::double("dbl", 7.0).with_representation("ms"));
    assert_eq!(m.fields.len(), 10);
}

#[test]
fn array_form_keeps_order_and_duplicates() {
    let out = injected(
        r#"inject_message({Fields = {
             {name = "a", value = "1"},
             {name = "b", value = {1, 2}, value_type = 2, representation = "count"},
             {name = "a", value = true},
           }})"#,
        1,
    );
    let m = &out[0].message;
    assert_eq!(m.fields.len(), 3);
    assert_eq!(m.fields[0], Field::string("a", "1"));
    assert_eq!(
        m.fields[1],
        Field::new("b", FieldValue::Integer(vec![1, 2])).with_representation("count")
    );
    assert_eq!(m.fields[2], Field::bool("a", true));
    assert_eq!(m.msg_type, b"heka.sandbox.");
    assert_eq!(m.severity, Some(7));
    let now = crate::message::time::now_ns();
    assert!((now - m.timestamp).abs() < 60_000_000_000, "missing Timestamp is now");
}

#[test]
fn raw_protobuf_inject() {
    let mut msg = test_message();
    msg.msg_type = b"raw".to_vec();
    let lit = crate::sandbox::preserve::quote(&encode(&msg));
    let out = injected(&format!("inject_message({lit})"), 1);
    let m = &out[0].message;
    assert_eq!(m.msg_type, b"heka.sandbox.raw");
    assert_eq!(m.fields, msg.fields);
    assert_eq!(m.payload, msg.payload);
}

#[test]
fn userdata_with_output_hook_as_field_and_payload() {
    let out = injected(
        r#"require "counter"
           local c = counter.new(41)
           c:add(1)
           inject_message({Fields = {cnt = c}})
           add_to_payload(c, " ")
           inject_payload("txt", "n", c)"#,
        2,
    );
    assert_eq!(
        out[0].message.field("cnt").unwrap().value,
        FieldValue::String(vec![b"count=42".to_vec()])
    );
    assert_eq!(out[1].message.payload, b"count=42 count=42");
}

#[test]
fn inject_message_errors() {
    for (body, expected) in [
        ("inject_message({Fields = {a = {1, 'x'}}})", "array has mixed types"),
        ("inject_message({Fields = {a = {}}})", "unsupported type: nil"),
        ("inject_message({Fields = {a = function() end}})", "unsupported type: function"),
        ("inject_message({Fields = {a = {value = 'x', value_type = 2}}})", "value_type 2"),
        ("inject_message({Fields = {a = {{1}}}})", "unsupported type: table"),
        ("inject_message('not protobuf')", "protobuf unmarshal failed"),
        ("inject_message()", "single table or string"),
        ("inject_message(1)", "single table or string"),
        ("inject_message({Severity = 'high'})", "Severity must be an integer"),
        ("inject_message({Fields = {[1] = 'x', [2] = 'y'}})", "field name must be a string"),
        (
            "inject_message({Fields = {{name = 'a', value = 1}, 'x'}})",
            "array entries must be tables",
        ),
    ] {
        let (mut sb, _h, _s) = start(
            SandboxKind::Filter,
            &format!("function process_message()\n{body}\nreturn 0 end"),
        );
        let err = sb.process_message(&test_pack()).unwrap_err();
        assert!(err.message.contains(expected), "{body}: {}", err.message);
        assert!(err.message.contains("script.lua:2: "), "{body}: {}", err.message);
    }
}

#[test]
fn filter_inject_payload() {
    let out = injected(
        r#"add_to_payload("a", 1, " ", 2.5, " ", true, " ", nil, " ", 1/3)
           inject_payload("json", "stats", "!")
           inject_payload("txt", "empty")"#,
        2,
    );
    assert_eq!(out.len(), 1, "an empty buffer injects nothing");
    let m = &out[0].message;
    assert_eq!(m.payload, b"a1 2.5 true nil 0.33333333!");
    assert_eq!(m.msg_type, b"heka.sandbox-output");
    assert_eq!(m.logger, b"test_plugin");
    assert_eq!(m.hostname, b"test.host");
    assert_eq!(m.pid, Some(4242));
    assert_eq!(
        m.fields[0],
        Field::string("payload_type", "json").with_representation("file-extension")
    );
    assert_eq!(m.fields[1], Field::string("payload_name", "stats"));
    let dflt = injected("inject_payload(nil, nil, 'x')", 1);
    assert_eq!(
        dflt[0].message.field_value("payload_type", 0, 0),
        Some(crate::message::Scalar::String(b"txt"))
    );
}

#[test]
fn payload_argument_errors() {
    for (body, expected) in [
        (
            "add_to_payload()",
            "bad argument #0 to 'add_to_payload' (must have at least one argument)",
        ),
        ("add_to_payload('a', {})", "bad argument #2 to 'add_to_payload' (unsupported type)"),
        (
            "inject_payload('txt', 'n', function() end)",
            "bad argument #3 to 'inject_payload' (unsupported type)",
        ),
        ("inject_payload({})", "bad argument #1 to 'inject_payload' (string expected, got table)"),
    ] {
        let (mut sb, _h, _s) = start(
            SandboxKind::Filter,
            &format!("function process_message()\n{body}\nreturn 0 end"),
        );
        let err = sb.process_message(&test_pack()).unwrap_err();
        assert!(err.message.contains(expected), "{body}: {}", err.message);
    }
}

#[test]
fn output_limit_is_catchable_and_keeps_the_buffer() {
    let (mut sb, h, _s) = start(
        SandboxKind::Filter,
        r#"function process_message()
             add_to_payload("keep")
             local ok, err = pcall(add_to_payload, string.rep("x", 70000))
             assert(not ok and err:find("output_limit exceeded"), err)
             inject_payload()
             return 0
           end"#,
    );
    assert_eq!(sb.process_message(&test_pack()), Ok(ProcessStatus::Ok));
    assert_eq!(h.take()[0].message.payload, b"keep");
}

#[test]
fn injection_caps_per_call() {
    let s = script(
        "function process_message() for i = 1, 2 do inject_message({}) end return 0 end
         function timer_event() for i = 1, 3 do inject_payload('txt', '', i) end end",
    );
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.max_process_inject = 2;
    cfg.max_timer_inject = 3;
    let (mut sb, h, _s) = start_with(cfg, s);
    for _ in 0..3 {
        assert_eq!(
            sb.process_message(&test_pack()),
            Ok(ProcessStatus::Ok),
            "the count resets per call"
        );
        sb.timer_event(0).unwrap();
    }
    assert_eq!(h.take().len(), 15);
    assert_eq!(sb.stats().inject_message_count, 15);

    let s = script(
        "function process_message() return 0 end function timer_event() for i = 1, 4 do inject_payload('txt', '', i) end end",
    );
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.max_timer_inject = 3;
    let (mut sb, _h, _s) = start_with(cfg, s);
    let err = sb.timer_event(0).unwrap_err();
    assert!(
        err.message.starts_with("timer_event() ")
            && err.message.ends_with("exceeded InjectMessage count"),
        "{}",
        err.message
    );
}

#[test]
fn host_errors_become_lua_errors() {
    struct Refuse;
    impl crate::sandbox::SandboxHost for Refuse {
        fn new_pack(&mut self) -> Result<PackMut, String> {
            Ok(PackMut::standalone())
        }
        fn inject(&mut self, pack: PackMut) -> Result<(), String> {
            Err(format!("exceeded MaxMsgLoops = {}", pack.loop_count))
        }
    }
    let s = script(
        "function process_message() local ok, e = pcall(inject_message, {}) return -1, e end",
    );
    let cfg = config(SandboxKind::Filter, &s);
    let mut sb = crate::sandbox::Sandbox::new(cfg, Box::new(Refuse)).unwrap();
    let mut p = PackMut::from_message(test_message());
    p.loop_count = 3;
    match sb.process_message(&p.freeze()) {
        Ok(ProcessStatus::Failed { status: -1, message: Some(m) }) => {
            assert!(
                m.ends_with("script.lua:1: exceeded MaxMsgLoops = 3"),
                "loop count of the current message: {m}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn aborted_host_errors_keep_the_state() {
    struct Abort;
    impl crate::sandbox::SandboxHost for Abort {
        fn new_pack(&mut self) -> Result<PackMut, String> {
            Err("shutting down: aborted".into())
        }
        fn inject(&mut self, _: PackMut) -> Result<(), String> {
            Ok(())
        }
    }
    let s =
        script("n = 0 function process_message() n = n + 1 pcall(inject_message, {}) return 0 end");
    let cfg = config(SandboxKind::Filter, &s);
    let mut sb = crate::sandbox::Sandbox::new(cfg, Box::new(Abort)).unwrap();
    let err = sb.process_message(&test_pack()).unwrap_err();
    assert!(err.aborted && err.message.ends_with("aborted"), "{err:?}");
    assert!(sb.terminated().is_none(), "state kept for preservation");
    assert_eq!(sb.preservation_data().unwrap().unwrap().lines().nth(1), Some("_G[\"n\"] = 1"));
}
