//! The filter runner: one thread per filter that drains the filter's queue,
//! drives its ticker, routes what it injects (with Heka's loop and
//! self-match guards), restarts it per its retry policy and keeps counters.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::HekadConfig;
use crate::config::RetryConfig;
use crate::message::{PackPool, PackRef, time::now_ns};
use crate::plugins::context::{InjectPath, Injections, PluginManager, RouteSink, StopSignal};
use crate::plugins::{Filter, FilterContext, FilterEnv, FilterFactory, PluginError, PluginReport};

use super::Events;
use super::log_limit::LogLimiter;
use super::retry::RetryHelper;
use super::router::{QueueItem, Route, Router};
use super::stats::RunnerStats;

/// How often plugin-specific report values are refreshed.
const REPORT_REFRESH: Duration = Duration::from_secs(1);

/// Everything a filter runner needs.
pub struct FilterSetup {
    /// Plugin name.
    pub name: String,
    /// Builds the filter on the runner's thread.
    pub factory: Box<dyn FilterFactory>,
    /// The filter's queue.
    pub rx: flume::Receiver<QueueItem>,
    /// The filter's own route (its matcher guards self-injection).
    pub route: Arc<Route>,
    /// `ticker_interval`.
    pub ticker: Option<Duration>,
    /// Where injections go.
    pub router: Arc<Router>,
    /// The inject pack pool.
    pub inject_pool: PackPool,
    /// The plugin may stop without stopping the pipeline.
    pub can_exit: bool,
    /// Restart policy.
    pub retries: RetryConfig,
    /// Counters.
    pub stats: Arc<RunnerStats>,
    /// Raised at shutdown (aborts waits for inject packs).
    pub stop: StopSignal,
    /// Pipeline events (shutdown requests).
    pub events: Events,
    /// Changes the running pipeline (SandboxManagerFilter).
    pub manager: Option<Arc<dyn PluginManager>>,
    /// `[hekad]` settings (hostname, max_message_loops, ...).
    pub hekad: Arc<HekadConfig>,
}

/// A new version of a running filter (in-place reload).
pub struct Replacement {
    /// Builds the new filter.
    pub factory: Box<dyn FilterFactory>,
    /// The filter's new route (same queue, possibly a new matcher).
    pub route: Arc<Route>,
    /// New `ticker_interval`.
    pub ticker: Option<Duration>,
    /// Where the outcome is reported (`Err` = the old filter kept running).
    pub reply: Option<flume::Sender<Result<(), String>>>,
}

/// Starts the filter's thread.
pub fn spawn(setup: FilterSetup) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(format!("filter-{}", setup.name)).spawn(move || run(setup))
}

/// The injection path of a filter: its own matcher guards self-injection.
fn inject_path(setup: &FilterSetup) -> InjectPath {
    InjectPath {
        sink: Arc::clone(&setup.router) as Arc<dyn RouteSink>,
        pool: setup.inject_pool.clone(),
        own: Some(setup.route.matcher.clone()),
        max_loops: setup.hekad.max_message_loops.max(1),
        injected: Arc::clone(&setup.stats.injected),
        stop: setup.stop.clone(),
    }
}

/// What the filter's factory gets.
fn filter_env(setup: &FilterSetup, replacing: bool) -> FilterEnv {
    FilterEnv {
        name: setup.name.clone(),
        hostname: setup.hekad.hostname.clone(),
        inject: inject_path(setup),
        manager: setup.manager.clone(),
        hekad: Arc::clone(&setup.hekad),
        replacing,
    }
}

fn run(mut setup: FilterSetup) {
    let span = tracing::info_span!("filter", plugin = %setup.name);
    let _enter = span.enter();
    let mut retry = RetryHelper::new(setup.retries);
    let mut limiter = LogLimiter::new();
    let reason = loop {
        let mut filter = match setup.factory.build(&filter_env(&setup, false)) {
            Ok(f) => f,
            Err(PluginError::Terminated(why)) => break why,
            Err(e) => match retry.backoff(
                &setup.name,
                "Filter",
                &setup.stop,
                &format!("start failed: {e}"),
            ) {
                Ok(()) => continue,
                Err(reason) => break reason,
            },
        };
        match drive(&mut setup, &mut filter, &mut limiter) {
            Ok(()) => return,
            Err(PluginError::Terminated(why)) => break why,
            Err(e) => {
                RunnerStats::add(&setup.stats.restarts, 1);
                if let Err(reason) =
                    retry.backoff(&setup.name, "Filter", &setup.stop, &e.to_string())
                {
                    break reason;
                }
                retry.reset();
            }
        }
    };
    stop_for_good(&setup.name, &setup.route, &setup.stats, setup.can_exit, &setup.events, reason);
}

/// Marks a plugin as gone: the router stops sending to it, its queue is
/// released, and without `can_exit` the whole pipeline shuts down.
pub(crate) fn stop_for_good(
    name: &str,
    route: &Route,
    stats: &RunnerStats,
    can_exit: bool,
    events: &Events,
    reason: String,
) {
    route.alive.store(false, std::sync::atomic::Ordering::Relaxed);
    stats.set_stopped(reason.clone());
    if can_exit {
        tracing::warn!(plugin = %name, "Plugin stopped: {reason}");
    } else {
        tracing::error!(plugin = %name, "Plugin stopped and can_exit is false; shutting down: {reason}");
        events.request_shutdown(format!("{name} stopped: {reason}"));
    }
}

/// Builds the replacement, moves the state over and swaps it in; on any
/// error the old filter stays.
fn replace(
    setup: &mut FilterSetup,
    filter: &mut Box<dyn Filter>,
    r: Replacement,
) -> Result<(), String> {
    let old_route = std::mem::replace(&mut setup.route, Arc::clone(&r.route));
    let built = r.factory.build(&filter_env(setup, true)).map_err(|e| e.to_string());
    let result = built.and_then(|mut new| {
        let state = filter.export_state().map_err(|e| format!("saving the state failed: {e}"))?;
        if let Some(state) = state {
            new.import_state(&state).map_err(|e| format!("restoring the state failed: {e}"))?;
        }
        Ok(new)
    });
    match result {
        Ok(new) => {
            *filter = new;
            setup.factory = r.factory;
            setup.ticker = r.ticker;
            Ok(())
        }
        Err(e) => {
            setup.route = old_route;
            setup.stats.record_reload_failure(&e);
            tracing::error!(plugin = %setup.name, "Reload refused, the running version stays: {e}");
            Err(e)
        }
    }
}

/// Runs the filter until Stop (Ok) or a fatal error (Err).
fn drive(
    setup: &mut FilterSetup,
    filter: &mut Box<dyn Filter>,
    limiter: &mut LogLimiter,
) -> Result<(), PluginError> {
    let mut injector = Injections::new(inject_path(setup));
    let mut next_tick = setup.ticker.map(|t| Instant::now() + t);
    let mut next_report = Instant::now();
    // When the last in-place swap began, until the next message is handled.
    let mut swap_began: Option<Instant> = None;
    loop {
        let item = match next_tick {
            Some(t) => setup.rx.recv_deadline(t),
            None => setup.rx.recv_deadline(Instant::now() + REPORT_REFRESH),
        };
        match item {
            Ok(QueueItem::Batch(batch)) => {
                if let Some(began) = swap_began.take() {
                    record_pause(setup, began.elapsed());
                }
                let result = process_batch(setup, filter.as_mut(), &mut injector, &batch, limiter);
                crate::message::recycle_batch(batch);
                result?;
            }
            Ok(QueueItem::ReplaceFilter(r)) => {
                let began = Instant::now();
                let reply = r.reply.clone();
                let outcome = replace(setup, filter, *r);
                if outcome.is_ok() {
                    swap_began = Some(began);
                    RunnerStats::add(&setup.stats.reloads, 1);
                    tracing::info!(
                        plugin = %setup.name,
                        "Filter reloaded in place (state carried over) in {:.2} ms.",
                        began.elapsed().as_secs_f64() * 1000.0
                    );
                    injector = Injections::new(inject_path(setup));
                    next_tick = setup.ticker.map(|t| Instant::now() + t);
                }
                if let Some(reply) = reply {
                    let _ = reply.send(outcome);
                }
            }
            Ok(QueueItem::ReplaceOutput(r)) => {
                if let Some(reply) = &r.reply {
                    let _ = reply.send(Err("not an output".into()));
                }
            }
            Ok(QueueItem::Stop) | Err(flume::RecvTimeoutError::Disconnected) => {
                injector.parent_loops = 0;
                let mut cx = FilterContext {
                    name: &setup.name,
                    hostname: &setup.hekad.hostname,
                    injector: &mut injector,
                };
                filter.stop(&mut cx);
                injector.flush();
                refresh_report(setup, filter.as_ref());
                return Ok(());
            }
            Ok(QueueItem::Reopen) => {}
            Err(flume::RecvTimeoutError::Timeout) => {}
        }
        if let (Some(t), Some(interval)) = (next_tick, setup.ticker)
            && Instant::now() >= t
        {
            injector.parent_loops = 0;
            let start = Instant::now();
            let mut cx = FilterContext {
                name: &setup.name,
                hostname: &setup.hekad.hostname,
                injector: &mut injector,
            };
            let result = filter.timer_event(now_ns(), &mut cx);
            RunnerStats::add(&setup.stats.timer_events, 1);
            RunnerStats::add(&setup.stats.timer_ns, start.elapsed().as_nanos() as u64);
            injector.flush();
            handle_result(setup, result, limiter)?;
            next_tick = Some(t + interval).map(|n| n.max(Instant::now()));
        }
        injector.parent_loops = 0;
        let mut cx = FilterContext {
            name: &setup.name,
            hostname: &setup.hekad.hostname,
            injector: &mut injector,
        };
        let polled = filter.poll(&mut cx);
        injector.flush();
        handle_result(setup, polled, limiter)?;
        if Instant::now() >= next_report {
            refresh_report(setup, filter.as_ref());
            next_report = Instant::now() + REPORT_REFRESH;
        }
    }
}

/// Records how long the filter processed nothing because of an in-place
/// swap: from the replacement item's arrival to the first message after it.
fn record_pause(setup: &FilterSetup, pause: Duration) {
    let ns = pause.as_nanos().min(u128::from(u64::MAX)) as u64;
    setup.stats.record_reload_pause(ns);
    tracing::debug!(plugin = %setup.name, pause_us = ns / 1000, "Reload pause");
}

fn process_batch(
    setup: &FilterSetup,
    filter: &mut dyn Filter,
    injector: &mut Injections,
    batch: &[PackRef],
    limiter: &mut LogLimiter,
) -> Result<(), PluginError> {
    let start = Instant::now();
    for pack in batch {
        injector.parent_loops = pack.loop_count;
        let mut cx = FilterContext {
            name: &setup.name,
            hostname: &setup.hekad.hostname,
            injector: &mut *injector,
        };
        let result = filter.process_message(pack, &mut cx);
        handle_result(setup, result, limiter)?;
    }
    RunnerStats::add(&setup.stats.processed, batch.len() as u64);
    RunnerStats::add(&setup.stats.process_ns, start.elapsed().as_nanos() as u64);
    injector.flush();
    Ok(())
}

fn handle_result(
    setup: &FilterSetup,
    result: Result<(), PluginError>,
    limiter: &mut LogLimiter,
) -> Result<(), PluginError> {
    setup.stats.absorb_failure(&setup.name, result, limiter)
}

fn refresh_report(setup: &FilterSetup, filter: &dyn Filter) {
    let mut r = PluginReport::default();
    filter.report(&mut r);
    setup.stats.set_plugin_report(r);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Matcher;
    use crate::plugins::context::{InjectError, Injector};
    use std::sync::atomic::{AtomicU64, Ordering};

    fn path(router: &Arc<Router>, own: &str, pool: &PackPool, stop: &StopSignal) -> InjectPath {
        InjectPath {
            sink: Arc::clone(router) as Arc<dyn RouteSink>,
            pool: pool.clone(),
            own: Some(Matcher::new(own).unwrap()),
            max_loops: 4,
            injected: Arc::new(AtomicU64::new(0)),
            stop: stop.clone(),
        }
    }

    #[test]
    fn injections_respect_max_loops_and_self_match() {
        let router = Arc::new(Router::new());
        let (otx, orx) = flume::unbounded();
        router.set_routes(vec![Arc::new(Route::new(
            "out".into(),
            Matcher::new("TRUE").unwrap(),
            None,
            otx,
        ))]);
        let pool = PackPool::new(4);
        let stop = StopSignal::new();
        let p = path(&router, "Type == 'mine'", &pool, &stop);
        let mut inj = Injections::new(p.clone());
        inj.parent_loops = 3;
        let mut pk = inj.new_pack().unwrap();
        pk.message.msg_type = b"other".to_vec();
        inj.inject(pk).unwrap();
        inj.flush();
        match orx.try_recv() {
            Ok(QueueItem::Batch(b)) => assert_eq!(b[0].loop_count, 4),
            _ => panic!("not routed"),
        }
        inj.parent_loops = 4;
        let pk = inj.new_pack().unwrap();
        assert_eq!(inj.inject(pk), Err(InjectError::Loops));
        inj.parent_loops = 0;
        let mut pk = inj.new_pack().unwrap();
        pk.message.msg_type = b"mine".to_vec();
        assert_eq!(inj.inject(pk), Err(InjectError::SelfMatch));
        assert_eq!(p.injected.load(Ordering::Relaxed), 1);
        assert_eq!(pool.available(), 4, "refused packs went home");
    }

    type Seen = Arc<std::sync::Mutex<Vec<(&'static str, u64)>>>;

    /// Records the sequence number (Payload) of every message it sees.
    struct Seq {
        tag: &'static str,
        seen: Seen,
        count: u64,
    }

    impl Filter for Seq {
        fn process_message(
            &mut self,
            pack: &PackRef,
            _cx: &mut FilterContext<'_>,
        ) -> Result<(), PluginError> {
            let n = pack.message.payload_str().parse().unwrap();
            self.seen.lock().unwrap().push((self.tag, n));
            self.count += 1;
            Ok(())
        }
        fn report(&self, r: &mut PluginReport) {
            r.set("Count", self.count);
        }
        fn export_state(&self) -> Result<Option<String>, PluginError> {
            Ok(Some(self.count.to_string()))
        }
        fn import_state(&mut self, state: &str) -> Result<(), PluginError> {
            self.count = state.parse().unwrap();
            Ok(())
        }
    }

    struct SeqFactory {
        tag: &'static str,
        seen: Seen,
        broken: bool,
    }

    impl FilterFactory for SeqFactory {
        fn build(&self, _env: &FilterEnv) -> Result<Box<dyn Filter>, PluginError> {
            if self.broken {
                return Err(PluginError::Terminated("syntax error".into()));
            }
            Ok(Box::new(Seq { tag: self.tag, seen: Arc::clone(&self.seen), count: 0 }))
        }
    }

    fn batch(from: u64, n: u64) -> QueueItem {
        let packs = (from..from + n).map(|i| {
            let mut m = crate::message::Message::new();
            m.payload = i.to_string().into_bytes();
            crate::message::PackMut::from_message(m).freeze()
        });
        QueueItem::Batch(packs.collect())
    }

    #[test]
    fn a_replacement_takes_over_in_order_with_the_state_and_a_broken_one_is_refused() {
        let seen: Seen = Arc::default();
        let factory = |tag, broken| {
            Box::new(SeqFactory { tag, seen: Arc::clone(&seen), broken }) as Box<dyn FilterFactory>
        };
        let (tx, rx) = flume::bounded(64);
        let route = |tx: &flume::Sender<QueueItem>| {
            Arc::new(Route::new("seq".into(), Matcher::new("TRUE").unwrap(), None, tx.clone()))
        };
        let stats = Arc::new(RunnerStats::default());
        let (events, _events_rx) = super::super::Events::channel();
        let handle = spawn(FilterSetup {
            name: "seq".into(),
            factory: factory("v1", false),
            rx,
            route: route(&tx),
            ticker: None,
            router: Arc::new(Router::new()),
            inject_pool: PackPool::new(4),
            can_exit: true,
            retries: RetryConfig::default(),
            stats: Arc::clone(&stats),
            stop: StopSignal::new(),
            events,
            manager: None,
            hekad: Arc::new(HekadConfig::default()),
        })
        .unwrap();
        let replace = |tag, broken| {
            let (reply, answer) = flume::bounded(1);
            let r = Replacement {
                factory: factory(tag, broken),
                route: route(&tx),
                ticker: None,
                reply: Some(reply),
            };
            (QueueItem::ReplaceFilter(Box::new(r)), answer)
        };
        // Everything is queued before the runner gets to it: the swaps
        // happen between batches, wherever they fall.
        tx.send(batch(0, 10)).unwrap();
        let (item, ok) = replace("v2", false);
        tx.send(item).unwrap();
        tx.send(batch(10, 10)).unwrap();
        let (item, refused) = replace("v3", true);
        tx.send(item).unwrap();
        tx.send(batch(20, 5)).unwrap();
        tx.send(QueueItem::Stop).unwrap();
        handle.join().unwrap();
        assert_eq!(ok.recv().unwrap(), Ok(()));
        assert!(refused.recv().unwrap().unwrap_err().contains("syntax error"));
        let seen = seen.lock().unwrap().clone();
        let numbers: Vec<u64> = seen.iter().map(|(_, n)| *n).collect();
        assert_eq!(numbers, (0..25).collect::<Vec<_>>(), "none lost, none reordered");
        assert!(seen[..10].iter().all(|(t, _)| *t == "v1"));
        assert!(seen[10..].iter().all(|(t, _)| *t == "v2"), "the broken v3 never ran");
        let report = stats.plugin.lock().unwrap().clone();
        assert_eq!(report.values, vec![("Count".to_string(), serde_json::json!(25))]);
        assert_eq!(RunnerStats::get(&stats.reloads), 1);
        assert_eq!(RunnerStats::get(&stats.reload_failures), 1);
        assert!(RunnerStats::get(&stats.reload_pause_max_ns) > 0, "the pause was measured");
        let why = stats.reload_error.lock().unwrap().clone().unwrap();
        assert!(why.contains("syntax error"), "{why}");
    }

    #[test]
    fn an_exhausted_pool_is_reported_not_waited_on_forever() {
        let router = Arc::new(Router::new());
        let pool = PackPool::new(1);
        let _held = pool.get();
        let stop = StopSignal::new();
        stop.set();
        let mut inj = Injections::new(path(&router, "FALSE", &pool, &stop));
        assert_eq!(inj.new_pack().err(), Some(InjectError::Aborted));
    }
}
