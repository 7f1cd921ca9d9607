//! The output runner: one thread per output that builds the output and its
//! encoder, drains the queue, drives the ticker and time-based flushing,
//! reopens on SIGHUP, restarts per the retry policy and keeps counters.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::RetryConfig;
use crate::message::{Signer, time::now_ns};
use crate::plugins::context::{EncodeSettings, StopSignal, Undelivered};
use crate::plugins::{
    EncoderFactory, Output, OutputContext, OutputFactory, PluginError, PluginReport,
};

use super::Events;
use super::filter_runner::stop_for_good;
use super::log_limit::LogLimiter;
use super::retry::RetryHelper;
use super::router::{QueueItem, Route};
use super::stats::RunnerStats;

/// Longest wait between two `poll` calls.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Everything an output runner needs.
pub struct OutputSetup {
    /// Plugin name.
    pub name: String,
    /// Builds the output on the runner's thread.
    pub factory: Box<dyn OutputFactory>,
    /// Builds the output's encoder, if it has one.
    pub encoder: Option<Arc<dyn EncoderFactory>>,
    /// Wrap encoded output in Heka framing.
    pub use_framing: bool,
    /// Sign framed records.
    pub signer: Option<Signer>,
    /// Where undeliverable messages' guards go.
    pub undelivered: Undelivered,
    /// `[hekad] max_message_size`.
    pub max_message_size: usize,
    /// The output's queue.
    pub rx: flume::Receiver<QueueItem>,
    /// The output's route.
    pub route: Arc<Route>,
    /// `ticker_interval`.
    pub ticker: Option<Duration>,
    /// The plugin may stop without stopping the pipeline.
    pub can_exit: bool,
    /// Restart policy.
    pub retries: RetryConfig,
    /// Counters.
    pub stats: Arc<RunnerStats>,
    /// Raised at shutdown.
    pub stop: StopSignal,
    /// Pipeline events.
    pub events: Events,
}

/// Starts the output's thread.
pub fn spawn(setup: OutputSetup) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(format!("output-{}", setup.name)).spawn(move || run(setup))
}

fn build(setup: &OutputSetup) -> Result<(Box<dyn Output>, EncodeSettings), PluginError> {
    let encoder = match &setup.encoder {
        Some(f) => Some(f.build()?),
        None => None,
    };
    let output = setup.factory.build()?;
    let settings = EncodeSettings {
        encoder,
        use_framing: setup.use_framing,
        signer: setup.signer.clone(),
        max_message_size: setup.max_message_size,
    };
    Ok((output, settings))
}

fn run(setup: OutputSetup) {
    let span = tracing::info_span!("output", plugin = %setup.name);
    let _enter = span.enter();
    let mut retry = RetryHelper::new(setup.retries);
    let mut limiter = LogLimiter::new();
    let reason = loop {
        let (mut output, mut encoding) = match build(&setup) {
            Ok(b) => b,
            Err(PluginError::Terminated(why)) => break why,
            Err(e) => match backoff(&setup, &mut retry, &format!("start failed: {e}")) {
                Ok(()) => continue,
                Err(reason) => break reason,
            },
        };
        match drive(&setup, output.as_mut(), &mut encoding, &mut limiter) {
            Ok(()) => return,
            Err(PluginError::Terminated(why)) => {
                let mut cx = OutputContext::new(&setup.name, &mut encoding, &setup.stop)
                    .with_undelivered(&setup.undelivered);
                output.stop(&mut cx);
                break why;
            }
            Err(e) => {
                RunnerStats::add(&setup.stats.restarts, 1);
                let mut cx = OutputContext::new(&setup.name, &mut encoding, &setup.stop)
                    .with_undelivered(&setup.undelivered);
                output.stop(&mut cx);
                if let Err(reason) = backoff(&setup, &mut retry, &e.to_string()) {
                    break reason;
                }
                retry.reset();
            }
        }
    };
    stop_for_good(&setup.name, &setup.route, &setup.stats, setup.can_exit, &setup.events, reason);
}

fn backoff(setup: &OutputSetup, retry: &mut RetryHelper, why: &str) -> Result<(), String> {
    tracing::error!(plugin = %setup.name, "Output failed: {why}");
    match retry.next_delay() {
        Some(delay) if !setup.stop.wait(delay) => Ok(()),
        Some(_) => Err(format!("{why} (shutting down)")),
        None => Err(why.to_string()),
    }
}

fn drive(
    setup: &OutputSetup,
    output: &mut dyn Output,
    encoding: &mut EncodeSettings,
    limiter: &mut LogLimiter,
) -> Result<(), PluginError> {
    let mut next_tick = setup.ticker.map(|t| Instant::now() + t);
    let mut next_report = Instant::now();
    loop {
        let deadline = match next_tick {
            Some(t) => t.min(Instant::now() + POLL_INTERVAL),
            None => Instant::now() + POLL_INTERVAL,
        };
        let item = setup.rx.recv_deadline(deadline);
        let mut cx = OutputContext::new(&setup.name, encoding, &setup.stop)
            .with_undelivered(&setup.undelivered);
        match item {
            Ok(QueueItem::Batch(batch)) => {
                let start = Instant::now();
                for pack in &batch {
                    let r = output.process_message(pack, &mut cx);
                    RunnerStats::add(&setup.stats.processed, 1);
                    check(setup, r, limiter)?;
                }
                // Flush before the packs (and their delivery guards) go:
                // an input's checkpoint must not pass unwritten data.
                check(setup, output.poll(&mut cx), limiter)?;
                crate::message::recycle_batch(batch);
                RunnerStats::add(&setup.stats.process_ns, start.elapsed().as_nanos() as u64);
                continue_ticks(setup, output, &mut cx, &mut next_tick, limiter)?;
                if Instant::now() >= next_report {
                    refresh_report(setup, output);
                    next_report = Instant::now() + Duration::from_secs(1);
                }
                continue;
            }
            Ok(QueueItem::Stop) | Err(flume::RecvTimeoutError::Disconnected) => {
                output.stop(&mut cx);
                refresh_report(setup, output);
                return Ok(());
            }
            Ok(QueueItem::Reopen) => check(setup, output.reopen(&mut cx), limiter)?,
            Err(flume::RecvTimeoutError::Timeout) => {}
        }
        check(setup, output.poll(&mut cx), limiter)?;
        continue_ticks(setup, output, &mut cx, &mut next_tick, limiter)?;
        if Instant::now() >= next_report {
            refresh_report(setup, output);
            next_report = Instant::now() + Duration::from_secs(1);
        }
    }
}

/// Runs `timer_event` when the ticker is due.
fn continue_ticks(
    setup: &OutputSetup,
    output: &mut dyn Output,
    cx: &mut OutputContext<'_>,
    next_tick: &mut Option<Instant>,
    limiter: &mut LogLimiter,
) -> Result<(), PluginError> {
    if let (Some(t), Some(interval)) = (*next_tick, setup.ticker)
        && Instant::now() >= t
    {
        let start = Instant::now();
        let r = output.timer_event(now_ns(), cx);
        RunnerStats::add(&setup.stats.timer_events, 1);
        RunnerStats::add(&setup.stats.timer_ns, start.elapsed().as_nanos() as u64);
        check(setup, r, limiter)?;
        *next_tick = Some((t + interval).max(Instant::now()));
    }
    Ok(())
}

/// Failures are counted and logged; fatal errors end the output (and go to
/// the retry policy).
fn check(
    setup: &OutputSetup,
    result: Result<(), PluginError>,
    limiter: &mut LogLimiter,
) -> Result<(), PluginError> {
    match result {
        Ok(()) => Ok(()),
        Err(PluginError::Failed(msg)) => {
            RunnerStats::add(&setup.stats.failures, 1);
            limiter.warn(&setup.name, &msg);
            Ok(())
        }
        Err(fatal) => Err(fatal),
    }
}

fn refresh_report(setup: &OutputSetup, output: &dyn Output) {
    let mut r = PluginReport::default();
    output.report(&mut r);
    setup.stats.set_plugin_report(r);
}
