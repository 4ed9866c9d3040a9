//! Importing the model registry of an MLflow file store, read-only:
//!
//! ```text
//! mlruns/models/<name>/
//!   meta.yaml                   name, creation_timestamp, last_updated_timestamp,
//!                               description (an `aliases` map there is not read)
//!   tags/<key>                  the model's tags (keys with '/' are sub-folders)
//!   aliases/<alias>             the version number the alias names, as text
//!   version-<n>/meta.yaml       name, version, times, description, user_id,
//!                               current_stage, source, storage_location, run_id,
//!                               run_link, model_id, status, status_message
//!   version-<n>/tags/<key>      the version's tags
//! ```
//!
//! MLflow deletes a version by setting its stage to `Deleted_Internal`; its
//! folder stays, and its number is never given again (a new version is the
//! greatest folder's number plus one). Such versions are not imported, but
//! the model's `last_version` keeps their numbers. Each model is imported
//! whole or not at all: a damaged file in its folder leaves it out, so
//! that importing again once the file is mended brings all of it.

use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::{is_fatal, location, mlruns, Importer};
use crate::entities::{ModelVersion, ModelVersionStage, RegisteredModelRecord};
use crate::error::Error;
use crate::validate;

const TAGS: &str = "tags";
const ALIASES: &str = "aliases";
const VERSION_PREFIX: &str = "version-";
/// The stage MLflow's file store gives a deleted version.
const DELETED_STAGE: &str = "Deleted_Internal";
/// The only workspace of a file store that has none set.
const DEFAULT_WORKSPACE: &str = "default";

#[derive(Debug, Deserialize)]
struct ModelYaml {
    name: Option<String>,
    creation_timestamp: Option<i64>,
    last_updated_timestamp: Option<i64>,
    description: Option<String>,
    deployment_job_id: Option<String>,
    workspace: Option<String>,
}

/// A version number as meta.yaml holds it: a number, or (in older files)
/// its text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum VersionField {
    Number(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
struct VersionYaml {
    name: Option<String>,
    version: Option<VersionField>,
    creation_timestamp: Option<i64>,
    last_updated_timestamp: Option<i64>,
    description: Option<String>,
    user_id: Option<String>,
    current_stage: Option<String>,
    source: Option<String>,
    storage_location: Option<String>,
    run_id: Option<String>,
    run_link: Option<String>,
    model_id: Option<String>,
    status: Option<String>,
    status_message: Option<String>,
    deployment_job_state: Option<IgnoredAny>,
}

/// What a model folder holds that the store does not keep, counted for the
/// report's notes.
#[derive(Default)]
pub(super) struct RegistryTally {
    pub deleted_versions: u64,
    pub deployment_jobs: u64,
    pub other_workspaces: u64,
}

/// A model folder read whole, or the reasons it cannot be.
type Read = Result<RegisteredModelRecord, Vec<(PathBuf, String)>>;

/// The folders of the registered models, sorted by name; none when the
/// source has no registry.
pub(super) fn model_dirs(root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let dir = root.join(mlruns::REGISTRY_FOLDER);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    Ok(mlruns::sorted_entries(&dir)?
        .into_iter()
        .filter(|(_, path)| path.is_dir())
        .collect())
}

impl Importer<'_> {
    /// Imports the registry's models, each all or nothing. A model whose
    /// name the store has is left as it is.
    pub(super) fn registry(&mut self) -> crate::error::Result<()> {
        let registry = self.root.join(mlruns::REGISTRY_FOLDER);
        let dirs = match model_dirs(&self.root) {
            Ok(dirs) => dirs,
            Err(e) => {
                self.problem(
                    &registry,
                    format!("cannot be listed: {e}; registered models left out"),
                );
                return Ok(());
            }
        };
        for (folder, dir) in dirs {
            match self.store.get_registered_model(&folder) {
                Ok(_) => {
                    self.report.registered_models_present += 1;
                    continue;
                }
                Err(Error::NotFound { .. } | Error::Validation(_)) => {}
                Err(e) => return Err(e),
            }
            let mut record = match self.read_model(&folder, &dir) {
                Ok(record) => record,
                Err(problems) => {
                    self.report.registered_models_skipped += 1;
                    for (path, why) in problems {
                        self.problem(
                            &path,
                            format!("{why}; registered model {folder:?} left out"),
                        );
                    }
                    continue;
                }
            };
            for v in &mut record.versions {
                v.storage_location = v
                    .storage_location
                    .take()
                    .map(|l| self.store_copy_of(&l).unwrap_or(l));
            }
            match self.store.import_registered_model(&record) {
                Ok(true) => {
                    self.report.registered_models += 1;
                    self.report.model_versions += record.versions.len() as u64;
                }
                Ok(false) => self.report.registered_models_present += 1,
                Err(e) if is_fatal(&e, &self.root) => return Err(e),
                Err(e) => {
                    self.report.registered_models_skipped += 1;
                    self.problem(&dir, format!("registered model not imported: {e}"));
                }
            }
        }
        Ok(())
    }

    /// Reads one model folder: the model, its live versions, tags and
    /// aliases, and the greatest version number it ever gave.
    fn read_model(&mut self, folder: &str, dir: &Path) -> Read {
        let mut bad = Vec::new();
        let meta_path = dir.join(mlruns::META_FILE);
        let meta: Option<ModelYaml> = match mlruns::read_meta(dir) {
            Ok(m) => Some(m),
            Err(e) => {
                bad.push((meta_path.clone(), e));
                None
            }
        };
        let tags = key_values(&dir.join(TAGS), validate::registry_tag, &mut bad);
        let mut aliases = Vec::new();
        let alias_rule = |alias: &str, _: &str| validate::settable_alias(alias);
        for (alias, text) in key_values(&dir.join(ALIASES), alias_rule, &mut bad) {
            match text.trim().parse::<i64>() {
                Ok(version) => aliases.push((alias, version)),
                Err(_) => bad.push((
                    dir.join(ALIASES).join(&alias),
                    format!("alias {alias:?} names {text:?}, which is not a version number"),
                )),
            }
        }
        let mut versions = Vec::new();
        let mut last_version = 0;
        match version_dirs(dir) {
            Ok(dirs) => {
                for (number, path) in dirs {
                    last_version = last_version.max(number);
                    match self.read_version(folder, number, &path, &mut bad) {
                        Some(Some(v)) => versions.push(v),
                        Some(None) => self.registry_tally.deleted_versions += 1,
                        None => {}
                    }
                }
            }
            Err(e) => bad.push((dir.to_path_buf(), format!("cannot be listed: {e}"))),
        }
        let Some(meta) = meta else {
            return Err(bad);
        };
        let name = match meta.name {
            Some(name) if name == folder => name,
            Some(other) => {
                bad.push((
                    meta_path.clone(),
                    format!("meta.yaml names model {other:?}, but the folder is {folder:?}"),
                ));
                other
            }
            None => {
                bad.push((meta_path.clone(), "meta.yaml has no name".into()));
                folder.to_string()
            }
        };
        let Some(creation) = meta.creation_timestamp else {
            bad.push((meta_path, "meta.yaml has no creation_timestamp".into()));
            return Err(bad);
        };
        for (alias, version) in &aliases {
            if !versions.iter().any(|v| v.version == *version) {
                bad.push((
                    dir.join(ALIASES).join(alias),
                    format!(
                        "alias {alias:?} names version {version}, which the model does not have \
                         (or which is deleted)"
                    ),
                ));
            }
        }
        if !bad.is_empty() {
            return Err(bad);
        }
        self.registry_tally.deployment_jobs += u64::from(meta.deployment_job_id.is_some());
        self.registry_tally.other_workspaces += u64::from(
            meta.workspace
                .as_deref()
                .is_some_and(|w| w != DEFAULT_WORKSPACE),
        );
        Ok(RegisteredModelRecord {
            name,
            creation_timestamp: creation,
            last_updated_timestamp: meta.last_updated_timestamp.unwrap_or(creation),
            description: meta.description,
            tags,
            aliases,
            versions,
            last_version,
        })
    }

    /// Reads one version folder: Some(Some(version)) when it is live,
    /// Some(None) when MLflow deleted it, None when it is damaged (the
    /// reasons are pushed to `bad`).
    fn read_version(
        &mut self,
        model: &str,
        number: i64,
        dir: &Path,
        bad: &mut Vec<(PathBuf, String)>,
    ) -> Option<Option<ModelVersion>> {
        let meta_path = dir.join(mlruns::META_FILE);
        let y: VersionYaml = match mlruns::read_meta(dir) {
            Ok(y) => y,
            Err(e) => {
                bad.push((meta_path, e));
                return None;
            }
        };
        let mut fail = |why: String| {
            bad.push((meta_path.clone(), why));
            None
        };
        let version = match &y.version {
            Some(VersionField::Number(n)) => n.to_string(),
            Some(VersionField::Text(t)) => t.clone(),
            None => return fail("meta.yaml has no version".into()),
        };
        if version.trim().parse::<i64>().ok() != Some(number) {
            return fail(format!(
                "meta.yaml names version {version:?}, but the folder is version {number}"
            ));
        }
        if y.name.as_deref() != Some(model) {
            return fail(format!(
                "meta.yaml names model {:?}, but the folder is in model {model:?}",
                y.name
            ));
        }
        let stage = match y.current_stage.as_deref() {
            Some(DELETED_STAGE) => return Some(None),
            None => ModelVersionStage::None,
            Some(s) => match s.parse() {
                Ok(stage) => stage,
                Err(e) => return fail(format!("{e}")),
            },
        };
        let Some(creation) = y.creation_timestamp else {
            return fail("meta.yaml has no creation_timestamp".into());
        };
        let Some(source) = y.source else {
            return fail("meta.yaml has no source".into());
        };
        let mut tag_problems = Vec::new();
        let tags = key_values(&dir.join(TAGS), validate::registry_tag, &mut tag_problems);
        if !tag_problems.is_empty() {
            bad.extend(tag_problems);
            return None;
        }
        self.registry_tally.deployment_jobs += u64::from(y.deployment_job_state.is_some());
        Some(Some(ModelVersion {
            name: model.to_string(),
            version: number,
            creation_timestamp: creation,
            last_updated_timestamp: y.last_updated_timestamp.unwrap_or(creation),
            description: y.description,
            user_id: y.user_id,
            current_stage: stage,
            source,
            storage_location: y.storage_location,
            run_id: y.run_id,
            run_link: y.run_link,
            model_id: y.model_id,
            // MLflow's versions are READY once created, whatever the store.
            status: y.status.unwrap_or_else(|| "READY".into()),
            status_message: y.status_message,
            tags: tags.into_iter().collect(),
            aliases: Vec::new(),
        }))
    }

    /// Where the store keeps a copy of files that `location` names in the
    /// imported folder: a run's or a logged model's artifacts, which the
    /// import copied into the store. None when `location` is elsewhere, or
    /// the store has no copy.
    fn store_copy_of(&self, location: &str) -> Option<String> {
        let path = location::local_path(location)?;
        // An existing location must be in the imported folder, and is read
        // from there; one that is gone (the folder was moved since) is
        // known by its tail.
        let within = match path.canonicalize() {
            Ok(real) => real.strip_prefix(&self.root).ok()?.to_path_buf(),
            Err(_) => path,
        };
        let names: Vec<&str> = within
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(n) => n.to_str(),
                _ => None,
            })
            .collect();
        for (i, window) in names.windows(3).enumerate() {
            let rest = &names[i + 3..];
            let copy = match window {
                [experiment, run, mlruns::ARTIFACTS]
                    if is_experiment_id(experiment) && validate::run_id(run).is_ok() =>
                {
                    let info = self.store.get_run_info(run).ok()?;
                    (info.experiment_id == *experiment).then_some(info.artifact_uri)
                }
                [mlruns::MODELS, model, mlruns::ARTIFACTS]
                    if i > 0 && is_experiment_id(names[i - 1]) && model.starts_with("m-") =>
                {
                    let m = self.store.get_logged_model(model, true).ok()?;
                    (m.experiment_id == names[i - 1]).then_some(m.artifact_location)
                }
                _ => continue,
            }?;
            // Only the store's own copy; a location elsewhere was never copied.
            if !copy.starts_with(self.store.artifact_root()) {
                return None;
            }
            return Some(if rest.is_empty() {
                copy
            } else {
                format!("{copy}/{}", rest.join("/"))
            });
        }
        None
    }
}

fn is_experiment_id(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

/// The `version-<n>` folders of a model, by number; other entries are not
/// versions.
fn version_dirs(model: &Path) -> std::io::Result<Vec<(i64, PathBuf)>> {
    let mut out: Vec<(i64, PathBuf)> = mlruns::sorted_entries(model)?
        .into_iter()
        .filter(|(_, path)| path.is_dir())
        .filter_map(|(name, path)| {
            let n = name.strip_prefix(VERSION_PREFIX)?.parse().ok()?;
            Some((n, path))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The files under `dir` as keys and values (tags, aliases); those that
/// cannot be read or break `rule` are pushed to `bad`.
fn key_values(
    dir: &Path,
    rule: impl Fn(&str, &str) -> Result<(), crate::error::ValidationError>,
    bad: &mut Vec<(PathBuf, String)>,
) -> Vec<(String, String)> {
    let (files, bad_names) = match mlruns::key_files(dir) {
        Ok(found) => found,
        Err(e) => {
            bad.push((dir.to_path_buf(), format!("cannot be listed: {e}")));
            return Vec::new();
        }
    };
    for path in bad_names {
        bad.push((path, "the name is not UTF-8".into()));
    }
    let mut out = Vec::with_capacity(files.len());
    for (key, path) in files {
        match mlruns::read_value(&path).and_then(|v| {
            rule(&key, &v).map_err(|e| e.to_string())?;
            Ok(v)
        }) {
            Ok(value) => out.push((key, value)),
            Err(e) => bad.push((path, format!("{key:?}: {e}"))),
        }
    }
    out
}
