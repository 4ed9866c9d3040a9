//! Importing experiments and runs recorded elsewhere (such as an MLflow
//! `mlruns` folder) with the ids, names, times, statuses and lifecycle
//! stages they already have. `Store::import_mlruns` (feature
//! `mlruns-import`) is built on these.
//!
//! A run is imported all or nothing: its row is written first, marked as
//! pending, then its metric points, then its params, tags, inputs, the
//! datasets its points name and its final lifecycle stage in one
//! transaction that also removes the mark. An import cut short leaves the
//! mark; the next import of the run removes what was written and starts
//! the run again. Until then the run is visible, active.

use crate::entities::{ExperimentRecord, LoggedModelRecord, MetricDatasetLink, RunRecord};
use crate::error::{Error, Result};
use crate::index::experiments::{PutOutcome, StoredExperiment};
use crate::index::logged_models::StoredModelRow;
use crate::index::pending::{RunBegin, RunRest};
use crate::index::runs::{StoredRun, PARENT_RUN_TAG};
use crate::store::{MetricWriter, Store, ARTIFACTS_DIR};
use crate::validate;

/// What [`Store::import_experiment`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentImport {
    /// The experiment was new to the store.
    Created,
    /// The store had an experiment of that id and name with no runs and no
    /// tags, such as the Default experiment every store starts with: it
    /// now has the imported times, location, stage and tags.
    Replaced,
    /// The store had the experiment, with runs or tags: it is left as it is.
    Present,
}

/// The datasets that metric points of a run being imported were computed
/// on, by metric key: what [`Store::import_run`]'s `fill` names beside the
/// points it writes (MLflow file stores name them on metric lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricDatasetLinks {
    by_key: Vec<(String, Vec<MetricDatasetLink>)>,
}

impl MetricDatasetLinks {
    /// Names the dataset of the `ordinal`-th point (0-based, in the order
    /// written) of metric `key`.
    pub fn push(
        &mut self,
        key: &str,
        ordinal: u64,
        dataset_name: impl Into<String>,
        dataset_digest: impl Into<String>,
    ) {
        let link = MetricDatasetLink {
            ordinal,
            dataset_name: dataset_name.into(),
            dataset_digest: dataset_digest.into(),
        };
        // The key of the last push first: a fill names a metric's points together.
        match self.by_key.iter_mut().rev().find(|(k, _)| k == key) {
            Some((_, links)) => links.push(link),
            None => self.by_key.push((key.to_string(), vec![link])),
        }
    }

    /// The number of links.
    pub fn len(&self) -> usize {
        self.by_key.iter().map(|(_, links)| links.len()).sum()
    }

    /// True when no point is linked to a dataset.
    pub fn is_empty(&self) -> bool {
        self.by_key.iter().all(|(_, links)| links.is_empty())
    }

    /// Sorts each metric's links by ordinal; a metric key that breaks the
    /// rules, or a point named twice, is a validation error.
    fn checked(mut self) -> Result<Vec<(String, Vec<MetricDatasetLink>)>> {
        for (key, links) in &mut self.by_key {
            validate::key("metric", key)?;
            links.sort_by_key(|l| l.ordinal);
            if let Some(w) = links.windows(2).find(|w| w[0].ordinal == w[1].ordinal) {
                return Err(validate::invalid(
                    "metric dataset link",
                    &format!("{key} point {}", w[0].ordinal),
                    "a point's dataset may be named once",
                )
                .into());
            }
        }
        Ok(self.by_key)
    }
}

/// What [`Store::import_run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunImport {
    /// The run was imported.
    Imported,
    /// An earlier import of the run had been cut short; it was removed and
    /// the run imported again.
    Restarted,
    /// The store already had the run: nothing was written.
    Present,
    /// Another process is importing this run right now: nothing was written.
    Busy {
        /// The process id of the importing process.
        pid: u32,
    },
}

impl Store {
    /// Writes an experiment with its own id, name, times, stage and tags.
    ///
    /// An experiment of the same id and name already in the store is kept:
    /// see [`ExperimentImport`]. The id or the name held by another
    /// experiment is a [`Error::Conflict`] error, and nothing is written.
    pub fn import_experiment(&self, e: &ExperimentRecord) -> Result<ExperimentImport> {
        let id = validate::experiment_id(&e.experiment_id)?;
        if id.to_string() != e.experiment_id {
            return Err(validate::invalid(
                "experiment id",
                &e.experiment_id,
                "must have no leading zeros, so that it can be kept as it is",
            )
            .into());
        }
        validate::experiment_name(&e.name)?;
        for (k, v) in &e.tags {
            validate::experiment_tag(k, v)?;
        }
        let outcome = self.inner.index()?.put_experiment_record(
            &StoredExperiment {
                experiment_id: id,
                name: &e.name,
                artifact_location: e.artifact_location.as_deref(),
                lifecycle_stage: e.lifecycle_stage,
                creation_time: e.creation_time,
                last_update_time: e.last_update_time,
            },
            &e.tags,
        )?;
        Ok(match outcome {
            PutOutcome::Created => ExperimentImport::Created,
            PutOutcome::Replaced => ExperimentImport::Replaced,
            PutOutcome::Present => ExperimentImport::Present,
        })
    }

    /// Imports a run with its own id, times, status and stage, into an
    /// experiment already in the store (in any lifecycle stage). `fill`
    /// writes the run's metric points with the writer it is given, and
    /// names the datasets of those computed on one in the links it is
    /// given (read back with [`Store::metric_dataset_links`]); it may also
    /// log the run's artifacts, as the run is active meanwhile. A link must
    /// name a point that `fill` wrote.
    ///
    /// All or nothing: when `fill` or a later step fails, what was written
    /// is removed (or, if even that fails, the next import removes it). A
    /// run the store already has is left as it is.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{LifecycleStage, RunImport, RunRecord, RunStatus, Store};
    /// let store = Store::open(dir.path().join("runs"))?;
    /// let run = RunRecord {
    ///     run_id: "0123456789abcdef0123456789abcdef".into(),
    ///     experiment_id: "0".into(),
    ///     run_name: "imported".into(),
    ///     user_id: "ada".into(),
    ///     status: RunStatus::Finished,
    ///     start_time: 1_700_000_000_000,
    ///     end_time: Some(1_700_000_060_000),
    ///     lifecycle_stage: LifecycleStage::Active,
    ///     deleted_time: None,
    ///     artifact_uri: None,
    ///     params: vec![("lr".into(), "0.1".into())],
    ///     tags: vec![],
    ///     inputs: vec![],
    ///     model_inputs: vec![],
    ///     model_outputs: vec![],
    /// };
    /// let done = store.import_run(&run, |w, links| {
    ///     w.log("loss", 0.5, 1_700_000_000_001, 0)?;
    ///     w.log("acc", 0.9, 1_700_000_000_002, 3)?;
    ///     links.push("acc", 0, "eval", "244437a9");
    ///     Ok(())
    /// })?;
    /// assert_eq!(done, RunImport::Imported);
    /// assert_eq!(store.import_run(&run, |_, _| Ok(()))?, RunImport::Present);
    /// assert_eq!(store.get_run(&run.run_id)?.metrics["loss"].value, 0.5);
    /// assert_eq!(store.metric_dataset_links(&run.run_id, "acc")?[0].dataset_name, "eval");
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn import_run(
        &self,
        run: &RunRecord,
        fill: impl FnOnce(&mut MetricWriter, &mut MetricDatasetLinks) -> Result<()>,
    ) -> Result<RunImport> {
        validate::run_id(&run.run_id)?;
        let experiment_id = validate::experiment_id(&run.experiment_id)?;
        validate::run_name(&run.run_name)?;
        validate::params(&run.params)?;
        for (i, (k, v)) in run.params.iter().enumerate() {
            if let Some((_, other)) = run.params[..i].iter().find(|(k2, _)| k2 == k) {
                return Err(validate::duplicate_param(k, other, v).into());
            }
        }
        for (k, v) in &run.tags {
            validate::tag(k, v)?;
        }
        for input in &run.inputs {
            validate::dataset(&input.dataset)?;
            for (k, v) in &input.tags {
                validate::input_tag(k, v)?;
            }
        }
        for model_id in run
            .model_inputs
            .iter()
            .chain(run.model_outputs.iter().map(|o| &o.model_id))
        {
            validate::logged_model_id(model_id)?;
        }
        let parent = run
            .tags
            .iter()
            .find(|(k, _)| k == PARENT_RUN_TAG)
            .map(|(_, v)| v.as_str())
            .filter(|p| validate::run_id(p).is_ok());
        let begin = self.inner.index()?.begin_run_record(&StoredRun {
            run_id: &run.run_id,
            experiment_id,
            name: &run.run_name,
            user_id: &run.user_id,
            status: run.status,
            start_time: run.start_time,
            end_time: run.end_time,
            artifact_uri: run.artifact_uri.as_deref(),
            parent_run_id: parent,
        })?;
        let outcome = match begin {
            RunBegin::Present => return Ok(RunImport::Present),
            RunBegin::Busy { pid } => return Ok(RunImport::Busy { pid }),
            RunBegin::Started => RunImport::Imported,
            RunBegin::Restarted => {
                // Files the cut-short import had copied go too.
                self.remove_store_artifacts(experiment_id, &run.run_id)?;
                RunImport::Restarted
            }
        };
        let written = self.metric_writer(&run.run_id).and_then(|mut writer| {
            let mut links = MetricDatasetLinks::default();
            let filled = fill(&mut writer, &mut links);
            // Sealed and synced even when `fill` failed: the blocks it used
            // are removed with the run below, never left open.
            let closed = writer.close();
            filled.and(closed).and_then(|()| links.checked())
        });
        let finished = written.and_then(|metric_links| {
            self.inner.index()?.finish_run_record(&RunRest {
                run_id: &run.run_id,
                lifecycle_stage: run.lifecycle_stage,
                deleted_time: run.deleted_time,
                params: &run.params,
                tags: &run.tags,
                inputs: &run.inputs,
                model_inputs: &run.model_inputs,
                model_outputs: &run.model_outputs,
                metric_links: &metric_links,
            })
        });
        match finished {
            Ok(()) => Ok(outcome),
            Err(e) => {
                // Best effort: when this fails too, the mark stays and the
                // next import removes the run.
                let abandoned = self
                    .inner
                    .index()
                    .and_then(|mut index| index.abandon_run_record(&run.run_id));
                if abandoned.is_ok() {
                    let _ = self.remove_store_artifacts(experiment_id, &run.run_id);
                }
                Err(e)
            }
        }
    }

    /// Imports a logged model with its own id, times, status and stage, its
    /// tags, params and metric points, all in one transaction, into an
    /// experiment already in the store. True when it was imported; false
    /// when the store already had a model of that id, left as it is.
    pub fn import_logged_model(&self, m: &LoggedModelRecord) -> Result<bool> {
        validate::logged_model_id(&m.model_id)?;
        let experiment_id = validate::experiment_id(&m.experiment_id)?;
        validate::length(
            "logged model name",
            &m.name,
            &m.name,
            validate::MAX_LOGGED_MODEL_NAME_LENGTH,
        )?;
        if let Some(run_id) = &m.source_run_id {
            validate::run_id(run_id)?;
        }
        for (k, v) in &m.tags {
            validate::tag(k, v)?;
        }
        validate::params(&m.params)?;
        for p in &m.metrics {
            if p.model_id != m.model_id {
                return Err(validate::invalid(
                    "logged model metric",
                    &p.key,
                    format!("names model {}, not {}", p.model_id, m.model_id),
                )
                .into());
            }
            validate::logged_model_metric(p)?;
        }
        self.inner.index()?.put_logged_model_record(
            &StoredModelRow {
                model_id: &m.model_id,
                experiment_id,
                name: &m.name,
                artifact_location: m.artifact_location.as_deref(),
                creation_time: m.creation_timestamp,
                last_updated_time: m.last_updated_timestamp,
                source_run_id: m.source_run_id.as_deref(),
                status: m.status,
                model_type: m.model_type.as_deref(),
                lifecycle_stage: m.lifecycle_stage,
            },
            &m.tags,
            &m.params,
            &m.metrics,
        )
    }

    /// Removes a run's folder under the store's own `artifacts` folder,
    /// where an import copies artifacts; a location outside the store is
    /// never touched.
    fn remove_store_artifacts(&self, experiment_id: i64, run_id: &str) -> Result<()> {
        let dir = self
            .path()
            .join(ARTIFACTS_DIR)
            .join(experiment_id.to_string())
            .join(run_id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&dir, e)),
        }
    }

    /// Ids of runs whose import was cut short and not resumed yet: they are
    /// in the store, incomplete, until the next import of their source.
    pub fn pending_imports(&self) -> Result<Vec<String>> {
        self.inner.index()?.pending_runs()
    }
}
