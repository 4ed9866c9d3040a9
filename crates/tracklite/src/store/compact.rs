//! Compaction and space reclaim: finished series are rewritten into
//! compressed blocks while other processes keep reading and writing, and
//! pages no block uses any more are given back to the file system.

use std::time::Duration;

use serde::Serialize;

use super::Store;
use crate::entities::now_ms;
use crate::error::{Error, Result};
use crate::index::{self, BlockRow};
use crate::log::compressed::{Encoded, MAX_POINTS};
use crate::log::{scan_block, scan_buffer, BlockRef, Stop};

/// How long freed pages are kept before their space is released, so that a
/// reader that listed a series' blocks just before compaction swapped them
/// can still read the old ones. Reads take milliseconds.
pub const RECLAIM_GRACE: Duration = Duration::from_secs(5);

/// Progress of a long maintenance operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Items handled so far (series for `compact`, artifact folders for `gc`).
    pub done: u64,
    /// Items to handle in all.
    pub total: u64,
}

/// What [`Store::compact`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CompactReport {
    /// Series rewritten into compressed blocks.
    pub series: u64,
    /// Metric points in the rewritten series.
    pub points: u64,
    /// Log pages the rewritten series used before.
    pub pages_before: u64,
    /// Log pages the rewritten series use now.
    pub pages_after: u64,
    /// Series left as they were because a writer added to them meanwhile,
    /// or because their blocks are damaged (see `check`).
    pub skipped: Vec<String>,
    /// Pages whose disk space was released.
    pub pages_released: u64,
}

/// The blocks a series had when compaction read it: the swap happens only
/// if they are still exactly these.
fn same_blocks(a: &[BlockRow], b: &[BlockRow]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            (x.first_page, x.summarized, x.sealed) == (y.first_page, y.summarized, y.sealed)
        })
}

impl Store {
    /// Rewrites the metric series of ended runs (FINISHED, FAILED, KILLED)
    /// into zstd-compressed blocks, then releases the space of the pages
    /// they used, and of any other freed pages. Safe while other processes
    /// read and write the store: a series that changes while it is being
    /// rewritten is left alone.
    ///
    /// A reader may have listed a series' old blocks just before its swap,
    /// so their pages are released only [`RECLAIM_GRACE`] after it: when
    /// the last swap is more recent than that, this call waits out the rest
    /// of the grace (at most [`RECLAIM_GRACE`]) before releasing, so that
    /// one compaction gives the space back. `progress` is told after each
    /// series; the wait and the release follow the last call.
    pub fn compact(&self, progress: &mut dyn FnMut(Progress)) -> Result<CompactReport> {
        let mut report = CompactReport::default();
        let candidates = self.inner.index()?.compaction_candidates()?;
        let total = candidates.len() as u64;
        let mut last_swap_ms = None;
        for (i, series_id) in candidates.into_iter().enumerate() {
            let swapped = report.series;
            self.compact_series(series_id, &mut report)?;
            if report.series > swapped {
                // Taken after the commit that freed the old pages, so it is
                // no earlier than the time recorded for them.
                last_swap_ms = Some(now_ms());
            }
            progress(Progress {
                done: i as u64 + 1,
                total,
            });
        }
        if let Some(swap) = last_swap_ms {
            wait_until_ms(swap + RECLAIM_GRACE.as_millis() as i64);
        }
        report.pages_released = self.reclaim(RECLAIM_GRACE)?;
        Ok(report)
    }

    fn compact_series(&self, series_id: u64, report: &mut CompactReport) -> Result<()> {
        let log = self.inner.log()?;
        let before = self.inner.index()?.blocks_of(series_id)?;
        let mut points = Vec::new();
        let mut buf = scan_buffer();
        for b in &before {
            let scan = scan_block(
                &*log,
                &mut buf,
                BlockRef {
                    series_id,
                    first_page: b.first_page,
                    pages: b.pages,
                },
                0,
                Stop::AtEnd,
                |s, t, v| points.push((s, t, v)),
            )
            .map_err(|e| Error::io(log.path(), e))?;
            if !scan.header_ok || scan.invalid > 0 || scan.truncated {
                // Rewriting would make the damage permanent and invisible.
                report.skipped.push(format!(
                    "series {series_id}: damaged block at log page {}",
                    b.first_page
                ));
                return Ok(());
            }
        }
        let mut written = Vec::new();
        for chunk in points.chunks(MAX_POINTS) {
            let mut block = Encoded::new(series_id, chunk).map_err(|e| Error::io(log.path(), e))?;
            let first_page = self.inner.allocate(&log, block.header.pages)?;
            log.write_block(&block.finish(first_page), first_page)?;
            written.push(block.header);
        }
        // The new blocks are on disk before the index points to them.
        log.sync()?;
        let mut index = self.inner.index()?;
        let tx = index.write()?;
        if !same_blocks(&before, &index_blocks(&tx, series_id)?) {
            for h in &written {
                index::free_pages(&tx, h.first_page, h.pages as u64, true)?;
            }
            tx.commit()?;
            report
                .skipped
                .push(format!("series {series_id}: changed while being compacted"));
            return Ok(());
        }
        for b in &before {
            tx.execute(
                "DELETE FROM metric_blocks WHERE first_page = ?1",
                [b.first_page as i64],
            )?;
            index::free_pages(&tx, b.first_page, b.pages as u64, false)?;
        }
        for h in &written {
            index::register_compressed(&tx, h)?;
        }
        tx.commit()?;
        report.series += 1;
        report.points += points.len() as u64;
        report.pages_before += before.iter().map(|b| b.pages as u64).sum::<u64>();
        report.pages_after += written.iter().map(|h| h.pages as u64).sum::<u64>();
        Ok(())
    }

    /// Releases the disk space of pages freed at least `grace` ago (pages
    /// of permanently removed runs at once). Returns the pages released.
    pub fn reclaim(&self, grace: Duration) -> Result<u64> {
        let log = self.inner.log()?;
        let cutoff = now_ms() - grace.as_millis() as i64;
        let due: Vec<(u64, u64, i64)> = self
            .inner
            .index()?
            .freed_pages()?
            .into_iter()
            .filter(|&(_, _, freed)| freed <= cutoff)
            .collect();
        let mut released = 0;
        for &(first_page, pages, _) in &due {
            log.release(first_page, pages)?;
            released += pages;
        }
        if !due.is_empty() {
            let mut index = self.inner.index()?;
            let tx = index.write()?;
            for (first_page, _, _) in due {
                tx.execute(
                    "DELETE FROM freed_pages WHERE first_page = ?1",
                    [first_page as i64],
                )?;
            }
            tx.commit()?;
        }
        Ok(released)
    }

    /// Bytes of disk the metric log takes (holes left by reclaim excluded).
    pub fn log_disk_usage(&self) -> Result<u64> {
        self.inner.log()?.allocated_bytes()
    }
}

/// Sleeps until the wall clock (as [`now_ms`] reads it, the clock of the
/// times in `freed_pages`) reaches `deadline_ms`, at most [`RECLAIM_GRACE`]
/// whatever the clock does meanwhile.
fn wait_until_ms(deadline_ms: i64) {
    let left = deadline_ms - now_ms();
    if left > 0 {
        std::thread::sleep(Duration::from_millis(left as u64).min(RECLAIM_GRACE));
    }
}

fn index_blocks(tx: &rusqlite::Connection, series_id: u64) -> Result<Vec<BlockRow>> {
    let mut stmt = tx.prepare_cached(
        "SELECT first_page FROM metric_blocks WHERE series_id = ?1 ORDER BY first_page",
    )?;
    let pages = stmt
        .query_map([series_id as i64], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut rows = Vec::with_capacity(pages.len());
    for p in pages {
        rows.extend(index::block_at(tx, p as u64)?);
    }
    Ok(rows)
}
