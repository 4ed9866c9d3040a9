//! Ending a run: its metric blocks sealed, its summaries brought up to
//! date and its status and end time set, in one commit.

use std::collections::HashSet;

use super::metrics::{fold_block, has_unsummarized_point};
use super::writer::WriterState;
use super::{lock, Store};
use crate::entities::RunUpdate;
use crate::error::Result;
use crate::index::runs::update_run_in;
use crate::index::{BlockRow, Index};
use crate::log::Stop;
use crate::Durability;

impl Store {
    /// Ends a run (`update` carries a terminal status): seals the blocks of
    /// `writer` and of this store's cached writer of the run, folds the
    /// points other writers left unfolded, and applies `update`, all in one
    /// transaction. With [`Durability::PowerLoss`] the log is synced first
    /// and the commit is synced.
    ///
    /// When the commit fails (the run was deleted meanwhile, say), the
    /// writers are still closed, each in its own transaction, and the
    /// commit's error is returned.
    pub(crate) fn end_run_sealing(
        &self,
        run_id: &str,
        update: &RunUpdate,
        writer: Option<&mut WriterState>,
    ) -> Result<()> {
        let mut cached = lock(&self.inner.writers).remove(run_id);
        let mut writers: Vec<&mut WriterState> = cached.iter_mut().chain(writer).collect();
        let ended = self.end_in_one_commit(run_id, update, &mut writers);
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

    fn end_in_one_commit(
        &self,
        run_id: &str,
        update: &RunUpdate,
        writers: &mut [&mut WriterState],
    ) -> Result<()> {
        let own: HashSet<u64> = writers.iter().flat_map(|w| w.block_pages()).collect();
        let log = self.inner.log()?;
        let mut index = self.inner.index()?;
        // Blocks of other writers (other processes, dead ones) whose points
        // the summaries lack: read outside the transaction, folded inside;
        // folding is idempotent should another process fold them meanwhile.
        let stale: Vec<BlockRow> = index
            .unsealed_blocks(Some(run_id))?
            .into_iter()
            .filter(|b| !own.contains(&b.first_page) && has_unsummarized_point(&*log, b))
            .collect();
        let power_loss = self.durability() == Durability::PowerLoss;
        if power_loss {
            // The points reach the disk before the end that commits them.
            log.sync()?;
        }
        let mut commit = |index: &mut Index| -> Result<()> {
            let tx = index.write()?;
            for w in writers.iter_mut() {
                if w.has_news(true) {
                    w.fold_in(&tx, &*log, true)?;
                }
            }
            for b in &stale {
                fold_block(&tx, &*log, b.first_page, Stop::AtFirstGap, false)?;
            }
            update_run_in(&tx, run_id, update)?;
            tx.commit()?;
            Ok(())
        };
        if power_loss {
            index.durably(commit)
        } else {
            commit(&mut index)
        }
    }
}
