//! Live export: one export pass every few seconds while training goes on,
//! each sending what is new since the last (points of running runs, new
//! runs, ends, artifacts, registry changes), until it is told to stop; then
//! one last pass, so that everything logged before the stop is sent.
//!
//! A server that is down, restarting or refusing does not end the watch:
//! a pass that finds it unreachable is skipped, one that fails part-way is
//! reported, and the next pass finishes the work (the export journal and
//! the tags on the remote runs make passes idempotent).

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tracklite::Store;

use crate::client::{normalise_target, Client, RetryPolicy};
use crate::digests::Digests;
use crate::error::Result;
use crate::export::{export_pass, ExportOptions};
use crate::summary::{Event, ExportSummary};

/// Tells a watch to stop: from a signal handler's thread, a Python call or
/// a test. The watch wakes at once, makes its last pass and returns.
#[derive(Debug, Default)]
pub struct StopSignal {
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl StopSignal {
    /// A signal not yet given.
    pub fn new() -> StopSignal {
        StopSignal::default()
    }

    /// Asks the watch to stop after its last pass.
    pub fn stop(&self) {
        *self.stopped.lock().unwrap() = true;
        self.changed.notify_all();
    }

    /// Whether [`StopSignal::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap()
    }

    /// Waits up to `timeout`; true when stopped.
    fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut stopped = self.stopped.lock().unwrap();
        while !*stopped {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            stopped = self
                .changed
                .wait_timeout(stopped, deadline - now)
                .unwrap()
                .0;
        }
        *stopped
    }
}

/// What a watch did over all its passes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WatchSummary {
    /// Passes made, the last included.
    pub passes: u64,
    /// Passes skipped because the server could not be reached, or that
    /// failed as a whole.
    pub passes_failed: u64,
    /// Metric points sent, over all passes.
    pub points: u64,
    /// Params sent, over all passes.
    pub params: u64,
    /// Tags sent, over all passes.
    pub tags: u64,
    /// The last pass; its failures say what is still not exported.
    pub last: ExportSummary,
    /// Why the last pass could not run, when it could not.
    pub last_error: Option<String>,
}

impl WatchSummary {
    /// True when the last pass ran and exported everything.
    pub fn ok(&self) -> bool {
        self.last_error.is_none() && self.last.ok()
    }
}

/// Exports `store` to `options.target` every `interval` until `stop` is
/// given, then once more. Only failures of the store or the options end it
/// early with an error; the server's state never does.
pub fn watch(
    store: &Store,
    options: &ExportOptions,
    interval: Duration,
    stop: &StopSignal,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<WatchSummary> {
    let target = normalise_target(&options.target)?;
    // One try, short timeouts: whether a pass is worth starting.
    let probe = Client::with_tls(
        &target,
        &options.auth,
        RetryPolicy {
            attempts: 1,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            ..RetryPolicy::default()
        },
        1,
        options.tls.config()?,
    );
    let digests = Digests::default();
    let mut total = WatchSummary::default();
    loop {
        let last = stop.is_stopped();
        let started = Instant::now();
        total.passes += 1;
        let outcome = match probe.get("experiments/search", &[("max_results", "1")]) {
            Ok(_) => export_pass(store, options, &digests, on_event),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(summary) => {
                total.points += summary.points;
                total.params += summary.params;
                total.tags += summary.tags;
                if !summary.ok() {
                    total.passes_failed += 1;
                }
                total.last_error = None;
                on_event(Event::Pass {
                    number: total.passes,
                    summary: &summary,
                });
                total.last = summary;
            }
            // The store itself failing is not something a later pass mends.
            Err(e @ crate::ExportError::Store(_)) => return Err(e),
            Err(e) => {
                total.passes_failed += 1;
                total.last_error = Some(e.to_string());
                on_event(Event::PassFailed {
                    number: total.passes,
                    error: &e,
                });
            }
        }
        if last {
            return Ok(total);
        }
        stop.wait(interval.saturating_sub(started.elapsed()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn stop_wakes_a_waiting_watch_at_once() {
        let signal = Arc::new(StopSignal::new());
        let waiter = {
            let signal = Arc::clone(&signal);
            std::thread::spawn(move || {
                let started = Instant::now();
                (signal.wait(Duration::from_secs(600)), started.elapsed())
            })
        };
        signal.stop();
        let (stopped, waited) = waiter.join().unwrap();
        assert!(stopped);
        assert!(waited < Duration::from_secs(600));
        assert!(signal.is_stopped());
    }

    #[test]
    fn wait_times_out_when_not_stopped() {
        let signal = StopSignal::new();
        assert!(!signal.wait(Duration::from_millis(1)));
    }
}
