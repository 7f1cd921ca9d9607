//! Command-line behaviour: config errors, `check`, `cat`, the version.

use crate::common::{Daemon, free_port, run};

#[test]
fn config_errors_name_file_section_and_key_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[hekad]
maxprocs = 2
bogus_global = 1

[TcpInput]
address = "127.0.0.1:{port}"
parser_type = "x"

[out]
type = "FileOutput"
path = "out.log"
encoder = "NoSuchEncoder"
message_matcher = "Type =="

[WhatOutput]
"#
        ),
    )
    .unwrap();
    let out = run(&[&format!("-config={}", path.display())]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("[hekad]") && err.contains("bogus_global"),
        "{err}"
    );
    assert!(err.contains("[TcpInput]") && err.contains("parser_type"), "{err}");
    assert!(err.contains("[WhatOutput]"), "{err}");
    // Nothing was started.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    assert!(!dir.path().join("out.log").exists());
    // `check` reports the same way.
    let out = run(&["check", "-config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn plugin_level_errors_are_collected_together() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
[in]
type = "TcpInput"
address = "127.0.0.1:1"
decoder = "Missing"

[out]
type = "FileOutput"
path = "out.log"
encoder = "NoSuchEncoder"

[out2]
type = "LogOutput"
message_matcher = "Type =="
"#,
    )
    .unwrap();
    let out = run(&["check", "-config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(err.contains("[in] decoder") && err.contains("Missing"), "{err}");
    assert!(err.contains("[out] encoder") && err.contains("NoSuchEncoder"), "{err}");
    assert!(err.contains("[out2] message_matcher"), "{err}");
}

#[test]
fn check_prints_the_plugin_graph() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.toml");
    std::fs::write(
        &path,
        r#"
[TcpInput]
address = "127.0.0.1:5565"
[PayloadEncoder]
append_newlines = false
[LogOutput]
message_matcher = "Type == 'x'"
encoder = "PayloadEncoder"
"#,
    )
    .unwrap();
    let out = run(&["check", "--config", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "input  TcpInput (TcpInput) -> splitter HekaFramingSplitter -> decoder ProtobufDecoder"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "output LogOutput (LogOutput) <- matcher Type == 'x' ; encoder PayloadEncoder"
        ),
        "{text}"
    );
}

#[test]
fn version_and_usage() {
    let out = run(&["-version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sandpiper "));
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn sigusr1_prints_the_report_and_pid_file_is_managed() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = Daemon::start(
        dir.path(),
        "c.toml",
        &format!(
            r#"
[hekad]
base_dir = "base"
pid_file = "run/sandpiper.pid"
[TcpInput]
address = "127.0.0.1:{port}"
[CounterFilter]
"#
        ),
    );
    crate::common::wait_listening(port);
    let pid_path = dir.path().join("run/sandpiper.pid");
    assert_eq!(std::fs::read_to_string(&pid_path).unwrap().trim(), d.child.id().to_string());
    d.signal("USR1");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (code, out, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("========[heka.all-report]========"), "{out}");
    assert!(out.contains("CounterFilter") && out.contains("inputRecycleChan"), "{out}");
    assert!(!pid_path.exists(), "pid file removed on exit");
}
