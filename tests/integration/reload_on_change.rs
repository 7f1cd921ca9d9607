//! `reload_on_change = true`: saving a SandboxFilter's script reloads it in
//! place under load, its count carrying on; a broken save is refused and
//! announced while the running version goes on.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::common::{
    Daemon, WAIT, append_lines_until, cat_json, counter_config, counter_reports, lua_fixture,
    wait_counter_report,
};

/// The `counter_v.lua` fixture with `generation` written into the script.
fn script(generation: u32) -> String {
    let text = std::fs::read_to_string(lua_fixture("counter_v.lua")).unwrap();
    let read = "read_config(\"generation\") or 0";
    assert!(text.contains(read), "{text}");
    text.replace(read, &generation.to_string())
}

/// Saves like an editor: half the time in place, half by rename.
fn save(path: &Path, text: &str, by_rename: bool) {
    if by_rename {
        let tmp = path.with_extension("lua.swp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    } else {
        std::fs::write(path, text).unwrap();
    }
}

#[test]
fn twenty_saves_under_load_reload_in_place_and_a_broken_save_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let lua = dir.join("scripts/counter.lua");
    std::fs::create_dir_all(lua.parent().unwrap()).unwrap();
    std::fs::write(&lua, script(0)).unwrap();
    // The input finds the file at start (new files wait for a rescan).
    std::fs::write(logs.join("app.log"), "").unwrap();
    let mut d =
        Daemon::start(dir, "c.toml", &counter_config(&logs, &lua, "reload_on_change = true"));
    let log = d.follow_log();
    log.wait_count("Sandpiper started", 1, WAIT);

    let (stop, written) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writer = append_lines_until(logs.join("app.log"), Arc::clone(&stop), Arc::clone(&written));
    for generation in 1..=20 {
        std::thread::sleep(Duration::from_millis(50));
        save(&lua, &script(generation), generation % 2 == 0);
        log.wait_count("Script reloaded in place", generation as usize, WAIT);
    }
    // A broken save: refused, announced, the last good version goes on.
    let broken = std::fs::read_to_string(lua_fixture("syntax_error.lua")).unwrap();
    save(&lua, &broken, false);
    log.wait_count("refused, the running version stays", 1, WAIT);
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let total = written.load(Ordering::Relaxed);
    let out = dir.join("base/out.dat");
    wait_counter_report(&out, (total, 20));
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err.matches("Script reloaded in place").count(), 20, "{err}");
    let all = counter_reports(&out);
    assert!(all.windows(2).all(|w| w[1].0 >= w[0].0), "the count never goes back: {all:?}");
    assert!(all.windows(2).all(|w| w[1].1 >= w[0].1), "generations only go up: {all:?}");
    assert_eq!(all.last(), Some(&(total, 20)), "final count at shutdown");
    let refused: Vec<String> = cat_json(&out)
        .iter()
        .filter(|m| m["type"] == "heka.sandbox-terminated")
        .map(|m| m["payload"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("counter.lua:4"), "names the line: {refused:?}");
    assert!(refused[0].contains("the running version stays"), "{refused:?}");
}
