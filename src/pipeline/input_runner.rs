//! The input runner: one thread per input that calls its `run`, restarts it
//! per its retry policy, and hands the input back at shutdown so it can
//! write its final checkpoints once every output has finished.

use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use crate::config::RetryConfig;
use crate::plugins::{Input, InputContext, PluginError};

use super::Events;
use super::retry::RetryHelper;

/// What the input thread gives back when it ends.
pub type InputReturn = (Box<dyn Input>, InputContext);

/// Starts the input's thread.
pub fn spawn(
    mut input: Box<dyn Input>,
    mut cx: InputContext,
    can_exit: bool,
    retries: RetryConfig,
    events: Events,
) -> std::io::Result<JoinHandle<InputReturn>> {
    std::thread::Builder::new().name(format!("input-{}", cx.name)).spawn(move || {
        let span = tracing::info_span!("input", plugin = %cx.name);
        let _enter = span.enter();
        let mut retry = RetryHelper::new(retries);
        loop {
            let records_before = cx.report.records.load(Ordering::Relaxed);
            let result = input.run(&mut cx);
            if cx.is_stopping() {
                if let Err(e) = result {
                    tracing::warn!(plugin = %cx.name, "Input ended with an error while stopping: {e}");
                }
                break;
            }
            let why = match result {
                Ok(()) => "input finished".to_string(),
                Err(PluginError::Terminated(why)) => format!("terminated: {why}"),
                Err(e) => {
                    // An input that delivered records since its last start
                    // was working: its retries count from zero again.
                    if cx.report.records.load(Ordering::Relaxed) > records_before {
                        retry.reset();
                    }
                    match retry.backoff(&cx.name, "Input", &cx.stop, &e.to_string()) {
                    Ok(()) => continue,
                    Err(_) if cx.stop.is_set() => break,
                        Err(_) => format!("input failed: {e}"),
                    }
                }
            };
            if can_exit {
                tracing::info!(plugin = %cx.name, "Input stopped: {why}");
            } else {
                events.request_shutdown(format!("{}: {why}", cx.name));
            }
            break;
        }
        (input, cx)
    })
}
