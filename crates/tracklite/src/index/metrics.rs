//! The metric side of the index: series, the block map and summaries.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::runs::ensure_active;
use super::Index;
use crate::entities::MetricSummary;
use crate::error::Result;
use crate::log::format::BlockHeader;
use crate::summary::SeriesSummary;

/// One row of `metric_blocks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRow {
    pub first_page: u64,
    pub series_id: u64,
    pub pages: u32,
    pub writer_pid: u32,
    pub summarized: u32,
    pub sealed: bool,
}

/// One row of `metric_series`, without its summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRow {
    pub series_id: u64,
    pub run_id: String,
    pub key: String,
    pub count: u64,
}

const BLOCK_COLUMNS: &str = "first_page, series_id, pages, writer_pid, summarized, sealed";

fn block_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BlockRow> {
    Ok(BlockRow {
        first_page: r.get::<_, i64>(0)? as u64,
        series_id: r.get::<_, i64>(1)? as u64,
        pages: r.get(2)?,
        writer_pid: r.get(3)?,
        summarized: r.get(4)?,
        sealed: r.get(5)?,
    })
}

/// Reads a series' stored summary.
pub fn load_summary(conn: &Connection, series_id: u64) -> Result<SeriesSummary> {
    let mut stmt = conn.prepare_cached(
        "SELECT count, last_step, last_timestamp, last_bits, min_value, max_value
         FROM metric_series WHERE series_id = ?1",
    )?;
    let s = stmt.query_row([series_id as i64], |r| {
        let last: Option<(i64, i64, i64)> = match r.get::<_, Option<i64>>(3)? {
            Some(bits) => Some((r.get(1)?, r.get(2)?, bits)),
            None => None,
        };
        Ok(SeriesSummary {
            count: r.get::<_, i64>(0)? as u64,
            latest: last.map(|(s, t, b)| (s, t, f64::from_bits(b as u64))),
            min: r.get(4)?,
            max: r.get(5)?,
        })
    })?;
    Ok(s)
}

/// Writes a series' summary.
pub fn store_summary(conn: &Connection, series_id: u64, s: &SeriesSummary) -> Result<()> {
    let (step, ts, bits, value) = match s.latest {
        Some((step, ts, v)) => (Some(step), Some(ts), Some(v.to_bits() as i64), Some(v)),
        None => (None, None, None, None),
    };
    // NaN binds as NULL, which search orders last.
    let value = value.filter(|v| !v.is_nan());
    conn.prepare_cached(
        "UPDATE metric_series SET count = ?2, last_step = ?3, last_timestamp = ?4, last_bits = ?5,
             last_value = ?6, min_value = ?7, max_value = ?8 WHERE series_id = ?1",
    )?
    .execute(params![
        series_id as i64,
        s.count as i64,
        step,
        ts,
        bits,
        value,
        s.min,
        s.max
    ])?;
    Ok(())
}

/// Folds newly scanned points of one block into its series' summary.
pub fn record_progress(
    conn: &Connection,
    block: &BlockRow,
    summarized: u32,
    sealed: bool,
    delta: &SeriesSummary,
) -> Result<()> {
    if delta.count > 0 {
        let mut s = load_summary(conn, block.series_id)?;
        s.merge(delta);
        store_summary(conn, block.series_id, &s)?;
    }
    conn.prepare_cached(
        "UPDATE metric_blocks SET summarized = ?2, sealed = ?3 WHERE first_page = ?1",
    )?
    .execute(params![block.first_page as i64, summarized, sealed])?;
    Ok(())
}

/// A block row by its first page, read inside the caller's transaction.
pub fn block_at(conn: &Connection, first_page: u64) -> Result<Option<BlockRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {BLOCK_COLUMNS} FROM metric_blocks WHERE first_page = ?1"
        ))?
        .query_row([first_page as i64], block_row)
        .optional()?)
}

/// The id of the series `key` of run `run_id`, made if new, inside the
/// caller's write transaction (which has checked that the run is active).
pub fn series_id_in(tx: &Connection, run_id: &str, key: &str) -> Result<u64> {
    // A new series (the usual case) returns its id from the insert itself.
    let made: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO metric_series (run_uuid, key) VALUES (?1, ?2)
             ON CONFLICT (run_uuid, key) DO NOTHING RETURNING series_id",
        )?
        .query_row(params![run_id, key], |r| r.get(0))
        .optional()?;
    let id = match made {
        Some(id) => id,
        None => tx
            .prepare_cached("SELECT series_id FROM metric_series WHERE run_uuid = ?1 AND key = ?2")?
            .query_row(params![run_id, key], |r| r.get(0))?,
    };
    Ok(id as u64)
}

/// The blocks of run `run_id` that a writer may still be adding to, read
/// through `conn` (a caller's transaction, say).
pub fn unsealed_blocks_in(conn: &Connection, run_id: &str) -> Result<Vec<BlockRow>> {
    let cols = BLOCK_COLUMNS
        .split(", ")
        .map(|c| format!("b.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {cols} FROM metric_blocks b JOIN metric_series s ON s.series_id = b.series_id
         WHERE b.sealed = 0 AND s.run_uuid = ?1 ORDER BY b.first_page"
    ))?;
    let rows = stmt.query_map([run_id], block_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The first page past every block the index has (0 with none).
pub fn end_of_blocks_in(conn: &Connection) -> Result<u64> {
    // Blocks are at most MAX_BLOCK_PAGES long: only those that start this
    // far before the last start can end last. Reading them by the primary
    // key keeps store open from scanning every block of a large store.
    let end: Option<i64> = conn.query_row(
        "SELECT max(first_page + pages) FROM metric_blocks
         WHERE first_page >= (SELECT max(first_page) FROM metric_blocks) - ?1",
        [crate::log::format::MAX_BLOCK_PAGES as i64],
        |r| r.get(0),
    )?;
    Ok(end.unwrap_or(0) as u64)
}

/// True when pages `first..first + pages` overlap a block the index has.
pub fn blocks_overlap(conn: &Connection, first: u64, pages: u32) -> Result<bool> {
    let end = first + pages as u64;
    // Blocks never overlap one another, so of those that start before
    // `end` only the last can reach into the range: one row read, however
    // many blocks lie just below (a range over the longest block's reach
    // read up to 256 of them for every new block).
    let last_end: Option<i64> = conn
        .prepare_cached(
            "SELECT first_page + pages FROM metric_blocks
             WHERE first_page < ?1 ORDER BY first_page DESC LIMIT 1",
        )?
        .query_row(params![end as i64], |r| r.get(0))
        .optional()?;
    Ok(last_end.is_some_and(|e| e > first as i64))
}

/// Records new blocks of `pages` pages side by side from `first_page`, one
/// per series of `series_ids`, written by process `writer_pid`: one
/// statement for all of them (see [`register_block`]).
pub fn register_blocks(
    tx: &Connection,
    first_page: u64,
    pages: u32,
    writer_pid: u32,
    series_ids: &[u64],
) -> Result<()> {
    let json = serde_json::to_string(series_ids).expect("integers serialise");
    tx.prepare_cached(
        "INSERT INTO metric_blocks (first_page, series_id, pages, writer_pid)
         SELECT ?1 + key * ?2, value, ?2, ?3 FROM json_each(?4)",
    )?
    .execute(params![first_page as i64, pages, writer_pid, json])?;
    Ok(())
}

/// Records a new block. The row is committed before the first point is
/// written into the block, so every acknowledged point is findable.
pub fn register_block(conn: &Connection, h: &BlockHeader) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO metric_blocks (first_page, series_id, pages, writer_pid) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        h.first_page as i64,
        h.series_id as i64,
        h.pages,
        h.writer_pid
    ])?;
    Ok(())
}

/// Records a compressed block: sealed and fully summarised from the start.
pub fn register_compressed(conn: &Connection, h: &crate::log::compressed::ZHeader) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO metric_blocks (first_page, series_id, pages, writer_pid, summarized, sealed, compressed)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, 1)",
    )?
    .execute(params![
        h.first_page as i64,
        h.series_id as i64,
        h.pages,
        std::process::id(),
        h.points
    ])?;
    Ok(())
}

/// Marks pages as unused from now on; `immediately` lets the next reclaim
/// release them without waiting for readers (the data was deleted).
pub fn free_pages(conn: &Connection, first_page: u64, pages: u64, immediately: bool) -> Result<()> {
    let when = if immediately {
        0
    } else {
        crate::entities::now_ms()
    };
    conn.prepare_cached(
        "INSERT OR REPLACE INTO freed_pages (first_page, pages, freed_ms) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![first_page as i64, pages as i64, when])?;
    Ok(())
}

impl Index {
    /// Series worth compacting: of ended runs, with no block a writer may
    /// still add to, and at least one uncompressed block.
    pub fn compaction_candidates(&self) -> Result<Vec<u64>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.series_id FROM metric_series s JOIN runs r ON r.run_uuid = s.run_uuid
             WHERE r.status IN ('FINISHED', 'FAILED', 'KILLED')
               AND EXISTS (SELECT 1 FROM metric_blocks b WHERE b.series_id = s.series_id AND b.compressed = 0)
               AND NOT EXISTS (SELECT 1 FROM metric_blocks b WHERE b.series_id = s.series_id AND b.sealed = 0)
             ORDER BY s.series_id",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        Ok(rows
            .map(|r| r.map(|id| id as u64))
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Freed page ranges, with the time they were freed.
    pub fn freed_pages(&self) -> Result<Vec<(u64, u64, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT first_page, pages, freed_ms FROM freed_pages ORDER BY first_page")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get(2)?,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The id of the series (run, key), created on first use. The run must
    /// exist and be active.
    pub fn series_id(&mut self, run_id: &str, key: &str) -> Result<u64> {
        if let Some(id) = self.find_series(run_id, key)? {
            ensure_active(&self.conn, run_id)?;
            return Ok(id);
        }
        let tx = self.write()?;
        ensure_active(&tx, run_id)?;
        let id = series_id_in(&tx, run_id, key)?;
        tx.commit()?;
        Ok(id)
    }

    pub fn find_series(&self, run_id: &str, key: &str) -> Result<Option<u64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT series_id FROM metric_series WHERE run_uuid = ?1 AND key = ?2")?
            .query_row(params![run_id, key], |r| r.get::<_, i64>(0))
            .optional()?
            .map(|id| id as u64))
    }

    /// The blocks of one series, in the order they were allocated.
    pub fn blocks_of(&self, series_id: u64) -> Result<Vec<BlockRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {BLOCK_COLUMNS} FROM metric_blocks WHERE series_id = ?1 ORDER BY first_page"
        ))?;
        let rows = stmt.query_map([series_id as i64], block_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every block, in file order.
    pub fn all_blocks(&self) -> Result<Vec<BlockRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {BLOCK_COLUMNS} FROM metric_blocks ORDER BY first_page"
        ))?;
        let rows = stmt.query_map([], block_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Blocks that a writer may still be adding to, of one run or of all.
    pub fn unsealed_blocks(&self, run_id: Option<&str>) -> Result<Vec<BlockRow>> {
        // Two statements, so that each can use the partial index of open
        // blocks (an `?1 IS NULL OR ...` test would scan every block).
        let rows = match run_id {
            Some(run_id) => unsealed_blocks_in(&self.conn, run_id)?,
            None => {
                // `+first_page`: ordered by the primary key itself, SQLite
                // would read every block in order (at each store open)
                // rather than the few open ones and sort them.
                let mut stmt = self.conn.prepare_cached(&format!(
                    "SELECT {BLOCK_COLUMNS} FROM metric_blocks WHERE sealed = 0 ORDER BY +first_page"
                ))?;
                let rows = stmt.query_map([], block_row)?;
                rows.collect::<rusqlite::Result<_>>()?
            }
        };
        Ok(rows)
    }

    /// Every series, for checks.
    pub fn all_series(&self) -> Result<Vec<SeriesRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT series_id, run_uuid, key, count FROM metric_series ORDER BY series_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SeriesRow {
                series_id: r.get::<_, i64>(0)? as u64,
                run_id: r.get(1)?,
                key: r.get(2)?,
                count: r.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One past the last page any indexed block uses.
    pub fn end_of_blocks(&self) -> Result<u64> {
        end_of_blocks_in(&self.conn)
    }

    /// The latest value, min and max of each metric of a run.
    pub fn metric_summaries(&self, run_id: &str) -> Result<BTreeMap<String, MetricSummary>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key, count, last_step, last_timestamp, last_bits, min_value, max_value
             FROM metric_series WHERE run_uuid = ?1 AND last_bits IS NOT NULL",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                MetricSummary {
                    count: r.get::<_, i64>(1)? as u64,
                    step: r.get(2)?,
                    timestamp: r.get(3)?,
                    value: f64::from_bits(r.get::<_, i64>(4)? as u64),
                    min: r.get::<_, Option<f64>>(5)?.unwrap_or(f64::NAN),
                    max: r.get::<_, Option<f64>>(6)?.unwrap_or(f64::NAN),
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
