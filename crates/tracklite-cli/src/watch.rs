//! `export --watch`: passes every few seconds until Ctrl-C or SIGTERM, then
//! a last one. Each pass that sent something, or failed, is one line on
//! standard error; the summary of the whole watch goes to standard output.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracklite::Store;
use tracklite_export::{Event, ExportError, ExportOptions, RunOutcome, StopSignal};

use crate::json;

pub fn run(
    store: &Store,
    options: &ExportOptions,
    interval: f64,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    if !(interval.is_finite() && (0.1..=86_400.0).contains(&interval)) {
        bail!("--interval {interval}: must be between 0.1 and 86400 seconds");
    }
    let stop = Arc::new(StopSignal::new());
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let handle = signals.handle();
    let waiter = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                eprintln!(
                    "{}: exporting what is left, then stopping",
                    if signal == SIGINT {
                        "interrupted"
                    } else {
                        "terminated"
                    }
                );
                stop.stop();
            }
        })
    };
    eprintln!(
        "watching: exporting to {} every {interval} s (Ctrl-C to stop)",
        options.target
    );
    let reporter = Reporter::default();
    let outcome = tracklite_export::watch(
        store,
        options,
        Duration::from_secs_f64(interval),
        &stop,
        &|event| reporter.event(event),
    );
    handle.close();
    let _ = waiter.join();
    let summary = outcome?;
    if as_json {
        json::write(out, &serde_json::to_value(&summary)?)?;
    } else {
        writeln!(
            out,
            "watch: {} passes ({} failed); sent {} points, {} params, {} tags",
            summary.passes, summary.passes_failed, summary.points, summary.params, summary.tags
        )?;
        crate::export::print_summary(&summary.last, out)?;
    }
    if let Some(e) = &summary.last_error {
        eprintln!("error: the last pass could not run: {e}; run the export again to finish it");
    }
    for f in &summary.last.failures {
        eprintln!(
            "  FAILED run {} ({}) in {:?}: {}",
            f.run_id, f.run_name, f.experiment, f.error
        );
    }
    Ok(if summary.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Reports a watch as a single export does, less the runs with nothing
/// new; a failure that repeats pass after pass is said once, and its end
/// once.
#[derive(Default)]
struct Reporter {
    /// The failure the last pass reported, if it failed.
    failing: Mutex<Option<String>>,
}

impl Reporter {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Run(r) if r.outcome == RunOutcome::Skipped => {}
            Event::Experiment { created: false, .. } => {}
            Event::Pass { number, summary } => {
                if self.failing.lock().unwrap().take().is_some() {
                    eprintln!("pass {number}: the server answers again");
                }
                if summary.points + summary.params + summary.tags > 0 || !summary.ok() {
                    eprintln!(
                        "pass {number}: sent {} points, {} params, {} tags; {} runs failed",
                        summary.points, summary.params, summary.tags, summary.runs_failed
                    );
                }
            }
            Event::PassFailed { number, error } => {
                let what = match error {
                    ExportError::Connection { .. } => format!("cannot reach the server ({error})"),
                    other => other.to_string(),
                };
                let mut failing = self.failing.lock().unwrap();
                if failing.as_deref() != Some(what.as_str()) {
                    eprintln!("pass {number}: {what}; trying again at each next pass");
                    *failing = Some(what);
                }
            }
            other => crate::export::progress(other),
        }
    }
}
