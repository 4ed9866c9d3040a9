//! Dataset links of metric points (schema version 6): the dataset a point
//! was computed on, named by the point's series and ordinal (its 0-based
//! position in the series' logged order). Only imports write them, in the
//! transaction that completes a run's import; removing a run removes them.

use rusqlite::{params, Connection, OptionalExtension};

use super::Index;
use crate::entities::MetricDatasetLink;
use crate::error::{EntityKind, Error, Result};

impl Index {
    /// The links of metric `key` of a run, by ordinal: none when the run
    /// has no such metric or its points name no dataset. NotFound for a
    /// missing run.
    pub fn metric_dataset_links(&self, run_id: &str, key: &str) -> Result<Vec<MetricDatasetLink>> {
        // One statement, each step a primary-key or unique-index lookup:
        // no row means no run; one row of NULLs, a run without links.
        let mut stmt = self.conn.prepare_cached(
            "SELECT l.ordinal, l.dataset_name, l.dataset_digest
             FROM runs r
             LEFT JOIN metric_series s ON s.run_uuid = r.run_uuid AND s.key = ?2
             LEFT JOIN metric_dataset_links l ON l.series_id = s.series_id
             WHERE r.run_uuid = ?1
             ORDER BY l.ordinal",
        )?;
        let mut rows = stmt.query(params![run_id, key])?;
        let mut links = Vec::new();
        let mut run_found = false;
        while let Some(row) = rows.next()? {
            run_found = true;
            if let Some(ordinal) = row.get::<_, Option<i64>>(0)? {
                links.push(MetricDatasetLink {
                    ordinal: ordinal as u64,
                    dataset_name: row.get(1)?,
                    dataset_digest: row.get(2)?,
                });
            }
        }
        if !run_found {
            return Err(Error::not_found(EntityKind::Run, run_id));
        }
        Ok(links)
    }
}

/// Writes the links of a run's metrics, each list sorted by ordinal,
/// inside the caller's transaction. A link must name a point the series
/// has: a metric without points, or an ordinal past the series' count, is
/// a [`Error::LinkPastEnd`] error.
pub(crate) fn put_links(
    tx: &Connection,
    run_id: &str,
    by_key: &[(String, Vec<MetricDatasetLink>)],
) -> Result<()> {
    let mut put = tx.prepare_cached(
        "INSERT INTO metric_dataset_links (series_id, ordinal, dataset_name, dataset_digest)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (key, links) in by_key {
        let Some(last) = links.last() else {
            continue;
        };
        let series: Option<(i64, i64)> = tx
            .prepare_cached(
                "SELECT series_id, count FROM metric_series WHERE run_uuid = ?1 AND key = ?2",
            )?
            .query_row(params![run_id, key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (series_id, count) = series.unwrap_or((0, 0));
        if last.ordinal >= count as u64 {
            return Err(Error::LinkPastEnd {
                run_id: run_id.to_owned(),
                key: key.clone(),
                ordinal: last.ordinal,
                count: count as u64,
            });
        }
        for link in links {
            put.execute(params![
                series_id,
                link.ordinal as i64,
                link.dataset_name,
                link.dataset_digest
            ])?;
        }
    }
    Ok(())
}

/// Removes the links of every metric of a run, inside the caller's
/// transaction; before the run's series rows go.
pub(crate) fn remove_run_links(tx: &Connection, run_id: &str) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM metric_dataset_links WHERE series_id IN
           (SELECT series_id FROM metric_series WHERE run_uuid = ?1)",
    )?
    .execute([run_id])?;
    Ok(())
}
