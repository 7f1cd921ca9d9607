//! Helpers: write a config into a temp dir, run the daemon, wait for
//! output, stop it with a signal.
#![allow(dead_code)]

use std::io::{BufRead, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a test waits for something the daemon is about to do.
pub const WAIT: Duration = Duration::from_secs(20);

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sandpiper"))
}

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the repository, by its path from the root.
pub fn repo_file(rel: &str) -> String {
    root().join(rel).display().to_string()
}

/// A Lua script from `tests/fixtures/lua`.
pub fn lua_fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/lua").join(name)
}

/// A file from `tests/fixtures/sandboxes` (script, config, input or
/// expected output for `sandpiper test`).
pub fn sandbox_fixture(name: &str) -> String {
    root().join("tests/fixtures/sandboxes").join(name).display().to_string()
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs a tool to completion.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

/// Runs `sandpiper test` with `args`.
pub fn sandpiper_test(args: &[&str]) -> Output {
    let mut all = vec!["test"];
    all.extend_from_slice(args);
    run(&all)
}

/// Runs `sandpiper test` with `args` and returns its stdout, asserting
/// exit code 0.
pub fn sandpiper_test_ok(args: &[&str]) -> String {
    let out = sandpiper_test(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Sends one message to a TcpInput on `port` with `sandpiper inject`.
pub fn inject(port: u16, msg_type: &str, payload: &str) {
    let heka = format!("127.0.0.1:{port}");
    let out = run(&["inject", "-heka", &heka, "-type", msg_type, "-payload", payload]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A FileOutput `out` writing every sandbox output and termination message
/// to `out.dat` in the base directory, framed, flushed at once.
pub const SANDBOX_OUT: &str = r#"
[out]
type = "FileOutput"
message_matcher = "Type == 'heka.sandbox-output' || Type == 'heka.sandbox-terminated'"
path = "out.dat"
encoder = "ProtobufEncoder"
flush_interval = 0
"#;

/// A LogstreamerInput tailing `logs/app.log` into the SandboxFilter
/// `counter` running `script`, ticking every second and at shutdown, its
/// reports going to [`SANDBOX_OUT`]; `counter_extra` ends the counter's
/// section.
pub fn counter_config(logs: &Path, script: &Path, counter_extra: &str) -> String {
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
{counter_extra}
{SANDBOX_OUT}"#,
        logs = logs.display(),
        script = script.display()
    )
}

/// Appends numbered lines to `path`, 20 every 5 ms, until `stop` is set;
/// `written` counts them.
pub fn append_lines_until(
    path: PathBuf,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
) -> JoinHandle<()> {
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
}

/// A running daemon.
pub struct Daemon {
    pub child: Child,
    pub dir: PathBuf,
    /// Its stderr as read so far, when followed live ([`Daemon::follow_log`]).
    log: Option<(Log, JoinHandle<()>)>,
    /// Its stdout as read so far, when followed live
    /// ([`Daemon::follow_stdout`]).
    stdout: Option<(Log, JoinHandle<()>)>,
}

/// A daemon's stderr or stdout, read line by line while it runs.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<String>>);

impl Log {
    /// Reads `stream` line by line on a thread until it closes.
    fn follow(stream: impl Read + Send + 'static) -> (Log, JoinHandle<()>) {
        let log = Log::default();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let mut text = sink.0.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        (log, reader)
    }

    /// Everything read so far.
    pub fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }

    /// Lines read so far that contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.0.lock().unwrap().lines().filter(|l| l.contains(needle)).count()
    }

    /// Waits until `n` lines contain `needle`; panics with the log after
    /// `timeout`.
    pub fn wait_count(&self, needle: &str, n: usize, timeout: Duration) {
        if wait_for(timeout, || (self.count(needle) >= n).then_some(())).is_none() {
            panic!("expected {n} lines with {needle:?}; log:\n{}", self.text());
        }
    }
}

impl Daemon {
    /// Starts `sandpiper -config=<dir>/<name>` with `config` written there.
    pub fn start(dir: &Path, name: &str, config: &str) -> Daemon {
        let path = dir.join(name);
        std::fs::write(&path, config).unwrap();
        let child = Command::new(bin())
            .arg(format!("-config={}", path.display()))
            .current_dir(dir)
            .env("SANDPIPER_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Daemon { child, dir: dir.to_path_buf(), log: None, stdout: None }
    }

    /// Reads stderr live from now on; `wait` and `stop` still return all
    /// of it.
    pub fn follow_log(&mut self) -> Log {
        let (log, reader) = Log::follow(self.child.stderr.take().expect("stderr already taken"));
        self.log = Some((log.clone(), reader));
        log
    }

    /// Reads stdout live from now on; `wait` and `stop` still return all
    /// of it.
    pub fn follow_stdout(&mut self) -> Log {
        let (out, reader) = Log::follow(self.child.stdout.take().expect("stdout already taken"));
        self.stdout = Some((out.clone(), reader));
        out
    }

    /// Sends a signal by name ("INT", "TERM", "KILL", "HUP", "USR1").
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Stops with SIGINT and returns (exit code, stdout, stderr).
    pub fn stop(mut self) -> (Option<i32>, String, String) {
        self.signal("INT");
        self.wait()
    }

    /// Waits for exit (at most 30 s) and returns (exit code, stdout, stderr).
    pub fn wait(&mut self) -> (Option<i32>, String, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut out = String::new();
                let mut err = String::new();
                if let Some(mut s) = self.child.stdout.take() {
                    s.read_to_string(&mut out).unwrap();
                }
                if let Some(mut s) = self.child.stderr.take() {
                    s.read_to_string(&mut err).unwrap();
                }
                if let Some((log, reader)) = self.log.take() {
                    reader.join().unwrap();
                    err = log.text();
                }
                if let Some((stdout, reader)) = self.stdout.take() {
                    reader.join().unwrap();
                    out = stdout.text();
                }
                return (status.code(), out, err);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("daemon did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills with SIGKILL.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Waits until something listens on `port`.
pub fn wait_listening(port: u16) {
    let ok = wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
    });
    assert!(ok.is_some(), "nothing listens on {port}");
}

/// Reads a file, empty if missing.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

/// Reads a framed protobuf file with `sandpiper cat -format json`, one
/// JSON value per message.
pub fn cat_json(path: &Path) -> Vec<serde_json::Value> {
    let out = run(&["cat", "-format", "json", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The messages of a framed protobuf file ([`cat_json`]), none while the
/// file does not exist yet.
pub fn messages(path: &Path) -> Vec<serde_json::Value> {
    if path.exists() { cat_json(path) } else { Vec::new() }
}

/// Waits until the messages in `path` satisfy `pred` and returns them;
/// panics with what is there after [`WAIT`].
pub fn wait_messages(
    path: &Path,
    pred: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    wait_for(WAIT, || {
        let m = messages(path);
        pred(&m).then_some(m)
    })
    .unwrap_or_else(|| panic!("condition not met in {}; have {:?}", path.display(), messages(path)))
}

/// (count, generation) of every `count=N generation=G` report a counter
/// fixture filter wrote to the framed file `out`, in output order.
pub fn counter_reports(out: &Path) -> Vec<(u64, u64)> {
    messages(out)
        .iter()
        .filter(|m| m["type"] == "heka.sandbox-output")
        .filter_map(|m| m["payload"].as_str().map(str::to_string))
        .filter_map(|p| {
            let mut it =
                p.split(' ').map(|kv| kv.split('=').nth(1).unwrap_or("").parse::<u64>().ok());
            Some((it.next()??, it.next()??))
        })
        .collect()
}

/// Waits until the counter wrote the report `want` (count, generation) to
/// `out`; panics with the last report after [`WAIT`].
pub fn wait_counter_report(out: &Path, want: (u64, u64)) {
    wait_for(WAIT, || counter_reports(out).contains(&want).then_some(()))
        .unwrap_or_else(|| panic!("expected {want:?}, got {:?}", counter_reports(out).last()));
}
