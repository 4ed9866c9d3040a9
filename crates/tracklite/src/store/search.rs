//! Searching runs and experiments with MLflow's filter and order_by
//! language, one page at a time.
//!
//! One SQL query selects the page's ids (filtering, ordering and paging
//! all happen in SQLite, on the index's key/value indexes); a few batched
//! queries then load the page's runs or experiments whole.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params_from_iter, Connection};
use serde::Serialize;

use super::Store;
use crate::entities::{
    Dataset, DatasetInput, Experiment, LifecycleStage, MetricSummary, Run, ViewType,
};
use crate::error::Result;
use crate::index::runs::{info_row, INFO_SELECT};
use crate::index::Stored;
use crate::search::page_token::PageToken;
use crate::search::sql::{self, ExperimentQuery, RunQuery, Sql};
use crate::search::{check_max_results, experiments, runs};
use crate::validate;

/// One page of a run search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunPage {
    pub runs: Vec<Run>,
    /// Pass this to the next call for the next page; None on the last page.
    pub next_page_token: Option<String>,
}

/// One page of an experiment search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentPage {
    pub experiments: Vec<Experiment>,
    /// Pass this to the next call for the next page; None on the last page.
    pub next_page_token: Option<String>,
}

fn stage_of(view: ViewType) -> Option<&'static str> {
    match view {
        ViewType::ActiveOnly => Some(LifecycleStage::Active.as_str()),
        ViewType::DeletedOnly => Some(LifecycleStage::Deleted.as_str()),
        ViewType::All => None,
    }
}

/// Runs the id query of a page: the ids, and the token of the next page.
fn page_ids<T: rusqlite::types::FromSql>(
    conn: &Connection,
    sql: &Sql,
    max_results: usize,
    offset: usize,
    snapshot: i64,
) -> Result<(Vec<T>, Option<String>)> {
    // Not cached: the text varies with the filter's shape, and would push
    // the store's hot statements out of the connection's small cache.
    let mut stmt = conn.prepare(&sql.text)?;
    let mut ids = stmt
        .query_map(params_from_iter(sql.params.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<T>>>()?;
    let next = (ids.len() > max_results).then(|| {
        ids.truncate(max_results);
        PageToken {
            offset: offset + max_results,
            snapshot: Some(snapshot),
        }
        .encode()
    });
    Ok((ids, next))
}

impl Store {
    /// Searches the runs of some experiments with MLflow's filter language,
    /// returning one page of whole runs (params, tags, latest metrics and
    /// inputs, as [`Store::get_run`] returns them).
    ///
    /// - `filter`: clauses joined by AND, such as
    ///   `metrics.acc > 0.9 AND params.lr = '0.01'`; empty for all runs.
    /// - `max_results`: 1 to [`crate::SEARCH_MAX_RESULTS_LIMIT`]; MLflow's
    ///   default is [`crate::SEARCH_MAX_RESULTS_DEFAULT`].
    /// - `order_by`: clauses such as `metrics.acc DESC`; missing values (and
    ///   NaN metrics) come last. Default and final tie-breaks: start time,
    ///   newest first, then run id.
    /// - `page_token`: None for the first page, then the token the previous
    ///   page returned. Runs created while paging do not appear in later
    ///   pages of the same search, so no run is returned twice.
    ///
    /// An empty `experiment_ids` matches no run, as in MLflow.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{NewRun, Store, ViewType};
    /// let store = Store::open(dir.path())?;
    /// let run = store.create_run(NewRun::default())?;
    /// store.log_param(&run.run_id, "optimizer", "adam")?;
    /// store.log_metric(&run.run_id, "acc", 0.93, 1_700_000_000_000, 0)?;
    /// let page = store.search_runs(
    ///     &["0"],
    ///     "params.optimizer = 'adam' AND metrics.acc > 0.9",
    ///     ViewType::ActiveOnly,
    ///     100,
    ///     &["metrics.acc DESC"],
    ///     None,
    /// )?;
    /// assert_eq!(page.runs[0].info.run_id, run.run_id);
    /// assert!(page.next_page_token.is_none());
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        view: ViewType,
        max_results: usize,
        order_by: &[&str],
        page_token: Option<&str>,
    ) -> Result<RunPage> {
        check_max_results(max_results)?;
        let experiment_ids = experiment_ids
            .iter()
            .map(|id| validate::experiment_id(id))
            .collect::<Result<Vec<_>, _>>()?;
        let clauses = runs::parse_filter(filter)?;
        let order = runs::parse_order_by(order_by)?;
        let token = page_token.map(PageToken::decode).transpose()?;
        if experiment_ids.is_empty() {
            return Ok(RunPage {
                runs: Vec::new(),
                next_page_token: None,
            });
        }
        self.refresh_summaries_if_open()?;
        let index = self.inner.index()?;
        // One read transaction: the page's ids and its rows agree.
        let tx = index.conn().unchecked_transaction()?;
        let snapshot = match token.and_then(|t| t.snapshot) {
            Some(s) => s,
            None => tx.query_row("SELECT coalesce(max(rowid), 0) FROM runs", [], |r| r.get(0))?,
        };
        let offset = token.map_or(0, |t| t.offset);
        let query = RunQuery {
            experiment_ids: &experiment_ids,
            stage: stage_of(view),
            snapshot,
            clauses: &clauses,
            order: &order,
            artifact_root: &self.inner.artifact_root,
            limit: max_results + 1,
            offset,
        };
        // The metric-ordered query answers only when it fills the page.
        let quick = match sql::runs_in_metric_order(&query) {
            Some(q) => Some(page_ids::<String>(&tx, &q, max_results, offset, snapshot)?)
                .filter(|(_, next)| next.is_some()),
            None => None,
        };
        let (ids, next_page_token) = match quick {
            Some(page) => page,
            None => page_ids::<String>(&tx, &sql::runs(&query), max_results, offset, snapshot)?,
        };
        let runs = load_runs(&tx, &ids, &self.inner.artifact_root)?;
        tx.commit()?;
        Ok(RunPage {
            runs,
            next_page_token,
        })
    }

    /// Folds points that writers (of this process or others) hold in open
    /// blocks into the summaries that search reads. The cheap look for an
    /// open block first spares the full refresh when every block is sealed.
    fn refresh_summaries_if_open(&self) -> Result<()> {
        let open: bool = self.inner.index()?.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM metric_blocks WHERE sealed = 0)",
            [],
            |r| r.get(0),
        )?;
        if open {
            self.refresh_summaries(None)?;
        }
        Ok(())
    }

    /// Searches experiments with MLflow's filter language: `name`,
    /// `experiment_id`, `creation_time`, `last_update_time` and
    /// `tags.<key>`. Default order: newest first, then by id. Paging works
    /// as in [`Store::search_runs`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{Store, ViewType};
    /// let store = Store::open(dir.path())?;
    /// store.create_experiment("vision-resnet", None, &[("team".into(), "cv".into())])?;
    /// let page = store.search_experiments(
    ///     ViewType::ActiveOnly,
    ///     "name LIKE 'vision-%' AND tags.team = 'cv'",
    ///     100,
    ///     &["name"],
    ///     None,
    /// )?;
    /// assert_eq!(page.experiments[0].name, "vision-resnet");
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn search_experiments(
        &self,
        view: ViewType,
        filter: &str,
        max_results: usize,
        order_by: &[&str],
        page_token: Option<&str>,
    ) -> Result<ExperimentPage> {
        check_max_results(max_results)?;
        let clauses = experiments::parse_filter(filter)?;
        let order = experiments::parse_order_by(order_by)?;
        let token = page_token.map(PageToken::decode).transpose()?;
        let index = self.inner.index()?;
        let tx = index.conn().unchecked_transaction()?;
        let snapshot = match token.and_then(|t| t.snapshot) {
            Some(s) => s,
            None => tx.query_row(
                "SELECT coalesce(max(experiment_id), 0) FROM experiments",
                [],
                |r| r.get(0),
            )?,
        };
        let offset = token.map_or(0, |t| t.offset);
        let query = sql::experiments(&ExperimentQuery {
            stage: stage_of(view),
            snapshot,
            clauses: &clauses,
            order: &order,
            limit: max_results + 1,
            offset,
        });
        let (ids, next_page_token) = page_ids::<i64>(&tx, &query, max_results, offset, snapshot)?;
        let experiments = load_experiments(&tx, &ids, &self.inner.artifact_root)?;
        tx.commit()?;
        Ok(ExperimentPage {
            experiments,
            next_page_token,
        })
    }
}

/// The ids as one JSON array parameter, for `IN (SELECT value FROM json_each(?1))`.
fn json_ids<T: Serialize>(ids: &[T]) -> String {
    serde_json::to_string(ids).expect("ids serialise")
}

/// Loads whole runs, in the order of `ids`, with one query per table.
fn load_runs(conn: &Connection, ids: &[String], artifact_root: &str) -> Result<Vec<Run>> {
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
fn load_experiments(
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
                lifecycle_stage: r.get::<_, Stored<LifecycleStage>>(3)?.0,
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
