//! Progress of a counted job (`import`'s runs, `compact`'s series, `gc`'s
//! artifact folders) on standard error: one bar redrawn in place, with the
//! rate and an ETA, when standard error is a terminal; otherwise about a
//! hundred plain lines at most, however long the job (a log file, a pipe,
//! CI); nothing under `--json`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shows `done` of `total` items of one job.
pub struct Counter {
    doing: &'static str,
    unit: &'static str,
    shown: Shown,
}

enum Shown {
    Nothing,
    Lines { last: u64 },
    Bar(ProgressBar),
}

const BAR: &str = "{msg} [{wide_bar}] {human_pos}/{human_len} {unit} ({rate}, ETA {eta})";

impl Counter {
    /// A counter of `unit`s (plural) for a job described by `doing`
    /// ("compacting").
    pub fn new(doing: &'static str, unit: &'static str) -> Counter {
        let shown = if crate::quiet() {
            Shown::Nothing
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(style(unit));
            bar.set_message(doing);
            bar.enable_steady_tick(Duration::from_millis(200));
            Shown::Bar(bar)
        } else {
            Shown::Lines { last: 0 }
        };
        Counter { doing, unit, shown }
    }

    /// Shows that `done` of `total` items are handled.
    pub fn set(&mut self, done: u64, total: u64) {
        match &mut self.shown {
            Shown::Nothing => {}
            Shown::Bar(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            Shown::Lines { last } => {
                if done == total || done >= *last + (total / 100).max(1) {
                    *last = done;
                    eprintln!("{}: {done}/{total} {}", self.doing, self.unit);
                }
            }
        }
    }

    /// Says what the job does now, after its items ("releasing space").
    pub fn say(&self, what: &str) {
        match &self.shown {
            Shown::Nothing => {}
            Shown::Bar(bar) => bar.set_message(format!("{}: {what}", self.doing)),
            Shown::Lines { .. } => eprintln!("{}: {what}", self.doing),
        }
    }

    /// Takes the bar off the terminal, before the summary is printed.
    pub fn finish(&self) {
        if let Shown::Bar(bar) = &self.shown {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Counter {
    /// An error leaves no half-drawn bar above its message.
    fn drop(&mut self) {
        self.finish();
    }
}

fn style(unit: &'static str) -> ProgressStyle {
    ProgressStyle::with_template(BAR)
        .expect("the template is valid")
        .with_key(
            "unit",
            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(unit);
            },
        )
        .with_key(
            "rate",
            move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} {unit}/s", state.per_sec());
            },
        )
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses() {
        style("runs");
    }
}
