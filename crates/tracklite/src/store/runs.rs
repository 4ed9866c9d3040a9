//! Run operations: lifecycle, params and tags.

use std::collections::HashMap;

use rusqlite::Connection;

use super::{forecast, lock, Store, ARTIFACTS_DIR};
use crate::artifacts::leftovers;
use crate::entities::{
    now_ms, BackingRun, DatasetInput, LifecycleStage, NewRun, Run, RunInfo, RunStatus, RunUpdate,
    ViewType,
};
use crate::error::{Error, Result, ValidationError};
use crate::index::runs::RUN_NAME_TAG;
use crate::index::runs::{ArtifactRoots, StoredRun};
use crate::{names, validate};

/// What [`Store::gc`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GcReport {
    /// Ids of the runs removed for good.
    pub removed_runs: Vec<String>,
    /// Ids of the experiments removed for good.
    pub removed_experiments: Vec<String>,
    /// Log pages whose disk space was released.
    pub pages_released: u64,
    /// Temporary files of artifact writes that never finished (a writer
    /// killed mid-write), removed from the store's `artifacts` folder. Only
    /// files that no writer holds locked and that are over an hour old are
    /// removed; a gc limited to some runs removes none.
    pub temp_files_removed: u64,
    /// Removed runs whose artifacts registered model versions used, each
    /// with those versions, which are left without their files: only a
    /// forced gc ([`GcOptions::force`]) removes such runs. Empty otherwise.
    pub forced: Vec<BackingRun>,
}

/// What [`Store::gc_with`] removes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcOptions<'a> {
    /// Only these deleted runs (each must be deleted). Default (None):
    /// every deleted run, the deleted experiments left without runs, and
    /// the stale temporary files of interrupted artifact writes.
    pub only: Option<&'a [String]>,
    /// Remove runs whose artifacts registered model versions use, too,
    /// leaving those versions without their files. Default: false, and
    /// such a run makes the whole gc fail with
    /// [`Error::RunsBackModelVersions`], removing nothing.
    pub force: bool,
}

/// Validates params, and refuses one key given two values.
impl Store {
    /// Creates a run in RUNNING status and returns its info.
    pub fn create_run(&self, new: NewRun) -> Result<RunInfo> {
        let experiment_id = validate::experiment_id(new.experiment_id.as_deref().unwrap_or("0"))?;
        let id = crate::ids::new_id();
        let run_id = id.uuid.simple().to_string();
        let tag_name = new
            .tags
            .iter()
            .rev()
            .find(|(k, _)| k == RUN_NAME_TAG)
            .map(|(_, v)| v.clone());
        let name = match (new.run_name.filter(|n| !n.is_empty()), tag_name) {
            (Some(name), Some(tag)) if name != tag => {
                return Err(Error::Validation(ValidationError::InvalidValue {
                    field: "run name",
                    value: name,
                    rule: format!(
                        "the {RUN_NAME_TAG} tag says {tag:?}; give one name, or the same name in both"
                    ),
                }))
            }
            (Some(name), _) | (None, Some(name)) => name,
            (None, None) => names::run_name(id.random),
        };
        validate::run_name(&name)?;
        for (k, v) in &new.tags {
            validate::tag(k, v)?;
        }
        validate::params(&new.params)?;
        if let Some(parent) = &new.parent_run_id {
            validate::run_id(parent)?;
        }
        let user = new.user_id.unwrap_or_else(|| {
            std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "unknown".into())
        });
        // The series this process expects the run to log, made in the
        // creating commit (forecast.rs).
        let ahead = self.inner.keys_ahead(experiment_id);
        let log = match ahead {
            Some(_) => Some(self.inner.log()?),
            None => None,
        };
        let make = ahead
            .as_deref()
            .zip(log.as_deref())
            .map(|(keys, log)| |conn: &Connection| forecast::make(log, conn, &run_id, keys));
        let (info, made) = self.inner.index()?.create_run(
            &StoredRun {
                run_id: &run_id,
                experiment_id,
                name: &name,
                user_id: &user,
                status: RunStatus::Running,
                start_time: new.start_time.unwrap_or_else(now_ms),
                end_time: None,
                artifact_uri: None,
                parent_run_id: new.parent_run_id.as_deref(),
            },
            &new.tags,
            &new.params,
            &self.inner.artifact_root,
            make,
        )?;
        if let (Some(keys), Some(made)) = (ahead, made) {
            self.inner.keep_made(&run_id, keys, made);
        }
        Ok(info)
    }

    /// A run's info, without params, tags and metrics.
    pub fn get_run_info(&self, run_id: &str) -> Result<RunInfo> {
        validate::run_id(run_id)?;
        self.inner
            .index()?
            .run_info(run_id, &self.inner.artifact_root)
    }

    /// A run with its params, tags and the latest value of each metric.
    pub fn get_run(&self, run_id: &str) -> Result<Run> {
        validate::run_id(run_id)?;
        self.refresh_summaries(Some(run_id))?;
        let index = self.inner.index()?;
        Ok(Run {
            info: index.run_info(run_id, &self.inner.artifact_root)?,
            params: index.params(run_id)?,
            tags: index.tags(run_id)?,
            metrics: index.metric_summaries(run_id)?,
            inputs: index.inputs(run_id)?,
        })
    }

    /// Runs of the given experiments (all experiments when empty), newest first.
    pub fn list_runs(&self, experiment_ids: &[&str], view: ViewType) -> Result<Vec<RunInfo>> {
        let mut ids = experiment_ids
            .iter()
            .map(|id| validate::experiment_id(id))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            ids = self
                .list_experiments(ViewType::All)?
                .iter()
                .filter_map(|e| e.experiment_id.parse().ok())
                .collect();
        }
        self.inner
            .index()?
            .list_runs(&ids, view, &self.inner.artifact_root)
    }

    /// The number of runs in each experiment, counting the runs `view`
    /// shows; experiments without such runs are absent. At a million runs
    /// this reads an index, where [`Store::list_runs`] loads every run.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{NewRun, Store, ViewType};
    /// let store = Store::open(dir.path())?;
    /// store.create_run(NewRun::default())?;
    /// assert_eq!(store.count_runs(ViewType::ActiveOnly)?.get("0"), Some(&1));
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn count_runs(&self, view: ViewType) -> Result<HashMap<String, u64>> {
        let counts = self.inner.index()?.count_runs(view)?;
        Ok(counts
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect())
    }

    /// Changes a run's status, end time or name. A terminal status (FINISHED,
    /// FAILED, KILLED) first closes the store's writer of the run and folds
    /// the run's summaries; with [`Durability::PowerLoss`](crate::Durability::PowerLoss)
    /// it also syncs the run's metrics and its end to stable storage.
    pub fn update_run(&self, run_id: &str, update: RunUpdate) -> Result<RunInfo> {
        validate::run_id(run_id)?;
        if let Some(name) = &update.run_name {
            validate::run_name(name)?;
        }
        if update.status.is_some_and(RunStatus::is_terminal) {
            return self.end_run_sealing(run_id, &update, None);
        }
        self.inner.index()?.update_run(run_id, &update)?;
        self.get_run_info(run_id)
    }

    /// Ends a run: sets its status and end time (now), and flushes its metrics.
    pub fn end_run(&self, run_id: &str, status: RunStatus) -> Result<RunInfo> {
        self.update_run(
            run_id,
            RunUpdate {
                status: Some(status),
                end_time: Some(now_ms()),
                run_name: None,
            },
        )
    }

    /// Soft-deletes a run: it can be restored until [`Store::gc`] removes it.
    pub fn delete_run(&self, run_id: &str) -> Result<()> {
        validate::run_id(run_id)?;
        self.close_cached_writer(run_id)?;
        self.inner
            .index()?
            .set_run_stage(run_id, LifecycleStage::Deleted)
    }

    /// Restores a soft-deleted run.
    pub fn restore_run(&self, run_id: &str) -> Result<()> {
        validate::run_id(run_id)?;
        self.inner
            .index()?
            .set_run_stage(run_id, LifecycleStage::Active)
    }

    /// Logs a param. Params are immutable: the same value again is accepted,
    /// another value is an error.
    pub fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_params_and_tags(run_id, &[(key.into(), value.into())], &[])
    }

    /// Sets (or replaces) a run tag.
    pub fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_params_and_tags(run_id, &[], &[(key.into(), value.into())])
    }

    /// Logs params and sets tags in one transaction: all or nothing.
    pub fn log_params_and_tags(
        &self,
        run_id: &str,
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<()> {
        validate::run_id(run_id)?;
        validate::params(params)?;
        for (k, v) in tags {
            validate::tag(k, v)?;
        }
        self.inner
            .index()?
            .log_params_and_tags(run_id, params, tags)
    }

    /// Records datasets as inputs of an active run: name, digest, source
    /// and the input's tags (its context). Logging the same dataset again
    /// is a no-op.
    pub fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<()> {
        validate::run_id(run_id)?;
        for input in inputs {
            validate::dataset(&input.dataset)?;
            for (k, v) in &input.tags {
                validate::input_tag(k, v)?;
            }
        }
        self.inner.index()?.log_inputs(run_id, inputs)
    }

    /// Deletes a run tag; NotFound when it is not set.
    pub fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        validate::run_id(run_id)?;
        self.inner.index()?.delete_tag(run_id, key)
    }

    /// Permanently removes soft-deleted runs (all, or those listed): their
    /// index rows, their metric series and their artifacts in the store,
    /// and releases the disk space of their log pages. Without a list,
    /// soft-deleted experiments left without runs are removed too, and so
    /// are the temporary files that interrupted artifact writes left in the
    /// store's `artifacts` folder: those that no writer holds locked and
    /// that were last modified over an hour ago (a live writer's are kept).
    ///
    /// A deleted run whose artifacts a registered model version uses (see
    /// [`Store::model_versions_of_run`]) is not removed: the gc fails with
    /// [`Error::RunsBackModelVersions`], naming every such run and version,
    /// and removes nothing at all, not even the other runs. Delete the
    /// versions or restore the runs, list the other runs, or force it
    /// with [`Store::gc_with`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{Error, GcOptions, NewModelVersion, NewRun, Store};
    /// let store = Store::open(dir.path())?;
    /// let run = store.create_run(NewRun::default())?;
    /// store.create_registered_model("iris", &[], None)?;
    /// store.create_model_version(NewModelVersion {
    ///     name: "iris".into(),
    ///     source: format!("runs:/{}/model", run.run_id),
    ///     ..NewModelVersion::default()
    /// })?;
    /// store.delete_run(&run.run_id)?;
    /// assert!(matches!(store.gc(None), Err(Error::RunsBackModelVersions { .. })));
    /// let forced = GcOptions { force: true, ..GcOptions::default() };
    /// let report = store.gc_with(forced, &mut |_| {})?;
    /// assert_eq!(report.removed_runs, [run.run_id]);
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn gc(&self, only: Option<&[String]>) -> Result<GcReport> {
        self.gc_with(GcOptions { only, force: false }, &mut |_| {})
    }

    /// [`Store::gc`], reporting progress as artifact folders are removed.
    pub fn gc_with_progress(
        &self,
        only: Option<&[String]>,
        progress: &mut dyn FnMut(super::Progress),
    ) -> Result<GcReport> {
        self.gc_with(GcOptions { only, force: false }, progress)
    }

    /// [`Store::gc`] with options: some runs only, or forced past the
    /// runs that model versions use; progress is reported as artifact
    /// folders are removed.
    pub fn gc_with(
        &self,
        options: GcOptions<'_>,
        progress: &mut dyn FnMut(super::Progress),
    ) -> Result<GcReport> {
        let GcOptions { only, force } = options;
        let roots = ArtifactRoots {
            store: self.path(),
            default_root: &self.inner.artifact_root,
        };
        let purged = self.inner.index()?.purge_deleted_runs(only, roots, force)?;
        let experiments = match only {
            Some(_) => Vec::new(),
            None => self.inner.index()?.purge_deleted_experiments()?,
        };
        let artifacts = self.path().join(ARTIFACTS_DIR);
        let dirs: Vec<_> = purged
            .runs
            .iter()
            .map(|(run_id, experiment_id)| artifacts.join(experiment_id).join(run_id))
            .chain(experiments.iter().map(|id| artifacts.join(id.to_string())))
            .collect();
        let total = dirs.len() as u64;
        for (i, dir) in dirs.iter().enumerate() {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            progress(super::Progress {
                done: i as u64 + 1,
                total,
            });
        }
        let temp_files_removed = match only {
            Some(_) => 0,
            None => leftovers::remove_stale(&artifacts, leftovers::TEMP_FILE_GRACE),
        };
        Ok(GcReport {
            removed_runs: purged.runs.into_iter().map(|(id, _)| id).collect(),
            removed_experiments: experiments.iter().map(|id| id.to_string()).collect(),
            pages_released: self.reclaim(super::RECLAIM_GRACE)?,
            temp_files_removed,
            forced: purged.backing,
        })
    }

    /// Closes the store's writers of runs that are no longer active, so
    /// that logging to them checks the run's state again.
    pub(crate) fn close_inactive_cached_writers(&self) -> Result<()> {
        let mut writers = lock(&self.inner.writers);
        let mut inactive = Vec::new();
        {
            let index = self.inner.index()?;
            for run_id in writers.keys() {
                if crate::index::runs::ensure_active(index.conn(), run_id).is_err() {
                    inactive.push(run_id.clone());
                }
            }
        }
        for run_id in inactive {
            if let Some(mut w) = writers.remove(&run_id) {
                w.close(&self.inner)?;
            }
        }
        Ok(())
    }

    fn close_cached_writer(&self, run_id: &str) -> Result<()> {
        let writer = lock(&self.inner.writers).remove(run_id);
        match writer {
            Some(mut w) => w.close(&self.inner),
            None => Ok(()),
        }
    }
}
