//! `reload_on_change = true`: saving a SandboxFilter's script reloads it in
//! place under load, its count carrying on; a broken save is refused and
//! announced while the running version goes on.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::common::{Daemon, cat_json, counter_reports, wait_for};

const WAIT: Duration = Duration::from_secs(15);

fn config(logs: &Path, script: &Path) -> String {
    format!(
        r#"
[hekad]
base_dir = "base"
report_interval = 0
[LogstreamerInput]
log_directory = "{logs}"
file_match = 'app\.log'
check_data_interval = "10ms"
[counter]
type = "SandboxFilter"
filename = "{script}"
message_matcher = "Type == 'logfile'"
ticker_interval = 1
timer_event_on_shutdown = true
reload_on_change = true
[out]
type = "FileOutput"
message_matcher = "Type == 'heka.sandbox-output' || Type == 'heka.sandbox-terminated'"
path = "out.dat"
encoder = "ProtobufEncoder"
flush_interval = 0
"#,
        logs = logs.display(),
        script = script.display()
    )
}

fn script(generation: u32) -> String {
    format!(
        "count = count or 0\nlocal generation = {generation}\n\
         function process_message() count = count + 1 return 0 end\n\
         function timer_event(ns)\n\
           inject_payload('txt', 'count', string.format('count=%d generation=%d', count, generation))\n\
         end\n"
    )
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
    let mut d = Daemon::start(dir, "c.toml", &config(&logs, &lua));
    let log = d.follow_log();
    log.wait_count("Sandpiper started", 1, WAIT);

    let (stop, written) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writer = {
        let (stop, written) = (Arc::clone(&stop), Arc::clone(&written));
        let path = logs.join("app.log");
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
            while !stop.load(Ordering::Relaxed) {
                let n = written.load(Ordering::Relaxed);
                let batch: String = (n..n + 20).map(|i| format!("line {i}\n")).collect();
                f.write_all(batch.as_bytes()).unwrap();
                written.fetch_add(20, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    for generation in 1..=20 {
        std::thread::sleep(Duration::from_millis(50));
        save(&lua, &script(generation), generation % 2 == 0);
        log.wait_count("Script reloaded in place", generation as usize, WAIT);
    }
    // A broken save: refused, announced, the last good version goes on.
    save(&lua, &script(21).replace("function timer_event", "function timer_event("), false);
    log.wait_count("refused, the running version stays", 1, WAIT);
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let total = written.load(Ordering::Relaxed);
    let out = dir.join("base/out.dat");
    wait_for(WAIT, || counter_reports(&out).contains(&(total, 20)).then_some(())).unwrap_or_else(
        || panic!("expected ({total}, 20), got {:?}", counter_reports(&out).last()),
    );
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
