//! The five sandbox plugins in the running daemon: decode, filter (with
//! preserved state and a hostile script next to a healthy one), encode,
//! output, input, and start-up errors for broken scripts.

use std::time::Duration;

use crate::common::{
    Daemon, SANDBOX_OUT, free_port, inject, lua_fixture, read, run, wait_for, wait_listening,
    wait_messages,
};

fn field<'a>(m: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    m["fields"].as_array()?.iter().find(|f| f["name"] == name)
}

#[test]
fn filter_state_survives_restart_and_a_runaway_filter_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        r#"
[hekad]
base_dir = "base"
[TcpInput]
address = "127.0.0.1:{port}"
[counter]
type = "SandboxFilter"
filename = "{counter}"
message_matcher = "Type == 'count.me'"
ticker_interval = 1
preserve_data = true
[runaway]
type = "SandboxFilter"
filename = "{runaway}"
message_matcher = "Type == 'count.me'"
{SANDBOX_OUT}"#,
        counter = lua_fixture("counter.lua").display(),
        runaway = lua_fixture("runaway.lua").display(),
    );
    let out = dir.path().join("base/out.dat");
    let d = Daemon::start(dir.path(), "c.toml", &config);
    wait_listening(port);
    for i in 0..3 {
        inject(port, "count.me", &format!("{i}"));
    }
    let msgs = wait_messages(&out, |m| {
        m.iter().any(|x| x["payload"] == "count=3")
            && m.iter().any(|x| x["type"] == "heka.sandbox-terminated")
    });
    let term = msgs.iter().find(|x| x["type"] == "heka.sandbox-terminated").unwrap();
    assert!(term["payload"].as_str().unwrap().contains("instruction_limit exceeded"), "{term}");
    assert_eq!(field(term, "plugin").unwrap()["value_string"][0], "runaway");
    let output = msgs.iter().find(|x| x["payload"] == "count=3").unwrap();
    assert_eq!(output["logger"], "counter");
    assert_eq!(field(output, "payload_type").unwrap()["value_string"][0], "txt");
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(dir.path().join("base/sandbox_preservation/counter.data").exists());

    // The counter continues from 3 after a restart.
    let d = Daemon::start(dir.path(), "c.toml", &config);
    wait_listening(port);
    inject(port, "count.me", "again");
    wait_messages(&out, |m| m.iter().any(|x| x["payload"] == "count=4"));
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn decoder_encoder_and_output_sandboxes_work_together() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("app.log"),
        "user=ann status=200\nnot pairs at all\nuser=bob status=404\n",
    )
    .unwrap();
    let written = dir.path().join("sandbox-output.txt");
    let config = format!(
        r#"
[hekad]
base_dir = "base"
[LogstreamerInput]
log_directory = "{logs}"
file_match = 'app\.log'
decoder = "kv"
check_data_interval = "20ms"
[kv]
type = "SandboxDecoder"
filename = "{kv}"
[upper]
type = "SandboxEncoder"
filename = "{upper}"
[decoded]
type = "FileOutput"
message_matcher = "Type == 'kv'"
path = "decoded.dat"
encoder = "ProtobufEncoder"
flush_interval = 0
[text]
type = "FileOutput"
message_matcher = "Type == 'kv'"
path = "text.log"
encoder = "upper"
flush_interval = 0
[lua_out]
type = "SandboxOutput"
filename = "{lua_out}"
message_matcher = "Type == 'kv' && Fields[status] >= 400"
[lua_out.config]
path = "{written}"
"#,
        logs = logs.display(),
        kv = lua_fixture("kv_decoder.lua").display(),
        upper = lua_fixture("upper_encoder.lua").display(),
        lua_out = lua_fixture("file_output.lua").display(),
        written = written.display(),
    );
    let d = Daemon::start(dir.path(), "c.toml", &config);
    let decoded = wait_messages(&dir.path().join("base/decoded.dat"), |m| m.len() == 2);
    assert_eq!(field(&decoded[0], "user").unwrap()["value_string"][0], "ann");
    assert_eq!(field(&decoded[0], "status").unwrap()["value_double"][0], 200.0);
    assert_eq!(decoded[1]["payload"], "user=bob status=404\n");
    let text = wait_for(Duration::from_secs(10), || {
        let t = read(&dir.path().join("base/text.log"));
        (t.len() > 30).then_some(t)
    })
    .unwrap();
    assert_eq!(
        String::from_utf8(text).unwrap(),
        "KV: USER=ANN STATUS=200\n\nKV: USER=BOB STATUS=404\n\n"
    );
    wait_for(Duration::from_secs(10), || {
        (read(&written) == b"user=bob status=404\n\n").then_some(())
    })
    .expect("SandboxOutput wrote only the 404");
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("no key=value pairs"), "the failed decode is logged: {err}");
}

#[test]
fn sandbox_input_injects_messages() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
[hekad]
base_dir = "base"
[gen]
type = "SandboxInput"
filename = "{gen}"
[gen.config]
count = 5
[out]
type = "FileOutput"
message_matcher = "Type == 'generated'"
path = "out.dat"
encoder = "ProtobufEncoder"
flush_interval = 0
"#,
        gen = lua_fixture("generator.lua").display(),
    );
    let d = Daemon::start(dir.path(), "c.toml", &config);
    let msgs = wait_messages(&dir.path().join("base/out.dat"), |m| m.len() == 5);
    assert_eq!(msgs[4]["payload"], "message 5");
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "a finished input with can_exit keeps the daemon running: {err}");
}

#[test]
fn a_script_with_a_syntax_error_stops_the_start_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        format!(
            "[bad]\ntype = 'SandboxFilter'\nfilename = '{}'\nmessage_matcher = 'TRUE'\n[also_bad]\ntype = 'SandboxFilter'\nfilename = 'missing.lua'\nbogus = 1\n",
            lua_fixture("syntax_error.lua").display()
        ),
    )
    .unwrap();
    let out = run(&[&format!("-config={}", path.display())]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[bad] filename") && err.contains("syntax_error.lua:4"), "{err}");
    assert!(err.contains("[also_bad]") && err.contains("bogus"), "{err}");
}
