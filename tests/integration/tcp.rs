//! TcpInput / TcpOutput over loopback: framing, decoding, signing,
//! garbage and reconnection.

use std::io::Write;
use std::net::TcpStream;

use sandpiper::message::{Message, encode, write_framed};

use crate::common::{Daemon, WAIT, cat_json, free_port, inject, wait_listening};

/// A TcpInput on `port` whose messages all go to `base/<out>`, framed;
/// `extra` follows the input's section.
fn receiver_config(port: u16, out: &str, extra: &str) -> String {
    format!(
        r#"
[hekad]
base_dir = "base"

[TcpInput]
address = "127.0.0.1:{port}"
{extra}

[out]
type = "FileOutput"
message_matcher = "TRUE"
path = "{out}"
encoder = "ProtobufEncoder"
flush_interval = 0
"#
    )
}

/// A TcpInput on `port`, base directory `base_a`, then `outputs`.
fn sender_config(port: u16, outputs: &str) -> String {
    format!("[hekad]\nbase_dir = \"base_a\"\n[TcpInput]\naddress = \"127.0.0.1:{port}\"\n{outputs}")
}

/// Waits until `path` holds at least `n` messages and returns them.
fn wait_messages(path: &std::path::Path, n: usize) -> Vec<serde_json::Value> {
    crate::common::wait_messages(path, |m| m.len() >= n)
}

#[test]
fn injected_messages_arrive_decoded_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = Daemon::start(dir.path(), "r.toml", &receiver_config(port, "out.dat", ""));
    wait_listening(port);
    for i in 0..3 {
        inject(port, "test.msg", &format!("hello {i}"));
    }
    let msgs = wait_messages(&dir.path().join("base/out.dat"), 3);
    let payloads: Vec<&str> = msgs.iter().map(|m| m["payload"].as_str().unwrap()).collect();
    assert_eq!(payloads, vec!["hello 0", "hello 1", "hello 2"]);
    assert!(msgs.iter().all(|m| m["type"] == "test.msg" && m["logger"] == "Inject Client"));
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn garbage_and_torn_records_are_skipped_and_the_input_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = Daemon::start(dir.path(), "r.toml", &receiver_config(port, "out.dat", ""));
    wait_listening(port);
    let mut good = Message::new();
    good.msg_type = b"good".to_vec();
    let mut framed = Vec::new();
    write_framed(&encode(&good), None, 65536, &mut framed).unwrap();
    let mut garbage_then_good = b"\x00\x01 not heka at all \x1e\x05garbage".to_vec();
    garbage_then_good.extend_from_slice(&framed);
    // Framed, but not a protobuf message: a decode failure.
    write_framed(b"\xff\xff\xff\xff", None, 65536, &mut garbage_then_good).unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&garbage_then_good).unwrap();
    // Half a record, then hang up.
    s.write_all(&framed[..framed.len() / 2]).unwrap();
    drop(s);
    inject(port, "after", "still alive");
    let msgs = wait_messages(&dir.path().join("base/out.dat"), 2);
    // Two connections: no order between them.
    let mut types: Vec<&str> = msgs.iter().map(|m| m["type"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(types, vec!["after", "good"]);
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    // The framed non-protobuf record is a decode failure; the garbage before
    // the good record is logged as skipped.
    assert!(err.contains("Decode failure: protobuf decode failed"), "failures are logged: {err}");
    assert!(err.contains("bytes of garbage between records"), "garbage is logged: {err}");
}

#[test]
fn signed_forwarding_accepts_the_right_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    // Everything to all.dat; only what "ops" signed to signed.dat.
    let receiver = receiver_config(
        pb,
        "all.dat",
        r#"
[TcpInput.signer.ops_1]
hmac_key = "secret"

[signed]
type = "FileOutput"
message_matcher = "TRUE"
message_signer = "ops"
path = "signed.dat"
encoder = "ProtobufEncoder"
flush_interval = 0
"#,
    );
    let sender = sender_config(
        pa,
        &format!(
            r#"
[good]
type = "TcpOutput"
message_matcher = "TRUE"
address = "127.0.0.1:{pb}"
[good.signer]
name = "ops"
hmac_hash = "sha1"
hmac_key = "secret"
version = 1

[bad]
type = "TcpOutput"
message_matcher = "TRUE"
address = "127.0.0.1:{pb}"
[bad.signer]
name = "ops"
hmac_key = "wrong key"
version = 1
"#
        ),
    );
    let mut b = Daemon::start(dir.path(), "b.toml", &receiver);
    let b_log = b.follow_log();
    wait_listening(pb);
    let a = Daemon::start(dir.path(), "a.toml", &sender);
    wait_listening(pa);
    inject(pa, "forwarded", "via a");
    inject(pb, "direct", "unsigned");
    let all = wait_messages(&dir.path().join("base/all.dat"), 2);
    let signed = wait_messages(&dir.path().join("base/signed.dat"), 1);
    // The wrong key's copy has been read and dropped.
    b_log.wait_count("HMAC mismatch", 1, WAIT);
    let signed_now = cat_json(&dir.path().join("base/signed.dat"));
    assert_eq!(signed_now.len(), 1, "the wrong key's copy was dropped: {signed_now:?}");
    assert_eq!(signed[0]["type"], "forwarded");
    let mut types: Vec<&str> = all.iter().map(|m| m["type"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(
        types,
        vec!["direct", "forwarded"],
        "unsigned direct message reaches the unrestricted output only"
    );
    let (code_a, _, err_a) = a.stop();
    assert_eq!(code_a, Some(0), "{err_a}");
    let (code_b, _, err_b) = b.stop();
    assert_eq!(code_b, Some(0), "{err_b}");
    assert!(err_b.contains("HMAC mismatch"), "refusal is logged: {err_b}");
}

#[test]
fn tcp_output_reconnects_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let sender = sender_config(
        pa,
        &format!(
            "[fwd]\ntype = \"TcpOutput\"\nmessage_matcher = \"TRUE\"\naddress = \"127.0.0.1:{pb}\"\n"
        ),
    );
    let mut a = Daemon::start(dir.path(), "a.toml", &sender);
    let a_log = a.follow_log();
    wait_listening(pa);
    for i in 0..5 {
        inject(pa, "queued", &format!("m{i}"));
    }
    // Nobody listens on pb yet; the sender keeps retrying.
    a_log.wait_count(&format!("Connecting to 127.0.0.1:{pb} failed"), 2, WAIT);
    let b = Daemon::start(dir.path(), "b.toml", &receiver_config(pb, "got.dat", ""));
    let msgs = wait_messages(&dir.path().join("base/got.dat"), 5);
    let payloads: Vec<&str> = msgs.iter().map(|m| m["payload"].as_str().unwrap()).collect();
    assert_eq!(payloads, vec!["m0", "m1", "m2", "m3", "m4"]);
    let (code, _, err) = a.stop();
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = b.stop();
    assert_eq!(code, Some(0), "{err}");
}
