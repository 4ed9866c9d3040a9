//! Runs, params and tags in the index.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::stored::Stored;
use super::Index;
use crate::entities::{LifecycleStage, RunInfo, RunStatus, RunUpdate, ViewType};
use crate::error::{EntityKind, Error, Result};

/// MLflow keeps a run's name in this tag too.
pub const RUN_NAME_TAG: &str = "mlflow.runName";
/// MLflow marks nested runs with this tag.
pub const PARENT_RUN_TAG: &str = "mlflow.parentRunId";

/// A run's row as stored: every field already checked and every default
/// filled in.
pub struct StoredRun<'a> {
    pub run_id: &'a str,
    pub experiment_id: i64,
    pub name: &'a str,
    pub user_id: &'a str,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
    /// None: `<experiment artifact location>/<run_id>/artifacts`.
    pub artifact_uri: Option<&'a str>,
    pub parent_run_id: Option<&'a str>,
}

/// Writes a run's row, active: the one INSERT of `runs`, for runs created
/// here and runs imported.
pub(super) fn insert_run(conn: &Connection, run: &StoredRun<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time,
             lifecycle_stage, artifact_uri, parent_run_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?9)",
    )?
    .execute(params![
        run.run_id,
        run.experiment_id,
        run.name,
        run.user_id,
        run.status.as_str(),
        run.start_time,
        run.end_time,
        run.artifact_uri,
        run.parent_run_id
    ])?;
    Ok(())
}

/// Writes params of a run that has none of these keys yet (a new run);
/// a key given twice keeps its first value.
pub(super) fn put_new_params(
    conn: &Connection,
    run_id: &str,
    params: &[(String, String)],
) -> Result<()> {
    let mut put = conn.prepare_cached(
        "INSERT OR IGNORE INTO params (run_uuid, key, value) VALUES (?1, ?2, ?3)",
    )?;
    for (k, v) in params {
        put.execute(params![run_id, k, v])?;
    }
    Ok(())
}

/// Sets tags exactly as given: the run's name column is left alone.
pub(super) fn put_plain_tags(
    conn: &Connection,
    run_id: &str,
    tags: &[(String, String)],
) -> Result<()> {
    let mut put = conn
        .prepare_cached("INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?1, ?2, ?3)")?;
    for (k, v) in tags {
        put.execute(params![run_id, k, v])?;
    }
    Ok(())
}

pub(crate) const INFO_SELECT: &str =
    "SELECT r.run_uuid, r.experiment_id, r.name, r.user_id, r.status,
        r.start_time, r.end_time, r.lifecycle_stage, r.artifact_uri, e.artifact_location
    FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id";

pub(crate) fn info_row(r: &Row<'_>, default_root: &str) -> rusqlite::Result<RunInfo> {
    let run_id: String = r.get(0)?;
    let experiment_id: i64 = r.get(1)?;
    let artifact_uri: Option<String> = r.get(8)?;
    let experiment_location: Option<String> = r.get(9)?;
    let artifact_uri = artifact_uri.unwrap_or_else(|| {
        let base = experiment_location.unwrap_or_else(|| format!("{default_root}/{experiment_id}"));
        format!("{}/{run_id}/artifacts", base.trim_end_matches('/'))
    });
    Ok(RunInfo {
        experiment_id: experiment_id.to_string(),
        run_name: r.get(2)?,
        user_id: r.get(3)?,
        status: r.get::<_, Stored<RunStatus>>(4)?.0,
        start_time: r.get(5)?,
        end_time: r.get(6)?,
        lifecycle_stage: r.get::<_, Stored<LifecycleStage>>(7)?.0,
        artifact_uri,
        run_id,
    })
}

fn key_values(conn: &Connection, sql: &str, run_id: &str) -> Result<BTreeMap<String, String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The run's lifecycle stage, or NotFound.
pub fn run_stage(conn: &Connection, run_id: &str) -> Result<LifecycleStage> {
    let stage: Option<Stored<LifecycleStage>> = conn
        .prepare_cached("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?1")?
        .query_row([run_id], |r| r.get(0))
        .optional()?;
    stage
        .map(|s| s.0)
        .ok_or_else(|| Error::not_found(EntityKind::Run, run_id))
}

/// NotFound for a missing run, RunDeleted for a deleted one.
pub fn ensure_active(conn: &Connection, run_id: &str) -> Result<()> {
    match run_stage(conn, run_id)? {
        LifecycleStage::Active => Ok(()),
        LifecycleStage::Deleted => Err(Error::RunDeleted(run_id.to_owned())),
    }
}

fn put_tag(conn: &Connection, run_id: &str, key: &str, value: &str) -> Result<()> {
    put_tag_row(conn, run_id, key, value)?;
    if key == RUN_NAME_TAG {
        conn.prepare_cached("UPDATE runs SET name = ?2 WHERE run_uuid = ?1")?
            .execute(params![run_id, value])?;
    }
    Ok(())
}

/// Writes a tag's row, leaving the run row as it is.
fn put_tag_row(conn: &Connection, run_id: &str, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?1, ?2, ?3)")?
        .execute(params![run_id, key, value])?;
    Ok(())
}

/// A run's info, read through `conn`.
pub(crate) fn run_info_in(conn: &Connection, run_id: &str, default_root: &str) -> Result<RunInfo> {
    conn.prepare_cached(&format!("{INFO_SELECT} WHERE r.run_uuid = ?1"))?
        .query_row([run_id], |r| info_row(r, default_root))
        .optional()?
        .ok_or_else(|| Error::not_found(EntityKind::Run, run_id))
}

/// Updates an active run's status, end time or name, in the caller's
/// transaction.
pub(crate) fn update_run_in(tx: &Connection, run_id: &str, update: &RunUpdate) -> Result<()> {
    ensure_active(tx, run_id)?;
    if update.status.is_some() || update.end_time.is_some() {
        // One statement for both (a run's end sets both).
        tx.prepare_cached(
            "UPDATE runs SET status = coalesce(?2, status), end_time = coalesce(?3, end_time)
             WHERE run_uuid = ?1",
        )?
        .execute(params![
            run_id,
            update.status.map(|s| s.as_str()),
            update.end_time
        ])?;
    }
    if let Some(name) = &update.run_name {
        put_tag(tx, run_id, RUN_NAME_TAG, name)?;
    }
    Ok(())
}

impl Index {
    /// Creates a RUNNING run in an active experiment, with its tags (the
    /// name and parent tags added) and params, and returns its info.
    ///
    /// `ahead`, when given, does more in the same commit (the run's series
    /// made ahead, `store/forecast.rs`) inside a savepoint: when it fails,
    /// what it did is rolled back and the run is created without it.
    pub fn create_run<T>(
        &mut self,
        run: &StoredRun<'_>,
        tags: &[(String, String)],
        params: &[(String, String)],
        default_root: &str,
        ahead: Option<impl FnOnce(&Connection) -> Result<T>>,
    ) -> Result<(RunInfo, Option<T>)> {
        let tx = self.write()?;
        if Self::experiment_stage(&tx, run.experiment_id)? != LifecycleStage::Active {
            return Err(Error::Deleted {
                kind: EntityKind::Experiment,
                id: run.experiment_id.to_string(),
                rule: "runs cannot be created in it",
            });
        }
        if let Some(parent) = run.parent_run_id {
            run_stage(&tx, parent)?;
        }
        insert_run(&tx, run)?;
        // The row already has the name: the tags go in as rows only.
        for (k, v) in tags {
            put_tag_row(&tx, run.run_id, k, v)?;
        }
        put_new_params(&tx, run.run_id, params)?;
        put_tag_row(&tx, run.run_id, RUN_NAME_TAG, run.name)?;
        if let Some(parent) = run.parent_run_id {
            put_tag_row(&tx, run.run_id, PARENT_RUN_TAG, parent)?;
        }
        let made = match ahead {
            Some(ahead) => {
                // Savepoint statements prepared once (a Savepoint of the
                // transaction would parse them at every run).
                let step = |sql: &str| -> Result<()> {
                    tx.prepare_cached(sql)?.execute([])?;
                    Ok(())
                };
                step("SAVEPOINT made_ahead")?;
                match ahead(&tx) {
                    Ok(made) => {
                        step("RELEASE made_ahead")?;
                        Some(made)
                    }
                    Err(_) => {
                        step("ROLLBACK TO made_ahead")?;
                        step("RELEASE made_ahead")?;
                        None
                    }
                }
            }
            None => None,
        };
        // Read in the creating transaction: no second one to read it back.
        let info = run_info_in(&tx, run.run_id, default_root)?;
        tx.commit()?;
        Ok((info, made))
    }

    pub fn run_info(&self, run_id: &str, default_root: &str) -> Result<RunInfo> {
        run_info_in(&self.conn, run_id, default_root)
    }

    pub fn params(&self, run_id: &str) -> Result<BTreeMap<String, String>> {
        key_values(
            &self.conn,
            "SELECT key, value FROM params WHERE run_uuid = ?1",
            run_id,
        )
    }

    pub fn tags(&self, run_id: &str) -> Result<BTreeMap<String, String>> {
        key_values(
            &self.conn,
            "SELECT key, value FROM tags WHERE run_uuid = ?1",
            run_id,
        )
    }

    /// Runs of the given experiments, newest first (start time, then id).
    pub fn list_runs(
        &self,
        experiment_ids: &[i64],
        view: ViewType,
        default_root: &str,
    ) -> Result<Vec<RunInfo>> {
        let stages = view.stages();
        let ids = experiment_ids
            .iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        // The ids are integers formatted here, never user text.
        let sql = format!(
            "{INFO_SELECT} WHERE r.experiment_id IN ({ids}) AND r.lifecycle_stage IN (?1, ?2)
             ORDER BY r.start_time DESC, r.run_uuid"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([stages[0], stages[stages.len() - 1]], |r| {
            info_row(r, default_root)
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The number of runs in each experiment that has runs in `view`'s
    /// stages, read from the counts the index keeps (`run_counts`, a few
    /// rows per experiment), not from the runs.
    pub fn count_runs(&self, view: ViewType) -> Result<Vec<(i64, u64)>> {
        let stages = view.stages();
        let mut stmt = self.conn.prepare_cached(
            "SELECT experiment_id, sum(runs) FROM run_counts
             WHERE lifecycle_stage IN (?1, ?2) GROUP BY experiment_id HAVING sum(runs) > 0",
        )?;
        let rows = stmt.query_map([stages[0], stages[stages.len() - 1]], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn update_run(&mut self, run_id: &str, update: &RunUpdate) -> Result<()> {
        let tx = self.write()?;
        update_run_in(&tx, run_id, update)?;
        tx.commit()?;
        Ok(())
    }

    pub fn set_run_stage(&mut self, run_id: &str, stage: LifecycleStage) -> Result<()> {
        let tx = self.write()?;
        if run_stage(&tx, run_id)? == stage {
            return Err(Error::AlreadyInStage {
                kind: EntityKind::Run,
                id: run_id.to_owned(),
                stage,
            });
        }
        let deleted_time = (stage == LifecycleStage::Deleted).then(crate::entities::now_ms);
        tx.execute(
            "UPDATE runs SET lifecycle_stage = ?2, deleted_time = ?3 WHERE run_uuid = ?1",
            params![run_id, stage.as_str(), deleted_time],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Logs params and sets tags in one transaction. A param already logged
    /// with the same value is accepted; with another value, nothing of the
    /// call is written.
    pub fn log_params_and_tags(
        &mut self,
        run_id: &str,
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<()> {
        let tx = self.write()?;
        ensure_active(&tx, run_id)?;
        {
            let mut get =
                tx.prepare_cached("SELECT value FROM params WHERE run_uuid = ?1 AND key = ?2")?;
            let mut put =
                tx.prepare_cached("INSERT INTO params (run_uuid, key, value) VALUES (?1, ?2, ?3)")?;
            for (key, value) in params {
                let old: Option<String> = get
                    .query_row(params![run_id, key], |r| r.get(0))
                    .optional()?;
                match old {
                    Some(old) if &old == value => {}
                    Some(old) => {
                        return Err(Error::ParamChanged {
                            run_id: run_id.to_string(),
                            key: key.clone(),
                            old,
                            new: value.clone(),
                        })
                    }
                    None => {
                        put.execute(params![run_id, key, value])?;
                    }
                }
            }
        }
        for (key, value) in tags {
            put_tag(&tx, run_id, key, value)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn delete_tag(&mut self, run_id: &str, key: &str) -> Result<()> {
        let tx = self.write()?;
        ensure_active(&tx, run_id)?;
        let n = tx.execute(
            "DELETE FROM tags WHERE run_uuid = ?1 AND key = ?2",
            params![run_id, key],
        )?;
        if n == 0 {
            return Err(Error::not_found(
                EntityKind::RunTag,
                format!("{key} (run {run_id})"),
            ));
        }
        tx.commit()?;
        Ok(())
    }

    /// Permanently removes soft-deleted runs (all of them, or those listed)
    /// with their params, tags, inputs, metric index rows and the dataset
    /// links of their points. Returns the removed runs with their
    /// experiment ids, for the caller to remove artifacts, and those of them
    /// whose artifacts model versions use.
    ///
    /// Such runs are looked for in the same write transaction, so that no
    /// version registered meanwhile is missed: unless `force`, finding one
    /// is [`Error::RunsBackModelVersions`] and nothing is removed.
    pub fn purge_deleted_runs(
        &mut self,
        only: Option<&[String]>,
        roots: ArtifactRoots<'_>,
        force: bool,
    ) -> Result<Purged> {
        let tx = self.write()?;
        let mut doomed = Vec::new();
        {
            let mut stmt = tx.prepare(&format!(
                "{INFO_SELECT} WHERE r.lifecycle_stage = 'deleted' ORDER BY r.run_uuid"
            ))?;
            let rows = stmt.query_map([], |r| info_row(r, roots.default_root))?;
            for row in rows {
                let info = row?;
                if only.is_none_or(|ids| ids.contains(&info.run_id)) {
                    doomed.push(info);
                }
            }
        }
        if let Some(ids) = only {
            for id in ids {
                if !doomed.iter().any(|d| d.run_id == *id) {
                    return Err(match run_stage(&tx, id) {
                        Err(e) => e,
                        Ok(_) => Error::NotDeleted {
                            kind: EntityKind::Run,
                            id: id.clone(),
                        },
                    });
                }
            }
        }
        let locations: Vec<(String, String)> = doomed
            .iter()
            .map(|d| (d.run_id.clone(), d.artifact_uri.clone()))
            .collect();
        let backing = super::model_versions::versions_backed_by(&tx, &locations, roots.store)?;
        if !backing.is_empty() && !force {
            // Dropping the transaction rolls it back: nothing is removed.
            return Err(Error::RunsBackModelVersions { runs: backing });
        }
        for d in &doomed {
            // Their log pages are released by the next reclaim, at once:
            // nobody may read a removed run.
            remove_run_rows(&tx, &d.run_id)?;
        }
        tx.commit()?;
        Ok(Purged {
            runs: doomed
                .into_iter()
                .map(|d| (d.run_id, d.experiment_id))
                .collect(),
            backing,
        })
    }
}

/// Where runs keep their artifacts by default, for a purge to tell which
/// model versions use a run's files.
#[derive(Clone, Copy)]
pub struct ArtifactRoots<'a> {
    /// The store's folder (relative locations are taken from it).
    pub store: &'a std::path::Path,
    /// The store's `artifacts` folder, as the runs' default locations
    /// start.
    pub default_root: &'a str,
}

/// What [`Index::purge_deleted_runs`] removed.
pub struct Purged {
    /// Each run removed, with its experiment's id.
    pub runs: Vec<(String, String)>,
    /// Those of them whose artifacts model versions use (removed only by a
    /// forced purge).
    pub backing: Vec<crate::entities::BackingRun>,
}

/// Removes every row of one run: its metric series (their log pages are
/// released by the next reclaim) and their dataset links, params, tags,
/// dataset and model inputs, model outputs and the run itself. Used by gc
/// and by an import that starts a run over.
pub(super) fn remove_run_rows(tx: &Connection, run_id: &str) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO freed_pages (first_page, pages, freed_ms)
         SELECT first_page, pages, 0 FROM metric_blocks WHERE series_id IN
           (SELECT series_id FROM metric_series WHERE run_uuid = ?1)",
        [run_id],
    )?;
    tx.execute(
        "DELETE FROM metric_blocks WHERE series_id IN
           (SELECT series_id FROM metric_series WHERE run_uuid = ?1)",
        [run_id],
    )?;
    tx.execute(
        "DELETE FROM input_tags WHERE input_uuid IN (SELECT input_uuid FROM inputs WHERE run_uuid = ?1)",
        [run_id],
    )?;
    super::links::remove_run_links(tx, run_id)?;
    for table in [
        "metric_series",
        "params",
        "tags",
        "inputs",
        "run_model_inputs",
        "run_model_outputs",
        "runs",
    ] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE run_uuid = ?1"),
            [run_id],
        )?;
    }
    Ok(())
}
