//! The check after a run is sent: the server's run against the store's.

use std::collections::{BTreeMap, HashSet};

use tracklite::Store;

use crate::client::Client;
use crate::error::{ExportError, Result};
use crate::export::Item;

/// Checks the remote run of `item`: start and end time, status, every
/// param and every tag (`expected_tags`, as sent), every metric key, and
/// the number of points of each series sent by this export.
pub(crate) fn verify_run(
    store: &Store,
    client: &Client,
    item: &Item,
    expected_tags: &BTreeMap<String, String>,
) -> Result<()> {
    let remote = client.get_run(&item.remote_id)?;
    let mut problems = Vec::new();
    let info = &item.run.info;
    if remote.start_time != Some(info.start_time) {
        problems.push(format!(
            "start time is {:?} on the server, {} in the store",
            remote.start_time, info.start_time
        ));
    }
    if remote.end_time != info.end_time {
        problems.push(format!(
            "end time is {:?} on the server, {:?} in the store",
            remote.end_time, info.end_time
        ));
    }
    if remote.status != info.status.as_str() {
        problems.push(format!(
            "status is {} on the server, {} in the store",
            remote.status,
            info.status.as_str()
        ));
    }
    for (what, local, there) in [
        ("param", &item.run.params, &remote.params),
        ("tag", expected_tags, &remote.tags),
    ] {
        for (k, v) in local {
            match there.get(k) {
                Some(r) if r == v => {}
                Some(r) => problems.push(format!(
                    "{what} {k:?} is {r:?} on the server, {v:?} in the store"
                )),
                None => problems.push(format!("{what} {k:?} is missing on the server")),
            }
        }
    }
    for (key, s) in &item.run.metrics {
        if s.count > 0 && !remote.metric_keys.contains(key) {
            problems.push(format!("metric {key:?} is missing on the server"));
        }
    }
    for (key, _, to) in &item.series {
        if client.metric_count_is(&item.remote_id, key, *to)? {
            continue;
        }
        let there = client.metric_count(&item.remote_id, key)?;
        if there != *to {
            // The server keeps one of points identical in time, step and
            // value.
            let distinct = distinct_points(store, &info.run_id, key, *to)?;
            if there != distinct {
                problems.push(format!(
                    "metric {key:?} has {there} points on the server, {to} in the store \
                     ({distinct} distinct)"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ExportError::Verify {
            run_id: info.run_id.clone(),
            remote_run_id: item.remote_id.clone(),
            what: problems.join("; "),
        })
    }
}

/// The number of points among the first `count` of a series that differ
/// in (timestamp, step, value) as the server compares them (NaN equals
/// NaN, -0 equals 0).
pub(crate) fn distinct_points(store: &Store, run_id: &str, key: &str, count: u64) -> Result<u64> {
    let c = store.metric_history_columns(run_id, key)?;
    let n = (count as usize).min(c.values.len());
    let mut seen = HashSet::with_capacity(n);
    for i in 0..n {
        let v = c.values[i];
        let bits = if v.is_nan() {
            u64::MAX
        } else if v.is_infinite() {
            // Kept as the greatest finite value by MLflow's SQL store.
            f64::MAX.copysign(v).to_bits()
        } else if v == 0.0 {
            0
        } else {
            v.to_bits()
        };
        seen.insert((c.timestamps[i], c.steps[i], bits));
    }
    Ok(seen.len() as u64)
}
