//! `check`: verifies a store's index and metric log, and repairs what can be
//! repaired when asked. Without `repair` it never writes.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

use crate::error::{Error, IndexErrorKind, Result};
use crate::index::{self, BlockRow};
use crate::log::format::{self, BlockHeader, PAGE};
use crate::log::{scan_block, scan_buffer, BlockRef, ReadAt, Stop};
use crate::store::{Store, INDEX_FILE};
use crate::summary::SeriesSummary;

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where: `index`, `log page N`, `series N (run R, key K)`.
    pub place: String,
    /// What is wrong there.
    pub message: String,
}

/// What `check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Metric series (one per run and metric key) the index lists.
    pub series: u64,
    /// Blocks of the metric log the index lists.
    pub blocks: u64,
    /// Metric points read from those blocks.
    pub points: u64,
    /// Damage: the store still opens and serves every intact point.
    pub problems: Vec<Problem>,
    /// Expected after a crash and harmless, such as a torn last record.
    pub notes: Vec<String>,
    /// What `repair` changed.
    pub repaired: Vec<String>,
}

impl CheckReport {
    /// True when no damage was found; notes do not count.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, place: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            place: place.into(),
            message: message.into(),
        });
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} series, {} blocks, {} points",
            self.series, self.blocks, self.points
        )?;
        for p in &self.problems {
            writeln!(f, "problem: {}: {}", p.place, p.message)?;
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        for r in &self.repaired {
            writeln!(f, "repaired: {r}")?;
        }
        if self.is_clean() {
            writeln!(f, "ok")?;
        }
        Ok(())
    }
}

fn describe(s: &SeriesSummary) -> String {
    let latest = s
        .latest
        .map(|(st, t, v)| format!("step {st}, time {t}, value {v}"))
        .unwrap_or_else(|| "none".into());
    format!(
        "{} points, latest {latest}, min {:?}, max {:?}",
        s.count, s.min, s.max
    )
}

fn same_summary(a: &SeriesSummary, b: &SeriesSummary) -> bool {
    let bits = |s: &SeriesSummary| s.latest.map(|(st, t, v)| (st, t, v.to_bits()));
    a.count == b.count && bits(a) == bits(b) && a.min == b.min && a.max == b.max
}

impl Store {
    /// Verifies every page of the index against its checksum, the index
    /// (SQLite's integrity check), every indexed block
    /// of the metric log (headers, record checksums, file length), the
    /// summaries against the log, and looks for blocks the index lost.
    /// Temporary files of unfinished artifact writes in the store's
    /// `artifacts` folder are reported as notes (see [`Store::gc`]).
    ///
    /// With `repair`, summaries are recomputed from the log and lost blocks
    /// re-indexed; damaged records cannot be restored and stay skipped, and
    /// damaged index pages cannot be rebuilt (a note says how to restore).
    pub fn check(&self, repair: bool) -> Result<CheckReport> {
        if repair {
            self.inner.check_writable()?;
        }
        let mut report = CheckReport::default();
        let damaged = self.check_index_pages(&mut report)?;
        // With damaged index pages, the index cannot be trusted to drive
        // a repair, and reading it may stop at a damaged page.
        match self.check_index_and_log(&mut report, repair && damaged == 0) {
            Ok(()) => {}
            Err(Error::Index(e)) if e.kind() == IndexErrorKind::Corrupt => {
                report.problem("index", e.message());
                report.notes.push(
                    "the metric log was not fully checked: the index that maps it is damaged"
                        .into(),
                );
            }
            Err(e) => return Err(e),
        }
        if damaged > 0 {
            report.notes.push(format!(
                "{damaged} damaged index pages: check --repair cannot rebuild them; restore {INDEX_FILE} \
                 from a backup copy of the store (taken while no process wrote), remove its -wal and \
                 -shm files, then run check --repair to re-index the metric log's newer blocks"
            ));
        }
        Ok(report)
    }

    /// Verifies every page of the index files against its checksum
    /// (`index::pages`); each damaged page is a problem naming the file and
    /// the page. Returns how many there are.
    fn check_index_pages(&self, report: &mut CheckReport) -> Result<usize> {
        let path = self.path().join(INDEX_FILE);
        let scan = index::pages::scan(&path).map_err(|e| Error::io(&path, e))?;
        if !scan.checksummed {
            report.notes.push(format!(
                "{INDEX_FILE} has no page checksums, so its pages were not verified"
            ));
        }
        for d in &scan.damaged {
            let file = d.file.file_name().map_or_else(
                || d.file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let place = match d.frame {
                None => format!("{file} page {}", d.page),
                Some(frame) => format!("{file} frame {frame} (page {})", d.page),
            };
            report.problem(
                place,
                "the page does not match its checksum: it was changed on disk",
            );
        }
        for b in &scan.broken_frames {
            report.problem(
                format!("{INDEX_FILE}-wal frame {}", b.frame),
                format!(
                    "a committed frame fails the WAL's own checksum; SQLite replays the WAL only \
                     up to it, so the {} frames after it are not served",
                    b.after
                ),
            );
        }
        Ok(scan.damaged.len() + scan.broken_frames.len())
    }

    fn check_index_and_log(&self, report: &mut CheckReport, repair: bool) -> Result<()> {
        let log = self.inner.log()?;
        let mut index = self.inner.index()?;
        for p in index.integrity_problems()? {
            report.problem("index", p);
        }
        let series = index.all_series()?;
        let blocks = index.all_blocks()?;
        let file_len = log.len()?;
        report.series = series.len() as u64;
        report.blocks = blocks.len() as u64;
        check_allocator(report, &log, index.end_of_blocks()?, file_len, repair)?;

        // Per-block scan, accumulating each series' summary from the log.
        let mut from_log: HashMap<u64, SeriesSummary> = HashMap::new();
        let mut all_sealed: HashMap<u64, bool> = HashMap::new();
        let mut buf = scan_buffer();
        let mut previous_end = 1u64;
        for b in &blocks {
            let place = format!("log page {} (series {})", b.first_page, b.series_id);
            if b.first_page < previous_end {
                report.problem(
                    &place,
                    format!("overlaps the block before it, which ends at page {previous_end}"),
                );
            }
            previous_end = previous_end.max(b.first_page + b.pages as u64);
            if (b.first_page + b.pages as u64) * PAGE > file_len {
                report.problem(
                    &place,
                    format!("the block ends past the end of the file ({file_len} bytes)"),
                );
            }
            let summary = from_log.entry(b.series_id).or_default();
            let scan = scan_block(
                &*log,
                &mut buf,
                BlockRef {
                    series_id: b.series_id,
                    first_page: b.first_page,
                    pages: b.pages,
                },
                0,
                Stop::AtEnd,
                |s, t, v| summary.add(s, t, v),
            )
            .map_err(|e| crate::error::Error::io(log.path(), e))?;
            *all_sealed.entry(b.series_id).or_insert(true) &= b.sealed;
            report.points += scan.points;
            if !scan.header_ok {
                report.problem(
                    &place,
                    "the block header is damaged or names another block; its points cannot be read",
                );
            }
            if scan.invalid > 0 {
                report.problem(
                    &place,
                    format!("{} damaged records are skipped", scan.invalid),
                );
            }
            if scan.torn_tail {
                report.notes.push(format!(
                    "{place}: the last record was torn by an interrupted write and is ignored"
                ));
            }
            if b.sealed && scan.end != b.summarized {
                report.problem(
                    &place,
                    format!(
                        "the index has summarised {} slots, the log holds {}",
                        b.summarized, scan.end
                    ),
                );
            }
        }

        for s in &series {
            let logged = from_log.remove(&s.series_id).unwrap_or_default();
            if !all_sealed.get(&s.series_id).copied().unwrap_or(true) {
                continue; // A writer may still be adding to it.
            }
            let stored = index::metrics_summary(index.conn(), s.series_id)?;
            if !same_summary(&stored, &logged) {
                report.problem(
                    format!("series {} (run {}, key {:?})", s.series_id, s.run_id, s.key),
                    format!(
                        "the index says {}, the log holds {}",
                        describe(&stored),
                        describe(&logged)
                    ),
                );
            }
        }

        let freed: Vec<(u64, u64)> = index
            .freed_pages()?
            .into_iter()
            .map(|(p, n, _)| (p, n))
            .collect();
        let lost = lost_blocks(&*log, &blocks, &freed, log.allocated_pages(), file_len);
        let known: BTreeMap<u64, ()> = series.iter().map(|s| (s.series_id, ())).collect();
        // A block that holds points but is not indexed hides data; an empty
        // one was allocated by a writer killed before it indexed the block.
        let mut hidden = Vec::new();
        for h in &lost {
            let block = BlockRef {
                series_id: h.series_id,
                first_page: h.first_page,
                pages: h.pages,
            };
            let points = scan_block(&*log, &mut buf, block, 0, Stop::AtEnd, |_, _, _| {})
                .map_err(|e| crate::error::Error::io(log.path(), e))?
                .points;
            let place = format!("log page {}", h.first_page);
            // A writer of another process may have indexed the block since
            // the index was read above: only a block still unindexed now
            // is missing.
            if index::block_at(index.conn(), h.first_page)?.is_some() {
                continue;
            }
            if points == 0 {
                report.notes.push(format!(
                    "{place}: an empty block of series {} left by an interrupted writer",
                    h.series_id
                ));
            } else if known.contains_key(&h.series_id) {
                report.problem(
                    place,
                    format!(
                        "a block of series {} holding {points} points is missing from the index",
                        h.series_id
                    ),
                );
                hidden.push(*h);
            } else {
                report.notes.push(format!(
                    "{place}: {} pages of a removed series, to be released",
                    h.pages
                ));
            }
        }

        self.check_artifact_leftovers(report);

        if repair && !report.is_clean() {
            let tx = index.write()?;
            for h in &hidden {
                index::register_block(&tx, h)?;
                report
                    .repaired
                    .push(format!("re-indexed the block at log page {}", h.first_page));
            }
            tx.execute("UPDATE metric_blocks SET summarized = 0", [])?;
            tx.execute("UPDATE metric_series SET count = 0, last_step = NULL, last_timestamp = NULL, last_bits = NULL, last_value = NULL, min_value = NULL, max_value = NULL", [])?;
            let rows: Vec<BlockRow> = {
                let mut stmt =
                    tx.prepare("SELECT first_page FROM metric_blocks ORDER BY first_page")?;
                let pages = stmt
                    .query_map([], |r| r.get::<_, i64>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut rows = Vec::new();
                for p in pages {
                    rows.extend(index::block_at(&tx, p as u64)?);
                }
                rows
            };
            for b in rows {
                crate::store::fold_block(&tx, &*log, b.first_page, Stop::AtEnd, b.sealed)?;
            }
            tx.commit()?;
            report
                .repaired
                .push("recomputed every metric summary from the log".into());
        }
        Ok(())
    }
}

impl Store {
    /// Notes each temporary file of an unfinished artifact write under the
    /// store's `artifacts` folder. A note, not a problem: such a file is
    /// never served and costs only its space; it is what a writer killed
    /// mid-write leaves (or a writer still at work), and `gc` removes it
    /// once stale. Artifacts kept at custom locations are not looked at.
    fn check_artifact_leftovers(&self, report: &mut CheckReport) {
        let root = self.path().join(crate::store::ARTIFACTS_DIR);
        let found = crate::artifacts::leftovers::find(&root);
        for leftover in found.leftovers {
            report.notes.push(format!(
                "{}: a temporary file of an artifact write that did not finish ({} bytes, \
                 modified {} s ago), left by a writer killed mid-write or still being written; \
                 it is never served, and gc removes it once it is over {} s old and no \
                 writer holds it",
                leftover.path.display(),
                leftover.bytes,
                leftover.age.as_secs(),
                crate::artifacts::leftovers::TEMP_FILE_GRACE.as_secs(),
            ));
        }
        for e in found.unreadable {
            report.notes.push(format!(
                "not looked through for temporary files of artifact writes: {e}"
            ));
        }
    }
}

/// Blocks with a valid header in the log's allocated pages that no index
/// row covers: left behind by a crash between allocation and indexing, or
/// by a damaged index.
fn lost_blocks(
    log: &dyn ReadAt,
    indexed: &[BlockRow],
    freed: &[(u64, u64)],
    allocated: u64,
    file_len: u64,
) -> Vec<BlockHeader> {
    let mut covered: Vec<(u64, u64)> = indexed
        .iter()
        .map(|b| (b.first_page, b.first_page + b.pages as u64))
        .chain(freed.iter().map(|&(p, n)| (p, p + n)))
        .collect();
    covered.sort_unstable();
    let end = allocated.min(file_len / PAGE);
    let mut found = Vec::new();
    let mut page = 1;
    let mut next = covered.iter().peekable();
    let mut head = [0u8; format::BLOCK_HEADER_SIZE];
    while page < end {
        while next.peek().is_some_and(|&&(_, e)| e <= page) {
            next.next();
        }
        if let Some(&&(s, e)) = next.peek() {
            if s <= page {
                page = e;
                continue;
            }
        }
        let read = log.read_at(&mut head, page * PAGE).unwrap_or(0);
        match BlockHeader::decode(&head[..read]) {
            Some(h) if h.first_page == page => {
                page += h.pages as u64;
                found.push(h);
            }
            _ => page += 1,
        }
    }
    found
}

/// The log's page allocator (in its header page, outside any checksum)
/// must be past every block the index has, and not far past the end of the
/// file. `repair` (with no other process writing) sets it to the first page
/// past both.
fn check_allocator(
    report: &mut CheckReport,
    log: &crate::log::LogFile,
    end_of_blocks: u64,
    file_len: u64,
    repair: bool,
) -> Result<()> {
    let counter = log.allocated_pages();
    let file_pages = file_len.div_ceil(PAGE);
    let wrong = if counter < end_of_blocks {
        format!("it is behind the blocks the index has, which end at page {end_of_blocks}: new blocks would overwrite them")
    } else if counter > file_pages.saturating_add(crate::log::ALLOCATOR_SLACK_PAGES) {
        format!(
            "it is far past the end of the file ({file_pages} pages): every new block would fail"
        )
    } else {
        return Ok(());
    };
    report.problem(
        "log header",
        format!("the page allocator holds {counter}; {wrong}"),
    );
    if repair {
        let fixed = end_of_blocks.max(file_pages).max(1);
        log.set_allocated_pages(fixed)?;
        report.repaired.push(format!(
            "set the log's page allocator from {counter} to {fixed}"
        ));
    }
    Ok(())
}
