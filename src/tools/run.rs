//! The daemon: load and validate the configuration, start the pipeline and
//! serve signals until it is time to stop.
//!
//! Signals: SIGINT/SIGTERM stop cleanly (inputs stop, queues drain,
//! checkpoints are written), SIGHUP makes outputs reopen their files,
//! SIGUSR1 prints the plain-text report to stdout.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ExitCode;
use super::check::{load_plan, print_errors};
use crate::pipeline::{Events, Pipeline, PipelineEvent};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Another process owns the pid file.
    #[error("pid file {path} names a running process ({pid})")]
    AlreadyRunning {
        /// The pid file.
        path: PathBuf,
        /// The running pid.
        pid: i32,
    },
    /// Some I/O step failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunError {
    let context = context.into();
    move |source| RunError::Io { context, source }
}

/// Writes our pid, refusing when the file names a live process.
fn write_pid_file(path: &Path) -> Result<(), RunError> {
    if let Ok(text) = std::fs::read_to_string(path)
        && let Ok(pid) = text.trim().parse::<i32>()
        && pid > 0
        && Path::new(&format!("/proc/{pid}")).exists()
        && pid as u32 != std::process::id()
    {
        return Err(RunError::AlreadyRunning { path: path.to_path_buf(), pid });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    }
    std::fs::write(path, format!("{}\n", std::process::id()))
        .map_err(io(format!("writing pid file {}", path.display())))
}

/// Runs the daemon with the configuration at `path`.
pub fn run(path: &Path) -> ExitCode {
    let plan = match load_plan(path) {
        Ok(p) => p,
        Err(errors) => {
            print_errors(&errors);
            return 2;
        }
    };
    let hekad = plan.hekad.clone();
    if hekad.cpuprof.is_some() || hekad.memprof.is_some() {
        tracing::info!(
            "cpuprof/memprof are accepted for compatibility; Sandpiper does not write Go profiles."
        );
    }
    if let Err(e) = std::fs::create_dir_all(&hekad.base_dir) {
        eprintln!("Cannot create base_dir {}: {e}", hekad.base_dir.display());
        return 1;
    }
    if let Some(pid_file) = &hekad.pid_file
        && let Err(e) = write_pid_file(pid_file)
    {
        eprintln!("{e}");
        return 1;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(hekad.maxprocs.max(1))
        .thread_name("sandpiper-io")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Cannot start the runtime: {e}");
            return 1;
        }
    };
    let (events, event_rx) = Events::channel();
    let pipeline = match Pipeline::start(
        plan,
        runtime.handle().clone(),
        events,
        Some(Duration::from_secs(hekad.report_interval)),
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Cannot start the pipeline: {e}");
            return 1;
        }
    };
    tracing::info!("Sandpiper started with {}", path.display());
    let code = runtime.block_on(serve_signals(&pipeline, event_rx));
    pipeline.shutdown();
    if let Some(pid_file) = &hekad.pid_file {
        let _ = std::fs::remove_file(pid_file);
    }
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

async fn serve_signals(pipeline: &Pipeline, events: flume::Receiver<PipelineEvent>) -> ExitCode {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup), Ok(mut usr1)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
    ) else {
        tracing::error!("Cannot install signal handlers.");
        return 1;
    };
    loop {
        tokio::select! {
            _ = int.recv() => { tracing::info!("SIGINT received."); return 0; }
            _ = term.recv() => { tracing::info!("SIGTERM received."); return 0; }
            _ = hup.recv() => {
                tracing::info!("SIGHUP received: reopening output files.");
                pipeline.reopen();
            }
            _ = usr1.recv() => {
                print!("{}", pipeline.report().text());
            }
            ev = events.recv_async() => match ev {
                Ok(PipelineEvent::Shutdown(reason)) => {
                    tracing::error!("Shutting down: {reason}");
                    return 1;
                }
                Err(_) => return 0,
            },
        }
    }
}
