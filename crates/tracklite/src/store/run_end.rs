//! Ending a run: its metric blocks sealed, its summaries brought up to
//! date and its status and end time set, in one commit.

use std::collections::HashSet;

use super::metrics::{fold_block, has_unsummarized_point};
use super::writer::WriterState;
use super::{lock, Store};
use crate::entities::{RunInfo, RunUpdate};
use crate::error::Result;
use crate::index::runs::{run_info_in, update_run_in};
use crate::index::{unsealed_blocks_in, BlockRow, Index};
use crate::log::Stop;
use crate::Durability;

impl Store {
    /// Ends a run (`update` carries a terminal status): seals the blocks of
    /// `writer` and of this store's cached writer of the run, folds the
    /// points other writers left unfolded, and applies `update`, all in one
    /// transaction. With [`Durability::PowerLoss`] the log is synced first
    /// and the commit is synced.
    ///
    /// Returns the run's info as that transaction left it. When the commit
    /// fails (the run was deleted meanwhile, say), the writers are still
    /// closed, each in its own transaction, and the commit's error is
    /// returned.
    pub(crate) fn end_run_sealing(
        &self,
        run_id: &str,
        update: &RunUpdate,
        writer: Option<&mut WriterState>,
    ) -> Result<RunInfo> {
        let mut cached = lock(&self.inner.writers).remove(run_id);
        // Series made ahead for the run that no writer took are sealed
        // with the rest (best effort: left open, recovery seals them).
        let mut unclaimed = self
            .inner
            .take_made(run_id)
            .and_then(|made| WriterState::starting(&self.inner, run_id, Some(made)).ok());
        let mut writers: Vec<&mut WriterState> = cached
            .iter_mut()
            .chain(unclaimed.iter_mut())
            .chain(writer)
            .collect();
        let logged: Vec<String> = writers
            .iter()
            .flat_map(|w| w.logged_keys())
            .map(str::to_owned)
            .collect();
        let ended = self.end_in_one_commit(run_id, update, &mut writers);
        // The next run this process creates in the experiment gets these
        // keys' series made ahead (forecast.rs).
        if let Ok(info) = &ended {
            if let Ok(experiment_id) = info.experiment_id.parse() {
                self.inner.remember_keys(experiment_id, logged);
            }
        }
        for w in writers {
            if ended.is_ok() {
                w.release_blocks();
            } else {
                // Best effort: the commit's error is the one to report.
                let _ = w.close(&self.inner);
            }
        }
        ended
    }

    /// Returns the run's info as the commit left it.
    fn end_in_one_commit(
        &self,
        run_id: &str,
        update: &RunUpdate,
        writers: &mut [&mut WriterState],
    ) -> Result<RunInfo> {
        let own: HashSet<u64> = writers.iter().flat_map(|w| w.block_pages()).collect();
        let log = self.inner.log()?;
        let mut index = self.inner.index()?;
        // Blocks of other writers (other processes, dead ones) whose points
        // the summaries lack; folding is idempotent should another process
        // fold them meanwhile.
        let stale = |conn: &rusqlite::Connection| -> Result<Vec<BlockRow>> {
            Ok(unsealed_blocks_in(conn, run_id)?
                .into_iter()
                .filter(|b| !own.contains(&b.first_page) && has_unsummarized_point(&*log, b))
                .collect())
        };
        let power_loss = self.durability() == Durability::PowerLoss;
        // With power-loss durability they are read before the log is synced
        // (outside the transaction, so that the write lock is not held
        // through a sync), so that every point folded is on disk; otherwise
        // inside it, with no read transaction of its own.
        let stale_before = if power_loss {
            Some(stale(index.conn())?)
        } else {
            None
        };
        if power_loss {
            // The points reach the disk before the end that commits them.
            log.sync()?;
        }
        let root = &self.inner.artifact_root;
        let mut commit = |index: &mut Index| -> Result<RunInfo> {
            let tx = index.write()?;
            let stale = match &stale_before {
                Some(before) => before.clone(),
                None => stale(&tx)?,
            };
            for w in writers.iter_mut() {
                if w.has_news(true) {
                    w.fold_in(&tx, &*log, true)?;
                }
            }
            for b in &stale {
                fold_block(&tx, &*log, b.first_page, Stop::AtFirstGap, false)?;
            }
            update_run_in(&tx, run_id, update)?;
            // Read in the ending transaction: no second one to read it back.
            let info = run_info_in(&tx, run_id, root)?;
            tx.commit()?;
            Ok(info)
        };
        if power_loss {
            index.durably(commit)
        } else {
            commit(&mut index)
        }
    }
}
