//! A run's metric points: which to write (see [`plan_series`]), one binary
//! `COPY` of them into `metrics`, and the `latest_metrics` row of each key
//! that got points, merged with the row the table holds.

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
    key: &'a str,
    columns: MetricColumns,
    ordinals: Vec<usize>,
}

type ErrFn<'a> = dyn Fn(&str, &dyn std::error::Error) -> ExportError + 'a;

/// Writes the points of `run` that the database lacks.
pub(crate) fn write_run(
    tx: &mut Transaction<'_>,
    store: &Store,
    run: &Run,
    journaled: &JournaledRun,
    err: &ErrFn<'_>,
) -> Result<MetricsWritten> {
    let id = run.info.run_id.as_str();
    let mut written = MetricsWritten {
        points: 0,
        infinite: 0,
        series: Vec::with_capacity(run.metrics.len()),
    };
    if run.metrics.is_empty() {
        return Ok(written);
    }
    let counts: HashMap<String, i64> = tx
        .query(
            "SELECT key, count(*) FROM metrics WHERE run_uuid = $1 GROUP BY key",
            &[&id],
        )
        .map_err(|e| err("counting its metric points", &e))?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();

    let mut planned = Vec::new();
    for (key, summary) in &run.metrics {
        let mut columns = store.metric_history_columns(id, key)?;
        // Points logged since the run was read wait for the next export.
        let n = (summary.count as usize).min(columns.values.len());
        columns.values.truncate(n);
        columns.steps.truncate(n);
        columns.timestamps.truncate(n);
        let ids: Vec<PointId> = (0..n)
            .map(|i| point_id(columns.timestamps[i], columns.steps[i], columns.values[i]))
            .collect();
        let held = counts.get(key).copied().unwrap_or(0).max(0) as u64;
        let ordinals = plan_series(&ids, journaled.points_sent(key), held, || {
            remote_points(tx, id, key, err)
        })?;
        written.series.push((key.clone(), n as u64));
        if !ordinals.is_empty() {
            planned.push(Planned {
                key,
                columns,
                ordinals,
            });
        }
    }
    if planned.is_empty() {
        return Ok(written);
    }

    let sink = tx
        .copy_in(COPY_METRICS)
        .map_err(|e| err("starting the COPY of its metric points", &e))?;
    let mut writer = BinaryCopyInWriter::new(sink, &COLUMN_TYPES);
    for p in &planned {
        let c = &p.columns;
        for &i in &p.ordinals {
            let (value, is_nan) = stored_value(c.values[i]);
            writer
                .write(&[&p.key, &value, &c.timestamps[i], &id, &c.steps[i], &is_nan])
                .map_err(|e| err("writing its metric points", &e))?;
        }
        written.points += p.ordinals.len() as u64;
        written.infinite += count_infinite(p.ordinals.iter().map(|&i| c.values[i]));
    }
    writer
        .finish()
        .map_err(|e| err("finishing the COPY of its metric points", &e))?;
    write_latest(tx, id, &planned, err)?;
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

/// Upserts each key's latest point: the greatest (step, timestamp, value)
/// of the points written, kept only when later than the row held.
fn write_latest(
    tx: &mut Transaction<'_>,
    run_id: &str,
    planned: &[Planned<'_>],
    err: &ErrFn<'_>,
) -> Result<()> {
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
        keys.push(p.key);
        latest.push(best);
    }
    let values: Vec<f64> = latest.iter().map(|l| l.value).collect();
    let timestamps: Vec<i64> = latest.iter().map(|l| l.timestamp).collect();
    let steps: Vec<i64> = latest.iter().map(|l| l.step).collect();
    let nans: Vec<bool> = latest.iter().map(|l| l.is_nan).collect();
    tx.execute(
        "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) \
         SELECT k, v, t, s, n, $6 \
         FROM UNNEST($1::text[], $2::float8[], $3::int8[], $4::int8[], $5::bool[]) \
              AS u(k, v, t, s, n) \
         ON CONFLICT (key, run_uuid) DO UPDATE SET value = EXCLUDED.value, \
             timestamp = EXCLUDED.timestamp, step = EXCLUDED.step, is_nan = EXCLUDED.is_nan \
         WHERE (latest_metrics.step, COALESCE(latest_metrics.timestamp, -9223372036854775808), \
                latest_metrics.value) \
             < (EXCLUDED.step, EXCLUDED.timestamp, EXCLUDED.value)",
        &[&keys, &values, &timestamps, &steps, &nans, &run_id],
    )
    .map_err(|e| err("updating its latest metrics", &e))?;
    Ok(())
}
