//! Reloading without a restart: SIGHUP applies a changed configuration
//! while data flows; a filter replaced in place keeps its state and loses
//! no message; a broken new configuration or script leaves the old one
//! running.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::common::{
    Daemon, WAIT, append_lines_until, counter_config, counter_reports, lua_fixture,
    wait_counter_report,
};

fn config(logs: &Path, generation: u32, script: &Path) -> String {
    counter_config(logs, script, &format!("[counter.config]\ngeneration = {generation}"))
}

#[test]
fn twenty_sighup_reloads_under_load_lose_and_double_count_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let script = lua_fixture("counter_v.lua");
    let mut d = Daemon::start(dir.path(), "c.toml", &config(&logs, 0, &script));
    let log = d.follow_log();
    let (stop, written) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let w = append_lines_until(logs.join("app.log"), Arc::clone(&stop), Arc::clone(&written));
    for generation in 1..=20 {
        std::thread::sleep(Duration::from_millis(100));
        std::fs::write(dir.path().join("c.toml"), config(&logs, generation, &script)).unwrap();
        d.signal("HUP");
        log.wait_count("Configuration reloaded: ", generation as usize, WAIT);
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    w.join().unwrap();
    let total = written.load(Ordering::Relaxed);
    let out = dir.path().join("base/out.dat");
    // Wait for a tick that has seen every line, from the last generation.
    wait_counter_report(&out, (total, 20));
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err.matches("Configuration reloaded: ").count(), 20, "{err}");
    assert!(err.contains("replaced: counter"), "{err}");
    let all = counter_reports(&out);
    assert!(all.iter().all(|(c, _)| *c <= total), "never more than written: {all:?}");
    assert!(all.windows(2).all(|w| w[1].0 >= w[0].0), "the count never goes back: {all:?}");
    assert_eq!(all.last().map(|x| x.0), Some(total), "final count at shutdown");
}

#[test]
fn a_broken_reload_leaves_the_running_version_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("app.log"), "one\ntwo\n").unwrap();
    let script = lua_fixture("counter_v.lua");
    let mut d = Daemon::start(dir.path(), "c.toml", &config(&logs, 1, &script));
    let log = d.follow_log();
    let out = dir.path().join("base/out.dat");
    wait_counter_report(&out, (2, 1));
    // A config error: refused as a whole.
    std::fs::write(
        dir.path().join("c.toml"),
        config(&logs, 2, &script) + "\n[bogus]\ntype = 'NoSuchOutput'\n",
    )
    .unwrap();
    d.signal("HUP");
    log.wait_count("The running configuration stays", 1, WAIT);
    // A script with a syntax error: refused at validation.
    std::fs::write(dir.path().join("c.toml"), config(&logs, 3, &lua_fixture("syntax_error.lua")))
        .unwrap();
    d.signal("HUP");
    log.wait_count("The running configuration stays", 2, WAIT);
    std::fs::OpenOptions::new()
        .append(true)
        .open(logs.join("app.log"))
        .unwrap()
        .write_all(b"three\n")
        .unwrap();
    // The old version still counts.
    wait_counter_report(&out, (3, 1));
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("Reload refused") && err.contains("NoSuchOutput"), "{err}");
    assert!(err.contains("syntax_error.lua:4"), "{err}");
    assert_eq!(err.matches("The running configuration stays").count(), 2, "{err}");
}
