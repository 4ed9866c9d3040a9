//! What a search reads from the index: the ids of one page, then the
//! page's runs or experiments whole, with one batched query per table.
//! (Logged models load in [`super::logged_models`].)

use std::collections::{BTreeMap, HashMap};

use rusqlite::types::FromSql;
use rusqlite::{params_from_iter, Connection};
use serde::Serialize;

use super::runs::{info_row, INFO_SELECT};
use crate::error::Result;
use crate::model::{Dataset, DatasetInput, Experiment, LifecycleStage, MetricSummary, Run};
use crate::search::sql::Sql;

/// Runs the id query of a page, which asks for one row more than the page
/// holds: the page's ids (at most `max_results`), and whether more follow.
pub(crate) fn page_ids<T: FromSql>(
    conn: &Connection,
    sql: &Sql,
    max_results: usize,
) -> Result<(Vec<T>, bool)> {
    // Not cached: the text varies with the filter's shape, and would push
    // the store's hot statements out of the connection's small cache.
    let mut stmt = conn.prepare(&sql.text)?;
    let mut ids = stmt
        .query_map(params_from_iter(sql.params.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<T>>>()?;
    let more = ids.len() > max_results;
    ids.truncate(max_results);
    Ok((ids, more))
}

/// The ids as one JSON array parameter, for `IN (SELECT value FROM json_each(?1))`.
pub(super) fn json_ids<T: Serialize>(ids: &[T]) -> String {
    serde_json::to_string(ids).expect("ids serialise")
}

/// Loads whole runs, in the order of `ids`, with one query per table.
pub(crate) fn load_runs(
    conn: &Connection,
    ids: &[String],
    artifact_root: &str,
) -> Result<Vec<Run>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let json = json_ids(ids);
    let position: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut slots: Vec<Option<Run>> = vec![None; ids.len()];

    let mut stmt = conn.prepare_cached(&format!(
        "{INFO_SELECT} WHERE r.run_uuid IN (SELECT value FROM json_each(?1))"
    ))?;
    let mut rows = stmt.query([&json])?;
    while let Some(r) = rows.next()? {
        let info = info_row(r, artifact_root)?;
        if let Some(&i) = position.get(info.run_id.as_str()) {
            slots[i] = Some(Run {
                info,
                params: BTreeMap::new(),
                tags: BTreeMap::new(),
                metrics: BTreeMap::new(),
                inputs: Vec::new(),
            });
        }
    }
    drop(rows);
    let slot = |slots: &mut Vec<Option<Run>>, id: &str| -> Option<usize> {
        position.get(id).copied().filter(|&i| slots[i].is_some())
    };

    for (table, is_param) in [("params", true), ("tags", false)] {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT run_uuid, key, value FROM {table} WHERE run_uuid IN (SELECT value FROM json_each(?1))"
        ))?;
        let mut rows = stmt.query([&json])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            if let Some(i) = slot(&mut slots, &id) {
                let run = slots[i].as_mut().expect("checked");
                let map = if is_param {
                    &mut run.params
                } else {
                    &mut run.tags
                };
                map.insert(r.get(1)?, r.get(2)?);
            }
        }
    }

    let mut stmt = conn.prepare_cached(
        "SELECT run_uuid, key, count, last_step, last_timestamp, last_bits, min_value, max_value
         FROM metric_series
         WHERE run_uuid IN (SELECT value FROM json_each(?1)) AND last_bits IS NOT NULL",
    )?;
    let mut rows = stmt.query([&json])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        if let Some(i) = slot(&mut slots, &id) {
            let summary = MetricSummary {
                count: r.get::<_, i64>(2)? as u64,
                step: r.get(3)?,
                timestamp: r.get(4)?,
                value: f64::from_bits(r.get::<_, i64>(5)? as u64),
                min: r.get::<_, Option<f64>>(6)?.unwrap_or(f64::NAN),
                max: r.get::<_, Option<f64>>(7)?.unwrap_or(f64::NAN),
            };
            let run = slots[i].as_mut().expect("checked");
            run.metrics.insert(r.get(1)?, summary);
        }
    }
    drop(rows);
    drop(stmt);

    load_inputs(conn, &json, &mut |id, input| {
        if let Some(i) = position.get(id) {
            if let Some(run) = slots[*i].as_mut() {
                run.inputs.push(input);
            }
        }
    })?;
    // A run purged between the two queries cannot be, in one transaction;
    // skipping a missing slot keeps this safe regardless.
    Ok(slots.into_iter().flatten().collect())
}

/// The dataset inputs of the runs in `json`, in the order first logged.
fn load_inputs(
    conn: &Connection,
    json: &str,
    add: &mut dyn FnMut(&str, DatasetInput),
) -> Result<()> {
    let mut tags: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT t.input_uuid, t.key, t.value FROM input_tags t
         WHERE t.input_uuid IN (SELECT input_uuid FROM inputs
                                WHERE run_uuid IN (SELECT value FROM json_each(?1)))",
    )?;
    let mut rows = stmt.query([json])?;
    while let Some(r) = rows.next()? {
        tags.entry(r.get(0)?)
            .or_default()
            .insert(r.get(1)?, r.get(2)?);
    }
    drop(rows);
    let mut stmt = conn.prepare_cached(
        "SELECT i.run_uuid, i.input_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
         FROM inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid
         WHERE i.run_uuid IN (SELECT value FROM json_each(?1)) ORDER BY i.rowid",
    )?;
    let mut rows = stmt.query([json])?;
    while let Some(r) = rows.next()? {
        let run_id: String = r.get(0)?;
        let input_uuid: String = r.get(1)?;
        let dataset = Dataset {
            name: r.get(2)?,
            digest: r.get(3)?,
            source_type: r.get(4)?,
            source: r.get(5)?,
            schema: r.get(6)?,
            profile: r.get(7)?,
        };
        add(
            &run_id,
            DatasetInput {
                dataset,
                tags: tags.remove(&input_uuid).unwrap_or_default(),
            },
        );
    }
    Ok(())
}

/// Loads whole experiments, in the order of `ids`, with two queries.
pub(crate) fn load_experiments(
    conn: &Connection,
    ids: &[i64],
    artifact_root: &str,
) -> Result<Vec<Experiment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let json = json_ids(ids);
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let mut slots: Vec<Option<Experiment>> = vec![None; ids.len()];
    let mut stmt = conn.prepare_cached(
        "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time
         FROM experiments WHERE experiment_id IN (SELECT value FROM json_each(?1))",
    )?;
    let mut rows = stmt.query([&json])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let location: Option<String> = r.get(2)?;
        if let Some(&i) = position.get(&id) {
            slots[i] = Some(Experiment {
                experiment_id: id.to_string(),
                name: r.get(1)?,
                artifact_location: location.unwrap_or_else(|| format!("{artifact_root}/{id}")),
                lifecycle_stage: LifecycleStage::parse_stored(&r.get::<_, String>(3)?),
                creation_time: r.get(4)?,
                last_update_time: r.get(5)?,
                tags: BTreeMap::new(),
            });
        }
    }
    drop(rows);
    let mut stmt = conn.prepare_cached(
        "SELECT experiment_id, key, value FROM experiment_tags
         WHERE experiment_id IN (SELECT value FROM json_each(?1))",
    )?;
    let mut rows = stmt.query([&json])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if let Some(e) = position.get(&id).and_then(|&i| slots[i].as_mut()) {
            e.tags.insert(r.get(1)?, r.get(2)?);
        }
    }
    Ok(slots.into_iter().flatten().collect())
}
