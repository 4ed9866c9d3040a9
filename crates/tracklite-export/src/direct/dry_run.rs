//! A dry run of the direct mode: what the export journal does not show as
//! written. Nothing is read from the database (so a run the journal does
//! not know counts as new even when an earlier, cut-off export wrote it).

use std::collections::HashMap;

use tracklite::{ExportJournal, JournaledRun, RunStatus};

use super::runs::tags_of;
use crate::error::Result;
use crate::select::Selection;
use crate::summary::ExportSummary;

/// Fills `summary` with what an export would write.
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
    let empty = JournaledRun::default();
    for (run, _) in &selection.runs {
        let j = journaled.get(&run.info.run_id);
        let k = j.unwrap_or(&empty);
        let params = run
            .params
            .iter()
            .filter(|(key, v)| !k.param_sent(key, v))
            .count() as u64;
        let tags = tags_of(run)
            .into_iter()
            .filter(|(key, v)| !k.tag_sent(key, v))
            .count() as u64;
        let points: u64 = run
            .metrics
            .iter()
            .map(|(key, s)| s.count.saturating_sub(k.points_sent(key)))
            .sum();
        let end = (k.status.unwrap_or(RunStatus::Running), k.end_time)
            != (run.info.status, run.info.end_time);
        if j.is_none() {
            summary.runs_created += 1;
        } else if params + tags + points > 0 || end {
            summary.runs_updated += 1;
        } else {
            summary.runs_skipped += 1;
        }
        summary.points += points;
        summary.params += params;
        summary.tags += tags;
    }
    Ok(())
}
