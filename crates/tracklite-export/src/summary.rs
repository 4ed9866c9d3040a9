//! What an export reports: an event per experiment and run as it goes, and
//! a summary at the end.

use std::collections::HashMap;

use serde::Serialize;
use tracklite::{ExportJournal, JournaledRun, RunStatus};

use crate::error::Result;
use crate::export::remote_tags_of;
use crate::select::{Selection, PARENT_RUN_TAG};

/// What happened to one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Its remote run was made by this export.
    Created,
    /// Its remote run existed and got something new.
    Updated,
    /// Nothing was new.
    Skipped,
    /// Something failed; see the error.
    Failed,
}

/// One run's export.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The local run id.
    pub run_id: String,
    /// The run's name.
    pub run_name: String,
    /// The name of its experiment.
    pub experiment: String,
    /// Its run id on the server, when it has one.
    pub remote_run_id: Option<String>,
    /// What happened.
    pub outcome: RunOutcome,
    /// Metric points sent.
    pub points: u64,
    /// Params sent.
    pub params: u64,
    /// Tags sent.
    pub tags: u64,
    /// Why it failed.
    pub error: Option<String>,
}

/// A run that failed, in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct RunFailure {
    /// The local run id.
    pub run_id: String,
    /// The run's name.
    pub run_name: String,
    /// The name of its experiment.
    pub experiment: String,
    /// What went wrong.
    pub error: String,
}

/// What an export did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportSummary {
    /// The server, as its URL is normalised.
    pub target: String,
    /// Nothing was sent: the counts are what the journal says is new.
    pub dry_run: bool,
    /// Experiments made on the server.
    pub experiments_created: usize,
    /// Runs whose remote run was made.
    pub runs_created: usize,
    /// Runs whose remote run got something new.
    pub runs_updated: usize,
    /// Runs with nothing new.
    pub runs_skipped: usize,
    /// Runs that failed (listed in `failures`).
    pub runs_failed: usize,
    /// Metric points sent.
    pub points: u64,
    /// Params sent.
    pub params: u64,
    /// Tags sent (the two naming the run included).
    pub tags: u64,
    /// How long the export took.
    pub seconds: f64,
    /// Every run that failed, with why.
    pub failures: Vec<RunFailure>,
    /// Inputs, logged models, outputs and the registry.
    pub objects: crate::objects::ObjectsSummary,
}

impl ExportSummary {
    /// True when every run and object was exported (model versions that
    /// wait for their artifacts aside).
    pub fn ok(&self) -> bool {
        self.runs_failed == 0 && self.objects.failures.is_empty()
    }

    pub(crate) fn add(&mut self, r: &RunReport) {
        match r.outcome {
            RunOutcome::Created => self.runs_created += 1,
            RunOutcome::Updated => self.runs_updated += 1,
            RunOutcome::Skipped => self.runs_skipped += 1,
            RunOutcome::Failed => self.runs_failed += 1,
        }
        self.points += r.points;
        self.params += r.params;
        self.tags += r.tags;
    }
}

/// What an export reports as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An experiment was found or made on the server.
    Experiment {
        /// Its name.
        name: &'a str,
        /// Its id on the server.
        remote_id: &'a str,
        /// Made by this export.
        created: bool,
    },
    /// Points sent so far (about once a second while points are sent).
    Progress {
        /// Points the server acknowledged.
        points_sent: u64,
        /// Points to send in all.
        points_total: u64,
        /// Since the export started.
        seconds: f64,
    },
    /// A run is done (or failed).
    Run(&'a RunReport),
    /// The runs' remote runs are ready and their points about to be sent:
    /// how much there is (once per export, before the first `Progress`).
    Plan {
        /// Runs selected (each ends with one `Run` event).
        runs: usize,
        /// Points to send in all.
        points_total: u64,
    },
    /// An artifact file was uploaded (whole).
    Artifact {
        /// The local run.
        run_id: &'a str,
        /// The file's path in the run's artifact folder.
        path: &'a str,
        /// Its size.
        bytes: u64,
    },
    /// A pass of a watching export is done (see [`crate::watch()`]).
    Pass {
        /// Its number, from 1.
        number: u64,
        /// What it did.
        summary: &'a ExportSummary,
    },
    /// A pass of a watching export could not run: the server could not be
    /// reached, or the export failed as a whole. The next pass tries again.
    PassFailed {
        /// Its number, from 1.
        number: u64,
        /// Why.
        error: &'a crate::ExportError,
    },
}

/// The summary of a dry run: what the journal does not show as sent.
pub(crate) fn dry_run(
    selection: &Selection,
    journal: &ExportJournal,
    journaled: &HashMap<String, JournaledRun>,
    summary: &mut ExportSummary,
) -> Result<()> {
    let known_experiments = journal.experiments()?;
    summary.experiments_created = selection
        .experiments
        .keys()
        .filter(|id| !known_experiments.contains_key(*id))
        .count();
    let store_id = String::new();
    for (run, _) in &selection.runs {
        let points = |j: Option<&JournaledRun>| -> u64 {
            run.metrics
                .iter()
                .map(|(k, s)| s.count.saturating_sub(j.map_or(0, |j| j.points_sent(k))))
                .sum()
        };
        match journaled.get(&run.info.run_id) {
            None => {
                summary.runs_created += 1;
                summary.points += points(None);
                summary.params += run.params.len() as u64;
                summary.tags += run.tags.len() as u64 + 2;
            }
            Some(j) => {
                let parent = run
                    .tags
                    .get(PARENT_RUN_TAG)
                    .and_then(|p| journaled.get(p))
                    .map(|p| p.remote_id.as_str());
                let tags = remote_tags_of(&store_id, run, parent);
                let params = run
                    .params
                    .iter()
                    .filter(|(k, v)| !j.param_sent(k, v))
                    .count();
                // The store id tag is left out: it never changes.
                let tags = tags
                    .iter()
                    .filter(|(k, v)| k.as_str() != crate::api::STORE_ID_TAG && !j.tag_sent(k, v))
                    .count();
                let points = points(Some(j));
                let end = (j.status.unwrap_or(RunStatus::Running), j.end_time)
                    != (run.info.status, run.info.end_time);
                if params + tags > 0 || points > 0 || end {
                    summary.runs_updated += 1;
                } else {
                    summary.runs_skipped += 1;
                }
                summary.points += points;
                summary.params += params as u64;
                summary.tags += tags as u64;
            }
        }
    }
    Ok(())
}
