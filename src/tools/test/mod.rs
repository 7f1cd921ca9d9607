//! `sandpiper test SCRIPT --input FILE`: runs one decoder, filter or
//! encoder sandbox outside the daemon, on sample input, with a simulated
//! clock, and prints what it produced in a stable text form (optionally
//! compared with an expected file). It is the script author's test bench.
//!
//! # Usage (README text)
//!
//! ```text
//! sandpiper test SCRIPT --input FILE [--config TOML] [--type decoder|filter|encoder]
//!                [--expect FILE] [--decoder SCRIPT [--decoder-config TOML]]
//!                [--ticker-interval SECONDS] [--hostname NAME] [--quiet]
//! ```
//!
//! - `--type` defaults from the script's directory (`decoders/`, `filters/`,
//!   `encoders/`), else `decoder`; a `--config` section's type
//!   (`SandboxDecoder`, `SandboxFilter`, `SandboxEncoder`) decides too.
//! - `--config`: a TOML file holding the plugin's section exactly as in the
//!   daemon configuration (`type`, `filename`, limits, `ticker_interval`,
//!   `message_matcher`, the `[name.config]` table ...). The first section is
//!   used and checked as the daemon checks it (an unknown key is an error).
//!   A `[hekad]` section may set `share_dir` (module directory default
//!   `<share_dir>/lua_modules`), `max_process_inject` and `max_timer_inject`.
//!   SCRIPT is run even if `filename` names another file; `preserve_data` is
//!   ignored (the tool never reads or writes preserved state).
//! - Input for a decoder: each line of FILE is the Payload of one message,
//!   newline included, stamped as LogstreamerInput does (Type `logfile`,
//!   Logger = the file name, Hostname, Timestamp = the time the run
//!   started). Input for a filter or an encoder: one JSON message per line
//!   (blank lines and lines starting with `#` are skipped):
//!
//!   ```text
//!   {"Timestamp": "2014-02-10T16:46:41Z", "Type": "nginx.access",
//!    "Logger": "web", "Hostname": "h", "Severity": 6, "Pid": 1,
//!    "EnvVersion": "1", "Payload": "text",
//!    "Fields": {"status": 200, "path": "/", "ok": true, "tags": ["a", "b"],
//!               "bytes": {"value": 512, "type": "integer", "representation": "B"}}}
//!   ```
//!
//!   `Timestamp` is nanoseconds or RFC 3339 text (default: the run's start
//!   time). Field numbers are DOUBLE, as numbers injected from Lua are;
//!   `{"value": ..., "type": "string|bytes|integer|double|bool",
//!   "representation": "..."}` picks the type. An object gives the fields in
//!   name order; `"Fields": [{"name": "a", "value": 1}, ...]` keeps the
//!   order given and allows repeated names. With `--decoder SCRIPT` the
//!   lines of FILE are raw log lines decoded by that decoder first (its own
//!   section in `--decoder-config`).
//! - Filters: `message_matcher` from the config filters the input (Heka's
//!   default for a sandbox filter without one would match nothing; the tool
//!   delivers everything instead). `timer_event` is driven by message time:
//!   with `ticker_interval = N` (or `--ticker-interval N`), a tick fires at
//!   each multiple of N seconds that message time reaches after the first
//!   message (before that message is processed; a gap of more than 100,000
//!   intervals fires only its last tick), and once more after the last
//!   message, with the time of the newest message seen. The tick's time is
//!   the `ns` given to `timer_event`.
//! - Output: each message the script emitted — headers, then fields sorted
//!   by name (Lua 5.4 gives every run its own order for the keys of a
//!   `Fields` table; same-name fields keep their order), then the payload
//!   with lines prefixed by `| ` — or each
//!   encoder output (text lines prefixed by `| `, binary output as hex).
//!   Failures (`process_message` returning < 0) print one line each. The
//!   last line counts processed messages, failures and injections. Uuids are
//!   not printed, and timestamps the engine took from the wall clock during
//!   the run (the script set none) print as `(now)`, so output is stable.
//!   `--quiet` prints only failures and the count line (and the rate on
//!   stderr), for timing a script on a large input.
//! - `--expect FILE` compares the output with FILE: equal → exit 0; else a
//!   unified diff (`-` expected, `+` actual) and exit 1. Write the file the
//!   first time with `sandpiper test ... > FILE` and review it.
//! - Exit codes: 0 ok (messages that failed are part of the output), 1 the
//!   script terminated (error printed), returned a fatal status, or the
//!   output differs from `--expect`; 2 usage or configuration error.
//!
//! Example (from a source checkout):
//!
//! ```text
//! $ cat nginx.toml
//! [nginx_access]
//! type = "SandboxDecoder"
//! filename = "sandboxes/decoders/nginx_access.lua"
//! [nginx_access.config]
//! log_format = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
//! user_agent_transform = true
//! $ sandpiper test sandboxes/decoders/nginx_access.lua --config nginx.toml --input access.log
//! --- message 1 (line 1)
//! Timestamp: 2014-02-10T16:46:41Z (1392050801000000000)
//! Type: logfile
//! ...
//! ```

mod drive;
mod expect;
mod input;
mod render;
mod setup;
mod ticker;

use std::io::Write;
use std::path::PathBuf;

use super::ExitCode;
pub use setup::KindArg;

/// The options of `sandpiper test`.
#[derive(Debug, Clone, Default)]
pub struct TestArgs {
    /// The script to run.
    pub script: PathBuf,
    /// Input lines (decoders, `--decoder`) or JSON messages.
    pub input: PathBuf,
    /// TOML file with the plugin's section.
    pub config: Option<PathBuf>,
    /// The sandbox kind (default from the script path).
    pub kind: Option<KindArg>,
    /// Expected output to compare with.
    pub expect: Option<PathBuf>,
    /// A decoder that turns raw input lines into messages first.
    pub decoder: Option<PathBuf>,
    /// The decoder's section.
    pub decoder_config: Option<PathBuf>,
    /// Overrides the config's `ticker_interval` (seconds).
    pub ticker_interval: Option<u64>,
    /// Hostname stamped on input and filter messages (default `localhost`).
    pub hostname: Option<String>,
    /// Print only failures and the count line.
    pub quiet: bool,
}

/// Runs `sandpiper test`.
pub fn run(args: &TestArgs) -> ExitCode {
    let plan = match setup::plan(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sandpiper test: {e}");
            return 2;
        }
    };
    let mut text: Vec<u8> = Vec::new();
    let stdout = std::io::stdout();
    let result = if args.expect.is_some() {
        drive::run(&plan, &mut text, args.quiet)
    } else {
        let mut w = std::io::BufWriter::new(stdout.lock());
        let r = drive::run(&plan, &mut w, args.quiet);
        let _ = w.flush();
        r
    };
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sandpiper test: {e}");
            return e.exit_code();
        }
    };
    if args.quiet {
        eprintln!("{}", summary.rate_line());
    }
    eprintln!("{}", summary.stats_line());
    let code = match &summary.stopped {
        Some(why) => {
            eprintln!("sandpiper test: the script stopped: {why}");
            1
        }
        None => 0,
    };
    match &args.expect {
        None => code,
        Some(path) => match expect::compare(path, &text) {
            Ok(None) => {
                println!("output matches {}", path.display());
                code
            }
            Ok(Some(diff)) => {
                print!("{diff}");
                println!("output differs from {}", path.display());
                1
            }
            Err(e) => {
                eprintln!("sandpiper test: {e}");
                2
            }
        },
    }
}
