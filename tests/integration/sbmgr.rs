//! SandboxManagerFilter driven by `sandpiper sbmgr` over a signed TcpInput:
//! load, twenty reloads under load with no message lost, unload, restarts;
//! and every kind of control message that must be refused.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sandpiper::message::{HmacHashFunction, Message, Signer, encode, write_framed};
use sandpiper::plugins::filters::sandbox_manager::control_message;

use crate::common::{
    Daemon, Log, SANDBOX_OUT, WAIT, counter_reports, free_port, lua_fixture, messages, run,
    wait_counter_report, wait_listening,
};

fn daemon_config(port: u16, max_filters: u32) -> String {
    format!(
        r#"
[hekad]
base_dir = "base"
report_interval = 0
[TcpInput]
address = "127.0.0.1:{port}"
[TcpInput.signer.ops_0]
hmac_key = "secret"
[TcpInput.signer.other_0]
hmac_key = "other-secret"
[mgr]
type = "SandboxManagerFilter"
message_signer = "ops"
max_filters = {max_filters}
{SANDBOX_OUT}"#
    )
}

/// Writes `sbmgr.toml`-style files: `name.toml` signing as `signer`/`key`.
fn sbmgr_config(dir: &Path, file: &str, port: u16, signer: &str, key: &str) -> PathBuf {
    let path = dir.join(file);
    let text = format!(
        "ip_address = \"127.0.0.1:{port}\"\n[signer]\nname = \"{signer}\"\n\
         hmac_hash = \"md5\"\nhmac_key = \"{key}\"\nversion = 0\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn counter_toml(dir: &Path, section: &str, generation: u32) -> PathBuf {
    let path = dir.join(format!("{section}.toml"));
    let text = format!(
        "[{section}]\ntype = \"SandboxFilter\"\nmessage_matcher = \"Type == 'data'\"\n\
         ticker_interval = 1\ntimer_event_on_shutdown = true\npreserve_data = true\n\
         [{section}.config]\ngeneration = {generation}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `sandpiper sbmgr` and expects it to succeed.
fn sbmgr(config: &Path, args: &[&str]) {
    let mut all = vec!["sbmgr", "-config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(out.status.success(), "sbmgr {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Sends `data` messages over one connection until stopped.
fn feeder(port: u16, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    let mut msg = Message::new();
    msg.msg_type = b"data".to_vec();
    let mut batch = Vec::new();
    for _ in 0..20 {
        write_framed(&encode(&msg), None, 65536, &mut batch).unwrap();
    }
    std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        while !stop.load(Ordering::Relaxed) {
            s.write_all(&batch).unwrap();
            sent.fetch_add(20, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

/// Payloads of the `heka.sandbox-terminated` messages, with their plugin.
fn refusals(out: &Path) -> Vec<(String, String)> {
    messages(out)
        .iter()
        .filter(|m| m["type"] == "heka.sandbox-terminated")
        .map(|m| {
            assert_eq!(m["logger"], "hekad");
            let plugin = m["fields"]
                .as_array()
                .and_then(|f| f.iter().find(|f| f["name"] == "plugin"))
                .and_then(|f| f["value_string"][0].as_str())
                .map(str::to_string)
                .unwrap_or_default();
            (plugin, m["payload"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

fn start(dir: &Path, port: u16, max_filters: u32) -> (Daemon, Log) {
    let mut d = Daemon::start(dir, "d.toml", &daemon_config(port, max_filters));
    let log = d.follow_log();
    wait_listening(port);
    (d, log)
}

#[test]
fn sbmgr_loads_reloads_under_load_unloads_and_filters_survive_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    let script = lua_fixture("counter_v.lua");
    let ops = sbmgr_config(dir, "sbmgr.toml", port, "ops", "secret");
    let (d, log) = start(dir, port, 2);
    let conf = counter_toml(dir, "counter", 0);
    sbmgr(
        &ops,
        &["-action", "load", "-script", path_str(&script), "-scriptconfig", path_str(&conf)],
    );
    log.wait_count("Loaded mgr-counter", 1, WAIT);

    let (stop, sent) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let feed = feeder(port, Arc::clone(&stop), Arc::clone(&sent));
    for generation in 1..=20 {
        std::thread::sleep(Duration::from_millis(50));
        let conf = counter_toml(dir, "counter", generation);
        sbmgr(
            &ops,
            &[
                "-action",
                "reload",
                "-script",
                path_str(&script),
                "-scriptconfig",
                path_str(&conf),
                "-filtername",
                "counter",
            ],
        );
        log.wait_count("Reloaded mgr-counter in place", generation as usize, WAIT);
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    feed.join().unwrap();
    let total = sent.load(Ordering::Relaxed);
    let out = dir.join("base/out.dat");
    wait_counter_report(&out, (total, 20));
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err.matches("Filter reloaded in place").count(), 20, "{err}");
    assert!(!err.contains("refused"), "{err}");
    let all = counter_reports(&out);
    assert!(all.iter().all(|(c, _)| *c <= total), "never more than sent: {all:?}");
    assert!(all.windows(2).all(|w| w[1].0 >= w[0].0), "the count never goes back: {all:?}");
    assert!(all.windows(2).all(|w| w[1].1 >= w[0].1), "generations only go up: {all:?}");
    assert_eq!(all.last(), Some(&(total, 20)), "final count at shutdown");

    // Restart: the filter comes back with its config and its count.
    let work = dir.join("base/sbxmgrs");
    assert!(work.join("mgr-counter.lua").exists() && work.join("mgr-counter.toml").exists());
    let (d, log) = start(dir, port, 2);
    log.wait_count("Restored mgr-counter", 1, WAIT);
    let (stop, sent) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let feed = feeder(port, Arc::clone(&stop), Arc::clone(&sent));
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    feed.join().unwrap();
    let more = sent.load(Ordering::Relaxed);
    wait_counter_report(&out, (total + more, 20));

    // Unload: it stops (saving its state), its files go, the data stays.
    sbmgr(&ops, &["-action", "unload", "-filtername", "counter"]);
    log.wait_count("Unloaded mgr-counter", 1, WAIT);
    assert!(!work.join("mgr-counter.lua").exists() && !work.join("mgr-counter.toml").exists());
    let data = std::fs::read_to_string(dir.join("base/sandbox_preservation/mgr_counter.data"))
        .unwrap_or_default();
    assert!(data.contains(&format!("_G[\"count\"] = {}", total + more)), "{data}");
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");

    // Nothing to restore any more.
    let (d, log) = start(dir, port, 2);
    // Filters are restored before the daemon reports it started.
    log.wait_count("Sandpiper started", 1, WAIT);
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(log.count("Restored"), 0, "{err}");
}

/// Sends a control message built here, signed as `ops`.
fn send_signed(port: u16, msg: &Message, max: usize) {
    let signer = Signer {
        name: "ops".into(),
        version: 0,
        hash: HmacHashFunction::Md5,
        key: b"secret".to_vec(),
    };
    let mut record = Vec::new();
    write_framed(&encode(msg), Some(&signer), max, &mut record).unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&record).unwrap();
}

#[test]
fn control_messages_failing_a_check_are_refused_with_a_logged_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    let script = lua_fixture("counter_v.lua");
    let script = path_str(&script);
    let (d, log) = start(dir, port, 1);
    let ops = sbmgr_config(dir, "ops.toml", port, "ops", "secret");
    let load = |cfg: &Path, conf: &Path| {
        sbmgr(cfg, &["-action", "load", "-script", script, "-scriptconfig", path_str(conf)]);
    };

    // Refused by the TcpInput: a wrong key, an unknown signer.
    let conf = counter_toml(dir, "wrongkey", 0);
    load(&sbmgr_config(dir, "wrong.toml", port, "ops", "not-the-key"), &conf);
    log.wait_count("record dropped: HMAC mismatch for signer 'ops_0'", 1, WAIT);
    let conf = counter_toml(dir, "nobody", 0);
    load(&sbmgr_config(dir, "nobody.toml", port, "nobody", "secret"), &conf);
    log.wait_count("record dropped: unknown signer 'nobody_0'", 1, WAIT);
    // Signed by a signer the input knows, but not the manager's.
    let conf = counter_toml(dir, "othersigner", 0);
    load(&sbmgr_config(dir, "other.toml", port, "other", "other-secret"), &conf);

    // Too old, and (with the daemon's limit) too big.
    let conf = std::fs::read_to_string(counter_toml(dir, "stale", 0)).unwrap();
    let mut stale = control_message("load", Some(b"-- x"), Some(&conf), None);
    stale.timestamp -= 10_000_000_000;
    send_signed(port, &stale, 65536);
    log.wait_count("control message discarded: its timestamp is 10.0 seconds off", 1, WAIT);
    let huge = vec![b'-'; 70_000];
    let big = control_message("load", Some(&huge), Some(&conf.replace("stale", "big")), None);
    send_signed(port, &big, 1 << 20);
    log.wait_count("exceeded the maximum message size and was dropped", 1, WAIT);
    let big_script = dir.join("big.lua");
    std::fs::write(&big_script, &huge).unwrap();
    let out = run(&[
        "sbmgr",
        "-config",
        path_str(&ops),
        "-action",
        "load",
        "-script",
        path_str(&big_script),
        "-scriptconfig",
        path_str(&counter_toml(dir, "big", 0)),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Message too big"));

    // Refused by the manager: bad TOML, wrong type, a broken script,
    // max_filters, a broken reload.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[bad\ntype = 'SandboxFilter'").unwrap();
    load(&ops, &bad);
    log.wait_count("load refused: bad config", 1, WAIT);
    let decoder = dir.join("decoder.toml");
    std::fs::write(&decoder, "[dec]\ntype = 'SandboxDecoder'\n").unwrap();
    load(&ops, &decoder);
    log.wait_count(
        "load of mgr-dec refused: type must be SandboxFilter, not 'SandboxDecoder'",
        1,
        WAIT,
    );
    let broken = lua_fixture("syntax_error.lua");
    let conf = counter_toml(dir, "broken", 0);
    sbmgr(
        &ops,
        &["-action", "load", "-script", path_str(&broken), "-scriptconfig", path_str(&conf)],
    );
    log.wait_count("load of mgr-broken refused", 1, WAIT);
    load(&ops, &counter_toml(dir, "one", 0));
    log.wait_count("Loaded mgr-one", 1, WAIT);
    load(&ops, &counter_toml(dir, "two", 0));
    log.wait_count("load of mgr-two refused: max_filters (1) reached", 1, WAIT);
    sbmgr(&ops, &["-action", "reload", "-script", path_str(&broken), "-filtername", "one"]);
    log.wait_count("reload of mgr-one refused, the running version stays", 1, WAIT);

    // The one loaded filter still counts after the refused reload.
    let mut data = Message::new();
    data.msg_type = b"data".to_vec();
    let mut record = Vec::new();
    write_framed(&encode(&data), None, 65536, &mut record).unwrap();
    TcpStream::connect(("127.0.0.1", port)).unwrap().write_all(&record).unwrap();
    let outfile = dir.join("base/out.dat");
    wait_counter_report(&outfile, (1, 0));
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err.matches("Loaded mgr-").count(), 1, "only mgr-one was loaded: {err}");
    for never in ["mgr-wrongkey", "mgr-nobody", "mgr-othersigner", "mgr-stale", "mgr-big"] {
        assert!(!err.contains(never), "{never} reached the manager: {err}");
    }
    let announced = refusals(&outfile);
    let expect = [
        ("mgr", "control message discarded: its timestamp is 10.0 seconds off"),
        ("mgr", "load refused: bad config: mgr control message: TOML syntax error"),
        ("mgr-dec", "load of mgr-dec refused: type must be SandboxFilter"),
        ("mgr-broken", "load of mgr-broken refused: "),
        ("mgr-two", "load of mgr-two refused: max_filters (1) reached"),
        ("mgr-one", "reload of mgr-one refused, the running version stays: "),
    ];
    assert_eq!(announced.len(), expect.len(), "{announced:#?}");
    for ((plugin, payload), (want_plugin, want)) in announced.iter().zip(expect) {
        assert_eq!(plugin, want_plugin, "{payload}");
        assert!(payload.starts_with(want), "{payload:?} should start with {want:?}");
    }
    assert!(announced[3].1.contains("mgr-broken.lua:4"), "names file and line: {announced:?}");
    assert!(announced[5].1.contains(".lua:4"), "names the line: {announced:?}");
    let work = dir.join("base/sbxmgrs");
    assert!(!work.join("mgr-broken.lua").exists(), "a refused load leaves no files");
    assert!(!work.join(".staged/mgr-one.lua").exists(), "a refused reload leaves no files");
}
