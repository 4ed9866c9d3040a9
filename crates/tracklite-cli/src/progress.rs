//! How `export` shows its progress on standard error: one bar, redrawn in
//! place, when standard error is a terminal (points sent of the total,
//! points/s, runs done, artifact bytes and bytes/s, ETA), with the
//! experiment and run lines printed above it; plain lines otherwise (a log
//! file, a pipe, CI).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracklite_export::{Event, RunOutcome, RunReport};

/// Receives the export's events and shows them.
pub struct Progress {
    /// `None`: plain lines.
    bar: Option<ProgressBar>,
    started: Instant,
    runs_total: AtomicUsize,
    runs_done: AtomicUsize,
    artifact_bytes: AtomicU64,
    artifact_files: AtomicU64,
    /// When every point was sent: artifacts go up from then on (the rate
    /// of their bytes counts from it).
    points_done: OnceLock<Instant>,
}

/// The bar before the totals are known.
const PREPARING: &str = "{spinner} {elapsed_precise} {msg}";
/// The bar while points and artifacts are sent.
const SENDING: &str = "{spinner} {elapsed_precise} [{wide_bar}] {human_pos}/{human_len} points \
                       ({rate}, ETA {eta}) {msg}";

impl Progress {
    /// A bar when standard error is a terminal, plain lines otherwise.
    pub fn new() -> Progress {
        let mut progress = Progress::lines();
        if std::io::stderr().is_terminal() && !crate::quiet() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(style(PREPARING));
            bar.set_message("finding experiments and runs on the server");
            bar.enable_steady_tick(Duration::from_millis(200));
            progress.bar = Some(bar);
        }
        progress
    }

    /// Plain lines, whatever standard error is.
    pub fn lines() -> Progress {
        Progress {
            bar: None,
            started: Instant::now(),
            runs_total: AtomicUsize::new(0),
            runs_done: AtomicUsize::new(0),
            artifact_bytes: AtomicU64::new(0),
            artifact_files: AtomicU64::new(0),
            points_done: OnceLock::new(),
        }
    }

    /// Shows `event`.
    pub fn on_event(&self, event: Event<'_>) {
        match event {
            Event::Experiment {
                name,
                remote_id,
                created,
            } => self.line(&format!(
                "experiment {name:?}: {} (server id {remote_id})",
                if created { "created" } else { "found" }
            )),
            Event::Plan { runs, points_total } => {
                self.runs_total.store(runs, Ordering::Relaxed);
                match &self.bar {
                    Some(bar) => {
                        bar.set_style(style(SENDING));
                        bar.set_length(points_total);
                        self.refresh(bar);
                    }
                    // Nothing to say when no point is to be sent (each
                    // quiet pass of --watch, say).
                    None if points_total > 0 => {
                        note!("exporting {runs} run(s): {points_total} points to send")
                    }
                    None => {}
                }
            }
            Event::Progress {
                points_sent,
                points_total,
                seconds,
            } => {
                if points_sent >= points_total {
                    let _ = self.points_done.set(Instant::now());
                }
                self.show_points(points_sent, points_total, seconds);
            }
            Event::Artifact { bytes, .. } => {
                self.artifact_bytes.fetch_add(bytes, Ordering::Relaxed);
                self.artifact_files.fetch_add(1, Ordering::Relaxed);
                if let Some(bar) = &self.bar {
                    self.refresh(bar);
                }
            }
            Event::Run(r) => {
                self.runs_done.fetch_add(1, Ordering::Relaxed);
                self.line(&run_line(r));
                if let Some(bar) = &self.bar {
                    // Points of a run are all sent before it is done.
                    bar.set_position(bar.length().unwrap_or(0));
                    self.refresh(bar);
                }
            }
            _ => {}
        }
    }

    /// Takes the bar off the terminal (before the summary is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn show_points(&self, points_sent: u64, points_total: u64, seconds: f64) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(points_total);
                bar.set_position(points_sent);
            }
            None if points_total > 0 => note!(
                "sent {points_sent}/{points_total} points ({:.0} points/s)",
                points_sent as f64 / seconds.max(1e-3)
            ),
            None => {}
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => note!("{text}"),
        }
    }

    fn refresh(&self, bar: &ProgressBar) {
        bar.set_message(message(
            self.runs_done.load(Ordering::Relaxed),
            self.runs_total.load(Ordering::Relaxed),
            self.artifact_files.load(Ordering::Relaxed),
            self.artifact_bytes.load(Ordering::Relaxed),
            self.points_done.get().unwrap_or(&self.started).elapsed(),
        ));
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("the templates are valid")
        // Whole points a second (indicatif's `per_sec` shows four decimals).
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} points/s", state.per_sec());
            },
        )
        .progress_chars("=> ")
}

/// The bar's message: runs done of the total, and artifacts sent with
/// their rate over `elapsed` (since the points were all sent).
fn message(
    runs_done: usize,
    runs_total: usize,
    files: u64,
    bytes: u64,
    elapsed: Duration,
) -> String {
    let mut text = format!("runs {runs_done}/{runs_total}");
    if files > 0 {
        let rate = bytes as f64 / elapsed.as_secs_f64().max(1e-3);
        text.push_str(&format!(
            ", artifacts {files} file(s) {} ({}/s)",
            HumanBytes(bytes),
            HumanBytes(rate as u64)
        ));
    }
    text
}

/// A run's line, as printed since the first export.
fn run_line(r: &RunReport) -> String {
    let what = match r.outcome {
        RunOutcome::Created => "created",
        RunOutcome::Updated => "updated",
        RunOutcome::Skipped => "up to date",
        RunOutcome::Failed => "FAILED",
    };
    match &r.error {
        Some(e) => format!("run {} ({}): FAILED: {e}", r.run_id, r.run_name),
        None => format!(
            "run {} ({}): {what}, {} points, {} params, {} tags",
            r.run_id, r.run_name, r.points, r.params, r.tags
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_counts_runs_and_artifacts() {
        let second = Duration::from_secs(1);
        assert_eq!(message(0, 3, 0, 0, second), "runs 0/3");
        assert_eq!(
            message(2, 3, 4, 3 << 20, 2 * second),
            "runs 2/3, artifacts 4 file(s) 3.00 MiB (1.50 MiB/s)"
        );
    }

    #[test]
    fn the_templates_parse() {
        style(PREPARING);
        style(SENDING);
    }
}
