//! Importing an MLflow file store (an `mlruns` folder) into a store,
//! losslessly. What is kept, and how, is told on [`Store::import_mlruns`],
//! the public way in.

mod artifacts;
mod location;
mod mlruns;
mod registry;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::entities::{DatasetInput, LifecycleStage, ModelMetric};
use crate::entities::{ExperimentRecord, LoggedModelRecord, RunRecord};
use crate::error::{Error, Result};
use crate::index::runs::RUN_NAME_TAG;
use crate::store::{MetricWriter, SeriesHandle, Store, INDEX_FILE};
use crate::validate;

use super::{ExperimentImport, MetricDatasetLinks, RunImport};
use mlruns::ExperimentDir;

/// At most this many bad lines of one metric file are listed one by one.
const BAD_LINES_LISTED: usize = 5;

/// Something of the source that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    /// The file or folder, inside the source.
    pub path: String,
    /// Why it was left out.
    pub message: String,
}

/// What [`Store::import_mlruns`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The imported folder, absolute.
    pub source: String,
    /// Experiments new to the store.
    pub experiments_created: u64,
    /// Experiments that replaced an empty one of the same id and name (such
    /// as the store's own Default experiment).
    pub experiments_replaced: u64,
    /// Experiments the store already had: left as they are.
    pub experiments_present: u64,
    /// Runs imported, including those restarted.
    pub runs_imported: u64,
    /// Runs whose earlier import had been cut short, imported again.
    pub runs_restarted: u64,
    /// Runs the store already had: left as they are.
    pub runs_present: u64,
    /// Runs left out: damaged, refused, or being imported by another process.
    pub runs_skipped: u64,
    /// Metric points of the imported runs.
    pub metric_points: u64,
    /// Metric points whose line named the dataset they were computed on.
    pub metric_dataset_links: u64,
    /// Params of the imported runs.
    pub params: u64,
    /// Tags of the imported runs.
    pub tags: u64,
    /// Dataset inputs of the imported runs.
    pub dataset_inputs: u64,
    /// Logged models imported, with their tags, params, metrics and artifacts.
    pub logged_models: u64,
    /// Logged models the store already had: left as they are.
    pub logged_models_present: u64,
    /// Registered models imported, with their versions, tags and aliases.
    pub registered_models: u64,
    /// Registered models whose name the store already has: left as they are.
    pub registered_models_present: u64,
    /// Registered models left out, damaged or refused.
    pub registered_models_skipped: u64,
    /// Model versions of the imported registered models (deleted versions
    /// are not imported).
    pub model_versions: u64,
    /// Artifact files copied, of runs and of logged models.
    pub artifact_files: u64,
    /// Bytes of the artifact files copied.
    pub artifact_bytes: u64,
    /// What was left out because it is damaged or breaks the store's rules.
    pub problems: Vec<ImportProblem>,
    /// What the folder holds that this import does not bring over.
    pub not_imported: Vec<String>,
}

impl ImportReport {
    /// True when nothing was left out for being damaged or refused.
    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Where an import is: `done` of `total` runs handled, the last being `run_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProgress {
    /// Runs handled so far, this one included.
    pub done: u64,
    /// Runs the source holds.
    pub total: u64,
    /// The id of the run just handled.
    pub run_id: String,
}

impl Store {
    /// Imports the MLflow file store at `source` (an `mlruns` folder) into
    /// this store, and reports what it did; `progress` is told after each
    /// run.
    ///
    /// The import is lossless: experiments keep their ids, names, locations,
    /// stages, times and tags; runs their ids, names, users, statuses, times,
    /// stages, params, tags, inputs, every metric point as written with the
    /// dataset its line names (read with [`Store::metric_dataset_links`]),
    /// and their artifacts, copied into the store; logged models their ids,
    /// times, statuses, tags, params, metric points and artifacts, and the
    /// runs' model inputs and outputs; the model registry (`models/`) its
    /// registered models with their times, descriptions, tags and aliases,
    /// and their versions with every field (times, description, user,
    /// stage, source, storage location, run id and link, logged model id,
    /// status and message, tags). Deleted versions are not imported, but
    /// their numbers are never given again, as in MLflow. Not kept: a logged
    /// model's status message, traces, and a registry's deployment jobs and
    /// workspaces; the report names what a folder had of these.
    ///
    /// The source is only read. A damaged file (a broken meta.yaml, a metric
    /// line cut short) is reported and left out, and the rest imported. Each
    /// run is imported all or nothing ([`Store::import_run`]); importing the
    /// same folder again skips the runs the store has and completes those an
    /// interrupted import left unfinished.
    ///
    /// Artifact locations: a location inside the imported folder (MLflow's
    /// default, `file:///.../mlruns/<experiment_id>`, even when the folder has
    /// moved since) becomes the store's own, and the files are copied there; any
    /// other location (`s3://...`, a folder elsewhere) is kept as it is, and
    /// its files stay where they are. So does a model version's storage
    /// location (where its files are downloaded from) when it lies in a
    /// run's or logged model's artifacts that were copied; its source is
    /// kept as it was given.
    ///
    /// Registered models are imported each whole or not at all; a model
    /// whose name the store already has is left as it is.
    ///
    /// An error is returned only when the import cannot go on: the source
    /// is not an `mlruns` folder, or the store fails. Anything damaged in
    /// the source is listed in [`ImportReport::problems`] instead.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mlruns = dir.path().join("mlruns");
    /// # std::fs::create_dir_all(mlruns.join("0")).unwrap();
    /// # std::fs::write(mlruns.join("0/meta.yaml"), "experiment_id: '0'\nname: Default\n").unwrap();
    /// let store = tracklite::Store::open(dir.path().join("store"))?;
    /// let report = store.import_mlruns(&mlruns, &mut |p| eprintln!("{}/{}", p.done, p.total))?;
    /// assert!(report.is_complete());
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn import_mlruns(
        &self,
        source: impl AsRef<Path>,
        progress: &mut dyn FnMut(&ImportProgress),
    ) -> Result<ImportReport> {
        let source = source.as_ref();
        let root = check_source(source, self.path())?;
        let mut importer = Importer {
            store: self,
            report: ImportReport {
                source: root.display().to_string(),
                ..ImportReport::default()
            },
            pending: self.pending_imports()?.into_iter().collect(),
            tally: Tally::default(),
            registry_tally: registry::RegistryTally::default(),
            root,
        };
        importer.run(progress)?;
        Ok(importer.report)
    }
}

/// Checks, before a store is opened (and so perhaps created) at
/// `store_dir`, that `source` can be imported into it: an MLflow file store
/// (`mlruns` folder) that the store would not be inside of, since an import
/// never writes into its source. Returns the source, absolute.
pub fn check_mlruns_source(source: &Path, store_dir: &Path) -> Result<PathBuf> {
    check_source(source, &real_path(store_dir)?)
}

/// `path` made absolute, with every link in its existing part resolved:
/// where a folder that may not exist yet would be.
fn real_path(path: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(real) => return Ok(rest.iter().rev().fold(real, |p, name| p.join(name))),
            Err(_) => match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    existing = parent;
                }
                _ => return Ok(absolute),
            },
        }
    }
}

/// The source folder, absolute, once it is known to be an `mlruns` folder
/// that the store is not inside of.
fn check_source(source: &Path, store: &Path) -> Result<PathBuf> {
    let root = source.canonicalize().map_err(|e| Error::io(source, e))?;
    let refuse = |why: String| {
        Err(Error::ImportSource {
            path: root.clone(),
            reason: why,
        })
    };
    if !root.is_dir() {
        return refuse("it is not a folder".into());
    }
    if root.join(INDEX_FILE).exists() {
        return refuse("it is a tracklite store, not an MLflow file store (mlruns)".into());
    }
    if store.starts_with(&root) {
        return refuse(format!(
            "the store {} is inside the folder being imported: the import never writes into its \
             source; put the store elsewhere",
            store.display()
        ));
    }
    let experiments = mlruns::experiment_dirs(&root).map_err(|e| Error::io(&root, e))?;
    let has_registry = registry::model_dirs(&root).is_ok_and(|models| {
        models
            .iter()
            .any(|(_, d)| d.join(mlruns::META_FILE).is_file())
    });
    if !has_registry
        && !experiments
            .iter()
            .any(|e| e.path.join(mlruns::META_FILE).is_file())
    {
        return refuse(
            "it is not an MLflow file store: it has no experiment folder (<id>/meta.yaml) and no \
             model registry (models/<name>/meta.yaml)"
                .into(),
        );
    }
    Ok(root)
}

/// Counts the import keeps of what it does not bring over.
#[derive(Default)]
struct Tally {
    status_messages: u64,
    unspecified_status: u64,
    traces: u64,
}

struct Importer<'a> {
    store: &'a Store,
    root: PathBuf,
    report: ImportReport,
    /// Runs whose import was cut short earlier.
    pending: HashSet<String>,
    tally: Tally,
    registry_tally: registry::RegistryTally,
}

/// An experiment ready for its runs.
struct Imported {
    dir: ExperimentDir,
    /// The experiment keeps its artifacts in the store's own folder.
    default_location: bool,
    runs: Vec<(String, PathBuf)>,
}

impl Importer<'_> {
    fn problem(&mut self, path: &Path, message: impl Into<String>) {
        self.report.problems.push(ImportProblem {
            path: path.display().to_string(),
            message: message.into(),
        });
    }

    fn run(&mut self, progress: &mut dyn FnMut(&ImportProgress)) -> Result<()> {
        let dirs = mlruns::experiment_dirs(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let mut seen = HashSet::new();
        let mut experiments = Vec::new();
        for dir in dirs {
            if !seen.insert(dir.id.clone()) {
                self.problem(
                    &dir.path,
                    format!(
                        "experiment {} is both live and in .trash; the live one is imported",
                        dir.id
                    ),
                );
                continue;
            }
            if let Some(e) = self.experiment(dir)? {
                experiments.push(e);
            }
        }
        let total = experiments.iter().map(|e| e.runs.len() as u64).sum();
        let mut done = 0;
        for e in &experiments {
            for (name, path) in &e.runs {
                self.one_run(e, name, path)?;
                done += 1;
                progress(&ImportProgress {
                    done,
                    total,
                    run_id: name.clone(),
                });
            }
        }
        // After the runs and logged models: a version's files may be theirs.
        self.registry()?;
        self.notes();
        Ok(())
    }

    /// Imports one experiment (not its runs); None when it is left out.
    fn experiment(&mut self, dir: ExperimentDir) -> Result<Option<Imported>> {
        let runs = match mlruns::run_dirs(&dir.path) {
            Ok(runs) => runs,
            Err(e) => {
                self.problem(&dir.path, format!("cannot be listed: {e}; left out"));
                return Ok(None);
            }
        };
        let left_out = |n: usize| match n {
            0 => String::new(),
            1 => " with its run".to_string(),
            n => format!(" with its {n} runs"),
        };
        let meta = match mlruns::experiment_meta(&dir.path) {
            Ok(m) => m,
            Err(e) => {
                self.report.runs_skipped += runs.len() as u64;
                let message = format!("{e}; experiment left out{}", left_out(runs.len()));
                self.problem(&dir.path.join(mlruns::META_FILE), message);
                return Ok(None);
            }
        };
        if meta.experiment_id != dir.id {
            self.report.runs_skipped += runs.len() as u64;
            let message = format!(
                "meta.yaml names experiment {:?}, but the folder is {:?}; left out{}",
                meta.experiment_id,
                dir.id,
                left_out(runs.len())
            );
            self.problem(&dir.path.join(mlruns::META_FILE), message);
            return Ok(None);
        }
        let tags = self.key_values(&mlruns::tags_dir(&dir.path), "experiment tag", |k, v| {
            validate::experiment_tag(k, v)
        });
        let creation_time = meta
            .creation_time
            .unwrap_or_else(|| modified_ms(&dir.path.join(mlruns::META_FILE)));
        let location = meta
            .artifact_location
            .filter(|l| !location::is_source_own(l, &dir.path, &[&dir.id]));
        let record = ExperimentRecord {
            experiment_id: meta.experiment_id,
            name: meta.name,
            artifact_location: location,
            lifecycle_stage: if dir.in_trash {
                LifecycleStage::Deleted
            } else {
                meta.lifecycle_stage
            },
            creation_time,
            last_update_time: meta.last_update_time.unwrap_or(creation_time),
            tags,
        };
        match self.store.import_experiment(&record) {
            Ok(ExperimentImport::Created) => self.report.experiments_created += 1,
            Ok(ExperimentImport::Replaced) => self.report.experiments_replaced += 1,
            Ok(ExperimentImport::Present) => self.report.experiments_present += 1,
            Err(e) if is_fatal(&e, &self.root) => return Err(e),
            Err(e) => {
                self.report.runs_skipped += runs.len() as u64;
                let message = format!("experiment {:?}: {e}{}", record.name, left_out(runs.len()));
                self.problem(&dir.path, message);
                return Ok(None);
            }
        }
        self.tally.traces += mlruns::count_entries(&dir.path.join(mlruns::TRACES)) as u64;
        let stored = self.store.get_experiment(&record.experiment_id)?;
        let default_location = stored.artifact_location
            == format!("{}/{}", self.store.artifact_root(), record.experiment_id);
        self.models(&dir, default_location)?;
        let mut kept = Vec::with_capacity(runs.len());
        for (name, path) in runs {
            if path.join(mlruns::META_FILE).exists() {
                kept.push((name, path));
            } else if mlruns::looks_like_run(&path) {
                self.report.runs_skipped += 1;
                self.problem(&path, "a run folder without meta.yaml; left out");
            }
        }
        Ok(Some(Imported {
            dir,
            default_location,
            runs: kept,
        }))
    }

    /// Reads the files under `dir` as keys and values (params, tags),
    /// leaving out and reporting those that cannot be read or break `rule`.
    fn key_values(
        &mut self,
        dir: &Path,
        what: &str,
        rule: impl Fn(&str, &str) -> std::result::Result<(), crate::error::ValidationError>,
    ) -> Vec<(String, String)> {
        let (files, bad_names) = match mlruns::key_files(dir) {
            Ok(found) => found,
            Err(e) => {
                self.problem(
                    dir,
                    format!("cannot be listed: {e}; every {what} in it left out"),
                );
                return Vec::new();
            }
        };
        for path in bad_names {
            self.problem(&path, format!("the {what}'s name is not UTF-8; left out"));
        }
        let mut out = Vec::with_capacity(files.len());
        for (key, path) in files {
            match mlruns::read_value(&path).and_then(|v| {
                rule(&key, &v).map_err(|e| e.to_string())?;
                Ok(v)
            }) {
                Ok(value) => out.push((key, value)),
                Err(e) => self.problem(&path, format!("{what} {key:?} {e}; left out")),
            }
        }
        out
    }

    fn one_run(&mut self, experiment: &Imported, folder: &str, dir: &Path) -> Result<()> {
        if let Err(e) = validate::run_id(folder) {
            self.report.runs_skipped += 1;
            self.problem(
                dir,
                format!("the folder's name is not a run id: {e}; left out"),
            );
            return Ok(());
        }
        if !self.pending.contains(folder) {
            match self.store.get_run_info(folder) {
                Ok(_) => {
                    self.report.runs_present += 1;
                    return Ok(());
                }
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let meta_path = dir.join(mlruns::META_FILE);
        let meta = match mlruns::run_meta(dir) {
            Ok(m) => m,
            Err(e) => {
                self.report.runs_skipped += 1;
                self.problem(&meta_path, format!("{e}; run left out"));
                return Ok(());
            }
        };
        if meta.run_id != folder || meta.experiment_id != experiment.dir.id {
            self.report.runs_skipped += 1;
            let message = format!(
                "meta.yaml names run {:?} of experiment {:?}, but the folder is run {folder:?} of \
                 experiment {:?}; run left out",
                meta.run_id, meta.experiment_id, experiment.dir.id
            );
            self.problem(&meta_path, message);
            return Ok(());
        }
        let params = self.key_values(&mlruns::params_dir(dir), "param", validate::param);
        let tags = self.key_values(&mlruns::tags_dir(dir), "tag", validate::tag);
        let run_name = meta
            .run_name
            .or_else(|| {
                tags.iter()
                    .find(|(k, _)| k == RUN_NAME_TAG)
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_default();
        let (inputs, model_inputs) = self.inputs(experiment, dir);
        let model_outputs = match mlruns::run_outputs(dir) {
            Ok((outputs, bad)) => {
                for (path, why) in bad {
                    self.problem(&path, format!("{why}; output left out"));
                }
                outputs
            }
            Err(e) => {
                self.problem(dir, format!("its outputs cannot be listed: {e}; left out"));
                Vec::new()
            }
        };
        let start_time = meta.start_time.unwrap_or_else(|| {
            self.problem(
                &meta_path,
                "has no start_time; the run is imported with start time 0",
            );
            0
        });

        let own_artifacts = dir.join(mlruns::ARTIFACTS);
        let keeps_own = match &meta.artifact_uri {
            None => true,
            Some(uri) => location::is_source_own(
                uri,
                &own_artifacts,
                &[&experiment.dir.id, folder, mlruns::ARTIFACTS],
            ),
        };
        let artifact_uri = if keeps_own {
            (!experiment.default_location).then(|| {
                format!(
                    "{}/{}/{folder}/artifacts",
                    self.store.artifact_root(),
                    experiment.dir.id
                )
            })
        } else {
            if mlruns::count_entries(&own_artifacts) > 0 {
                let message = format!(
                    "the run keeps its artifacts at {:?}, so the files in this folder are not \
                     copied",
                    meta.artifact_uri.as_deref().unwrap_or_default()
                );
                self.problem(&own_artifacts, message);
            }
            meta.artifact_uri.clone()
        };

        let record = RunRecord {
            run_id: meta.run_id,
            experiment_id: meta.experiment_id,
            run_name,
            user_id: meta.user_id,
            status: meta.status,
            start_time,
            end_time: meta.end_time,
            lifecycle_stage: meta.lifecycle_stage,
            deleted_time: meta.deleted_time,
            artifact_uri,
            params,
            tags,
            inputs,
            model_inputs,
            model_outputs,
        };
        let mut run = RunFiller {
            store: self.store,
            root: &self.root,
            run_id: &record.run_id,
            problems: Vec::new(),
            points: 0,
            dataset_linked: 0,
            files: 0,
            bytes: 0,
        };
        let outcome = self.store.import_run(&record, |writer, links| {
            run.metrics(writer, links, &mlruns::metrics_dir(dir))?;
            if keeps_own && own_artifacts.is_dir() {
                run.artifacts(&own_artifacts)?;
            }
            Ok(())
        });
        let RunFiller {
            problems,
            points,
            dataset_linked,
            files,
            bytes,
            ..
        } = run;
        self.report.problems.extend(problems);
        match outcome {
            Ok(RunImport::Imported | RunImport::Restarted) => {
                if matches!(outcome, Ok(RunImport::Restarted)) {
                    self.report.runs_restarted += 1;
                }
                self.report.runs_imported += 1;
                self.report.metric_points += points;
                self.report.metric_dataset_links += dataset_linked;
                self.report.params += record.params.len() as u64;
                self.report.tags += record.tags.len() as u64;
                self.report.dataset_inputs += record.inputs.len() as u64;
                self.report.artifact_files += files;
                self.report.artifact_bytes += bytes;
            }
            Ok(RunImport::Present) => self.report.runs_present += 1,
            Ok(RunImport::Busy { pid }) => {
                self.report.runs_skipped += 1;
                self.problem(
                    dir,
                    format!("process {pid} is importing this run right now; left to it"),
                );
            }
            Err(e) if is_fatal(&e, &self.root) => return Err(e),
            Err(e) => {
                self.report.runs_skipped += 1;
                self.problem(dir, format!("run not imported: {e}"));
            }
        }
        Ok(())
    }

    /// A run's dataset inputs that can be imported, and the ids of the
    /// logged models it used; the rest is reported.
    fn inputs(&mut self, experiment: &Imported, dir: &Path) -> (Vec<DatasetInput>, Vec<String>) {
        let found = match mlruns::run_inputs(dir, &experiment.dir.path) {
            Ok(found) => found,
            Err(e) => {
                self.problem(dir, format!("its inputs cannot be listed: {e}; left out"));
                return (Vec::new(), Vec::new());
            }
        };
        for (path, why) in found.bad {
            self.problem(&path, format!("{why}; input left out"));
        }
        let mut out = Vec::with_capacity(found.datasets.len());
        for input in found.datasets {
            let checked = validate::dataset(&input.dataset).and_then(|()| {
                input
                    .tags
                    .iter()
                    .try_for_each(|(k, v)| validate::input_tag(k, v))
            });
            match checked {
                Ok(()) => out.push(input),
                Err(e) => self.problem(
                    dir,
                    format!("dataset input {:?}: {e}; left out", input.dataset.name),
                ),
            }
        }
        (out, found.models)
    }

    /// Imports the logged models of an experiment: each all or nothing
    /// (its artifacts copied first, then its rows in one transaction).
    fn models(&mut self, experiment: &ExperimentDir, default_location: bool) -> Result<()> {
        let dirs = match mlruns::model_dirs(&experiment.path) {
            Ok(dirs) => dirs,
            Err(e) => {
                let path = experiment.path.join(mlruns::MODELS);
                self.problem(
                    &path,
                    format!("cannot be listed: {e}; logged models left out"),
                );
                return Ok(());
            }
        };
        for (folder, dir) in dirs {
            self.model(experiment, default_location, &folder, &dir)?;
        }
        Ok(())
    }

    fn model(
        &mut self,
        experiment: &ExperimentDir,
        default_location: bool,
        folder: &str,
        dir: &Path,
    ) -> Result<()> {
        match self.store.get_logged_model(folder, true) {
            Ok(_) => {
                self.report.logged_models_present += 1;
                return Ok(());
            }
            Err(Error::NotFound { .. } | Error::Validation(_)) => {}
            Err(e) => return Err(e),
        }
        let meta_path = dir.join(mlruns::META_FILE);
        let meta = match mlruns::model_meta(dir) {
            Ok(m) => m,
            Err(e) => {
                self.problem(&meta_path, format!("{e}; logged model left out"));
                return Ok(());
            }
        };
        if meta.model_id != folder || meta.experiment_id != experiment.id {
            let message = format!(
                "meta.yaml names model {:?} of experiment {:?}, but the folder is model {folder:?} \
                 of experiment {:?}; logged model left out",
                meta.model_id, meta.experiment_id, experiment.id
            );
            self.problem(&meta_path, message);
            return Ok(());
        }
        self.tally.status_messages += u64::from(meta.status_message.is_some());
        self.tally.unspecified_status += u64::from(meta.status_unspecified);
        let tags = self.key_values(&mlruns::tags_dir(dir), "logged model tag", validate::tag);
        let params = self.key_values(
            &mlruns::params_dir(dir),
            "logged model param",
            validate::param,
        );
        let metrics = self.model_metrics(folder, &mlruns::metrics_dir(dir));

        let own_artifacts = dir.join(mlruns::ARTIFACTS);
        let tail = [
            experiment.id.as_str(),
            mlruns::MODELS,
            folder,
            mlruns::ARTIFACTS,
        ];
        let keeps_own = match &meta.artifact_location {
            None => true,
            Some(l) => location::is_source_own(l, &own_artifacts, &tail),
        };
        let store_dir = PathBuf::from(format!(
            "{}/{}/{}/{folder}/{}",
            self.store.artifact_root(),
            experiment.id,
            mlruns::MODELS,
            mlruns::ARTIFACTS
        ));
        let artifact_location = if keeps_own {
            (!default_location).then(|| store_dir.display().to_string())
        } else {
            meta.artifact_location.clone()
        };
        let (mut files, mut bytes) = (0, 0);
        if keeps_own && own_artifacts.is_dir() {
            let mut problems = Vec::new();
            (files, bytes) = artifacts::copy_plain_tree(&own_artifacts, &store_dir, &mut problems)?;
            self.report.problems.extend(problems);
        }
        let record = LoggedModelRecord {
            model_id: meta.model_id,
            experiment_id: meta.experiment_id,
            name: meta.name,
            artifact_location,
            creation_timestamp: meta.creation_timestamp,
            last_updated_timestamp: meta.last_updated_timestamp,
            model_type: meta.model_type,
            source_run_id: meta.source_run_id,
            status: meta.status,
            lifecycle_stage: meta.lifecycle_stage,
            tags,
            params,
            metrics,
        };
        match self.store.import_logged_model(&record) {
            Ok(true) => {
                self.report.logged_models += 1;
                self.report.artifact_files += files;
                self.report.artifact_bytes += bytes;
            }
            Ok(false) => self.report.logged_models_present += 1,
            Err(e) if is_fatal(&e, &self.root) => return Err(e),
            Err(e) => self.problem(dir, format!("logged model not imported: {e}")),
        }
        Ok(())
    }

    /// Every point of a logged model's metrics; bad lines are reported.
    fn model_metrics(&mut self, model_id: &str, dir: &Path) -> Vec<ModelMetric> {
        let (files, bad_names) = match mlruns::key_files(dir) {
            Ok(found) => found,
            Err(e) => {
                self.problem(
                    dir,
                    format!("cannot be listed: {e}; the model's metrics left out"),
                );
                return Vec::new();
            }
        };
        for path in bad_names {
            self.problem(&path, "the metric's name is not UTF-8; left out");
        }
        let mut out = Vec::new();
        for (key, path) in files {
            if let Err(e) = validate::key("metric", &key) {
                self.problem(&path, format!("{e}; metric left out"));
                continue;
            }
            let lines = match mlruns::read_lines(&path) {
                Ok(lines) => lines,
                Err(e) => {
                    self.problem(&path, format!("cannot be read: {e}; metric left out"));
                    continue;
                }
            };
            for (i, (text, terminated)) in lines.into_iter().enumerate() {
                let parsed = if terminated {
                    mlruns::parse_model_metric_line(&text)
                } else {
                    Err("the last line has no newline: a write was interrupted".into())
                };
                match parsed {
                    Ok(p) => out.push(ModelMetric {
                        model_id: model_id.to_string(),
                        key: key.clone(),
                        value: p.value,
                        timestamp: p.timestamp,
                        step: p.step,
                        run_id: Some(p.run_id),
                        dataset_name: p.dataset.as_ref().map(|d| d.0.clone()),
                        dataset_digest: p.dataset.map(|d| d.1),
                    }),
                    Err(why) => {
                        let message = format!("line {} {text:?} left out: {why}", i + 1);
                        self.problem(&path, message);
                    }
                }
            }
        }
        out
    }

    /// What the folder holds that the import does not bring over.
    fn notes(&mut self) {
        let t = &self.tally;
        let mut notes = Vec::new();
        if t.status_messages > 0 {
            notes.push(format!(
                "{} logged models have a status message, which the store does not keep",
                t.status_messages
            ));
        }
        if t.unspecified_status > 0 {
            notes.push(format!(
                "{} logged models have the status UNSPECIFIED, imported as PENDING",
                t.unspecified_status
            ));
        }
        if t.traces > 0 {
            notes.push(format!("{} traces are not imported", t.traces));
        }
        let r = &self.registry_tally;
        if r.deleted_versions > 0 {
            notes.push(format!(
                "{} deleted model versions are not imported (their numbers are not given again)",
                r.deleted_versions
            ));
        }
        if r.deployment_jobs > 0 {
            notes.push(format!(
                "{} registered models or versions have a deployment job, which the store does not \
                 keep",
                r.deployment_jobs
            ));
        }
        if r.other_workspaces > 0 {
            notes.push(format!(
                "{} registered models belong to a workspace other than default; the store has no \
                 workspaces",
                r.other_workspaces
            ));
        }
        self.report.not_imported = notes;
    }
}

/// Writes one run's metric points and copies its artifacts, inside
/// [`Store::import_run`], reporting what it leaves out.
struct RunFiller<'a> {
    store: &'a Store,
    root: &'a Path,
    run_id: &'a str,
    problems: Vec<ImportProblem>,
    points: u64,
    dataset_linked: u64,
    files: u64,
    bytes: u64,
}

impl RunFiller<'_> {
    fn problem(&mut self, path: &Path, message: impl Into<String>) {
        self.problems.push(ImportProblem {
            path: path.display().to_string(),
            message: message.into(),
        });
    }

    fn metrics(
        &mut self,
        writer: &mut MetricWriter,
        links: &mut MetricDatasetLinks,
        dir: &Path,
    ) -> Result<()> {
        let (files, bad_names) = match mlruns::key_files(dir) {
            Ok(found) => found,
            Err(e) => {
                self.problem(
                    dir,
                    format!("cannot be listed: {e}; the run's metrics left out"),
                );
                return Ok(());
            }
        };
        for path in bad_names {
            self.problem(&path, "the metric's name is not UTF-8; left out");
        }
        for (key, path) in files {
            if let Err(e) = validate::key("metric", &key) {
                self.problem(&path, format!("{e}; metric left out"));
                continue;
            }
            self.metric_file(writer, links, &key, &path)?;
        }
        Ok(())
    }

    /// Writes the points of one metric file, and the links of those whose
    /// line names a dataset: a point's ordinal is its position among the
    /// points written (bad lines left out are not counted).
    fn metric_file(
        &mut self,
        writer: &mut MetricWriter,
        links: &mut MetricDatasetLinks,
        key: &str,
        path: &Path,
    ) -> Result<()> {
        let mut handle: Option<SeriesHandle> = None;
        let (mut points, mut linked) = (0u64, 0u64);
        let mut bad = Vec::new();
        let mut bad_count = 0usize;
        let read = mlruns::read_metric_file(
            path,
            |line| {
                let h = match handle {
                    Some(h) => h,
                    None => *handle.insert(writer.series(key)?),
                };
                if let Some((name, digest)) = line.dataset {
                    links.push(key, points, name, digest);
                    linked += 1;
                }
                points += 1;
                writer.append(h, line.value, line.timestamp, line.step)
            },
            |line| {
                bad_count += 1;
                if bad.len() < BAD_LINES_LISTED {
                    bad.push(line);
                }
            },
        );
        self.points += points;
        self.dataset_linked += linked;
        match read {
            Ok(written) => written?,
            Err(e) => self.problem(
                path,
                format!("cannot be read: {e}; {points} points before the error imported"),
            ),
        }
        for line in &bad {
            self.problem(
                path,
                format!(
                    "line {} {:?} left out: {}",
                    line.number, line.text, line.reason
                ),
            );
        }
        if bad_count > bad.len() {
            self.problem(
                path,
                format!("{} more bad lines left out", bad_count - bad.len()),
            );
        }
        if points == 0 && bad_count == 0 {
            self.problem(
                path,
                format!("metric {key:?} has no points (an empty file)"),
            );
        }
        Ok(())
    }

    fn artifacts(&mut self, dir: &Path) -> Result<()> {
        let mut ancestors = match dir.canonicalize() {
            Ok(real) => vec![real],
            Err(e) => {
                self.problem(dir, format!("cannot be read: {e}; artifacts left out"));
                return Ok(());
            }
        };
        artifacts::copy_tree(self, dir, "", &mut ancestors)
    }
}

/// Errors after which the import cannot go on: the store's index or
/// files failing. Errors about the source's files are the source's problems.
fn is_fatal(e: &Error, source_root: &Path) -> bool {
    match e {
        Error::Index(_) | Error::Format(_) => true,
        Error::Io { path, .. } => !path.starts_with(source_root),
        _ => false,
    }
}

/// A file's modification time in ms since the epoch; 0 when unknown.
fn modified_ms(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64)
}
