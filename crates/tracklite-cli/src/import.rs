//! `import`: brings an MLflow file store (an `mlruns` folder) into a store,
//! creating the store when it does not exist yet. Progress goes to
//! standard error; the summary, or one JSON document, to standard output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use tracklite::{ImportReport, Store};

use crate::{format, json, STORE_ENV};

/// Imports `source` into the store at `store` (or the one TRACKLITE_STORE
/// names). Exit status 0 when everything was imported, 1 when something
/// damaged was left out (the rest is imported all the same).
pub fn run(
    store: Option<PathBuf>,
    source: &Path,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let path = match store {
        Some(p) => p,
        None => match std::env::var_os(STORE_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => bail!("no store given: pass --store PATH or set {STORE_ENV}"),
        },
    };
    if !source.is_dir() {
        bail!("{} is not a folder", source.display());
    }
    // Before the store is created: a store inside the source would change it.
    tracklite::check_mlruns_source(source, &path)
        .with_context(|| format!("cannot import {}", source.display()))?;
    let store = Store::open(&path)
        .with_context(|| format!("cannot open the store at {}", path.display()))?;
    let mut last_shown = 0;
    let report = store
        .import_mlruns(source, &mut |p| {
            // About a hundred progress lines at most, however many runs.
            if p.done == p.total || p.done >= last_shown + (p.total / 100).max(1) {
                last_shown = p.done;
                eprintln!("importing: {}/{} runs", p.done, p.total);
            }
        })
        .with_context(|| format!("cannot import {}", source.display()))?;
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
