//! Reading an MLflow file store (an `mlruns` folder), read-only:
//!
//! ```text
//! mlruns/
//!   <experiment_id>/              meta.yaml; tags/<key>; datasets/<id>/meta.yaml;
//!     <run_id>/                   meta.yaml; params/<key>; tags/<key>;
//!       metrics/<key>             lines "timestamp value step [dataset_name dataset_digest]"
//!       inputs/<id>/meta.yaml     a dataset (or logged model) the run used
//!       artifacts/                the run's files (at the default location)
//!     models/<model_id>/          logged models; traces/: traces
//!   .trash/<experiment_id>/       deleted experiments, laid out the same way
//!   models/                       the model registry (not an experiment)
//! ```
//!
//! Keys with '/' are sub-folders. meta.yaml files are written by PyYAML;
//! they are read with `serde_yaml_ng` (libyaml's parser) into typed fields,
//! so that a name such as `1e-3`, which PyYAML writes unquoted because YAML
//! 1.1 reads it as a string, stays that string. Nothing here writes.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::entities::{
    Dataset, DatasetInput, LifecycleStage, LoggedModelOutput, LoggedModelStatus, RunStatus,
};

pub const META_FILE: &str = "meta.yaml";
pub const TRASH_FOLDER: &str = ".trash";
/// At the top of `mlruns`: the model registry's folder, not an experiment.
pub const REGISTRY_FOLDER: &str = "models";
/// Folders of an experiment that are not runs.
const EXPERIMENT_TAGS: &str = "tags";
const DATASETS: &str = "datasets";
pub const TRACES: &str = "traces";
pub const MODELS: &str = "models";
const RESERVED_EXPERIMENT_FOLDERS: [&str; 4] = [EXPERIMENT_TAGS, DATASETS, TRACES, MODELS];
const PARAMS: &str = "params";
const TAGS: &str = "tags";
const METRICS: &str = "metrics";
const INPUTS: &str = "inputs";
pub const OUTPUTS: &str = "outputs";
pub const ARTIFACTS: &str = "artifacts";

/// A folder of one experiment.
#[derive(Debug, Clone)]
pub struct ExperimentDir {
    /// The folder's name: the experiment id.
    pub id: String,
    pub path: PathBuf,
    pub in_trash: bool,
}

/// Experiment folders: the live ones, then those in `.trash`, each sorted
/// by name. Entries that are not folders are left out.
pub fn experiment_dirs(root: &Path) -> io::Result<Vec<ExperimentDir>> {
    let mut out = Vec::new();
    for (dir, in_trash) in [(root.to_path_buf(), false), (root.join(TRASH_FOLDER), true)] {
        if in_trash && !dir.is_dir() {
            continue;
        }
        let mut found = Vec::new();
        for (name, path) in sorted_entries(&dir)? {
            let skip = !in_trash && (name == TRASH_FOLDER || name == REGISTRY_FOLDER);
            if !skip && path.is_dir() {
                found.push(ExperimentDir {
                    id: name,
                    path,
                    in_trash,
                });
            }
        }
        out.extend(found);
    }
    Ok(out)
}

/// The run folders of an experiment: every sub-folder but the experiment's
/// own (`tags`, `datasets`, `traces`, `models`), sorted by name.
pub fn run_dirs(experiment: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    Ok(sorted_entries(experiment)?
        .into_iter()
        .filter(|(name, path)| {
            !RESERVED_EXPERIMENT_FOLDERS.contains(&name.as_str()) && path.is_dir()
        })
        .collect())
}

/// True when a folder without meta.yaml still looks like a run (it has a
/// run's own folders), rather than some other folder that happens to sit
/// in the experiment's folder.
pub fn looks_like_run(dir: &Path) -> bool {
    [METRICS, PARAMS, TAGS].iter().any(|f| dir.join(f).is_dir())
}

/// The names and paths in a folder, sorted. A name that is not UTF-8 is
/// kept lossily: such a folder is never an MLflow experiment or run.
pub fn sorted_entries(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    out.sort();
    Ok(out)
}

/// Reads a meta.yaml into `T`: a message naming what is wrong when the
/// file is missing, empty, or not what MLflow writes.
pub fn read_meta<T: for<'de> Deserialize<'de>>(dir: &Path) -> Result<T, String> {
    let path = dir.join(META_FILE);
    let text = match fs::read(&path) {
        Ok(bytes) => {
            String::from_utf8(bytes).map_err(|_| "meta.yaml is not UTF-8 text".to_string())?
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err("it has no meta.yaml".into()),
        Err(e) => return Err(format!("meta.yaml cannot be read: {e}")),
    };
    if text.trim().is_empty() {
        return Err("meta.yaml is empty (a write was interrupted?)".into());
    }
    serde_yaml_ng::from_str(&text).map_err(|e| format!("meta.yaml is damaged: {e}"))
}

/// A run status as meta.yaml holds it: MLflow's enum number, or (in some
/// older files) its name.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StatusField {
    Number(i64),
    Name(String),
}

impl StatusField {
    fn status(&self) -> Result<RunStatus, String> {
        match self {
            StatusField::Number(1) => Ok(RunStatus::Running),
            StatusField::Number(2) => Ok(RunStatus::Scheduled),
            StatusField::Number(3) => Ok(RunStatus::Finished),
            StatusField::Number(4) => Ok(RunStatus::Failed),
            StatusField::Number(5) => Ok(RunStatus::Killed),
            StatusField::Number(n) => Err(format!("unknown run status {n}")),
            StatusField::Name(s) => s.parse().map_err(|e| format!("{e}")),
        }
    }
}

fn stage(value: Option<&str>) -> Result<LifecycleStage, String> {
    match value {
        None | Some("active") => Ok(LifecycleStage::Active),
        Some("deleted") => Ok(LifecycleStage::Deleted),
        Some(other) => Err(format!(
            "unknown lifecycle_stage {other:?} (expected active or deleted)"
        )),
    }
}

#[derive(Debug, Deserialize)]
struct ExperimentYaml {
    experiment_id: Option<String>,
    name: Option<String>,
    artifact_location: Option<String>,
    lifecycle_stage: Option<String>,
    creation_time: Option<i64>,
    last_update_time: Option<i64>,
}

/// An experiment's meta.yaml.
#[derive(Debug, Clone)]
pub struct ExperimentMeta {
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: Option<String>,
    pub lifecycle_stage: LifecycleStage,
    /// Absent in files older than MLflow 2.
    pub creation_time: Option<i64>,
    pub last_update_time: Option<i64>,
}

pub fn experiment_meta(dir: &Path) -> Result<ExperimentMeta, String> {
    let y: ExperimentYaml = read_meta(dir)?;
    Ok(ExperimentMeta {
        experiment_id: y.experiment_id.ok_or("meta.yaml has no experiment_id")?,
        name: y.name.ok_or("meta.yaml has no name")?,
        artifact_location: y.artifact_location.filter(|l| !l.is_empty()),
        lifecycle_stage: stage(y.lifecycle_stage.as_deref())?,
        creation_time: y.creation_time,
        last_update_time: y.last_update_time,
    })
}

#[derive(Debug, Deserialize)]
struct RunYaml {
    run_id: Option<String>,
    run_uuid: Option<String>,
    experiment_id: Option<String>,
    run_name: Option<String>,
    user_id: Option<String>,
    status: Option<StatusField>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    lifecycle_stage: Option<String>,
    artifact_uri: Option<String>,
    deleted_time: Option<i64>,
}

/// A run's meta.yaml.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub run_id: String,
    pub experiment_id: String,
    /// Empty or absent in older files: the `mlflow.runName` tag names the run.
    pub run_name: Option<String>,
    pub user_id: String,
    pub status: RunStatus,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub lifecycle_stage: LifecycleStage,
    pub artifact_uri: Option<String>,
    pub deleted_time: Option<i64>,
}

pub fn run_meta(dir: &Path) -> Result<RunMeta, String> {
    let y: RunYaml = read_meta(dir)?;
    Ok(RunMeta {
        run_id: y.run_id.or(y.run_uuid).ok_or("meta.yaml has no run_id")?,
        experiment_id: y.experiment_id.ok_or("meta.yaml has no experiment_id")?,
        run_name: y.run_name.filter(|n| !n.is_empty()),
        user_id: y.user_id.unwrap_or_default(),
        // MLflow reads a missing status as RUNNING.
        status: match &y.status {
            Some(s) => s.status()?,
            None => RunStatus::Running,
        },
        start_time: y.start_time,
        end_time: y.end_time,
        lifecycle_stage: stage(y.lifecycle_stage.as_deref())?,
        artifact_uri: y.artifact_uri.filter(|u| !u.is_empty()),
        deleted_time: y.deleted_time,
    })
}

/// A key, read from a file's path under a folder, and the file.
pub type KeyFile = (String, PathBuf);

/// Entries left out: the file, and why.
pub type Left = Vec<(PathBuf, String)>;

/// The files under `dir` (recursively), each with its key: its path
/// relative to `dir`, '/'-separated. A missing folder has none. Returns the
/// files, and the paths that cannot be keys (names that are not UTF-8).
pub fn key_files(dir: &Path) -> io::Result<(Vec<KeyFile>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut bad = Vec::new();
    if dir.is_dir() {
        walk_keys(dir, "", &mut files, &mut bad)?;
    }
    files.sort();
    Ok((files, bad))
}

fn walk_keys(
    dir: &Path,
    prefix: &str,
    files: &mut Vec<KeyFile>,
    bad: &mut Vec<PathBuf>,
) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            bad.push(path);
            continue;
        };
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        // Not following links to folders keeps a key from looping.
        if entry.file_type()?.is_dir() {
            walk_keys(&path, &key, files, bad)?;
        } else {
            files.push((key, path));
        }
    }
    Ok(())
}

/// The params, tags and metrics folders of a run.
pub fn params_dir(run: &Path) -> PathBuf {
    run.join(PARAMS)
}

pub fn tags_dir(run_or_experiment: &Path) -> PathBuf {
    run_or_experiment.join(TAGS)
}

pub fn metrics_dir(run: &Path) -> PathBuf {
    run.join(METRICS)
}

/// The whole text of a param or tag file, exactly (MLflow adds no newline).
pub fn read_value(path: &Path) -> Result<String, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".into())
}

/// One parsed line of a metric file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricLine<'a> {
    pub timestamp: i64,
    pub value: f64,
    pub step: i64,
    /// The name and digest of the dataset the value was computed on, when
    /// the line names one (MLflow 3).
    pub dataset: Option<(&'a str, &'a str)>,
}

/// Parses "timestamp value [step [dataset_name dataset_digest]]" as MLflow
/// does: fields split on single spaces, 2, 3 or 5 of them; the value is a
/// Python float spelling (`nan`, `inf`, `-inf`, `1e-05`), read exactly.
/// The step of a 5-field line is its third field (MLflow's own reader
/// reads it as 0 there, losing it; the file has it).
pub fn parse_metric_line(line: &str) -> Result<MetricLine<'_>, String> {
    let fields: Vec<&str> = line.trim().split(' ').collect();
    if !matches!(fields.len(), 2 | 3 | 5) {
        return Err(format!(
            "{} fields, expected 2, 3 or 5 (timestamp value step [dataset_name dataset_digest])",
            fields.len()
        ));
    }
    let timestamp = fields[0]
        .parse::<i64>()
        .map_err(|_| format!("timestamp {:?} is not an integer", fields[0]))?;
    let value = fields[1]
        .parse::<f64>()
        .map_err(|_| format!("value {:?} is not a number", fields[1]))?;
    let step = match fields.get(2) {
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| format!("step {s:?} is not an integer"))?,
        None => 0,
    };
    Ok(MetricLine {
        timestamp,
        value,
        step,
        dataset: (fields.len() == 5).then(|| (fields[3], fields[4])),
    })
}

/// A line of a metric file that was left out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    /// 1-based.
    pub number: u64,
    pub text: String,
    pub reason: String,
}

/// Reads a metric file line by line, giving each good point to `on_point`
/// and each bad line to `on_bad`. A last line without its newline was cut
/// short by an interrupted write (MLflow ends every line): it is bad even
/// when it parses, since its step or value may have lost digits. Errors of
/// `on_point` stop the reading and are returned as they are.
pub fn read_metric_file<E>(
    path: &Path,
    mut on_point: impl FnMut(MetricLine<'_>) -> Result<(), E>,
    mut on_bad: impl FnMut(BadLine),
) -> Result<Result<(), E>, io::Error> {
    let mut reader = BufReader::with_capacity(1 << 16, fs::File::open(path)?);
    let mut buf = Vec::with_capacity(64);
    let mut number = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(Ok(()));
        }
        number += 1;
        let terminated = buf.last() == Some(&b'\n');
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        let parsed = match std::str::from_utf8(&buf) {
            Err(_) => Err("not UTF-8 text".to_string()),
            Ok(_) if !terminated => Err(
                "the last line has no newline: a write was interrupted, the line may be cut short"
                    .to_string(),
            ),
            Ok(line) => parse_metric_line(line),
        };
        match parsed {
            Ok(point) => {
                if let Err(e) = on_point(point) {
                    return Ok(Err(e));
                }
            }
            Err(reason) => on_bad(BadLine {
                number,
                text: text.to_string(),
                reason,
            }),
        }
    }
}

#[derive(Debug, Deserialize)]
struct InputYaml {
    source_type: String,
    source_id: String,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
struct DatasetYaml {
    name: String,
    digest: String,
    source_type: String,
    source: String,
    schema: Option<String>,
    profile: Option<String>,
}

/// What a run's `inputs` folder holds.
#[derive(Debug, Default)]
pub struct RunInputs {
    pub datasets: Vec<DatasetInput>,
    /// Ids of logged models the run used.
    pub models: Vec<String>,
    /// Inputs left out.
    pub bad: Left,
}

/// A run's inputs, sorted by the input folder's name. A dataset is looked
/// up in the experiment folder's `datasets`, as MLflow does.
pub fn run_inputs(run: &Path, experiment: &Path) -> io::Result<RunInputs> {
    let mut out = RunInputs::default();
    let dir = run.join(INPUTS);
    if !dir.is_dir() {
        return Ok(out);
    }
    for (_, input_dir) in sorted_entries(&dir)? {
        if !input_dir.is_dir() {
            continue;
        }
        let meta_path = input_dir.join(META_FILE);
        let input: InputYaml = match read_meta(&input_dir) {
            Ok(i) => i,
            Err(e) => {
                out.bad.push((meta_path, e));
                continue;
            }
        };
        match input.source_type.as_str() {
            "DATASET" => {
                let dataset_dir = experiment.join(DATASETS).join(&input.source_id);
                match read_meta::<DatasetYaml>(&dataset_dir) {
                    Ok(d) => out.datasets.push(DatasetInput {
                        dataset: Dataset {
                            name: d.name,
                            digest: d.digest,
                            source_type: d.source_type,
                            source: d.source,
                            schema: d.schema,
                            profile: d.profile,
                        },
                        tags: input.tags.unwrap_or_default(),
                    }),
                    Err(e) => out.bad.push((
                        dataset_dir.join(META_FILE),
                        format!("dataset {} of this input: {e}", input.source_id),
                    )),
                }
            }
            "MODEL" => out.models.push(input.source_id),
            other => out
                .bad
                .push((meta_path, format!("unknown input source_type {other:?}"))),
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
struct OutputYaml {
    source_id: String,
    step: Option<i64>,
}

/// What a run's `outputs` folder holds: the logged models it produced,
/// each at a step, and the outputs left out (the file and why).
pub fn run_outputs(run: &Path) -> io::Result<(Vec<LoggedModelOutput>, Left)> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let dir = run.join(OUTPUTS);
    if !dir.is_dir() {
        return Ok((out, bad));
    }
    for (_, output_dir) in sorted_entries(&dir)? {
        if !output_dir.is_dir() {
            continue;
        }
        match read_meta::<OutputYaml>(&output_dir) {
            Ok(o) => out.push(LoggedModelOutput {
                model_id: o.source_id,
                step: o.step.unwrap_or(0),
            }),
            Err(e) => bad.push((output_dir.join(META_FILE), e)),
        }
    }
    Ok((out, bad))
}

/// The folders of an experiment's logged models, sorted by name.
pub fn model_dirs(experiment: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let dir = experiment.join(MODELS);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    Ok(sorted_entries(&dir)?
        .into_iter()
        .filter(|(_, path)| path.is_dir())
        .collect())
}

#[derive(Debug, Deserialize)]
struct ModelYaml {
    model_id: Option<String>,
    experiment_id: Option<String>,
    name: Option<String>,
    artifact_location: Option<String>,
    creation_timestamp: Option<i64>,
    last_updated_timestamp: Option<i64>,
    model_type: Option<String>,
    source_run_id: Option<String>,
    status: Option<i64>,
    status_message: Option<String>,
    lifecycle_stage: Option<String>,
}

/// A logged model's meta.yaml.
#[derive(Debug, Clone)]
pub struct ModelMeta {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: Option<String>,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub status: LoggedModelStatus,
    /// MLflow's UNSPECIFIED status (0), which the store has no name for:
    /// imported as PENDING.
    pub status_unspecified: bool,
    pub status_message: Option<String>,
    pub lifecycle_stage: LifecycleStage,
}

pub fn model_meta(dir: &Path) -> Result<ModelMeta, String> {
    let y: ModelYaml = read_meta(dir)?;
    let creation = y
        .creation_timestamp
        .ok_or("meta.yaml has no creation_timestamp")?;
    let (status, unspecified) = match y.status.unwrap_or(0) {
        0 => (LoggedModelStatus::Pending, true),
        1 => (LoggedModelStatus::Pending, false),
        2 => (LoggedModelStatus::Ready, false),
        3 => (LoggedModelStatus::Failed, false),
        n => return Err(format!("unknown logged model status {n}")),
    };
    Ok(ModelMeta {
        model_id: y.model_id.ok_or("meta.yaml has no model_id")?,
        experiment_id: y.experiment_id.ok_or("meta.yaml has no experiment_id")?,
        name: y.name.ok_or("meta.yaml has no name")?,
        artifact_location: y.artifact_location.filter(|l| !l.is_empty()),
        creation_timestamp: creation,
        last_updated_timestamp: y.last_updated_timestamp.unwrap_or(creation),
        model_type: y.model_type,
        source_run_id: y.source_run_id.filter(|r| !r.is_empty()),
        status,
        status_unspecified: unspecified,
        status_message: y.status_message.filter(|m| !m.is_empty()),
        lifecycle_stage: stage(y.lifecycle_stage.as_deref())?,
    })
}

/// One parsed line of a logged model's metric file: "timestamp value step
/// run_id [dataset_name dataset_digest]".
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMetricLine {
    pub timestamp: i64,
    pub value: f64,
    pub step: i64,
    pub run_id: String,
    pub dataset: Option<(String, String)>,
}

pub fn parse_model_metric_line(line: &str) -> Result<ModelMetricLine, String> {
    let fields: Vec<&str> = line.trim().split(' ').collect();
    if !matches!(fields.len(), 4 | 6) {
        return Err(format!(
            "{} fields, expected 4 or 6 (timestamp value step run_id [dataset_name dataset_digest])",
            fields.len()
        ));
    }
    let head = fields[..3].join(" ");
    let point = parse_metric_line(&head)?;
    Ok(ModelMetricLine {
        timestamp: point.timestamp,
        value: point.value,
        step: point.step,
        run_id: fields[3].to_string(),
        dataset: (fields.len() == 6).then(|| (fields[4].to_string(), fields[5].to_string())),
    })
}

/// Every line of a small metric file: the text of each, and whether it
/// ended with a newline. Model metric files are read whole.
pub fn read_lines(path: &Path) -> io::Result<Vec<(String, bool)>> {
    let bytes = fs::read(path)?;
    let mut out = Vec::new();
    for chunk in bytes.split_inclusive(|b| *b == b'\n') {
        let terminated = chunk.last() == Some(&b'\n');
        let text = String::from_utf8_lossy(chunk);
        out.push((text.trim_end_matches(['\n', '\r']).to_string(), terminated));
    }
    Ok(out)
}

/// The number of entries in a folder; 0 when it is missing.
pub fn count_entries(dir: &Path) -> usize {
    fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_lines_as_mlflow_writes_them() {
        let p = parse_metric_line("1700000000000 0.1 3\n").unwrap();
        assert_eq!(
            (p.timestamp, p.value, p.step, p.dataset),
            (1700000000000, 0.1, 3, None)
        );
        assert!(parse_metric_line("1 nan 0").unwrap().value.is_nan());
        assert_eq!(parse_metric_line("1 inf 0").unwrap().value, f64::INFINITY);
        assert_eq!(
            parse_metric_line("1 -inf 0").unwrap().value,
            f64::NEG_INFINITY
        );
        assert_eq!(parse_metric_line("1 1e-300 -5").unwrap().value, 1e-300);
        assert_eq!(parse_metric_line("1 2.5").unwrap().step, 0);
        let linked = parse_metric_line("1 0.5 7 train 244437a9\n").unwrap();
        assert_eq!(
            (linked.step, linked.dataset),
            (7, Some(("train", "244437a9")))
        );
        for bad in [
            "",
            "1",
            "1 x 0",
            "1 0.5 0 train",
            "1.5 0.5 0",
            "1 0.5 0.5",
            "1  0.5 0",
        ] {
            assert!(parse_metric_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_round_trip_exactly() {
        for v in [0.1, 1.0 / 3.0, f64::MAX, f64::MIN_POSITIVE, 5e-324, -0.0] {
            let line = format!("1 {v:?} 0");
            assert_eq!(
                parse_metric_line(&line).unwrap().value.to_bits(),
                v.to_bits()
            );
        }
    }

    #[test]
    fn status_numbers_and_names() {
        assert_eq!(
            StatusField::Number(3).status().unwrap(),
            RunStatus::Finished
        );
        assert_eq!(
            StatusField::Name("KILLED".into()).status().unwrap(),
            RunStatus::Killed
        );
        assert!(StatusField::Number(9).status().is_err());
    }
}
