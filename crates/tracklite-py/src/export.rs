//! `Store.export` and `Store.start_sync`: the store pushed to an MLflow
//! tracking server by the `tracklite-export` crate, detached from the
//! interpreter. Summaries cross as JSON text (the Python side parses it);
//! a failure of the export as a whole raises `tracklite.errors.ExportError`
//! (or the store's own error class), a failed run is in the summary.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use pyo3::prelude::*;
use serde::Serialize;
use tracklite_export::{Auth, Event, ExportError, ExportOptions, StopSignal, WatchSummary};

use crate::errors::{raise, to_py, Kind};
use crate::store::Store;

fn export_error(py: Python<'_>, err: ExportError) -> PyErr {
    match err {
        ExportError::Store(e) => to_py(py, e),
        other => raise(py, Kind::Export, other.to_string()),
    }
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("summaries are plain data")
}

fn options(
    to: String,
    experiments: Vec<String>,
    runs: Vec<String>,
    connections: usize,
) -> ExportOptions {
    let mut options = ExportOptions::new(to);
    options.experiments = experiments;
    options.runs = runs;
    options.connections = connections;
    options.auth = Auth::from_env();
    options
}

#[pymethods]
impl Store {
    /// One export; the summary as JSON.
    #[pyo3(signature = (to, experiments = Vec::new(), runs = Vec::new(), dry_run = false, connections = 4))]
    fn export(
        &self,
        py: Python<'_>,
        to: String,
        experiments: Vec<String>,
        runs: Vec<String>,
        dry_run: bool,
        connections: usize,
    ) -> PyResult<String> {
        let mut options = options(to, experiments, runs, connections);
        options.dry_run = dry_run;
        let summary = py
            .detach(|| tracklite_export::export(&self.inner, &options, &|_| {}))
            .map_err(|e| export_error(py, e))?;
        Ok(json(&summary))
    }

    /// A background thread exporting every `interval` seconds until
    /// `Syncer.stop`.
    #[pyo3(signature = (to, interval = 5.0, experiments = Vec::new(), runs = Vec::new(), connections = 4))]
    fn start_sync(
        slf: Py<Store>,
        py: Python<'_>,
        to: String,
        interval: f64,
        experiments: Vec<String>,
        runs: Vec<String>,
        connections: usize,
    ) -> PyResult<Syncer> {
        if !(interval.is_finite() && (0.1..=86_400.0).contains(&interval)) {
            return Err(raise(
                py,
                Kind::InvalidValue,
                format!("interval {interval}: must be between 0.1 and 86400 seconds"),
            ));
        }
        let options = options(to, experiments, runs, connections);
        // The target is checked here, so that a bad URL raises at once.
        tracklite_export::normalise_target(&options.target).map_err(|e| export_error(py, e))?;
        let stop = Arc::new(StopSignal::new());
        let progress = Arc::new(Mutex::new(Progress::default()));
        let thread = {
            let (stop, progress) = (Arc::clone(&stop), Arc::clone(&progress));
            std::thread::Builder::new()
                .name("tracklite-sync".into())
                .spawn(move || {
                    let store = &slf.get().inner;
                    let on_event = |event: Event<'_>| progress.lock().unwrap().note(&event);
                    let interval = Duration::from_secs_f64(interval);
                    let outcome =
                        tracklite_export::watch(store, &options, interval, &stop, &on_event);
                    // The store handle goes back with the interpreter held.
                    Python::attach(|_| drop(slf));
                    outcome.map_err(|e| e.to_string())
                })
                .map_err(|e| raise(py, Kind::Base, format!("cannot start the sync thread: {e}")))?
        };
        Ok(Syncer {
            stop,
            progress,
            thread: Mutex::new(Some(thread)),
            outcome: Mutex::new(None),
        })
    }
}

/// What a syncer has done so far.
#[derive(Debug, Default, Serialize)]
struct Progress {
    passes: u64,
    passes_failed: u64,
    points: u64,
    /// Why the last pass failed, while it is so.
    last_error: Option<String>,
    /// Runs that failed in the last pass.
    runs_failed: usize,
}

impl Progress {
    fn note(&mut self, event: &Event<'_>) {
        match event {
            Event::Pass { number, summary } => {
                self.passes = *number;
                self.points += summary.points;
                self.runs_failed = summary.runs_failed;
                self.last_error = None;
                if !summary.ok() {
                    self.passes_failed += 1;
                }
            }
            Event::PassFailed { number, error } => {
                self.passes = *number;
                self.passes_failed += 1;
                self.last_error = Some(error.to_string());
            }
            _ => {}
        }
    }
}

type Outcome = Result<WatchSummary, String>;

/// A background export (see `Store.start_sync`).
#[pyclass(frozen, module = "tracklite._native")]
pub struct Syncer {
    stop: Arc<StopSignal>,
    progress: Arc<Mutex<Progress>>,
    thread: Mutex<Option<JoinHandle<Outcome>>>,
    /// The thread's result, once joined.
    outcome: Mutex<Option<Outcome>>,
}

#[pymethods]
impl Syncer {
    /// Whether the thread still runs.
    #[getter]
    fn running(&self) -> bool {
        self.thread
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }

    /// Passes, points sent and the last error so far, as JSON.
    fn progress(&self) -> String {
        json(&*self.progress.lock().unwrap())
    }

    /// Stops after a last pass and waits for it: the watch's summary as
    /// JSON. Calling it again returns the same summary.
    fn stop(&self, py: Python<'_>) -> PyResult<String> {
        self.stop.stop();
        let thread = self.thread.lock().unwrap().take();
        if let Some(thread) = thread {
            let outcome = py
                .detach(|| thread.join())
                .unwrap_or_else(|_| Err("the sync thread panicked".into()));
            *self.outcome.lock().unwrap() = Some(outcome);
        }
        match self.outcome.lock().unwrap().as_ref() {
            Some(Ok(summary)) => Ok(json(summary)),
            Some(Err(e)) => Err(raise(py, Kind::Export, e.clone())),
            None => Err(raise(py, Kind::Export, "the syncer is being stopped")),
        }
    }
}
