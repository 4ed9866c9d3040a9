//! `import`: brings an MLflow file store (an `mlruns` folder) into a store,
//! creating the store when it does not exist yet. Progress goes to
//! standard error; the summary, or one JSON document, to standard output.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use tracklite::{ImportReport, Store};

use crate::counter::Counter;
use crate::store_uri::Location;
use crate::{format, json};

/// Imports `source` into the store at `location`. Exit status 0 when
/// everything was imported, 1 when something damaged was left out (the
/// rest is imported all the same).
pub fn run(
    location: &Location,
    source: &Path,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let path = &location.path;
    if !source.is_dir() {
        bail!("{} is not a folder", source.display());
    }
    // Before the store is created: a store inside the source would change it.
    tracklite::check_mlruns_source(source, path)
        .with_context(|| format!("cannot import {}", source.display()))?;
    let store = Store::open(path)
        .with_context(|| format!("cannot open the store at {}", path.display()))?;
    let mut counter = Counter::new("importing", "runs");
    let report = store
        .import_mlruns(source, &mut |p| counter.set(p.done, p.total))
        .with_context(|| format!("cannot import {}", source.display()))?;
    counter.finish();
    if as_json {
        json::write(out, &serde_json::to_value(&report)?)?;
    } else {
        summary(&report, store.path(), out)?;
    }
    Ok(if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn summary(r: &ImportReport, store: &Path, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "imported {} into {}", r.source, store.display())?;
    writeln!(
        out,
        "experiments: {} created, {} replaced an empty one, {} already in the store",
        r.experiments_created, r.experiments_replaced, r.experiments_present
    )?;
    let restarted = if r.runs_restarted > 0 {
        format!(" ({} completing an interrupted import)", r.runs_restarted)
    } else {
        String::new()
    };
    writeln!(
        out,
        "runs: {} imported{restarted}, {} already in the store, {} left out",
        r.runs_imported, r.runs_present, r.runs_skipped
    )?;
    writeln!(
        out,
        "logged models: {} imported, {} already in the store",
        r.logged_models, r.logged_models_present
    )?;
    writeln!(
        out,
        "registered models: {} imported ({} versions), {} already in the store, {} left out",
        r.registered_models,
        r.model_versions,
        r.registered_models_present,
        r.registered_models_skipped
    )?;
    writeln!(
        out,
        "{} metric points, {} params, {} tags, {} dataset inputs, {} artifact files ({})",
        r.metric_points,
        r.params,
        r.tags,
        r.dataset_inputs,
        r.artifact_files,
        format::bytes(r.artifact_bytes)
    )?;
    for note in &r.not_imported {
        writeln!(out, "not imported: {note}")?;
    }
    for p in &r.problems {
        writeln!(out, "left out: {}: {}", p.path, p.message)?;
    }
    Ok(())
}
