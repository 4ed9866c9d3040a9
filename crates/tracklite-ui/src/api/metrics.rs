//! `GET /api/metric-history` (downsampled series for charts) and
//! `GET /api/metric-keys`.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::json;
use tracklite::{Downsample, DownsampledSeries, Store, XAxis};

use crate::json::Floats;
use crate::query::Query;
use crate::reply::{ApiError, Reply};

/// Buckets when the client names none: about one per pixel of a wide chart.
const DEFAULT_BUCKETS: usize = 1_000;
/// More buckets than any screen has pixels across.
const MAX_BUCKETS: usize = 10_000;

/// One metric of several runs, each downsampled to `buckets` (see
/// [`Store::metric_history_downsampled`]). A run that does not exist or
/// lacks the key has an empty series, so that a chart of many runs
/// overlays those that have it (a malformed run id names no run either).
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
    let mut read = Vec::with_capacity(run_ids.len());
    for run_id in run_ids {
        let s = match store.metric_history_downsampled(run_id, key, &how) {
            Ok(s) => s,
            Err(e) if is_unknown_run(&e) => DownsampledSeries::default(),
            Err(e) => return Err(e.into()),
        };
        read.push((run_id, s));
    }
    let series = read
        .iter()
        .map(|(run_id, s)| Series {
            run_id,
            count: s.count,
            downsampled: s.downsampled,
            x: &s.x,
            y: Floats(&s.y),
        })
        .collect();
    Ok(Reply::json(&History {
        key,
        x: match x {
            XAxis::Step => "step",
            XAxis::Time => "time",
        },
        series,
    }))
}

/// The answer of `/api/metric-history`, serialised straight from the
/// columns read.
#[derive(Serialize)]
struct History<'a> {
    key: &'a str,
    x: &'static str,
    series: Vec<Series<'a>>,
}

#[derive(Serialize)]
struct Series<'a> {
    run_id: &'a str,
    count: u64,
    downsampled: bool,
    x: &'a [i64],
    y: Floats<'a>,
}

/// The metric keys of some runs: the union, sorted. Runs that do not
/// exist add none.
pub(super) fn keys(store: &Store, q: &Query) -> Result<Reply, ApiError> {
    let mut keys = BTreeSet::new();
    for run_id in q.list("run_ids") {
        match store.get_run(run_id) {
            Ok(run) => keys.extend(run.metrics.into_keys()),
            Err(e) if is_unknown_run(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Reply::json(&json!({ "keys": keys })))
}

/// True for the errors of a run id that names no run: an unknown id, or
/// one that is not 32 hex digits (the only value the store validates here).
fn is_unknown_run(e: &tracklite::Error) -> bool {
    matches!(
        e,
        tracklite::Error::NotFound { .. } | tracklite::Error::Validation(_)
    )
}
