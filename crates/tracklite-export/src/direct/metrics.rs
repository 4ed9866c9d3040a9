//! Runs' metric points: which to write (see [`plan_series`]), one binary
//! `COPY` of them into `metrics` for a batch of runs, and the
//! `latest_metrics` row of each (run, key) that got points, merged with the
//! row the table holds.

use std::collections::{HashMap, HashSet};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::Transaction;
use tracklite::{JournaledRun, MetricColumns, Run, Store};

use super::values::{count_infinite, plan_series, point_id, stored_value, Latest, PointId};
use crate::error::{ExportError, Result};

/// The columns written, in the order of [`COLUMN_TYPES`].
pub(crate) const COPY_METRICS: &str =
    "COPY metrics (key, value, timestamp, run_uuid, step, is_nan) FROM STDIN (FORMAT binary)";

/// The types of the columns of [`COPY_METRICS`].
pub(crate) const COLUMN_TYPES: [Type; 6] = [
    Type::VARCHAR,
    Type::FLOAT8,
    Type::INT8,
    Type::VARCHAR,
    Type::INT8,
    Type::BOOL,
];

/// What was written of a run's metrics.
pub(crate) struct MetricsWritten {
    pub points: u64,
    /// Points written whose value is ±inf.
    pub infinite: u64,
    /// Per key: how many local points (a prefix) the database now holds,
    /// for the journal.
    pub series: Vec<(String, u64)>,
}

/// One series' points to write.
struct Planned<'a> {
    /// Index of its run in the batch.
    run: usize,
    key: &'a str,
    columns: MetricColumns,
    ordinals: Vec<usize>,
}

type ErrFn<'a> = dyn Fn(&str, &dyn std::error::Error) -> ExportError + 'a;

/// Writes the points that the database lacks of each run of `runs` (whose
/// rows the transaction holds locked): one grouped count
/// for all of them, one `COPY` of every point in the order of the primary
/// key of `metrics`, then `latest_metrics`. The answer is in the order of
/// `runs`.
///
/// Why one `COPY` for several runs, sorted: the primary key leads with
/// (key, timestamp, step), so runs logged over the same steps at the same
/// times put their rows on the same index pages. Written run after run,
/// each run walks every such page again (and, once the index outgrows the
/// server's buffers, reads and dirties each page again: the cost grew with
/// the table); written together in key order, each page is visited once.
pub(crate) fn write_runs(
    tx: &mut Transaction<'_>,
    store: &Store,
    runs: &[(&Run, &JournaledRun)],
    err: &ErrFn<'_>,
) -> Result<Vec<MetricsWritten>> {
    let mut written: Vec<MetricsWritten> = runs
        .iter()
        .map(|(run, _)| MetricsWritten {
            points: 0,
            infinite: 0,
            series: Vec::with_capacity(run.metrics.len()),
        })
        .collect();
    let ids: Vec<&str> = runs
        .iter()
        .filter(|(run, _)| !run.metrics.is_empty())
        .map(|(run, _)| run.info.run_id.as_str())
        .collect();
    if ids.is_empty() {
        return Ok(written);
    }
    // Served by index_metrics_run_uuid_key_step: reads only these runs'
    // entries, whatever the size of the table.
    let mut counts: HashMap<(String, String), i64> = HashMap::new();
    for r in tx
        .query(
            "SELECT run_uuid, key, count(*) FROM metrics WHERE run_uuid = ANY($1) \
             GROUP BY run_uuid, key",
            &[&ids],
        )
        .map_err(|e| err("counting its metric points", &e))?
    {
        counts.insert((r.get(0), r.get(1)), r.get(2));
    }

    let mut planned = Vec::new();
    for (index, (run, journaled)) in runs.iter().enumerate() {
        let id = run.info.run_id.as_str();
        for (key, summary) in &run.metrics {
            let mut columns = store.metric_history_columns(id, key)?;
            // Points logged since the run was read wait for the next export.
            let n = (summary.count as usize).min(columns.values.len());
            columns.values.truncate(n);
            columns.steps.truncate(n);
            columns.timestamps.truncate(n);
            let point_ids: Vec<PointId> = (0..n)
                .map(|i| point_id(columns.timestamps[i], columns.steps[i], columns.values[i]))
                .collect();
            let held = counts
                .get(&(id.to_string(), key.clone()))
                .copied()
                .unwrap_or(0)
                .max(0) as u64;
            let ordinals = plan_series(&point_ids, journaled.points_sent(key), held, || {
                remote_points(tx, id, key, err)
            })?;
            written[index].series.push((key.clone(), n as u64));
            if !ordinals.is_empty() {
                written[index].points += ordinals.len() as u64;
                written[index].infinite +=
                    count_infinite(ordinals.iter().map(|&i| columns.values[i]));
                planned.push(Planned {
                    run: index,
                    key,
                    columns,
                    ordinals,
                });
            }
        }
    }
    if planned.is_empty() {
        return Ok(written);
    }

    // Every point to write as (series, ordinal), in the index's order:
    // key, timestamp, step, run.
    let mut order: Vec<(u32, u32)> = planned
        .iter()
        .enumerate()
        .flat_map(|(s, p)| p.ordinals.iter().map(move |&i| (s as u32, i as u32)))
        .collect();
    order.sort_unstable_by(|&(sa, ia), &(sb, ib)| {
        let (a, b) = (&planned[sa as usize], &planned[sb as usize]);
        let (ia, ib) = (ia as usize, ib as usize);
        a.key
            .cmp(b.key)
            .then(a.columns.timestamps[ia].cmp(&b.columns.timestamps[ib]))
            .then(a.columns.steps[ia].cmp(&b.columns.steps[ib]))
            .then(runs[a.run].0.info.run_id.cmp(&runs[b.run].0.info.run_id))
    });
    let sink = tx
        .copy_in(COPY_METRICS)
        .map_err(|e| err("starting the COPY of its metric points", &e))?;
    let mut writer = BinaryCopyInWriter::new(sink, &COLUMN_TYPES);
    for (s, i) in order {
        let p = &planned[s as usize];
        let (c, i) = (&p.columns, i as usize);
        let (value, is_nan) = stored_value(c.values[i]);
        let id = runs[p.run].0.info.run_id.as_str();
        writer
            .write(&[&p.key, &value, &c.timestamps[i], &id, &c.steps[i], &is_nan])
            .map_err(|e| err("writing its metric points", &e))?;
    }
    writer
        .finish()
        .map_err(|e| err("finishing the COPY of its metric points", &e))?;
    write_latest(tx, runs, &planned, err)?;
    Ok(written)
}

/// The identities of the points the database holds for (run, key).
fn remote_points(
    tx: &mut Transaction<'_>,
    run_id: &str,
    key: &str,
    err: &ErrFn<'_>,
) -> Result<HashSet<PointId>> {
    let rows = tx
        .query(
            "SELECT timestamp, step, value, is_nan FROM metrics WHERE run_uuid = $1 AND key = $2",
            &[&run_id, &key],
        )
        .map_err(|e| err(&format!("reading its points of {key:?}"), &e))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (timestamp, step, value, is_nan): (i64, i64, f64, bool) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            if is_nan {
                point_id(timestamp, step, f64::NAN)
            } else {
                point_id(timestamp, step, value)
            }
        })
        .collect())
}

/// Upserts each (run, key)'s latest point: the greatest (step, timestamp,
/// value) of the points written, kept only when later than the row held.
fn write_latest(
    tx: &mut Transaction<'_>,
    runs: &[(&Run, &JournaledRun)],
    planned: &[Planned<'_>],
    err: &ErrFn<'_>,
) -> Result<()> {
    let mut ids = Vec::with_capacity(planned.len());
    let mut keys = Vec::with_capacity(planned.len());
    let mut latest = Vec::with_capacity(planned.len());
    for p in planned {
        let c = &p.columns;
        let best = p
            .ordinals
            .iter()
            .map(|&i| Latest::of(c.steps[i], c.timestamps[i], c.values[i]))
            .reduce(|a, b| Latest::merge(Some(a), b))
            .expect("a planned series has points");
        ids.push(runs[p.run].0.info.run_id.as_str());
        keys.push(p.key);
        latest.push(best);
    }
    let values: Vec<f64> = latest.iter().map(|l| l.value).collect();
    let timestamps: Vec<i64> = latest.iter().map(|l| l.timestamp).collect();
    let steps: Vec<i64> = latest.iter().map(|l| l.step).collect();
    let nans: Vec<bool> = latest.iter().map(|l| l.is_nan).collect();
    tx.execute(
        "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) \
         SELECT k, v, t, s, n, r \
         FROM UNNEST($1::text[], $2::float8[], $3::int8[], $4::int8[], $5::bool[], \
                     $6::text[]) AS u(k, v, t, s, n, r) \
         ON CONFLICT (key, run_uuid) DO UPDATE SET value = EXCLUDED.value, \
             timestamp = EXCLUDED.timestamp, step = EXCLUDED.step, is_nan = EXCLUDED.is_nan \
         WHERE (latest_metrics.step, COALESCE(latest_metrics.timestamp, -9223372036854775808), \
                latest_metrics.value) \
             < (EXCLUDED.step, EXCLUDED.timestamp, EXCLUDED.value)",
        &[&keys, &values, &timestamps, &steps, &nans, &ids],
    )
    .map_err(|e| err("updating its latest metrics", &e))?;
    Ok(())
}
