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

/// A new version of a running output: the old one flushes and stops, the
/// new one takes over the same queue.
pub struct Replacement {
    /// Builds the new output.
    pub factory: Box<dyn OutputFactory>,
    /// Its encoder.
    pub encoder: Option<Arc<dyn EncoderFactory>>,
    /// Frame encoded output.
    pub use_framing: bool,
    /// The output's new route (same queue, possibly a new matcher).
    pub route: Arc<Route>,
    /// New `ticker_interval`.
    pub ticker: Option<Duration>,
    /// Where the outcome is reported (`Err` = the old output kept running).
    pub reply: Option<flume::Sender<Result<(), String>>>,
}

/// Starts the output's thread.
pub fn spawn(setup: OutputSetup) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(format!("output-{}", setup.name)).spawn(move || run(setup))
}

fn build(setup: &OutputSetup) -> Result<(Box<dyn Output>, EncodeSettings), PluginError> {
    build_parts(
        setup.factory.as_ref(),
        setup.encoder.as_deref(),
        setup.use_framing,
        setup.signer.clone(),
        setup.max_message_size,
    )
}

fn build_parts(
    factory: &dyn OutputFactory,
    encoder: Option<&dyn EncoderFactory>,
    use_framing: bool,
    signer: Option<Signer>,
    max_message_size: usize,
) -> Result<(Box<dyn Output>, EncodeSettings), PluginError> {
    let encoder = match encoder {
        Some(f) => Some(f.build()?),
        None => None,
    };
    let output = factory.build()?;
    Ok((output, EncodeSettings { encoder, use_framing, signer, max_message_size }))
}

fn run(mut setup: OutputSetup) {
    let span = tracing::info_span!("output", plugin = %setup.name);
    let _enter = span.enter();
    let mut retry = RetryHelper::new(setup.retries);
    let mut limiter = LogLimiter::new();
    let reason = loop {
        let (mut output, mut encoding) = match build(&setup) {
            Ok(b) => b,
            Err(PluginError::Terminated(why)) => break why,
            Err(e) => match retry.backoff(
                &setup.name,
                "Output",
                &setup.stop,
                &format!("start failed: {e}"),
            ) {
                Ok(()) => continue,
                Err(reason) => break reason,
            },
        };
        match drive(&mut setup, &mut output, &mut encoding, &mut limiter) {
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
                if let Err(reason) =
                    retry.backoff(&setup.name, "Output", &setup.stop, &e.to_string())
                {
                    break reason;
                }
                retry.reset();
            }
        }
    };
    stop_for_good(&setup.name, &setup.route, &setup.stats, setup.can_exit, &setup.events, reason);
}

/// Builds the replacement first; only then flushes the old output and swaps.
fn replace(
    setup: &mut OutputSetup,
    output: &mut Box<dyn Output>,
    encoding: &mut EncodeSettings,
    r: Replacement,
) -> Result<(), String> {
    let signer = r.factory.signer();
    let parts = build_parts(
        r.factory.as_ref(),
        r.encoder.as_deref(),
        r.use_framing,
        signer.clone(),
        setup.max_message_size,
    );
    let (new_output, new_encoding) = parts.map_err(|e| {
        tracing::error!(plugin = %setup.name, "Reload refused, the running version stays: {e}");
        e.to_string()
    })?;
    let mut cx =
        OutputContext::new(&setup.name, encoding, &setup.stop).with_undelivered(&setup.undelivered);
    output.stop(&mut cx);
    *output = new_output;
    *encoding = new_encoding;
    setup.factory = r.factory;
    setup.encoder = r.encoder;
    setup.use_framing = r.use_framing;
    setup.signer = signer;
    setup.route = r.route;
    setup.ticker = r.ticker;
    tracing::info!(plugin = %setup.name, "Output reloaded.");
    Ok(())
}

fn drive(
    setup: &mut OutputSetup,
    output: &mut Box<dyn Output>,
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
        let item = match setup.rx.recv_deadline(deadline) {
            Ok(QueueItem::ReplaceOutput(r)) => {
                let reply = r.reply.clone();
                let outcome = replace(setup, output, encoding, *r);
                if outcome.is_ok() {
                    next_tick = setup.ticker.map(|t| Instant::now() + t);
                }
                if let Some(reply) = reply {
                    let _ = reply.send(outcome);
                }
                continue;
            }
            Ok(QueueItem::ReplaceFilter(r)) => {
                if let Some(reply) = &r.reply {
                    let _ = reply.send(Err("not a filter".into()));
                }
                continue;
            }
            other => other,
        };
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
                continue_ticks(setup, output.as_mut(), &mut cx, &mut next_tick, limiter)?;
                if Instant::now() >= next_report {
                    refresh_report(setup, output.as_ref());
                    next_report = Instant::now() + Duration::from_secs(1);
                }
                continue;
            }
            Ok(QueueItem::Stop) | Err(flume::RecvTimeoutError::Disconnected) => {
                output.stop(&mut cx);
                refresh_report(setup, output.as_ref());
                return Ok(());
            }
            Ok(QueueItem::Reopen) => check(setup, output.reopen(&mut cx), limiter)?,
            Ok(QueueItem::ReplaceOutput(_) | QueueItem::ReplaceFilter(_)) => {}
            Err(flume::RecvTimeoutError::Timeout) => {}
        }
        check(setup, output.poll(&mut cx), limiter)?;
        continue_ticks(setup, output.as_mut(), &mut cx, &mut next_tick, limiter)?;
        if Instant::now() >= next_report {
            refresh_report(setup, output.as_ref());
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
    setup.stats.absorb_failure(&setup.name, result, limiter)
}

fn refresh_report(setup: &OutputSetup, output: &dyn Output) {
    let mut r = PluginReport::default();
    output.report(&mut r);
    setup.stats.set_plugin_report(r);
}
