//! Runs the planned sandbox over the input: decoders line by line, filters
//! and encoders message by message (from JSON or from a first decoder),
//! printing what comes out and counting as it goes.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::input::{InputError, next_line, parse_message};
use super::render::{self, Clock, Origin};
use super::setup::{Plan, SandboxPlan};
use super::ticker::Ticker;
use crate::message::{Message, PackMut, PackPool, time, uuid};
use crate::sandbox::{
    CollectHost, DecodeOutcome, EncodeOutcome, ProcessStatus, Sandbox, SandboxError, SandboxKind,
    SandboxStats,
};

/// Why a run could not be completed (the script's own failures are not
/// errors: they are part of the output).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The input could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The input file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON input line is malformed.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The script did not load.
    #[error("{script}: {error}")]
    Load {
        /// The script.
        script: String,
        /// The engine's error.
        error: SandboxError,
    },
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Write(std::io::Error),
}

impl RunError {
    /// Exit code: 2 for bad input or configuration, 1 for a script that
    /// fails to load or a failed write.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Read { .. } | RunError::Input(_) => 2,
            RunError::Load { error: SandboxError::Config(_), .. } => 2,
            RunError::Load { .. } | RunError::Write(_) => 1,
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Kind of the script under test.
    pub kind: Option<SandboxKind>,
    /// `process_message` calls.
    pub processed: u64,
    /// Calls that returned a status < 0.
    pub failures: u64,
    /// Messages emitted (or encoder outputs).
    pub emitted: u64,
    /// Encoder `-2` returns, or filter input the matcher rejected.
    pub skipped: u64,
    /// `timer_event` calls.
    pub ticks: u64,
    /// Lines the `--decoder` failed to decode.
    pub decode_failures: u64,
    /// Set when the script terminated or returned a fatal status.
    pub stopped: Option<String>,
    /// Time spent running.
    pub elapsed: Duration,
    /// The script's usage statistics.
    pub stats: Option<SandboxStats>,
}

impl Summary {
    /// The closing count line (part of the compared output).
    pub fn count_line(&self) -> String {
        let mut s = format!("=== {} processed, {} failed", self.processed, self.failures);
        match self.kind {
            Some(SandboxKind::Encoder) => {
                s += &format!(", {} outputs, {} skipped", self.emitted, self.skipped);
            }
            Some(SandboxKind::Filter) => {
                s += &format!(
                    ", {} injected, {} timer events, {} not matched",
                    self.emitted, self.ticks, self.skipped
                )
            }
            _ => s += &format!(", {} emitted", self.emitted),
        }
        if self.decode_failures > 0 {
            s += &format!(", {} lines not decoded", self.decode_failures);
        }
        s
    }

    /// Throughput, for `--quiet` runs.
    pub fn rate_line(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        format!(
            "{} processed in {secs:.3} s ({:.0} per second)",
            self.processed,
            self.processed as f64 / secs
        )
    }

    /// The sandbox's limits usage.
    pub fn stats_line(&self) -> String {
        match &self.stats {
            Some(s) => format!(
                "sandbox: max memory {} B, max instructions {}, max output {} B",
                s.max_memory, s.max_instructions, s.max_output
            ),
            None => "sandbox: no statistics".into(),
        }
    }
}

/// Internal early exit: the script stopped, or the run failed.
enum Halt {
    Stopped(String),
    Failed(RunError),
}

impl From<RunError> for Halt {
    fn from(e: RunError) -> Self {
        Halt::Failed(e)
    }
}

impl From<InputError> for Halt {
    fn from(e: InputError) -> Self {
        Halt::Failed(RunError::Input(e))
    }
}

/// Prints blocks and lines.
struct Printer<'a> {
    w: &'a mut dyn Write,
    quiet: bool,
    clock: Clock,
    buf: String,
    count: u64,
}

impl Printer<'_> {
    fn message(&mut self, m: &Message, origin: Origin) -> Result<(), Halt> {
        self.count += 1;
        if self.quiet {
            return Ok(());
        }
        self.buf.clear();
        let title = format!("message {} ({origin})", self.count);
        render::message(&mut self.buf, &title, m, self.clock);
        self.flush()
    }

    fn output(&mut self, bytes: &[u8], origin: Origin) -> Result<(), Halt> {
        self.count += 1;
        if self.quiet {
            return Ok(());
        }
        self.buf.clear();
        render::output(&mut self.buf, &format!("output {} ({origin})", self.count), bytes);
        self.flush()
    }

    /// A line printed even when quiet (failures, termination, counts).
    fn line(&mut self, text: &str) -> Result<(), Halt> {
        self.buf.clear();
        self.buf.push_str(&one_line(text));
        self.buf.push('\n');
        self.flush()
    }

    fn flush(&mut self) -> Result<(), Halt> {
        self.w.write_all(self.buf.as_bytes()).map_err(|e| Halt::Failed(RunError::Write(e)))
    }
}

/// Trailing whitespace trimmed, inner newlines shown as `\n`.
fn one_line(text: &str) -> String {
    text.trim_end().replace('\n', "\\n")
}

/// Runs the plan, writing the text output to `w`.
pub fn run(plan: &Plan, w: &mut dyn Write, quiet: bool) -> Result<Summary, RunError> {
    let clock = Clock { start: time::now_ns() };
    let host = CollectHost::new();
    let mut sb = load(&plan.main, host.clone())?;
    let mut feed = match &plan.decoder {
        _ if plan.main.sandbox.kind == SandboxKind::Decoder => None,
        None => Some(Feed::json(&plan.input, clock.start)?),
        Some(d) => Some(Feed::decoded(plan, d, clock.start)?),
    };
    let mut p = Printer { w, quiet, clock, buf: String::new(), count: 0 };
    let mut s = Summary { kind: Some(plan.main.sandbox.kind), ..Summary::default() };
    let started = Instant::now();
    let r = match &mut feed {
        None => run_decoder(&mut sb, plan, clock.start, &mut p, &mut s),
        Some(feed) if plan.main.sandbox.kind == SandboxKind::Encoder => {
            run_encoder(&mut sb, feed, &mut p, &mut s)
        }
        Some(feed) => run_filter(&mut sb, &host, &plan.main, feed, clock.start, &mut p, &mut s),
    };
    s.elapsed = started.elapsed();
    if let Some(f) = &feed {
        s.decode_failures = f.decode_failures;
    }
    s.emitted = p.count;
    s.stats = Some(sb.stats());
    let stopped = match r {
        Ok(()) => None,
        Err(Halt::Failed(e)) => return Err(e),
        Err(Halt::Stopped(why)) => Some(why),
    };
    if let Some(why) = &stopped
        && let Err(Halt::Failed(e)) = p.line(&format!("!!! stopped: {why}"))
    {
        return Err(e);
    }
    s.stopped = stopped;
    if let Err(Halt::Failed(e)) = p.line(&s.count_line()) {
        return Err(e);
    }
    Ok(s)
}

fn load(plan: &SandboxPlan, host: CollectHost) -> Result<Sandbox, RunError> {
    Sandbox::new(plan.sandbox.clone(), Box::new(host)).map_err(|error| RunError::Load {
        script: plan.sandbox.script_path.display().to_string(),
        error,
    })
}

fn open(path: &Path) -> Result<BufReader<File>, RunError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| RunError::Read { path: path.display().to_string(), source })
}

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> Halt + '_ {
    move |source| Halt::Failed(RunError::Read { path: path.display().to_string(), source })
}

/// Stamps a raw line as LogstreamerInput does.
struct Stamp {
    logger: Vec<u8>,
    hostname: Vec<u8>,
    timestamp: i64,
}

impl Stamp {
    fn new(input: &Path, hostname: &str, timestamp: i64) -> Stamp {
        let logger = input
            .file_name()
            .map_or_else(|| input.display().to_string(), |n| n.to_string_lossy().into_owned());
        Stamp { logger: logger.into_bytes(), hostname: hostname.as_bytes().to_vec(), timestamp }
    }

    fn apply(&self, m: &mut Message, line: &[u8]) {
        m.uuid.extend_from_slice(&uuid::new_v4());
        m.timestamp = self.timestamp;
        m.msg_type.extend_from_slice(b"logfile");
        m.logger.extend_from_slice(&self.logger);
        m.hostname.extend_from_slice(&self.hostname);
        m.payload.extend_from_slice(line);
    }
}

fn run_decoder(
    sb: &mut Sandbox,
    plan: &Plan,
    start: i64,
    p: &mut Printer<'_>,
    s: &mut Summary,
) -> Result<(), Halt> {
    let stamp = Stamp::new(&plan.input, &plan.hostname, start);
    let mut reader = open(&plan.input)?;
    let pool = PackPool::new(4);
    let (mut line, mut out, mut n) = (Vec::new(), Vec::new(), 0usize);
    while next_line(&mut reader, &mut line).map_err(read_error(&plan.input))? {
        n += 1;
        let mut pack = pool.get();
        stamp.apply(&mut pack.message, &line);
        s.processed += 1;
        let outcome = sb.decode(pack, &mut out);
        for pk in out.drain(..) {
            p.message(&pk.message, Origin::Input(n))?;
        }
        match outcome {
            Ok(DecodeOutcome::Forwarded | DecodeOutcome::Injected(_)) => {}
            Ok(DecodeOutcome::Failed { message, .. }) => {
                s.failures += 1;
                p.line(&format!("!!! input {n}: {message}"))?;
            }
            Ok(DecodeOutcome::Fatal { status, message }) => {
                return Err(Halt::Stopped(format!("input {n}: fatal status {status}: {message}")));
            }
            Err(t) => return Err(Halt::Stopped(format!("input {n}: terminated: {t}"))),
        }
    }
    Ok(())
}

fn status_line(n: usize, status: i32, message: Option<&str>) -> String {
    match message {
        Some(m) => format!("!!! input {n}: status {status}: {m}"),
        None => format!("!!! input {n}: status {status}"),
    }
}

fn run_filter(
    sb: &mut Sandbox,
    host: &CollectHost,
    plan: &SandboxPlan,
    feed: &mut Feed,
    start: i64,
    p: &mut Printer<'_>,
    s: &mut Summary,
) -> Result<(), Halt> {
    let mut ticker = Ticker::new(plan.ticker_interval);
    let tick = |sb: &mut Sandbox, ns: i64, p: &mut Printer<'_>, s: &mut Summary| {
        s.ticks += 1;
        let r = sb.timer_event(ns);
        for pk in host.take() {
            p.message(&pk.message, Origin::Timer(ns))?;
        }
        r.map_err(|t| Halt::Stopped(format!("timer_event at {ns}: terminated: {t}")))
    };
    while let Some((n, msg)) = feed.next(p)? {
        if let Some(m) = &plan.matcher
            && !m.matches(&msg)
        {
            s.skipped += 1;
            continue;
        }
        for ns in ticker.advance(msg.timestamp) {
            tick(sb, ns, p, s)?;
        }
        let pack = PackMut::from_message(msg).freeze();
        s.processed += 1;
        let r = sb.process_message(&pack);
        for pk in host.take() {
            p.message(&pk.message, Origin::Input(n))?;
        }
        match r {
            Ok(ProcessStatus::Ok) => {}
            Ok(ProcessStatus::Failed { status, message }) => {
                s.failures += 1;
                p.line(&status_line(n, status, message.as_deref()))?;
            }
            Ok(ProcessStatus::Fatal { status, message }) => {
                return Err(Halt::Stopped(status_line(n, status, message.as_deref())));
            }
            Err(t) => return Err(Halt::Stopped(format!("input {n}: terminated: {t}"))),
        }
    }
    if let Some(ns) = ticker.last(start) {
        tick(sb, ns, p, s)?;
    }
    Ok(())
}

fn run_encoder(
    sb: &mut Sandbox,
    feed: &mut Feed,
    p: &mut Printer<'_>,
    s: &mut Summary,
) -> Result<(), Halt> {
    let mut out = Vec::new();
    while let Some((n, msg)) = feed.next(p)? {
        let pack = PackMut::from_message(msg).freeze();
        s.processed += 1;
        match sb.encode(&pack, &mut out) {
            Ok(EncodeOutcome::Output) => p.output(&out, Origin::Input(n))?,
            Ok(EncodeOutcome::Skip) => s.skipped += 1,
            Ok(EncodeOutcome::Failed { status, message }) => {
                s.failures += 1;
                p.line(&status_line(n, status, message.as_deref()))?;
            }
            Ok(EncodeOutcome::Fatal { status, message }) => {
                return Err(Halt::Stopped(status_line(n, status, message.as_deref())));
            }
            Err(t) => return Err(Halt::Stopped(format!("input {n}: terminated: {t}"))),
        }
    }
    Ok(())
}

/// Messages for a filter or an encoder.
struct Feed {
    reader: BufReader<File>,
    path: std::path::PathBuf,
    line: Vec<u8>,
    n: usize,
    default_ts: i64,
    decoder: Option<Decoding>,
    decode_failures: u64,
}

/// The `--decoder` stage.
struct Decoding {
    sb: Sandbox,
    stamp: Stamp,
    out: Vec<PackMut>,
    pending: VecDeque<Message>,
}

impl Feed {
    fn json(path: &Path, default_ts: i64) -> Result<Feed, RunError> {
        Ok(Feed {
            reader: open(path)?,
            path: path.to_path_buf(),
            line: Vec::new(),
            n: 0,
            default_ts,
            decoder: None,
            decode_failures: 0,
        })
    }

    fn decoded(plan: &Plan, d: &SandboxPlan, start: i64) -> Result<Feed, RunError> {
        let mut feed = Feed::json(&plan.input, start)?;
        feed.decoder = Some(Decoding {
            sb: load(d, CollectHost::new())?,
            stamp: Stamp::new(&plan.input, &plan.hostname, start),
            out: Vec::new(),
            pending: VecDeque::new(),
        });
        Ok(feed)
    }

    /// The next message and the input line it came from.
    fn next(&mut self, p: &mut Printer<'_>) -> Result<Option<(usize, Message)>, Halt> {
        loop {
            if let Some(d) = &mut self.decoder
                && let Some(m) = d.pending.pop_front()
            {
                return Ok(Some((self.n, m)));
            }
            if !next_line(&mut self.reader, &mut self.line).map_err(read_error(&self.path))? {
                return Ok(None);
            }
            self.n += 1;
            let n = self.n;
            let Some(d) = &mut self.decoder else {
                match parse_message(&self.line, n, self.default_ts)? {
                    Some(m) => return Ok(Some((n, m))),
                    None => continue,
                }
            };
            let mut pack = PackMut::standalone();
            pack.message.severity = Some(crate::message::DEFAULT_SEVERITY);
            d.stamp.apply(&mut pack.message, &self.line);
            let outcome = d.sb.decode(pack, &mut d.out);
            for mut pk in d.out.drain(..) {
                d.pending.push_back(std::mem::take(&mut pk.message));
            }
            match outcome {
                Ok(DecodeOutcome::Forwarded | DecodeOutcome::Injected(_)) => {}
                Ok(DecodeOutcome::Failed { message, .. }) => {
                    self.decode_failures += 1;
                    p.line(&format!("!!! input {n}: decoder: {message}"))?;
                }
                Ok(DecodeOutcome::Fatal { status, message }) => {
                    return Err(Halt::Stopped(format!(
                        "input {n}: decoder: fatal status {status}: {message}"
                    )));
                }
                Err(t) => {
                    return Err(Halt::Stopped(format!("input {n}: decoder terminated: {t}")));
                }
            }
        }
    }
}
