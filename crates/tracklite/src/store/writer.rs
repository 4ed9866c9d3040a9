//! Metric writers: the hot path. A writer owns one open block per series it
//! logs to, so appending a point is a checksum and a 32-byte copy into a
//! shared mapping, with no lock and no system call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::forecast::MadeAhead;
use super::{Inner, Store};
use crate::error::{Error, Result};
use crate::index::runs::ensure_active;
use crate::index::BlockRow;
use crate::log::format::{self, block_pages, BlockHeader};
use crate::log::{LogFile, OpenBlock, ReadAt};
use crate::process;
use crate::summary::SeriesSummary;
use crate::validate;

/// New series whose first blocks share one allocation and one mapping, at
/// most (a batch may name up to 1,000 new keys).
const BLOCKS_PER_MAPPING: usize = 64;

/// How often, at most, a busy writer folds its points into the index's
/// summaries, so that other processes see recent latest values.
const SUMMARY_INTERVAL: Duration = Duration::from_secs(1);
/// Appends between two looks at the clock.
const CLOCK_EVERY: u32 = 4096;

struct SeriesSlot {
    series_id: u64,
    block: Option<OpenBlock>,
    blocks_claimed: u32,
}

/// One writer's state for one run. Used by [`MetricWriter`] and by the
/// store's own per-run writers.
pub(crate) struct WriterState {
    run_id: String,
    generation: u64,
    keys: HashMap<String, usize>,
    series: Vec<SeriesSlot>,
    appends: u32,
    last_summary: Instant,
    /// When the store's cache of writers last handed this one out.
    pub last_used: u64,
}

impl WriterState {
    pub fn new(inner: &Inner, run_id: &str) -> Result<WriterState> {
        validate::run_id(run_id)?;
        Self::starting(inner, run_id, inner.take_made(run_id))
    }

    /// A writer of `run_id` that takes over the series `made` ahead, if
    /// any; without them, the run must be active.
    pub fn starting(inner: &Inner, run_id: &str, made: Option<MadeAhead>) -> Result<WriterState> {
        if made.is_none() {
            ensure_active(inner.index()?.conn(), run_id)?;
        }
        let mut state = WriterState {
            run_id: run_id.to_string(),
            generation: process::generation(),
            keys: HashMap::new(),
            series: Vec::new(),
            appends: 0,
            last_summary: Instant::now(),
            last_used: 0,
        };
        if let Some(made) = made {
            state.take_over(inner, made)?;
        }
        Ok(state)
    }

    /// Takes over the series made ahead with the run
    /// (`store/forecast.rs`): their first blocks are mapped, one mapping
    /// per chunk, and become this writer's open blocks.
    fn take_over(&mut self, inner: &Inner, made: MadeAhead) -> Result<()> {
        let log = inner.log()?;
        let mut blocks = Vec::with_capacity(made.series.len());
        for chunk in made.blocks {
            blocks.extend(OpenBlock::map_new(&log, chunk)?);
        }
        for ((key, series_id), block) in made.series.into_iter().zip(blocks) {
            self.series.push(SeriesSlot {
                series_id,
                block: Some(block),
                blocks_claimed: 1,
            });
            self.keys.insert(key, self.series.len() - 1);
        }
        Ok(())
    }

    /// The keys this writer has put points in.
    pub fn logged_keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.keys
            .iter()
            .filter(|(_, &slot)| {
                let s = &self.series[slot];
                s.blocks_claimed > 1 || s.block.as_ref().is_some_and(|b| b.written() > 0)
            })
            .map(|(key, _)| key.as_str())
    }

    /// The slot of `key`, creating its series on first use.
    pub fn slot(&mut self, inner: &Inner, key: &str) -> Result<usize> {
        if let Some(&slot) = self.keys.get(key) {
            return Ok(slot);
        }
        validate::key("metric", key)?;
        let series_id = inner.index()?.series_id(&self.run_id, key)?;
        self.series.push(SeriesSlot {
            series_id,
            block: None,
            blocks_claimed: 0,
        });
        let slot = self.series.len() - 1;
        self.keys.insert(key.to_string(), slot);
        Ok(slot)
    }

    /// Makes the series of those of `keys` this writer has no slot for
    /// yet, with their first blocks, in one transaction: a batch naming
    /// new keys costs one commit, not two per key.
    pub fn open_series(&mut self, inner: &Inner, keys: &[&str]) -> Result<()> {
        let mut new: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| !self.keys.contains_key(*k))
            .collect();
        new.sort_unstable();
        new.dedup();
        if new.is_empty() {
            return Ok(());
        }
        for key in &new {
            validate::key("metric", key)?;
        }
        if self.generation != process::generation() {
            self.forget_parent_blocks();
        }
        let log = inner.log()?;
        let (series_ids, chunks) = {
            let mut index = inner.index()?;
            let tx = index.write()?;
            ensure_active(&tx, &self.run_id)?;
            let made = first_blocks(&log, &tx, &self.run_id, &new)?;
            tx.commit()?;
            made
        };
        let mut blocks = Vec::with_capacity(new.len());
        for chunk in chunks {
            blocks.extend(OpenBlock::map_new(&log, chunk)?);
        }
        for ((key, series_id), block) in new.iter().zip(series_ids).zip(blocks) {
            self.series.push(SeriesSlot {
                series_id,
                block: Some(block),
                blocks_claimed: 1,
            });
            self.keys.insert(key.to_string(), self.series.len() - 1);
        }
        Ok(())
    }

    /// Appends one point to the series in `slot`.
    #[inline]
    pub fn append(
        &mut self,
        inner: &Inner,
        slot: usize,
        step: i64,
        timestamp: i64,
        value: f64,
    ) -> Result<()> {
        if self.generation != process::generation() {
            self.forget_parent_blocks();
        }
        let series = &mut self.series[slot];
        let appended = match &mut series.block {
            Some(block) => block.append(step, timestamp, value),
            None => false,
        };
        if !appended {
            self.claim_block(inner, slot)?;
            let block = self.series[slot].block.as_mut().expect("just claimed");
            assert!(block.append(step, timestamp, value), "a new block has room");
        }
        self.appends = self.appends.wrapping_add(1);
        if self.appends.is_multiple_of(CLOCK_EVERY)
            && self.last_summary.elapsed() >= SUMMARY_INTERVAL
        {
            self.fold_summaries(inner, false)?;
        }
        Ok(())
    }

    /// Appends `cols` to the series in `slot`: the room left in its open
    /// block first, then every block the rest fills whole
    /// ([`WriterState::write_whole_blocks`]), then the remainder point by
    /// point into a new open block.
    pub fn append_columns(&mut self, inner: &Inner, slot: usize, cols: &Columns<'_>) -> Result<()> {
        let n = cols.values.len();
        let room = self.series[slot].block.as_ref().map_or(0, |b| b.room()) as usize;
        let mut i = 0;
        while i < n.min(room) {
            self.append(inner, slot, cols.step(i), cols.timestamp(i), cols.values[i])?;
            i += 1;
        }
        i += self.write_whole_blocks(inner, slot, cols, i)?;
        while i < n {
            self.append(inner, slot, cols.step(i), cols.timestamp(i), cols.values[i])?;
            i += 1;
        }
        Ok(())
    }

    /// Writes the points of `cols` from `start` on as whole blocks (as
    /// many as they fill, each as large as the series' next block would
    /// be) and returns how many points that took. Each block is built in
    /// memory, header and records, and written with one positioned write:
    /// no mapping, so no page fault and no zeroing of pages that are
    /// overwritten at once. The blocks are then registered, sealed and
    /// summarised, in one transaction for all of them. A process killed
    /// before that commit leaves them unregistered: their pages are lost
    /// space, as with a compaction cut short, and no point of this call
    /// was acknowledged.
    fn write_whole_blocks(
        &mut self,
        inner: &Inner,
        slot: usize,
        cols: &Columns<'_>,
        start: usize,
    ) -> Result<usize> {
        let series_id = self.series[slot].series_id;
        let mut claimed = self.series[slot].blocks_claimed;
        let n = cols.values.len();
        let fits = |claimed: u32, at: usize| {
            let pages = block_pages(claimed);
            (n - at >= format::capacity(pages)).then_some(pages)
        };
        if fits(claimed, start).is_none() {
            return Ok(0);
        }
        let log = inner.log()?;
        log.ensure_still_in_place()?;
        let mut buf: Vec<u8> = Vec::new();
        let mut written: Vec<(BlockHeader, SeriesSummary)> = Vec::new();
        let mut at = start;
        while let Some(pages) = fits(claimed, at) {
            let first_page = inner.allocate(&log, pages)?;
            let header = BlockHeader {
                series_id,
                first_page,
                pages,
                writer_pid: std::process::id(),
                created_ms: crate::entities::now_ms(),
            };
            let summary = encode_block(&mut buf, &header, cols, at);
            log.write_block(&buf, first_page)?;
            written.push((header, summary));
            claimed += 1;
            at += format::capacity(pages);
        }
        let mut index = inner.index()?;
        let tx = index.write()?;
        ensure_active(&tx, &self.run_id)?;
        for (header, summary) in &written {
            crate::index::register_block(&tx, header)?;
            let row = BlockRow {
                first_page: header.first_page,
                series_id,
                pages: header.pages,
                writer_pid: header.writer_pid,
                summarized: 0,
                sealed: false,
            };
            let count = format::capacity(header.pages) as u32;
            crate::index::record_progress(&tx, &row, count, true, summary)?;
        }
        tx.commit()?;
        self.series[slot].blocks_claimed = claimed;
        self.appends = self.appends.wrapping_add((at - start) as u32);
        Ok(at - start)
    }

    /// A forked child must not write into its parent's blocks: it drops
    /// them (unmapping only its own copy of the mapping) and claims new ones.
    fn forget_parent_blocks(&mut self) {
        for s in &mut self.series {
            s.block = None;
        }
        self.generation = process::generation();
    }

    /// Makes sure the series in `slot` has room for `points` more points
    /// in its open block, claiming a new block (big enough) now if not: a
    /// batch that does this for each of its series before writing its first
    /// point cannot fail half way for want of a block.
    pub fn reserve(&mut self, inner: &Inner, slot: usize, points: u32) -> Result<()> {
        let room = self.series[slot].block.as_ref().map_or(0, |b| b.room());
        if room < points {
            self.claim_block_for(inner, slot, points)?;
        }
        Ok(())
    }

    /// Appends points that [`WriterState::reserve`] made room for, with no
    /// block claim and no summary fold in between: it cannot fail.
    pub fn append_reserved(&mut self, slot: usize, step: i64, timestamp: i64, value: f64) {
        let block = self.series[slot]
            .block
            .as_mut()
            .expect("reserve opened a block");
        assert!(block.append(step, timestamp, value), "reserve made room");
        self.appends = self.appends.wrapping_add(1);
    }

    /// Folds summaries when the last fold is older than the interval.
    pub fn fold_if_due(&mut self, inner: &Inner) -> Result<()> {
        if self.last_summary.elapsed() >= SUMMARY_INTERVAL {
            self.fold_summaries(inner, false)?;
        }
        Ok(())
    }

    /// Replaces the series' full (or missing) block with a new one. The new
    /// block is in the index before any point is written to it; the old
    /// one is folded into the summary and sealed in the same transaction.
    fn claim_block(&mut self, inner: &Inner, slot: usize) -> Result<()> {
        self.claim_block_for(inner, slot, 1)
    }

    /// [`WriterState::claim_block`], with room for at least `points` points.
    fn claim_block_for(&mut self, inner: &Inner, slot: usize, points: u32) -> Result<()> {
        let log = inner.log()?;
        log.ensure_still_in_place()?;
        let series = &mut self.series[slot];
        let mut pages = block_pages(series.blocks_claimed);
        while (crate::log::format::capacity(pages) as u32) < points
            && pages < crate::log::format::MAX_BLOCK_PAGES
        {
            pages *= 2;
        }
        let first_page = inner.allocate(&log, pages)?;
        let block = OpenBlock::create(&log, series.series_id, first_page, pages)?;
        let mut old = series.block.take();
        {
            let mut index = inner.index()?;
            let tx = index.write()?;
            // A run deleted since this writer opened stops taking points here.
            ensure_active(&tx, &self.run_id)?;
            crate::index::register_block(&tx, &block.header)?;
            if let Some(old) = old.as_mut() {
                super::metrics::fold_own_block(&tx, &*log, old, true)?;
            }
            tx.commit()?;
        }
        series.block = Some(block);
        series.blocks_claimed += 1;
        Ok(())
    }

    /// Folds what this writer has written into the index's summaries, and
    /// seals its blocks when `seal` is set (the writer is done with them).
    pub fn fold_summaries(&mut self, inner: &Inner, seal: bool) -> Result<()> {
        self.last_summary = Instant::now();
        let log = inner.log()?;
        // Points of a log deleted or replaced since it was opened are lost:
        // the writer stops acknowledging them.
        log.ensure_still_in_place()?;
        if !self.has_news(seal) {
            return Ok(());
        }
        let mut index = inner.index()?;
        let tx = index.write()?;
        self.fold_in(&tx, &*log, seal)?;
        tx.commit()?;
        Ok(())
    }

    /// True when folding (or sealing, with `seal`) would change the index:
    /// a block holds points not folded yet. A forked child's copy of its
    /// parent's blocks is dropped here, never folded.
    pub fn has_news(&mut self, seal: bool) -> bool {
        if self.generation != process::generation() {
            self.forget_parent_blocks();
            return false;
        }
        self.series
            .iter()
            .filter_map(|s| s.block.as_ref())
            .any(|b| seal || b.written() != b.folded)
    }

    /// [`WriterState::fold_summaries`] inside the caller's transaction, so
    /// that many writers fold in one.
    pub fn fold_in(&mut self, tx: &Connection, log: &dyn ReadAt, seal: bool) -> Result<()> {
        self.last_summary = Instant::now();
        for block in self.series.iter_mut().filter_map(|s| s.block.as_mut()) {
            super::metrics::fold_own_block(tx, log, block, seal)?;
        }
        Ok(())
    }

    /// Seals every block and releases the mappings.
    pub fn close(&mut self, inner: &Inner) -> Result<()> {
        let folded = self.fold_summaries(inner, true);
        self.release_blocks();
        folded
    }

    /// The first pages of the blocks this writer holds open.
    pub fn block_pages(&self) -> impl Iterator<Item = u64> + '_ {
        self.series
            .iter()
            .filter_map(|s| s.block.as_ref())
            .map(|b| b.header.first_page)
    }

    /// Drops the mappings of the blocks (after they were sealed).
    pub fn release_blocks(&mut self) {
        for s in &mut self.series {
            s.block = None;
        }
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }
}

/// Makes the series of `keys` for run `run_id` (a key the run has already
/// keeps its series) and a first block for each, registered through `conn`:
/// one allocation and one positioned write per [`BLOCKS_PER_MAPPING`]
/// keys. Returns the series ids, in the order of `keys`, and the blocks'
/// headers per chunk, for [`OpenBlock::map_new`].
pub(crate) fn first_blocks(
    log: &LogFile,
    conn: &Connection,
    run_id: &str,
    keys: &[&str],
) -> Result<(Vec<u64>, Vec<Vec<BlockHeader>>)> {
    let series_ids = keys
        .iter()
        .map(|k| crate::index::series_id_in(conn, run_id, k))
        .collect::<Result<Vec<u64>>>()?;
    let pages = block_pages(0);
    let mut chunks = Vec::new();
    for chunk in series_ids.chunks(BLOCKS_PER_MAPPING) {
        let first_page = super::allocate_in(log, conn, pages * chunk.len() as u32)?;
        chunks.push(OpenBlock::write_new(log, chunk, first_page, pages)?);
        crate::index::register_blocks(conn, first_page, pages, std::process::id(), chunk)?;
    }
    Ok((series_ids, chunks))
}

/// Columns of points for [`WriterState::append_columns`]: values, with
/// steps (by default each point's position, from 0) and timestamps (by
/// default one for all) of the same length.
pub(crate) struct Columns<'a> {
    pub values: &'a [f64],
    pub steps: Option<&'a [i64]>,
    pub timestamps: Option<&'a [i64]>,
    pub default_timestamp: i64,
}

impl Columns<'_> {
    #[inline]
    fn step(&self, i: usize) -> i64 {
        self.steps.map_or(i as i64, |s| s[i])
    }

    #[inline]
    fn timestamp(&self, i: usize) -> i64 {
        self.timestamps.map_or(self.default_timestamp, |t| t[i])
    }

    /// A validation error naming the lengths when they differ.
    fn check_lengths(&self) -> Result<()> {
        let n = self.values.len();
        let steps = self.steps.map_or(n, <[i64]>::len);
        let timestamps = self.timestamps.map_or(n, <[i64]>::len);
        if steps == n && timestamps == n {
            return Ok(());
        }
        Err(Error::Validation(
            crate::error::ValidationError::InvalidValue {
                field: "metric columns",
                value: format!("{steps} steps, {timestamps} timestamps, {n} values"),
                rule: "steps, timestamps and values must have the same length".into(),
            },
        ))
    }
}

/// Fills `buf` with a whole block: `header`, then the points of `cols`
/// from `start` on, one per slot, every slot taken. Returns their summary.
fn encode_block(
    buf: &mut Vec<u8>,
    header: &BlockHeader,
    cols: &Columns<'_>,
    start: usize,
) -> SeriesSummary {
    let len = header.pages as usize * format::PAGE as usize;
    buf.clear();
    buf.reserve(len);
    buf.extend_from_slice(&header.encode());
    let seed = header.record_seed();
    let mut summary = SeriesSummary::default();
    for slot in 0..format::capacity(header.pages) {
        let i = start + slot;
        let (step, timestamp, value) = (cols.step(i), cols.timestamp(i), cols.values[i]);
        buf.extend_from_slice(&format::encode_record(
            seed,
            slot as u32,
            step,
            timestamp,
            value,
        ));
        summary.add(step, timestamp, value);
    }
    // The tail that records do not fill reads as zeros, as in a block
    // written point by point.
    buf.resize(len, 0);
    summary
}

/// A handle on one metric key of a [`MetricWriter`]'s run, for the fastest
/// appends: no key lookup at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesHandle(usize);

/// A writer for one run's metrics: the fastest way to log. Points are
/// durable against the process being killed as soon as a call returns.
/// Several writers (threads or processes) may log to the same run.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let store = tracklite::Store::open(dir.path())?;
/// # let run_id = store.create_run(Default::default())?.run_id;
/// let mut writer = store.metric_writer(&run_id)?;
/// let loss = writer.series("loss")?;
/// for step in 0..1000 {
///     writer.append(loss, 1.0 / (step + 1) as f64, 1_700_000_000_000 + step, step)?;
/// }
/// writer.close()?;
/// assert_eq!(store.metric_history(&run_id, "loss")?.len(), 1000);
/// # Ok::<(), tracklite::Error>(())
/// ```
pub struct MetricWriter {
    inner: Arc<Inner>,
    state: WriterState,
    closed: bool,
}

impl Store {
    /// A writer for the metrics of an active run.
    pub fn metric_writer(&self, run_id: &str) -> Result<MetricWriter> {
        Ok(MetricWriter {
            state: WriterState::new(&self.inner, run_id)?,
            inner: Arc::clone(&self.inner),
            closed: false,
        })
    }
}

impl MetricWriter {
    /// The handle of metric `key`, validated and created on first use.
    pub fn series(&mut self, key: &str) -> Result<SeriesHandle> {
        self.state.slot(&self.inner, key).map(SeriesHandle)
    }

    /// The handles of metrics `keys`, in their order. The series that are
    /// new, with their first blocks, are made in one index transaction, so
    /// a run's first `log_metrics` of several keys costs one commit rather
    /// than two per key.
    pub fn series_many(&mut self, keys: &[&str]) -> Result<Vec<SeriesHandle>> {
        self.state.open_series(&self.inner, keys)?;
        keys.iter().map(|key| self.series(key)).collect()
    }

    /// Appends a point to the series behind `handle`.
    #[inline]
    pub fn append(
        &mut self,
        handle: SeriesHandle,
        value: f64,
        timestamp: i64,
        step: i64,
    ) -> Result<()> {
        if handle.0 >= self.state.series.len() {
            return Err(Error::ForeignHandle { handle: handle.0 });
        }
        self.state
            .append(&self.inner, handle.0, step, timestamp, value)
    }

    /// Logs one point of metric `key`.
    pub fn log(&mut self, key: &str, value: f64, timestamp: i64, step: i64) -> Result<()> {
        let slot = self.state.slot(&self.inner, key)?;
        self.state.append(&self.inner, slot, step, timestamp, value)
    }

    /// Logs many points of one metric from columns of equal length.
    pub fn log_columns(
        &mut self,
        key: &str,
        steps: &[i64],
        timestamps: &[i64],
        values: &[f64],
    ) -> Result<()> {
        self.log_array(key, values, Some(steps), Some(timestamps), 0)
    }

    /// Logs the points of one metric in `values`, with their `steps`
    /// (default: 0, 1, 2, … by position) and `timestamps` (default:
    /// `default_timestamp` for every point). Given columns must be as long
    /// as `values`. Blocks the points fill whole are written in one piece
    /// each: the fastest way to log a long series.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = tracklite::Store::open(dir.path())?;
    /// # let run_id = store.create_run(Default::default())?.run_id;
    /// let mut writer = store.metric_writer(&run_id)?;
    /// let values: Vec<f64> = (0..100_000).map(|i| 1.0 / (i + 1) as f64).collect();
    /// writer.log_array("loss", &values, None, None, 1_700_000_000_000)?;
    /// writer.close()?;
    /// let history = store.metric_history(&run_id, "loss")?;
    /// assert_eq!((history.len(), history[99_999].step), (100_000, 99_999));
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn log_array(
        &mut self,
        key: &str,
        values: &[f64],
        steps: Option<&[i64]>,
        timestamps: Option<&[i64]>,
        default_timestamp: i64,
    ) -> Result<()> {
        let cols = Columns {
            values,
            steps,
            timestamps,
            default_timestamp,
        };
        cols.check_lengths()?;
        let slot = self.state.slot(&self.inner, key)?;
        self.state.append_columns(&self.inner, slot, &cols)
    }

    /// Folds the points logged so far into the run's summaries, so that
    /// `get_run` in any process sees them, and syncs the log to disk.
    pub fn flush(&mut self) -> Result<()> {
        self.state.fold_summaries(&self.inner, false)?;
        self.inner.log()?.sync()
    }

    /// Seals this writer's blocks, folding its points into the summaries;
    /// with [`Durability::PowerLoss`](crate::Durability::PowerLoss) it also
    /// syncs them to disk. Dropping seals without reporting errors.
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        self.state.close(&self.inner)?;
        if self.inner.durability.get() == crate::Durability::PowerLoss {
            self.inner.log()?.sync()?;
        }
        Ok(())
    }

    /// Ends the writer's run with `status` (now as its end time): this
    /// writer's blocks are sealed and the run ended in one commit, one
    /// fewer than [`MetricWriter::close`] then [`Store::end_run`], which
    /// it otherwise equals.
    pub fn end_run(mut self, status: crate::RunStatus) -> Result<crate::RunInfo> {
        if !status.is_terminal() {
            return Err(Error::Validation(crate::ValidationError::InvalidValue {
                field: "status",
                value: status.as_str().to_string(),
                rule: "a run ends as FINISHED, FAILED or KILLED".into(),
            }));
        }
        self.closed = true;
        let store = Store {
            inner: Arc::clone(&self.inner),
        };
        let run_id = self.state.run_id().to_string();
        let update = crate::RunUpdate {
            status: Some(status),
            end_time: Some(crate::now_ms()),
            run_name: None,
        };
        store.end_run_sealing(&run_id, &update, Some(&mut self.state))
    }

    /// The id of the run this writer logs to.
    pub fn run_id(&self) -> &str {
        self.state.run_id()
    }
}

impl Drop for MetricWriter {
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.state.close(&self.inner);
        }
    }
}
