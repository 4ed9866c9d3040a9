//! Logging and reading metrics, and keeping the index's summaries in step
//! with the log.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use rusqlite::Connection;

use super::writer::WriterState;
use super::{lock, Store};
use crate::entities::{Metric, MetricColumns, MetricDatasetLink, MetricPoint};
use crate::error::Result;
use crate::index::{self, BlockRow};
use crate::log::format::{self, Slot, RECORD_SIZE};
use crate::log::{history, scan_block, BlockRef, OpenBlock, ReadAt, Stop};
use crate::summary::SeriesSummary;
use crate::validate;

/// The store's own writers (one per run logged to) kept open at most; past
/// this, the least recently used half is closed.
const MAX_CACHED_WRITERS: usize = 64;

/// Histories at least this long are decoded by two threads.
const PARALLEL_READ_POINTS: usize = 200_000;

/// Folds the points of block `first_page` that the index has not summarised
/// yet into its series' summary, inside the caller's write transaction, so
/// that two processes folding the same block never count a point twice.
pub(crate) fn fold_block(
    tx: &Connection,
    log: &dyn ReadAt,
    first_page: u64,
    stop: Stop,
    seal: bool,
) -> Result<()> {
    let Some(row) = index::block_at(tx, first_page)? else {
        return Ok(());
    };
    if row.sealed && !seal {
        return Ok(());
    }
    let mut delta = SeriesSummary::default();
    let mut buf = [0u8; 16 << 10];
    let scan = scan_block(
        log,
        &mut buf,
        BlockRef {
            series_id: row.series_id,
            first_page: row.first_page,
            pages: row.pages,
        },
        row.summarized,
        stop,
        |s, t, v| delta.add(s, t, v),
    )
    .map_err(|e| crate::error::Error::io("metric log", e))?;
    let summarized = scan.end.max(row.summarized);
    if summarized != row.summarized || seal != row.sealed {
        index::record_progress(tx, &row, summarized, seal, &delta)?;
    }
    Ok(())
}

/// Folds what a writer wrote into its own open block. When the index has
/// summarised exactly what the writer last folded, the writer's running
/// summary of the newer points is used and the block is not read again;
/// otherwise (another process folded part of it) the block is read.
pub(crate) fn fold_own_block(
    tx: &Connection,
    log: &dyn ReadAt,
    block: &mut OpenBlock,
    seal: bool,
) -> Result<()> {
    let first_page = block.header.first_page;
    let Some(row) = index::block_at(tx, first_page)? else {
        return Ok(());
    };
    let sealed = seal || row.sealed;
    if row.summarized == block.folded {
        if block.written() != row.summarized || sealed != row.sealed {
            index::record_progress(tx, &row, block.written(), sealed, &block.pending)?;
        }
    } else {
        let stop = if seal { Stop::AtEnd } else { Stop::AtFirstGap };
        fold_block(tx, log, first_page, stop, sealed)?;
    }
    block.folded = block.written();
    block.pending = SeriesSummary::default();
    Ok(())
}

/// True when the slot after the summarised ones holds a point: the block
/// has news for the summary.
pub(crate) fn has_unsummarized_point(log: &dyn ReadAt, row: &BlockRow) -> bool {
    if row.summarized as usize >= format::capacity(row.pages) {
        return false;
    }
    let mut head = [0u8; format::BLOCK_HEADER_SIZE];
    let mut rec = [0u8; RECORD_SIZE];
    let base = row.first_page * format::PAGE;
    let at = base + (format::BLOCK_HEADER_SIZE + row.summarized as usize * RECORD_SIZE) as u64;
    let (Ok(h), Ok(r)) = (log.read_at(&mut head, base), log.read_at(&mut rec, at)) else {
        return false;
    };
    let Some(header) = format::BlockHeader::decode(&head[..h]) else {
        return false;
    };
    r == RECORD_SIZE
        && matches!(
            format::decode_record(header.record_seed(), row.summarized, &rec),
            Slot::Point { .. }
        )
}

/// Where a block of the index is in the log.
fn block_ref(b: &BlockRow) -> BlockRef {
    BlockRef {
        series_id: b.series_id,
        first_page: b.first_page,
        pages: b.pages,
    }
}

impl Store {
    /// Logs one point of a metric. Timestamps are ms since the epoch.
    pub fn log_metric(
        &self,
        run_id: &str,
        key: &str,
        value: f64,
        timestamp: i64,
        step: i64,
    ) -> Result<()> {
        self.with_writer(run_id, |w, inner| {
            let slot = w.slot(inner, key)?;
            w.append(inner, slot, step, timestamp, value)
        })
    }

    /// Logs metrics, params and tags together, within MLflow's batch limits.
    /// Every entry is validated before anything is written.
    ///
    /// What readers and a retry may see: params and tags are written in one
    /// transaction, all or none, before any metric point. Then every block
    /// the batch's points need is claimed, and only then are the points
    /// written, with nothing between them that can fail: an error (a full
    /// disk, a damaged or replaced log) leaves no point of the batch, so a
    /// retry writes each point once. Only a process killed while it writes
    /// the points (a few microseconds for 1,000 points) can leave the first
    /// of them, in the batch's order, without the rest; a retry then holds
    /// those points twice (MLflow's SQL store would drop the exact
    /// duplicates).
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<()> {
        validate::run_id(run_id)?;
        validate::batch(metrics.len(), params.len(), tags.len())?;
        // A batch names few keys many times: each is checked once.
        let mut checked = std::collections::HashSet::new();
        for m in metrics {
            if checked.insert(m.key.as_str()) {
                validate::key("metric", &m.key)?;
            }
        }
        self.log_params_and_tags(run_id, params, tags)?;
        if metrics.is_empty() {
            return Ok(());
        }
        self.with_writer(run_id, |w, inner| {
            let keys: Vec<&str> = checked.iter().copied().collect();
            w.open_series(inner, &keys)?;
            let slots = metrics
                .iter()
                .map(|m| w.slot(inner, &m.key))
                .collect::<Result<Vec<usize>>>()?;
            let mut points = vec![0u32; slots.iter().max().map_or(0, |&s| s + 1)];
            for &slot in &slots {
                points[slot] += 1;
            }
            // Every fallible step before the first point is written.
            for (slot, &n) in points.iter().enumerate().filter(|(_, &n)| n > 0) {
                w.reserve(inner, slot, n)?;
            }
            inner.log()?.ensure_still_in_place()?;
            for (m, slot) in metrics.iter().zip(slots) {
                w.append_reserved(slot, m.step, m.timestamp, m.value);
            }
            // The batch is written: a failed fold of the summaries (derived
            // data, folded again by the next fold) must not make the caller
            // retry it.
            let _ = w.fold_if_due(inner);
            Ok(())
        })
    }

    fn with_writer<T>(
        &self,
        run_id: &str,
        f: impl FnOnce(&mut WriterState, &super::Inner) -> Result<T>,
    ) -> Result<T> {
        let mut writers = lock(&self.inner.writers);
        if !writers.contains_key(run_id) && writers.len() >= MAX_CACHED_WRITERS {
            self.close_least_used(&mut writers)?;
        }
        let tick = self.inner.writer_ticks.fetch_add(1, Ordering::Relaxed);
        let writer = match writers.entry(run_id.to_string()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(WriterState::new(&self.inner, run_id)?)
            }
        };
        writer.last_used = tick;
        f(writer, &self.inner)
    }

    /// Closes the least recently used half of the cached writers, sealing
    /// their blocks in one transaction. A store logging to many runs (a
    /// server, an import, a sweep) so keeps few blocks open, and reading
    /// summaries never has many open blocks to fold; a run logged to again
    /// gets a new writer.
    fn close_least_used(&self, writers: &mut HashMap<String, WriterState>) -> Result<()> {
        let mut by_use: Vec<(u64, String)> = writers
            .iter()
            .map(|(id, w)| (w.last_used, id.clone()))
            .collect();
        by_use.sort_unstable();
        let closing: Vec<WriterState> = by_use[..by_use.len() / 2]
            .iter()
            .filter_map(|(_, id)| writers.remove(id))
            .collect();
        let log = self.inner.log()?;
        let mut index = self.inner.index()?;
        let tx = index.write()?;
        let mut closing = closing;
        for w in &mut closing {
            if w.has_news(true) {
                w.fold_in(&tx, &*log, true)?;
            }
        }
        tx.commit()?;
        for w in &mut closing {
            w.release_blocks();
        }
        Ok(())
    }

    /// Every point of metric `key` of a run, in the order logged.
    pub fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<MetricPoint>> {
        let (blocks, count) = self.series_blocks(run_id, key)?;
        let mut points = Vec::with_capacity(count);
        self.scan_series(&blocks, |step, timestamp, value| {
            points.push(MetricPoint {
                value,
                timestamp,
                step,
            })
        })?;
        Ok(points)
    }

    /// Every point of metric `key` of a run, as columns.
    pub fn metric_history_columns(&self, run_id: &str, key: &str) -> Result<MetricColumns> {
        let (blocks, count) = self.series_blocks(run_id, key)?;
        if count >= PARALLEL_READ_POINTS && blocks.len() > 1 && blocks.iter().all(|b| b.sealed) {
            if let Some(c) = self.read_columns_in_two(&blocks, count)? {
                return Ok(c);
            }
        }
        let mut c = MetricColumns {
            steps: Vec::with_capacity(count),
            timestamps: Vec::with_capacity(count),
            values: Vec::with_capacity(count),
        };
        crate::huge_pages::advise(&mut c.steps);
        crate::huge_pages::advise(&mut c.timestamps);
        crate::huge_pages::advise(&mut c.values);
        self.scan_series(&blocks, |step, timestamp, value| {
            c.steps.push(step);
            c.timestamps.push(timestamp);
            c.values.push(value);
        })?;
        Ok(c)
    }

    /// The datasets that points of metric `key` of a run were computed on,
    /// by ordinal (the point's 0-based position in
    /// [`Store::metric_history`]). Only points imported from an MLflow file
    /// store that named a dataset have one; most histories have none, which
    /// costs one indexed lookup.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = tracklite::Store::open(dir.path())?;
    /// # let run_id = store.create_run(Default::default())?.run_id;
    /// store.log_metric(&run_id, "acc", 0.9, 1_700_000_000_000, 3)?;
    /// assert!(store.metric_dataset_links(&run_id, "acc")?.is_empty());
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn metric_dataset_links(&self, run_id: &str, key: &str) -> Result<Vec<MetricDatasetLink>> {
        validate::run_id(run_id)?;
        self.inner.index()?.metric_dataset_links(run_id, key)
    }

    /// Reads a long series of sealed blocks with two threads, each
    /// decoding half of the blocks straight into its part of the columns.
    /// `None` when a block no longer holds the points the index counts
    /// (damage): the caller then reads it the ordinary way.
    fn read_columns_in_two(
        &self,
        blocks: &[BlockRow],
        total: usize,
    ) -> Result<Option<MetricColumns>> {
        let log = self.inner.log()?;
        // Split where half of the points have been counted.
        let mut split = 0;
        let mut first_half = 0;
        while split < blocks.len() - 1 && first_half * 2 < total {
            first_half += blocks[split].summarized as usize;
            split += 1;
        }
        let mut c = MetricColumns {
            steps: vec![0; total],
            timestamps: vec![0; total],
            values: vec![0.0; total],
        };
        crate::huge_pages::advise(&mut c.steps);
        crate::huge_pages::advise(&mut c.timestamps);
        crate::huge_pages::advise(&mut c.values);
        let (s1, s2) = c.steps.split_at_mut(first_half);
        let (t1, t2) = c.timestamps.split_at_mut(first_half);
        let (v1, v2) = c.values.split_at_mut(first_half);
        let decode = |part: &[BlockRow], s: &mut [i64], t: &mut [i64], v: &mut [f64]| {
            let part: Vec<BlockRef> = part.iter().map(block_ref).collect();
            history::read_series_into(&*log, &part, s, t, v)
                .map_err(|e| crate::error::Error::io(log.path(), e))
        };
        let (head, tail) = blocks.split_at(split);
        let (a, b) = std::thread::scope(|scope| {
            let other = scope.spawn(|| decode(tail, s2, t2, v2));
            let a = decode(head, s1, t1, v1);
            (a, other.join().expect("a history reader thread panicked"))
        });
        Ok((a? && b?).then_some(c))
    }

    /// The blocks of a series and a capacity hint for its points.
    pub(super) fn series_blocks(&self, run_id: &str, key: &str) -> Result<(Vec<BlockRow>, usize)> {
        validate::run_id(run_id)?;
        let index = self.inner.index()?;
        crate::index::runs::run_stage(index.conn(), run_id)?;
        let Some(series_id) = index.find_series(run_id, key)? else {
            return Ok((Vec::new(), 0));
        };
        let blocks = index.blocks_of(series_id)?;
        // Sealed blocks hold exactly `summarized` points; open ones at most
        // their capacity.
        let hint = blocks
            .iter()
            .map(|b| {
                if b.sealed {
                    b.summarized as usize
                } else {
                    format::capacity(b.pages)
                }
            })
            .sum();
        Ok((blocks, hint))
    }

    pub(super) fn scan_series(
        &self,
        blocks: &[BlockRow],
        on_point: impl FnMut(i64, i64, f64),
    ) -> Result<()> {
        if blocks.is_empty() {
            return Ok(());
        }
        let log = self.inner.log()?;
        history::read_series(&*log, blocks.iter().map(block_ref), on_point)
            .map_err(|e| crate::error::Error::io(log.path(), e))
    }

    /// Brings the index's summaries up to date with every point in the log,
    /// of one run or of all: this process's writers fold theirs, and blocks
    /// of other writers are read where they have news.
    pub(crate) fn refresh_summaries(&self, run_id: Option<&str>) -> Result<()> {
        if self.inner.read_only {
            // Folding writes the index; a read-only open serves the
            // summaries as the writers last folded them.
            return Ok(());
        }
        {
            // This process's writers fold what they hold, all in one transaction.
            let mut writers = lock(&self.inner.writers);
            let mut news: Vec<&mut WriterState> = writers
                .iter_mut()
                .filter(|(id, _)| run_id.is_none_or(|r| r == id.as_str()))
                .map(|(_, w)| w)
                .filter_map(|w| w.has_news(false).then_some(w))
                .collect();
            if !news.is_empty() {
                let log = self.inner.log()?;
                let mut index = self.inner.index()?;
                let tx = index.write()?;
                for w in &mut news {
                    w.fold_in(&tx, &*log, false)?;
                }
                tx.commit()?;
            }
        }
        let log = self.inner.log()?;
        let mut index = self.inner.index()?;
        let stale: Vec<BlockRow> = index
            .unsealed_blocks(run_id)?
            .into_iter()
            .filter(|b| has_unsummarized_point(&*log, b))
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        let tx = index.write()?;
        for b in stale {
            fold_block(&tx, &*log, b.first_page, Stop::AtFirstGap, false)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// After a crash: folds and seals the blocks of writers that died, and
    /// catches up with live ones.
    pub(crate) fn recover(&self) -> Result<()> {
        let log = self.inner.log()?;
        let mut index = self.inner.index()?;
        let open = index.unsealed_blocks(None)?;
        if open.is_empty() {
            return Ok(());
        }
        let me = std::process::id();
        let tx = index.write()?;
        for b in open {
            let dead = b.writer_pid != me && !crate::process::pid_is_alive(b.writer_pid);
            let stop = if dead { Stop::AtEnd } else { Stop::AtFirstGap };
            fold_block(&tx, &*log, b.first_page, stop, dead)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Makes everything logged so far durable against power loss: folds
    /// summaries, syncs the metric log and checkpoints the index.
    pub fn flush(&self) -> Result<()> {
        self.refresh_summaries(None)?;
        self.sync()
    }

    pub(crate) fn sync(&self) -> Result<()> {
        if self.inner.read_only {
            return Ok(());
        }
        self.inner.log()?.sync()?;
        self.inner.index()?.checkpoint()
    }
}
