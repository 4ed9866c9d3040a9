//! Which runs an export takes: every active run, or those of the named
//! experiments and the named runs, always with their parent runs (a child
//! names its parent by the parent's remote id, so the parent goes first).

use std::collections::{BTreeMap, HashMap};

use tracklite::{Experiment, LifecycleStage, Run, Store, ViewType};

use crate::error::{ExportError, Result};

/// The tag naming a run's parent run.
pub const PARENT_RUN_TAG: &str = "mlflow.parentRunId";

/// The runs to export, parents before children, and their experiments.
pub(crate) struct Selection {
    pub experiments: BTreeMap<String, Experiment>,
    /// With each run its depth: 0 for a run whose parent is not exported.
    pub runs: Vec<(Run, usize)>,
}

pub(crate) fn select(store: &Store, experiments: &[String], runs: &[String]) -> Result<Selection> {
    let all = store.list_experiments(ViewType::All)?;
    let by_name: HashMap<&str, &Experiment> = all.iter().map(|e| (e.name.as_str(), e)).collect();
    let mut run_ids: Vec<String> = Vec::new();
    let selection_error = |reason: String| ExportError::Selection { reason };
    if experiments.is_empty() && runs.is_empty() {
        for e in all
            .iter()
            .filter(|e| e.lifecycle_stage == LifecycleStage::Active)
        {
            for r in store.list_runs(&[&e.experiment_id], ViewType::ActiveOnly)? {
                run_ids.push(r.run_id);
            }
        }
    }
    for name in experiments {
        let e = by_name.get(name.as_str()).ok_or_else(|| {
            selection_error(format!("the store has no experiment named {name:?}"))
        })?;
        if e.lifecycle_stage != LifecycleStage::Active {
            return Err(selection_error(format!(
                "experiment {name:?} is deleted in the store; restore it to export it"
            )));
        }
        for r in store.list_runs(&[&e.experiment_id], ViewType::ActiveOnly)? {
            run_ids.push(r.run_id);
        }
    }
    for id in runs {
        let info = store.get_run_info(id)?;
        if info.lifecycle_stage != LifecycleStage::Active {
            return Err(selection_error(format!(
                "run {id} is deleted in the store; restore it to export it"
            )));
        }
        run_ids.push(info.run_id);
    }

    // Load each run once, adding parents as they are named.
    let mut loaded: BTreeMap<String, Run> = BTreeMap::new();
    while let Some(id) = run_ids.pop() {
        if loaded.contains_key(&id) {
            continue;
        }
        let run = store.get_run(&id)?;
        if let Some(parent) = run.tags.get(PARENT_RUN_TAG) {
            if !loaded.contains_key(parent) && store.get_run_info(parent).is_ok() {
                run_ids.push(parent.clone());
            }
        }
        loaded.insert(id, run);
    }

    let mut depths: HashMap<String, usize> = HashMap::new();
    for id in loaded.keys() {
        depth_of(id, &loaded, &mut depths, 0);
    }
    let mut experiments_used = BTreeMap::new();
    let mut out = Vec::with_capacity(loaded.len());
    for (id, run) in loaded {
        let e = all
            .iter()
            .find(|e| e.experiment_id == run.info.experiment_id)
            .ok_or_else(|| {
                selection_error(format!(
                    "run {id} names experiment {} that the store does not have",
                    run.info.experiment_id
                ))
            })?;
        experiments_used
            .entry(e.experiment_id.clone())
            .or_insert_with(|| e.clone());
        out.push((run, depths[&id]));
    }
    // Parents first; then the older runs first.
    out.sort_by(|(a, da), (b, db)| {
        (da, a.info.start_time, &a.info.run_id).cmp(&(db, b.info.start_time, &b.info.run_id))
    });
    Ok(Selection {
        experiments: experiments_used,
        runs: out,
    })
}

/// A run's depth among the loaded runs (a parent loop counts as no parent).
fn depth_of(
    id: &str,
    runs: &BTreeMap<String, Run>,
    depths: &mut HashMap<String, usize>,
    guard: usize,
) -> usize {
    if let Some(d) = depths.get(id) {
        return *d;
    }
    let parent = runs
        .get(id)
        .and_then(|r| r.tags.get(PARENT_RUN_TAG))
        .filter(|p| runs.contains_key(p.as_str()) && p.as_str() != id);
    let depth = match parent {
        Some(p) if guard < runs.len() => depth_of(p, runs, depths, guard + 1) + 1,
        _ => 0,
    };
    depths.insert(id.to_string(), depth);
    depth
}
