//! Command-line behaviour: config errors, `check`, `cat`, the version.

use crate::common::{
    Daemon, WAIT, free_port, inject, repo_file, root, run, wait_listening, wait_messages,
};

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
    assert_eq!(String::from_utf8_lossy(&out.stderr), err);
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
    let usage = String::from_utf8_lossy(&out.stderr);
    assert!(usage.starts_with("usage: sandpiper -config=PATH"), "{usage}");
}

#[test]
fn sigusr1_prints_the_report_and_pid_file_is_managed() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut d = Daemon::start(
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
    wait_listening(port);
    let pid_path = dir.path().join("run/sandpiper.pid");
    assert_eq!(std::fs::read_to_string(&pid_path).unwrap().trim(), d.child.id().to_string());
    let stdout = d.follow_stdout();
    d.signal("USR1");
    stdout.wait_count("========[heka.all-report]========", 1, WAIT);
    let (code, out, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("========[heka.all-report]========"), "{out}");
    assert!(out.contains("CounterFilter") && out.contains("inputRecycleChan"), "{out}");
    assert!(!pid_path.exists(), "pid file removed on exit");
}

#[test]
fn a_plugin_that_keeps_failing_is_retried_then_stops_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blocker"), "a file, not a directory").unwrap();
    let port = free_port();
    let mut d = Daemon::start(
        dir.path(),
        "c.toml",
        &format!(
            r#"
[hekad]
base_dir = "base"
[TcpInput]
address = "127.0.0.1:{port}"
[PayloadEncoder]
[out]
type = "FileOutput"
message_matcher = "TRUE"
path = "{}/blocker/out.log"
encoder = "PayloadEncoder"
[out.retries]
max_retries = 2
delay = "10ms"
max_jitter = "0s"
"#,
            dir.path().display()
        ),
    );
    let (code, _, err) = d.wait();
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        err.matches("Output failed: start failed").count(),
        3,
        "first try + 2 retries: {err}"
    );
    assert!(err.contains("can_exit is false; shutting down"), "{err}");
}

#[test]
fn counter_filter_ticks_and_reports_are_injected() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = Daemon::start(
        dir.path(),
        "c.toml",
        &format!(
            r#"
[hekad]
base_dir = "base"
report_interval = 1
[TcpInput]
address = "127.0.0.1:{port}"
[CounterFilter]
message_matcher = "Type == 'counted'"
ticker_interval = 1
[out]
type = "FileOutput"
message_matcher = "Type == 'heka.counter-output' || Type == 'heka.all-report'"
path = "out.dat"
encoder = "ProtobufEncoder"
flush_interval = 0
"#
        ),
    );
    wait_listening(port);
    for _ in 0..3 {
        inject(port, "counted", "");
    }
    let msgs = wait_messages(&dir.path().join("base/out.dat"), |msgs| {
        let counter = msgs.iter().any(|m| m["type"] == "heka.counter-output");
        let report = msgs.iter().any(|m| m["type"] == "heka.all-report");
        counter && report
    });
    let counter = msgs.iter().find(|m| m["type"] == "heka.counter-output").unwrap();
    assert!(counter["payload"].as_str().unwrap().starts_with("Got 3 messages."), "{counter}");
    let report = msgs.iter().find(|m| m["type"] == "heka.all-report").unwrap();
    let json: serde_json::Value =
        serde_json::from_str(report["payload"].as_str().unwrap()).unwrap();
    let filter = &json["filters"][0];
    assert_eq!(filter["Name"], "CounterFilter");
    assert_eq!(filter["ProcessMessageCount"]["value"], 3);
    assert_eq!(json["inputs"][0]["RecordCount"]["value"], 3);
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn the_bundled_quickstart_config_is_valid() {
    // Its paths are relative to the repository's root.
    let out = std::process::Command::new(crate::common::bin())
        .args(["check", "-config", &repo_file("examples/quickstart.toml")])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("input  LogstreamerInput (LogstreamerInput) -> splitter TokenSplitter"),
        "{text}"
    );
}
