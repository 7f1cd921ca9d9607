//! The running pipeline: pack pools, router, runners, timers, reports and
//! the ordered shutdown (inputs stop, queues drain, checkpoints are written).

pub mod ack;
pub mod build;
mod decode;
mod filter_runner;
mod input_runner;
pub mod log_limit;
mod output_runner;
pub mod reload;
pub mod report;
pub mod retry;
pub mod router;
mod running;
pub mod stats;
pub mod stream;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::message::PackPool;
use crate::plugins::context::StopSignal;

pub use build::{Plan, build};
use report::ReportView;
use router::{QueueItem, Router};
use running::{Plugins, RunningPlugin, Shared};

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

/// A started pipeline.
pub struct Pipeline {
    shared: Arc<Shared>,
    reporter: Option<JoinHandle<()>>,
}

impl Pipeline {
    /// Starts every runner of `plan`: outputs first, then filters, then
    /// inputs, so every consumer is listening before anything is read.
    pub fn start(
        plan: Plan,
        runtime: tokio::runtime::Handle,
        events: Events,
        report_interval: Option<Duration>,
    ) -> std::io::Result<Pipeline> {
        let hekad = Arc::new(plan.hekad);
        let shared = Arc::new_cyclic(|me| Shared {
            me: me.clone(),
            router: Arc::new(Router::new()),
            input_pool: PackPool::new(hekad.poolsize),
            inject_pool: PackPool::new(hekad.poolsize),
            runtime,
            events,
            plugin_stop: StopSignal::new(),
            shutting_down: StopSignal::new(),
            undelivered: Arc::new(Mutex::new(Vec::new())),
            decoder_handles: Arc::new(Mutex::new(Vec::new())),
            plugins: Mutex::new(Plugins { sections: plan.sections, ..Plugins::default() }),
            hekad,
        });
        for o in plan.outputs {
            let section = Some(o.section.clone());
            let running = shared.start_output(o, section)?;
            shared.lock().outputs.push(running);
        }
        for f in plan.filters {
            let section = Some(f.section.clone());
            let running = shared.start_filter(f, section)?;
            shared.lock().filters.push(running);
        }
        for i in plan.inputs {
            let running = shared.start_input(i)?;
            shared.lock().inputs.push(running);
        }
        let mut pipeline = Pipeline { shared, reporter: None };
        if let Some(interval) = report_interval.filter(|d| !d.is_zero()) {
            pipeline.reporter = Some(report::spawn_reporter(
                Arc::clone(&pipeline.shared),
                pipeline.shared.shutting_down.clone(),
                interval,
            )?);
        }
        Ok(pipeline)
    }

    /// Asks every output to reopen its files (SIGHUP).
    pub fn reopen(&self) {
        for o in &self.shared.lock().outputs {
            let _ = o.route.tx.try_send(QueueItem::Reopen);
        }
    }

    /// The report (`heka.all-report` JSON, or text for SIGUSR1).
    pub fn report(&self) -> ReportView {
        self.shared.report_view()
    }

    /// The router (for tools and tests that inject directly).
    pub fn router(&self) -> Arc<Router> {
        Arc::clone(&self.shared.router)
    }

    /// Applies a new configuration (SIGHUP); see [`reload`].
    pub fn reload(&self, plan: Plan) -> reload::ReloadSummary {
        reload::apply(&self.shared, plan)
    }

    /// Stops in order: inputs stop and their decoders finish, filters drain
    /// their queues, outputs drain and flush, then inputs write their final
    /// checkpoints.
    pub fn shutdown(mut self) {
        tracing::info!("Shutting down.");
        let shared = Arc::clone(&self.shared);
        shared.shutting_down.set();
        let (inputs, filters, outputs) = {
            let mut p = shared.lock();
            (
                std::mem::take(&mut p.inputs),
                std::mem::take(&mut p.filters),
                std::mem::take(&mut p.outputs),
            )
        };
        for i in &inputs {
            i.stop.set();
        }
        let mut finished = Vec::new();
        for mut i in inputs {
            if let Some(h) = i.handle.take() {
                match h.join() {
                    Ok(ret) => finished.push(ret),
                    Err(_) => tracing::error!(plugin = %i.info.name, "Input thread panicked."),
                }
            }
        }
        // Streams were dropped with their inputs' run; their decoder threads
        // end once their queues are drained.
        let decoders: Vec<_> =
            shared.decoder_handles.lock().unwrap_or_else(|p| p.into_inner()).drain(..).collect();
        for d in decoders {
            let _ = d.join();
        }
        if let Some(r) = self.reporter.take() {
            let _ = r.join();
        }
        stop_all(filters, "Filter");
        stop_all(outputs, "Output");
        shared.plugin_stop.set();
        for (mut input, cx) in finished {
            input.finish(&cx);
        }
        let kept = shared.undelivered.lock().unwrap_or_else(|p| p.into_inner()).len();
        if kept > 0 {
            tracing::warn!("{kept} batches were not delivered; their inputs will read them again.");
        }
        tracing::info!("Shutdown complete.");
    }
}

/// Tells every plugin to stop, then waits while each drains its queue (all
/// of them at once) and ends.
fn stop_all(plugins: Vec<RunningPlugin>, kind: &str) {
    for p in &plugins {
        let _ = p.route.tx.send(QueueItem::Stop);
    }
    for mut p in plugins {
        if let Some(h) = p.handle.take()
            && h.join().is_err()
        {
            tracing::error!(plugin = %p.info.name, "{kind} thread panicked.");
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        // A pipeline dropped without `shutdown` still lets its threads end.
        self.shared.shutting_down.set();
        for i in &self.shared.lock().inputs {
            i.stop.set();
        }
        self.shared.plugin_stop.set();
    }
}
