//! The running pipeline: pack pools, router, runners, timers, reports and
//! the ordered shutdown (inputs stop, queues drain, checkpoints are written).

pub mod ack;
pub mod build;
mod filter_runner;
mod input_runner;
pub mod log_limit;
mod output_runner;
pub mod report;
pub mod retry;
pub mod router;
pub mod stats;
pub mod stream;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::message::PackPool;
use crate::plugins::context::{InputContext, InputStats, StopSignal, Undelivered};

pub use build::{Plan, build};
use input_runner::InputReturn;
use report::{InputView, PluginView, ReportView};
use router::{QueueItem, Route, Router};
use stats::RunnerStats;
use stream::StreamSetup;

/// Most packs routed together as one batch.
pub const MAX_BATCH: usize = 64;

/// Something the running pipeline asks its owner to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineEvent {
    /// Stop everything (a plugin without `can_exit` stopped).
    Shutdown(String),
}

/// Sends [`PipelineEvent`]s to the owner of the pipeline.
#[derive(Clone)]
pub struct Events {
    tx: flume::Sender<PipelineEvent>,
}

impl Events {
    /// A channel of events.
    pub fn channel() -> (Events, flume::Receiver<PipelineEvent>) {
        let (tx, rx) = flume::unbounded();
        (Events { tx }, rx)
    }

    /// Asks for a shutdown.
    pub fn request_shutdown(&self, reason: String) {
        let _ = self.tx.send(PipelineEvent::Shutdown(reason));
    }
}

/// Identity of a running plugin, for reports.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    /// Instance name.
    pub name: String,
    /// Type name.
    pub type_name: String,
}

struct RunningInput {
    name: String,
    handle: Option<JoinHandle<InputReturn>>,
}

struct RunningPlugin {
    name: String,
    route: Arc<Route>,
    handle: Option<JoinHandle<()>>,
}

/// A started pipeline.
pub struct Pipeline {
    router: Arc<Router>,
    report: Arc<ReportView>,
    inputs: Vec<RunningInput>,
    filters: Vec<RunningPlugin>,
    outputs: Vec<RunningPlugin>,
    decoder_threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    input_stop: StopSignal,
    plugin_stop: StopSignal,
    reporter: Option<JoinHandle<()>>,
    /// Guards of messages outputs gave up on; dropped only after inputs
    /// wrote their final checkpoints, so those messages are read again.
    undelivered: Undelivered,
}

/// Packs per batch for a pool: small pools get small batches so inputs and
/// consumers still overlap.
fn batch_size(poolsize: usize) -> usize {
    (poolsize / 8).clamp(1, MAX_BATCH)
}

impl Pipeline {
    /// Starts every runner of `plan`. Inputs start last, once every
    /// consumer is listening.
    pub fn start(
        plan: Plan,
        runtime: tokio::runtime::Handle,
        events: Events,
        report_interval: Option<Duration>,
    ) -> std::io::Result<Pipeline> {
        let hekad = plan.hekad;
        let router = Arc::new(Router::new());
        let input_pool = PackPool::new(hekad.poolsize);
        let inject_pool = PackPool::new(hekad.poolsize);
        let input_stop = StopSignal::new();
        let plugin_stop = StopSignal::new();
        let decoder_threads = Arc::new(Mutex::new(Vec::new()));
        let undelivered: Undelivered = Arc::new(Mutex::new(Vec::new()));
        let chansize = hekad.plugin_chansize.max(1);

        let mut filters = Vec::new();
        let mut outputs = Vec::new();
        let mut filter_views = Vec::new();
        let mut output_views = Vec::new();
        let mut input_views = Vec::new();
        let mut routes = Vec::new();
        let mut filter_setups = Vec::new();
        for f in plan.filters {
            let (tx, rx) = flume::bounded(chansize);
            let route = Arc::new(Route::new(f.name.clone(), f.matcher, f.signer, tx));
            let stats = Arc::new(RunnerStats::default());
            routes.push(Arc::clone(&route));
            filters.push(RunningPlugin {
                name: f.name.clone(),
                route: Arc::clone(&route),
                handle: None,
            });
            filter_views.push(PluginView {
                info: PluginInfo { name: f.name.clone(), type_name: f.type_name },
                route: Arc::clone(&route),
                stats: Arc::clone(&stats),
                encoder: None,
            });
            filter_setups.push(filter_runner::FilterSetup {
                name: f.name,
                factory: f.factory,
                rx,
                route,
                ticker: f.ticker,
                router: Arc::clone(&router),
                inject_pool: inject_pool.clone(),
                hostname: hekad.hostname.clone(),
                max_loops: hekad.max_message_loops.max(1),
                can_exit: f.can_exit,
                retries: f.retries,
                stats,
                stop: plugin_stop.clone(),
                events: events.clone(),
            });
        }
        let mut output_setups = Vec::new();
        for o in plan.outputs {
            let (tx, rx) = flume::bounded(chansize);
            let route = Arc::new(Route::new(o.name.clone(), o.matcher, o.signer, tx));
            let stats = Arc::new(RunnerStats::default());
            routes.push(Arc::clone(&route));
            outputs.push(RunningPlugin {
                name: o.name.clone(),
                route: Arc::clone(&route),
                handle: None,
            });
            output_views.push(PluginView {
                info: PluginInfo { name: o.name.clone(), type_name: o.type_name },
                route: Arc::clone(&route),
                stats: Arc::clone(&stats),
                encoder: o.encoder.as_ref().map(|(n, _)| n.clone()),
            });
            let signer = o.factory.signer();
            output_setups.push(output_runner::OutputSetup {
                name: o.name,
                factory: o.factory,
                encoder: o.encoder.map(|(_, f)| f),
                use_framing: o.use_framing,
                signer,
                undelivered: Arc::clone(&undelivered),
                max_message_size: hekad.max_message_size,
                rx,
                route,
                ticker: o.ticker,
                can_exit: o.can_exit,
                retries: o.retries,
                stats,
                stop: plugin_stop.clone(),
                events: events.clone(),
            });
        }
        router.set_routes(routes);
        for (setup, running) in output_setups.into_iter().zip(outputs.iter_mut()) {
            running.handle = Some(output_runner::spawn(setup)?);
        }
        for (setup, running) in filter_setups.into_iter().zip(filters.iter_mut()) {
            running.handle = Some(filter_runner::spawn(setup)?);
        }

        let mut inputs = Vec::new();
        for i in plan.inputs {
            let stats = Arc::new(InputStats::default());
            let streams = Arc::new(StreamSetup {
                input_name: i.name.clone(),
                splitter: i.splitter,
                settings: i.splitter_settings,
                decoder: i.decoder.as_ref().map(|(_, f)| Arc::clone(f)),
                decode_options: i.decode_options,
                router: Arc::clone(&router),
                pool: input_pool.clone(),
                batch_max: batch_size(hekad.poolsize),
                stats: Arc::clone(&stats),
                decoder_threads: i.decoder_threads,
                decoder_handles: Arc::clone(&decoder_threads),
            });
            let cx = InputContext {
                name: i.name.clone(),
                hostname: hekad.hostname.clone(),
                base_dir: hekad.base_dir.clone(),
                ticker_interval: i.ticker_interval,
                stop: input_stop.clone(),
                runtime: runtime.clone(),
                streams,
                report: Arc::clone(&stats),
                router: Arc::clone(&router) as Arc<dyn crate::plugins::RouteSink>,
                pool: input_pool.clone(),
            };
            let handle = input_runner::spawn(i.input, cx, i.can_exit, i.retries, events.clone())?;
            inputs.push(RunningInput { name: i.name.clone(), handle: Some(handle) });
            input_views.push(InputView {
                info: PluginInfo { name: i.name, type_name: i.type_name },
                stats,
                decoder: i.decoder.map(|(n, _)| n),
            });
        }
        let report = Arc::new(ReportView {
            hostname: hekad.hostname.clone(),
            input_pool,
            inject_pool,
            router: Arc::clone(&router),
            inputs: input_views,
            filters: filter_views,
            outputs: output_views,
        });
        let mut pipeline = Pipeline {
            router,
            report,
            inputs,
            filters,
            outputs,
            decoder_threads,
            input_stop,
            plugin_stop,
            reporter: None,
            undelivered,
        };
        if let Some(interval) = report_interval.filter(|d| !d.is_zero()) {
            pipeline.reporter = Some(report::spawn_reporter(
                Arc::clone(&pipeline.report),
                pipeline.input_stop.clone(),
                interval,
            )?);
        }
        Ok(pipeline)
    }

    /// Asks every output to reopen its files (SIGHUP).
    pub fn reopen(&self) {
        for o in &self.outputs {
            let _ = o.route.tx.try_send(QueueItem::Reopen);
        }
    }

    /// The report (`heka.all-report` JSON, or text for SIGUSR1).
    pub fn report(&self) -> &ReportView {
        &self.report
    }

    /// The router (for tools and tests that inject directly).
    pub fn router(&self) -> &Arc<Router> {
        &self.router
    }

    /// Stops in order: inputs stop and their decoders finish, filters drain
    /// their queues, outputs drain and flush, then inputs write their final
    /// checkpoints.
    pub fn shutdown(mut self) {
        tracing::info!("Shutting down.");
        self.input_stop.set();
        let mut finished = Vec::new();
        for i in &mut self.inputs {
            if let Some(h) = i.handle.take() {
                match h.join() {
                    Ok(ret) => finished.push(ret),
                    Err(_) => tracing::error!(plugin = %i.name, "Input thread panicked."),
                }
            }
        }
        // Streams were dropped with their inputs' run; their decoder threads
        // end once their queues are drained.
        let decoders: Vec<_> =
            self.decoder_threads.lock().unwrap_or_else(|p| p.into_inner()).drain(..).collect();
        for d in decoders {
            let _ = d.join();
        }
        if let Some(r) = self.reporter.take() {
            let _ = r.join();
        }
        for f in &mut self.filters {
            let _ = f.route.tx.send(QueueItem::Stop);
        }
        for f in &mut self.filters {
            if let Some(h) = f.handle.take()
                && h.join().is_err()
            {
                tracing::error!(plugin = %f.name, "Filter thread panicked.");
            }
        }
        for o in &mut self.outputs {
            let _ = o.route.tx.send(QueueItem::Stop);
        }
        for o in &mut self.outputs {
            if let Some(h) = o.handle.take()
                && h.join().is_err()
            {
                tracing::error!(plugin = %o.name, "Output thread panicked.");
            }
        }
        self.plugin_stop.set();
        for (mut input, cx) in finished {
            input.finish(&cx);
        }
        let kept = self.undelivered.lock().unwrap_or_else(|p| p.into_inner()).len();
        if kept > 0 {
            tracing::warn!("{kept} batches were not delivered; their inputs will read them again.");
        }
        tracing::info!("Shutdown complete.");
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        // A pipeline dropped without `shutdown` still lets its threads end.
        self.input_stop.set();
        self.plugin_stop.set();
    }
}
