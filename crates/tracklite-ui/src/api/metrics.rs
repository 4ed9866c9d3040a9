//! `GET /api/metric-history` (downsampled series for charts) and
//! `GET /api/metric-keys`.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use tracklite::{Downsample, DownsampledSeries, Store, XAxis};

use crate::json;
use crate::query::Query;
use crate::reply::{ApiError, Reply};

/// Buckets when the client names none: about one per pixel of a wide chart.
const DEFAULT_BUCKETS: usize = 1_000;
/// More buckets than any screen has pixels across.
const MAX_BUCKETS: usize = 10_000;

/// One metric of several runs, each downsampled to `buckets` (see
/// [`Store::metric_history_downsampled`]). A run that does not exist or
/// lacks the key has an empty series, so that a chart of many runs
/// overlays those that have it.
pub(super) fn history(store: &Store, q: &Query) -> Result<Reply, ApiError> {
    let run_ids = q.list("run_ids");
    let key = q.required("key")?;
    let x = match q.choice("x", &["step", "time"])? {
        "time" => XAxis::Time,
        _ => XAxis::Step,
    };
    let how = Downsample {
        x,
        buckets: q.count("buckets", DEFAULT_BUCKETS, MAX_BUCKETS)?,
        x_min: q.integer("x_min")?,
        x_max: q.integer("x_max")?,
    };
    if let (Some(lo), Some(hi)) = (how.x_min, how.x_max) {
        if lo > hi {
            return Err(ApiError::invalid(format!(
                "invalid x range: x_min {lo} is greater than x_max {hi}"
            )));
        }
    }
    let mut series = Vec::with_capacity(run_ids.len());
    for run_id in run_ids {
        let s = match store.metric_history_downsampled(run_id, key, &how) {
            Ok(s) => s,
            Err(tracklite::Error::NotFound { .. }) => DownsampledSeries::default(),
            Err(e) => return Err(e.into()),
        };
        let y: Vec<Value> = s.y.iter().map(|&v| json::float(v)).collect();
        series.push(json!({
            "run_id": run_id,
            "count": s.count,
            "downsampled": s.downsampled,
            "x": s.x,
            "y": y,
        }));
    }
    let x_name = match x {
        XAxis::Step => "step",
        XAxis::Time => "time",
    };
    Ok(Reply::json(&json!({
        "key": key,
        "x": x_name,
        "series": series,
    })))
}

/// The metric keys of some runs: the union, sorted. Runs that do not
/// exist add none.
pub(super) fn keys(store: &Store, q: &Query) -> Result<Reply, ApiError> {
    let mut keys = BTreeSet::new();
    for run_id in q.list("run_ids") {
        match store.get_run(run_id) {
            Ok(run) => keys.extend(run.metrics.into_keys()),
            Err(tracklite::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Reply::json(&json!({ "keys": keys })))
}
