//! Experiment operations.

use super::Store;
use crate::entities::{Experiment, LifecycleStage, ViewType};
use crate::error::{EntityKind, Error, Result};
use crate::validate;

impl Store {
    /// Creates an experiment and returns its id. The name must be unique
    /// among all experiments, deleted ones included. Default location:
    /// `<store>/artifacts/<id>`.
    pub fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<String> {
        validate::experiment_name(name)?;
        for (k, v) in tags {
            validate::experiment_tag(k, v)?;
        }
        let id = self
            .inner
            .index()?
            .create_experiment(name, artifact_location, tags)?;
        Ok(id.to_string())
    }

    /// The experiment with this id, deleted or not.
    pub fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let id = validate::experiment_id(experiment_id)?;
        self.inner
            .index()?
            .get_experiment(id, &self.inner.artifact_root)
    }

    /// The experiment with this name, if there is one.
    pub fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        self.inner
            .index()?
            .get_experiment_by_name(name, &self.inner.artifact_root)
    }

    /// The id of the active experiment called `name`, created when missing.
    pub fn experiment_id_for(&self, name: &str) -> Result<String> {
        match self.get_experiment_by_name(name)? {
            Some(e) if e.lifecycle_stage == LifecycleStage::Active => Ok(e.experiment_id),
            Some(e) => Err(Error::Deleted {
                kind: EntityKind::Experiment,
                id: format!("{name:?} (id {})", e.experiment_id),
                rule: "restore it or choose another name",
            }),
            None => match self.create_experiment(name, None, &[]) {
                // Another process created it first.
                Err(Error::AlreadyExists { .. }) => self
                    .get_experiment_by_name(name)?
                    .map(|e| e.experiment_id)
                    .ok_or_else(|| Error::not_found(EntityKind::Experiment, name)),
                other => other,
            },
        }
    }

    /// Experiments in the given lifecycle stages, by id.
    pub fn list_experiments(&self, view: ViewType) -> Result<Vec<Experiment>> {
        self.inner
            .index()?
            .list_experiments(view, &self.inner.artifact_root)
    }

    /// Renames an active experiment; the new name must be free.
    pub fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        let id = validate::experiment_id(experiment_id)?;
        validate::experiment_name(new_name)?;
        self.inner.index()?.rename_experiment(id, new_name)
    }

    /// Soft-deletes an experiment and its runs.
    pub fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        let id = validate::experiment_id(experiment_id)?;
        self.inner
            .index()?
            .set_experiment_stage(id, LifecycleStage::Deleted)?;
        self.close_inactive_cached_writers()
    }

    /// Restores a soft-deleted experiment and its runs.
    pub fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        let id = validate::experiment_id(experiment_id)?;
        self.inner
            .index()?
            .set_experiment_stage(id, LifecycleStage::Active)
    }

    /// Sets (or replaces) an experiment tag.
    pub fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        let id = validate::experiment_id(experiment_id)?;
        validate::experiment_tag(key, value)?;
        self.inner.index()?.set_experiment_tag(id, key, value)
    }

    /// Deletes an experiment tag; NotFound when it is not set.
    pub fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        let id = validate::experiment_id(experiment_id)?;
        self.inner.index()?.delete_experiment_tag(id, key)
    }
}
