//! The daemon: load and validate the configuration, start the pipeline and
//! serve signals until it is time to stop.
//!
//! Signals: SIGINT/SIGTERM stop cleanly (inputs stop, queues drain,
//! checkpoints are written), SIGHUP reloads the configuration (see
//! `pipeline::reload`) and makes outputs reopen their files, SIGUSR1 prints
//! the plain-text report to stdout.

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
    let code = runtime.block_on(serve_signals(&pipeline, path, event_rx));
    pipeline.shutdown();
    if let Some(pid_file) = &hekad.pid_file {
        let _ = std::fs::remove_file(pid_file);
    }
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

/// Re-reads the configuration and applies the difference; on any error the
/// running configuration stays and every error is logged.
fn reload(pipeline: &Pipeline, path: &Path) {
    match load_plan(path) {
        Ok(plan) => {
            let summary = pipeline.reload(plan);
            if summary.errors.is_empty() {
                tracing::info!("Configuration reloaded: {summary}");
            } else {
                tracing::error!("Configuration reloaded with errors: {summary}");
            }
        }
        Err(errors) => {
            for e in &errors.0 {
                tracing::error!("Reload refused: {e}");
            }
            tracing::error!("The running configuration stays ({} errors).", errors.0.len());
        }
    }
}

async fn serve_signals(
    pipeline: &Pipeline,
    path: &Path,
    events: flume::Receiver<PipelineEvent>,
) -> ExitCode {
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
                tracing::info!("SIGHUP received: reloading the configuration, reopening output files.");
                tokio::task::block_in_place(|| reload(pipeline, path));
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

/// `sandpiper reload -config PATH`: validates the configuration, then sends
/// SIGHUP to the daemon named by its `[hekad] pid_file`.
pub fn request_reload(path: &Path) -> ExitCode {
    let plan = match load_plan(path) {
        Ok(p) => p,
        Err(errors) => {
            print_errors(&errors);
            return 2;
        }
    };
    let Some(pid_file) = plan.hekad.pid_file.clone() else {
        eprintln!("{}: [hekad] has no pid_file; send SIGHUP to the daemon instead", path.display());
        return 1;
    };
    let pid = match std::fs::read_to_string(&pid_file).map(|t| t.trim().parse::<u32>()) {
        Ok(Ok(pid)) => pid,
        _ => {
            eprintln!("cannot read a pid from {}", pid_file.display());
            return 1;
        }
    };
    let sent = std::process::Command::new("kill").arg("-HUP").arg(pid.to_string()).status();
    match sent {
        Ok(s) if s.success() => {
            println!("Reload requested (SIGHUP sent to {pid}).");
            0
        }
        _ => {
            eprintln!("could not signal process {pid}");
            1
        }
    }
}
