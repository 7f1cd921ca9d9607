//! Per-kind semantics: decoders, encoders, inputs, outputs.

use std::cell::Cell;
use std::rc::Rc;

use super::{config, script, start, start_with, test_message, test_pack};
use crate::message::{PackMut, PackPool, Scalar, decode, encode};
use crate::sandbox::{
    DecodeOutcome, EncodeOutcome, ProcessStatus, Sandbox, SandboxHost, SandboxKind,
};

/// A host that takes packs from a pool and counts them.
struct PoolHost {
    pool: PackPool,
    taken: Rc<Cell<usize>>,
}

impl SandboxHost for PoolHost {
    fn new_pack(&mut self) -> Result<PackMut, String> {
        self.taken.set(self.taken.get() + 1);
        Ok(self.pool.get())
    }
    fn inject(&mut self, _: PackMut) -> Result<(), String> {
        Err("decoders never route".into())
    }
}

fn decoder(src: &str, pool: &PackPool) -> (Sandbox, Rc<Cell<usize>>, super::Script) {
    let s = script(src);
    let cfg = config(SandboxKind::Decoder, &s);
    let taken = Rc::new(Cell::new(0));
    let host = PoolHost { pool: pool.clone(), taken: taken.clone() };
    (Sandbox::new(cfg, Box::new(host)).unwrap(), taken, s)
}

fn original(pool: &PackPool) -> PackMut {
    let mut p = pool.get();
    p.message = test_message();
    p.message.fields.clear();
    p.message.payload = b"a=1 b=2 c=3".to_vec();
    p
}

#[test]
fn first_injection_reuses_the_original_pack_and_headers_are_filled() {
    let pool = PackPool::new(4);
    let (mut sb, taken, _s) = decoder(
        r#"function process_message()
             local payload = read_message("Payload")
             for k, v in payload:gmatch("(%a)=(%d)") do
               inject_message({Payload = k, Fields = {v = tonumber(v)}, Type = k == "b" and "own" or nil})
             end
             return 0
           end"#,
        &pool,
    );
    let mut out = Vec::new();
    assert_eq!(sb.decode(original(&pool), &mut out), Ok(DecodeOutcome::Injected(3)));
    assert_eq!(taken.get(), 2, "one injection went into the original pack");
    assert_eq!(pool.available(), 1, "three packs out, none leaked");
    let orig = test_message();
    let payloads: Vec<&[u8]> = out.iter().map(|p| p.message.payload.as_slice()).collect();
    assert_eq!(payloads, [&b"a"[..], b"b", b"c"]);
    for p in &out {
        let m = &p.message;
        assert_eq!(m.timestamp, orig.timestamp);
        assert_eq!(
            (m.logger.as_slice(), m.hostname.as_slice()),
            (&b"GoSpec"[..], &b"hostname"[..])
        );
        assert_eq!((m.severity, m.pid), (Some(6), Some(14098)));
        assert_eq!(m.uuid.len(), 16);
        assert_ne!(m.uuid, orig.uuid, "a new Uuid for each message");
        assert!(p.trusted_bytes().is_none(), "the original bytes no longer match");
        assert_eq!(decode(&p.msg_bytes()).unwrap(), *m);
    }
    assert_eq!(out[0].message.msg_type, b"TEST");
    assert_eq!(out[1].message.msg_type, b"own", "headers the script sets win");
    assert_eq!(out[0].message.field_value("v", 0, 0), Some(Scalar::Double(1.0)));
    drop(out);
    assert_eq!(pool.available(), 4);
}

#[test]
fn decoder_status_rules() {
    let pool = PackPool::new(4);
    let (mut sb, _t, _s) = decoder(
        r#"function process_message()
             local p = read_message("Payload")
             if p == "forward" then return 0 end
             inject_message({Payload = "1"}) inject_message({Payload = "2"})
             if p == "fail" then return -1, "bad line" end
             if p == "fatal" then return 1 end
             return 0
           end"#,
        &pool,
    );
    let with = |payload: &str| {
        let mut p = pool.get();
        p.message = test_message();
        p.message.payload = payload.as_bytes().to_vec();
        p
    };
    let mut out = Vec::new();
    assert_eq!(sb.decode(with("forward"), &mut out), Ok(DecodeOutcome::Forwarded));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message, test_message().tap_payload("forward"));
    out.clear();
    match sb.decode(with("fail"), &mut out) {
        Ok(DecodeOutcome::Failed { status: -1, message }) => {
            assert!(message.starts_with("Failed parsing: bad line payload: "), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(out.is_empty());
    assert_eq!(pool.available(), 4, "all packs dropped back to the pool");
    assert!(matches!(
        sb.decode(with("fatal"), &mut out),
        Ok(DecodeOutcome::Fatal { status: 1, .. })
    ));
    assert!(out.is_empty() && sb.terminated().is_none());
    assert_eq!(sb.stats().process_message_failures, 1);
    assert_eq!(sb.stats().process_message_count, 3);
}

trait TapPayload {
    fn tap_payload(self, p: &str) -> Self;
}
impl TapPayload for crate::message::Message {
    fn tap_payload(mut self, p: &str) -> Self {
        self.payload = p.as_bytes().to_vec();
        self
    }
}

#[test]
fn decoder_inject_payload() {
    let pool = PackPool::new(4);
    let (mut sb, _t, _s) = decoder(
        r#"function process_message()
             inject_payload("json", "one", "{}")
             inject_payload("txt", "two", "x")
             return 0
           end"#,
        &pool,
    );
    let mut out = Vec::new();
    let mut p = pool.get();
    p.message = test_message();
    assert_eq!(sb.decode(p, &mut out), Ok(DecodeOutcome::Injected(2)));
    let first = &out[0].message;
    assert_eq!(first.payload, b"{}");
    assert_eq!(
        first.field_value("foo", 0, 0),
        Some(Scalar::String(b"bar")),
        "original fields kept"
    );
    assert_eq!(first.field_value("payload_name", 0, 0), Some(Scalar::String(b"one")));
    let second = &out[1].message;
    assert_eq!(second.payload, b"x");
    assert_eq!(second.msg_type, b"TEST");
    assert_eq!(second.fields.len(), 2);
}

#[test]
fn decoder_tz_reinterprets_timestamps() {
    let s = script(
        "function process_message() inject_message({Timestamp = 1392022001000000000, Fields = {timegenerated = 1392022001000000000}}) return 0 end",
    );
    let mut cfg = config(SandboxKind::Decoder, &s);
    cfg.tz = Some("America/Chicago".into());
    let (mut sb, _h, _s) = start_with(cfg, s);
    let mut out = Vec::new();
    sb.decode(PackMut::from_message(test_message()), &mut out).unwrap();
    let six_hours = 6 * 3600 * 1_000_000_000_i64;
    assert_eq!(out[0].message.timestamp, 1_392_022_001_000_000_000 + six_hours);
    assert_eq!(
        out[0].message.field_value("timegenerated", 0, 0),
        Some(Scalar::Double((1_392_022_001_000_000_000 + six_hours) as f64))
    );
    let bad = script("function process_message() return 0 end");
    let mut cfg = config(SandboxKind::Decoder, &bad);
    cfg.tz = Some("Not/AZone".into());
    assert!(Sandbox::new(cfg, Box::new(crate::sandbox::NoHost)).is_err());
}

#[test]
fn encoder_outputs() {
    let (mut sb, _h, _s) = start(
        SandboxKind::Encoder,
        r#"function process_message()
             local mode = read_message("Fields[mode]")
             if mode == "skip" then return -2 end
             if mode == "payload" then
               inject_payload("txt", "ignored", "first")
               add_to_payload("second:", read_message("Payload"))
               inject_payload()
               return 0
             end
             if mode == "message" then inject_message({Type = "enc", Payload = "m"}) return 0 end
             if mode == "fail" then return -1, "cannot" end
             if mode == "fatal" then return 3 end
             return 0
           end"#,
    );
    let with = |mode: &str| {
        let mut m = test_message();
        m.fields.push(crate::message::Field::string("mode", mode));
        PackMut::from_message(m).freeze()
    };
    let mut out = b"old".to_vec();
    assert_eq!(sb.encode(&with("skip"), &mut out), Ok(EncodeOutcome::Skip));
    assert_eq!(sb.encode(&with("payload"), &mut out), Ok(EncodeOutcome::Output));
    assert_eq!(out, b"second:Test Payload", "the last payload wins");
    assert_eq!(sb.encode(&with("message"), &mut out), Ok(EncodeOutcome::Output));
    let m = decode(&out).unwrap();
    assert_eq!(
        (m.msg_type.as_slice(), m.payload.as_slice()),
        (&b"enc"[..], &b"m"[..]),
        "no filter prefix"
    );
    let plain = with("none");
    assert_eq!(sb.encode(&plain, &mut out), Ok(EncodeOutcome::Output));
    assert_eq!(out, encode(&plain.message), "default: the message's protobuf");
    assert_eq!(
        sb.encode(&with("fail"), &mut out),
        Ok(EncodeOutcome::Failed { status: -1, message: Some("cannot".into()) })
    );
    assert_eq!(
        sb.encode(&with("fatal"), &mut out),
        Ok(EncodeOutcome::Fatal { status: 3, message: None })
    );
}

#[test]
fn input_injects_with_defaults_and_no_instruction_limit() {
    let (mut sb, host, _s) = start(
        SandboxKind::Input,
        r#"local n = 0
           function process_message()
             assert(read_message == nil and inject_payload == nil and io ~= nil)
             for i = 1, 2e6 do n = n + 1 end -- beyond the default instruction limit
             inject_message({Type = "input", Payload = tostring(n)})
             return 0
           end"#,
    );
    assert_eq!(sb.run_input(), Ok(ProcessStatus::Ok));
    let out = host.take();
    let m = &out[0].message;
    assert_eq!(m.payload, b"2000000");
    assert_eq!(
        (m.msg_type.as_slice(), m.logger.as_slice(), m.hostname.as_slice()),
        (&b"input"[..], &b"test_plugin"[..], &b"test.host"[..])
    );
}

#[test]
fn output_reads_and_writes_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.txt");
    let src = format!(
        r#"local f = assert(io.open({path:?}, "w"))
           function process_message()
             assert(inject_message == nil and require("io") == io)
             f:write(read_message("Payload"), "\n") f:flush()
             return 0
           end"#,
        path = file.display().to_string()
    );
    let (mut sb, _h, _s) = start(SandboxKind::Output, &src);
    assert_eq!(sb.process_message(&test_pack()), Ok(ProcessStatus::Ok));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "Test Payload\n");
}

#[test]
fn decoder_injections_at_load_time_are_not_forwarded_later() {
    let pool = PackPool::new(4);
    let (mut sb, _t, _s) = decoder(
        "inject_message({Payload = 'at load'})\nfunction process_message() return 0 end",
        &pool,
    );
    let mut out = Vec::new();
    assert_eq!(sb.decode(original(&pool), &mut out), Ok(DecodeOutcome::Forwarded));
    assert_eq!(out.len(), 1);
    drop(out);
    assert_eq!(pool.available(), 4, "the load-time pack went back to the pool");
}

#[test]
fn a_continuous_input_is_interrupted_from_another_thread() {
    let s = script(
        "n = 0
         function process_message()
           while true do
             n = n + 1
             pcall(function() for i = 1, 100 do end end)
           end
         end",
    );
    let mut cfg = config(SandboxKind::Input, &s);
    cfg.preserve_data = true;
    cfg.preservation_path = Some(s.dir.path().join("input.data"));
    let path = cfg.preservation_path.clone().unwrap();
    let (mut sb, _h, _s) = start_with(cfg, s);
    let handle = sb.interrupt_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        handle.interrupt();
    });
    let err = sb.run_input().unwrap_err();
    stopper.join().unwrap();
    assert_eq!(err.message, "process_message() shutting down");
    assert!(err.aborted && sb.terminated().is_none());
    sb.stop().unwrap();
    let data = std::fs::read_to_string(path).unwrap();
    assert!(data.contains("_G[\"n\"] = "), "state kept and saved: {data}");
}
