//! `sandpiper test` and the shipped scripts: every script in `sandboxes/`
//! runs with its header's example configuration, and with a test
//! configuration whose output is compared with a reviewed expected file;
//! Heka's recorded expectations (heka.md §9.3) are checked value by value;
//! `--expect` and configuration errors behave as documented.

use std::path::Path;

use crate::common::{repo_file, root, sandbox_fixture, sandpiper_test, sandpiper_test_ok};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every shipped script with the input its header example runs on.
const SHIPPED: &[(&str, &str)] = &[
    ("sandboxes/decoders/nginx_access.lua", "nginx_access.log"),
    ("sandboxes/decoders/apache_access.lua", "apache_access.log"),
    ("sandboxes/decoders/rsyslog.lua", "rsyslog_traditional.log"),
    ("sandboxes/decoders/json.lua", "json.log"),
    ("sandboxes/filters/http_status.lua", "nginx_messages.json"),
    ("sandboxes/filters/message_counter.lua", "nginx_messages.json"),
    ("sandboxes/filters/unique_items.lua", "nginx_messages.json"),
    ("sandboxes/filters/frequent_items.lua", "nginx_messages.json"),
    ("sandboxes/filters/stat_graph.lua", "nginx_messages.json"),
    ("sandboxes/encoders/schema_influx_line.lua", "schema_influx_line.json"),
    ("sandboxes/encoders/es_payload.lua", "es_payload.json"),
];

/// The indented TOML block after "Example:" in a script's header.
fn header_example(path: &Path) -> String {
    let src = std::fs::read_to_string(path).unwrap();
    let header = &src[..src.find("--]]").expect("header end")];
    let after = &header[header.find("\nExample:\n").expect("Example: in header") + 10..];
    let mut lines = Vec::new();
    for line in after.lines() {
        if !line.is_empty() && !line.starts_with("    ") {
            break;
        }
        lines.push(line.strip_prefix("    ").unwrap_or(line));
    }
    lines.join("\n")
}

#[test]
fn every_shipped_script_runs_with_its_header_example() {
    let mut on_disk: Vec<String> = Vec::new();
    for kind in ["decoders", "filters", "encoders"] {
        for e in std::fs::read_dir(root().join("sandboxes").join(kind)).unwrap() {
            on_disk.push(format!("sandboxes/{kind}/{}", e.unwrap().file_name().to_string_lossy()));
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = SHIPPED.iter().map(|(s, _)| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every script in sandboxes/ needs an entry here");

    let dir = tempfile::tempdir().unwrap();
    for (rel, input) in SHIPPED {
        let example = header_example(&root().join(rel));
        assert!(example.contains(&format!("filename = \"{rel}\"")), "{rel}:\n{example}");
        let cfg = dir.path().join("example.toml");
        std::fs::write(&cfg, &example).unwrap();
        let out = sandpiper_test(&[
            &repo_file(rel),
            "--config",
            cfg.to_str().unwrap(),
            "--input",
            &sandbox_fixture(input),
        ]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{rel}\n{stdout}\n{}", text(&out.stderr));
        let count = stdout.lines().last().unwrap_or_default();
        assert!(count.starts_with("=== ") && !count.contains("=== 0 processed"), "{rel}: {count}");
        assert!(!stdout.contains("!!! stopped"), "{rel}\n{stdout}");
    }
}

#[test]
fn shipped_scripts_match_their_reviewed_output() {
    let cases: &[(&str, &str, &str)] = &[
        ("sandboxes/decoders/nginx_access.lua", "nginx_access", "nginx_access.log"),
        ("sandboxes/decoders/apache_access.lua", "apache_access", "apache_access.log"),
        ("sandboxes/decoders/json.lua", "json", "json.log"),
        ("sandboxes/filters/http_status.lua", "http_status", "http_status.json"),
        ("sandboxes/filters/message_counter.lua", "message_counter", "nginx_messages.json"),
        ("sandboxes/filters/unique_items.lua", "unique_items", "nginx_messages.json"),
        ("sandboxes/filters/frequent_items.lua", "frequent_items", "nginx_messages.json"),
        ("sandboxes/filters/stat_graph.lua", "stat_graph", "nginx_messages.json"),
        (
            "sandboxes/encoders/schema_influx_line.lua",
            "schema_influx_line",
            "schema_influx_line.json",
        ),
        ("sandboxes/encoders/es_payload.lua", "es_payload", "es_payload.json"),
    ];
    for (rel, name, input) in cases {
        let stdout = sandpiper_test_ok(&[
            &repo_file(rel),
            "--config",
            &sandbox_fixture(&format!("{name}.toml")),
            "--input",
            &sandbox_fixture(input),
            "--expect",
            &sandbox_fixture(&format!("{name}.expected")),
        ]);
        assert!(stdout.contains("output matches"), "{rel}:\n{stdout}");
    }
}

/// The block printed for message `n`.
fn message_block(stdout: &str, n: usize) -> String {
    let start = stdout.find(&format!("--- message {n} ")).expect("message block");
    let rest = &stdout[start..];
    let end = rest[4..].find("\n--- ").map_or(rest.len(), |i| i + 5);
    let end = rest[..end].find("\n!!! ").map_or(end, |i| i + 1);
    let end = rest[..end].find("\n=== ").map_or(end, |i| i + 1);
    rest[..end].to_string()
}

#[test]
fn nginx_and_apache_decode_hekas_example_line() {
    for (rel, name) in [
        ("sandboxes/decoders/nginx_access.lua", "nginx_access"),
        ("sandboxes/decoders/apache_access.lua", "apache_access"),
    ] {
        let stdout = sandpiper_test_ok(&[
            &repo_file(rel),
            "--config",
            &sandbox_fixture(&format!("{name}.toml")),
            "--input",
            &sandbox_fixture(&format!("{name}.log")),
        ]);
        let m = message_block(&stdout, 1);
        for want in [
            "Timestamp: 2014-02-10T16:46:41Z (1392050801000000000)\n",
            "Severity: 7\n",
            "  remote_addr STRING: \"127.0.0.1\"\n",
            "  status DOUBLE: 304\n",
            "  body_bytes_sent DOUBLE (B): 0\n",
            "  user_agent_browser STRING: \"Firefox\"\n",
            "  user_agent_version DOUBLE: 26\n",
            "  user_agent_os STRING: \"Linux\"\n",
        ] {
            assert!(m.contains(want), "{rel}: no {want:?} in\n{m}");
        }
        assert!(!m.contains("http_user_agent"), "{rel}: transformed agent kept\n{m}");
        assert!(
            stdout.contains("!!! input 3: Failed parsing: payload: bogus message\n"),
            "{stdout}"
        );
    }
}

#[test]
fn rsyslog_decodes_hekas_example_line() {
    let stdout = sandpiper_test_ok(&[
        &repo_file("sandboxes/decoders/rsyslog.lua"),
        "--config",
        &sandbox_fixture("rsyslog.toml"),
        "--input",
        &sandbox_fixture("rsyslog.log"),
    ]);
    // An RFC 3164 date has no year: the current one is used (February is
    // never taken as last year's), read as Los Angeles time.
    let year = jiff::tz::TimeZone::UTC.to_datetime(jiff::Timestamp::now()).year();
    let la = jiff::tz::TimeZone::get("America/Los_Angeles").unwrap();
    let ts = la.to_timestamp(jiff::civil::date(year, 2, 10).at(12, 58, 58, 0)).unwrap();
    let m = message_block(&stdout, 1);
    for want in [
        format!("({})\n", ts.as_nanosecond()),
        "Type: MyTestFormat\n".into(),
        "Hostname: testhost\n".into(),
        "Severity: 4\n".into(),
        "Pid: 4322\n".into(),
        "  programname STRING: \"widget\"\n".into(),
        "  syslogfacility DOUBLE: 3\n".into(),
        "  timegenerated DOUBLE: 1392065939000000000\n".into(),
        "| test message.\n".into(),
    ] {
        assert!(m.contains(&want), "no {want:?} in\n{m}");
    }
    assert!(stdout.contains("!!! input 2: Failed parsing: payload: bogus message\n"), "{stdout}");
    assert!(stdout.ends_with("=== 3 processed, 1 failed, 2 emitted\n"), "{stdout}");
}

#[test]
fn lua_module_assertions_and_heka_idioms_pass() {
    let stdout = sandpiper_test_ok(&[
        &sandbox_fixture("lua_modules_test.lua"),
        "--input",
        &sandbox_fixture("rsyslog.log"),
        "--quiet",
    ]);
    // The assertions run at load; every input line is then processed.
    assert!(stdout.ends_with("=== 3 processed, 0 failed, 3 emitted\n"), "{stdout}");
    let stdout = sandpiper_test_ok(&[
        &sandbox_fixture("heka_compat.lua"),
        "--type",
        "filter",
        "--ticker-interval",
        "60",
        "--input",
        &sandbox_fixture("heka_compat.json"),
        "--expect",
        &sandbox_fixture("heka_compat.expected"),
    ]);
    assert!(stdout.contains("output matches"), "{stdout}");
}

#[test]
fn a_decoder_can_feed_a_filter() {
    let stdout = sandpiper_test_ok(&[
        &repo_file("sandboxes/filters/http_status.lua"),
        "--config",
        &sandbox_fixture("http_status.toml"),
        "--decoder",
        &repo_file("sandboxes/decoders/nginx_access.lua"),
        "--decoder-config",
        &sandbox_fixture("nginx_access.toml"),
        "--input",
        &sandbox_fixture("nginx_minutes.log"),
    ]);
    assert!(
        stdout.contains("!!! input 3: decoder: Failed parsing: payload: not a log line\n"),
        "{stdout}"
    );
    // Tick at 00:01:00 (200 and 404 in the first minute), then the final
    // tick at the last message (500 and 200 in the second).
    assert!(
        stdout.contains("| nan\tnan\tnan\tnan\tnan\tnan\n| nan\t1\tnan\t1\tnan\tnan\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| nan\t1\tnan\t1\tnan\tnan\n| nan\t1\tnan\tnan\t1\tnan\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with(
        "=== 4 processed, 0 failed, 2 injected, 2 timer events, 0 not matched, 1 lines not decoded\n"
    ), "{stdout}");
}

#[test]
fn expect_reports_a_diff_and_exit_1_when_output_differs() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(sandbox_fixture("es_payload.expected")).unwrap();
    let bad = dir.path().join("bad.expected");
    std::fs::write(&bad, good.replace("mylogger-2014.06.05", "mylogger-2014.06.04")).unwrap();
    let out = sandpiper_test(&[
        &repo_file("sandboxes/encoders/es_payload.lua"),
        "--config",
        &sandbox_fixture("es_payload.toml"),
        "--input",
        &sandbox_fixture("es_payload.json"),
        "--expect",
        bad.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("-| {\"index\":{\"_index\":\"mylogger-2014.06.04\""), "{stdout}");
    assert!(stdout.contains("+| {\"index\":{\"_index\":\"mylogger-2014.06.05\""), "{stdout}");
    assert!(stdout.contains("@@") && stdout.contains("output differs"), "{stdout}");
}

#[test]
fn usage_and_configuration_errors_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let nginx = repo_file("sandboxes/decoders/nginx_access.lua");
    let log = sandbox_fixture("nginx_access.log");
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                nginx.clone(),
                "--config".into(),
                write(
                    "unknown.toml",
                    "[d]\ntype = \"SandboxDecoder\"\nfilename = \"x.lua\"\nlog_fromat = \"x\"\n",
                ),
                "--input".into(),
                log.clone(),
            ],
            "log_fromat",
        ),
        (
            vec![
                nginx.clone(),
                "--config".into(),
                write("notsb.toml", "[d]\ntype = \"PayloadRegexDecoder\"\nmatch_regex = \"x\"\n"),
                "--input".into(),
                log.clone(),
            ],
            "SandboxDecoder",
        ),
        (
            vec![nginx.clone(), "--type".into(), "output".into(), "--input".into(), log.clone()],
            "--type",
        ),
        (
            vec![nginx.clone(), "--input".into(), "/nonexistent/input.log".into()],
            "cannot read input",
        ),
        (
            vec!["/nonexistent/script.lua".into(), "--input".into(), log.clone()],
            "cannot read script",
        ),
        (
            vec![
                repo_file("sandboxes/filters/http_status.lua"),
                "--input".into(),
                write("bad.json", "{\"Type\": \"x\"}\n{\"Tyep\": 1}\n"),
            ],
            "input line 2",
        ),
        (
            vec![
                nginx.clone(),
                "--config".into(),
                write(
                    "tz.toml",
                    "[d]\ntype = \"SandboxDecoder\"\nfilename = \"x.lua\"\n[d.config]\ntz = \"Mars/Olympus\"\n",
                ),
                "--input".into(),
                log.clone(),
            ],
            "Mars/Olympus",
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sandpiper_test(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}\n{stderr}");
        assert!(stderr.contains(want), "{args:?}: no {want:?} in\n{stderr}");
    }
}

#[test]
fn a_script_that_terminates_prints_its_error_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let lua = dir.path().join("broken.lua");
    std::fs::write(
        &lua,
        "local n = 0\nfunction process_message()\n  n = n + 1\n  if n == 2 then error('boom') end\n  return 0\nend\n",
    )
    .unwrap();
    let out =
        sandpiper_test(&[lua.to_str().unwrap(), "--input", &sandbox_fixture("nginx_access.log")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("--- message 1 (input 1)"), "{stdout}");
    assert!(
        stdout.contains("!!! stopped: input 2: terminated:") && stdout.contains("boom"),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("boom"));
    // A script that does not load exits 1 too.
    std::fs::write(&lua, "function process_message(\n").unwrap();
    let out =
        sandpiper_test(&[lua.to_str().unwrap(), "--input", &sandbox_fixture("nginx_access.log")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("broken.lua"), "{}", text(&out.stderr));
}
