//! Behaviour tests of the sandbox engine, by theme. Scripts are written to
//! temporary files and run through the public [`Sandbox`] API.

mod api_inject;
mod api_read;
mod api_write;
mod hostile;
mod kinds;
mod loading;
mod native_modules;
mod preservation;

use std::path::PathBuf;

use super::{CollectHost, Sandbox, SandboxConfig, SandboxKind};
use crate::message::{Field, FieldValue, Message, PackMut, PackRef};

/// A script in its own temporary directory.
pub(super) struct Script {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub(super) fn script(src: &str) -> Script {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("script.lua");
    std::fs::write(&path, src).expect("write script");
    Script { dir, path }
}

pub(super) fn config(kind: SandboxKind, s: &Script) -> SandboxConfig {
    let mut cfg = SandboxConfig::new(kind, "test_plugin", &s.path);
    cfg.hostname = "test.host".into();
    cfg.pid = 4242;
    cfg
}

/// A sandbox of `kind` running `src`, with a collecting host.
pub(super) fn start(kind: SandboxKind, src: &str) -> (Sandbox, CollectHost, Script) {
    let s = script(src);
    let cfg = config(kind, &s);
    start_with(cfg, s)
}

pub(super) fn start_with(cfg: SandboxConfig, s: Script) -> (Sandbox, CollectHost, Script) {
    let host = CollectHost::new();
    let sb = Sandbox::new(cfg, Box::new(host.clone())).unwrap_or_else(|e| panic!("start: {e}"));
    (sb, host, s)
}

/// Heka's test message (sandbox tests in the Go code base use the same).
pub(super) fn test_message() -> Message {
    let mut m = Message {
        uuid: crate::message::uuid::parse("550e8400-e29b-41d4-a716-446655440000")
            .expect("uuid")
            .to_vec(),
        timestamp: 1_392_050_801_123_456_789,
        msg_type: b"TEST".to_vec(),
        logger: b"GoSpec".to_vec(),
        severity: Some(6),
        payload: b"Test Payload".to_vec(),
        env_version: b"0.8".to_vec(),
        pid: Some(14098),
        hostname: b"hostname".to_vec(),
        fields: Vec::new(),
    };
    m.fields.push(Field::string("foo", "bar"));
    m.fields.push(Field::integer("number", 64).with_representation("count"));
    m.fields.push(Field::new("bytes", FieldValue::Bytes(vec![b"data".to_vec()])));
    m.fields.push(Field::new("int", FieldValue::Integer(vec![999, 1024])));
    m.fields.push(Field::double("double", 99.9));
    m.fields.push(Field::bool("bool", true));
    m.fields.push(Field::string("foo", "alternate"));
    m.fields.push(Field::new("empty_bytes", FieldValue::Bytes(vec![Vec::new()])));
    m
}

pub(super) fn test_pack() -> PackRef {
    PackMut::from_message(test_message()).freeze()
}
