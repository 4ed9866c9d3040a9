//! What a search reads from the index: the ids of one page, then the
//! page's runs or experiments whole, with one batched query per table.
//! (Logged models load in [`super::logged_models`].)

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use rusqlite::types::FromSql;
use rusqlite::{params_from_iter, Connection};
use serde::Serialize;

use super::runs::{info_row, INFO_SELECT};
use super::stored::Stored;
use crate::entities::{Dataset, DatasetInput, Experiment, LifecycleStage, MetricSummary, Run};
use crate::error::Result;
use crate::search::sql::Sql;

/// Runs the id query of a page, which asks for one row more than the page
/// holds: the page's ids (at most `max_results`), and whether more follow.
pub(crate) fn page_ids<T: FromSql>(
    conn: &Connection,
    sql: &Sql,
    max_results: usize,
) -> Result<(Vec<T>, bool)> {
    // Cached: parsing a search's statement costs more than running it on
    // a small page. The text depends only on the filter's and order's
    // shape (values are bound), and a program repeats a few shapes; the
    // connection's cache has room for them (index::STATEMENT_CACHE).
    let mut stmt = conn.prepare_cached(&sql.text)?;
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

/// The entities of one page, in the order of their ids, filled in as the
/// batched queries return their rows.
pub(super) struct Slots<K, T> {
    position: HashMap<K, usize>,
    slots: Vec<Option<T>>,
}

impl<K: Hash + Eq, T> Slots<K, T> {
    /// An empty slot for each id, in order.
    pub(super) fn new(ids: impl ExactSizeIterator<Item = K>) -> Self {
        let slots = (0..ids.len()).map(|_| None).collect();
        let position = ids.enumerate().map(|(i, id)| (id, i)).collect();
        Slots { position, slots }
    }

    /// The slot of `id`; None for an id the page does not hold.
    pub(super) fn place<Q: Hash + Eq + ?Sized>(&self, id: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
    {
        self.position.get(id).copied()
    }

    /// Puts an entity, read from its main row, in its slot.
    pub(super) fn fill(&mut self, place: usize, entity: T) {
        self.slots[place] = Some(entity);
    }

    /// The entity of `id`, when the page holds it and its main row was read.
    pub(super) fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, id: &Q) -> Option<&mut T>
    where
        K: Borrow<Q>,
    {
        let place = self.place(id)?;
        self.slots[place].as_mut()
    }

    /// The entities read, in the order of the ids. An entity removed
    /// between the queries cannot be, in one transaction; skipping a
    /// missing slot keeps this safe regardless.
    pub(super) fn into_vec(self) -> Vec<T> {
        self.slots.into_iter().flatten().collect()
    }
}

/// Column `i` of a row as text, read in place (no copy).
fn text_at<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    r.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Reads the key/value rows (params or tags) of a page's entities from
/// `table`, whose `id_column` names the entity, into the map `map` picks.
pub(super) fn key_values<T>(
    conn: &Connection,
    table: &str,
    id_column: &str,
    json: &str,
    slots: &mut Slots<&str, T>,
    map: fn(&mut T) -> &mut BTreeMap<String, String>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {id_column}, key, value FROM {table} WHERE {id_column} IN (SELECT value FROM json_each(?1))"
    ))?;
    let mut rows = stmt.query([json])?;
    while let Some(r) = rows.next()? {
        // The id is only looked up: read in place, not copied.
        if let Some(entity) = slots.get_mut(text_at(r, 0)?) {
            map(entity).insert(r.get(1)?, r.get(2)?);
        }
    }
    Ok(())
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
    let mut slots = Slots::new(ids.iter().map(String::as_str));

    let mut stmt = conn.prepare_cached(&format!(
        "{INFO_SELECT} WHERE r.run_uuid IN (SELECT value FROM json_each(?1))"
    ))?;
    let mut rows = stmt.query([&json])?;
    while let Some(r) = rows.next()? {
        let info = info_row(r, artifact_root)?;
        if let Some(i) = slots.place(info.run_id.as_str()) {
            slots.fill(
                i,
                Run {
                    info,
                    params: BTreeMap::new(),
                    tags: BTreeMap::new(),
                    metrics: BTreeMap::new(),
                    inputs: Vec::new(),
                },
            );
        }
    }
    drop(rows);
    key_values(conn, "params", "run_uuid", &json, &mut slots, |r| {
        &mut r.params
    })?;
    key_values(conn, "tags", "run_uuid", &json, &mut slots, |r| &mut r.tags)?;

    let mut stmt = conn.prepare_cached(
        "SELECT run_uuid, key, count, last_step, last_timestamp, last_bits, min_value, max_value
         FROM metric_series
         WHERE run_uuid IN (SELECT value FROM json_each(?1)) AND last_bits IS NOT NULL",
    )?;
    let mut rows = stmt.query([&json])?;
    while let Some(r) = rows.next()? {
        if let Some(run) = slots.get_mut(text_at(r, 0)?) {
            let summary = MetricSummary {
                count: r.get::<_, i64>(2)? as u64,
                step: r.get(3)?,
                timestamp: r.get(4)?,
                value: f64::from_bits(r.get::<_, i64>(5)? as u64),
                min: r.get::<_, Option<f64>>(6)?.unwrap_or(f64::NAN),
                max: r.get::<_, Option<f64>>(7)?.unwrap_or(f64::NAN),
            };
            run.metrics.insert(r.get(1)?, summary);
        }
    }
    drop(rows);
    drop(stmt);

    load_inputs(conn, &json, &mut |id, input| {
        if let Some(run) = slots.get_mut(id) {
            run.inputs.push(input);
        }
    })?;
    Ok(slots.into_vec())
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
    let mut slots = Slots::new(ids.iter().copied());
    let mut stmt = conn.prepare_cached(
        "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time
         FROM experiments WHERE experiment_id IN (SELECT value FROM json_each(?1))",
    )?;
    let mut rows = stmt.query([&json])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let location: Option<String> = r.get(2)?;
        if let Some(i) = slots.place(&id) {
            slots.fill(
                i,
                Experiment {
                    experiment_id: id.to_string(),
                    name: r.get(1)?,
                    artifact_location: location.unwrap_or_else(|| format!("{artifact_root}/{id}")),
                    lifecycle_stage: r.get::<_, Stored<LifecycleStage>>(3)?.0,
                    creation_time: r.get(4)?,
                    last_update_time: r.get(5)?,
                    tags: BTreeMap::new(),
                },
            );
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
        if let Some(e) = slots.get_mut(&id) {
            e.tags.insert(r.get(1)?, r.get(2)?);
        }
    }
    Ok(slots.into_vec())
}
