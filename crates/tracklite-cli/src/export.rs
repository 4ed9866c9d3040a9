//! `export`: pushes the store to an MLflow tracking server (the
//! `tracklite-export` crate does the work). Progress goes to standard
//! error (see [`crate::progress`]); the summary, or one JSON document, to
//! standard output. Credentials come from the environment and are never
//! printed.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use tracklite::Store;
use tracklite_export::{Auth, Event, ExportOptions, ExportSummary, TlsOptions};

use crate::json;

/// What `tracklite export` was asked.
pub struct Request {
    pub to: String,
    pub experiments: Vec<String>,
    pub runs: Vec<String>,
    pub dry_run: bool,
    pub connections: usize,
    pub json: bool,
    /// `--watch`: the seconds between two passes.
    pub watch: Option<f64>,
    pub tls: TlsOptions,
}

/// Exit status 0 when every run was exported, 1 when any failed.
pub fn run(store: &Store, request: Request, out: &mut dyn Write) -> Result<ExitCode> {
    let mut options = ExportOptions::new(&request.to);
    options.experiments = request.experiments;
    options.runs = request.runs;
    options.dry_run = request.dry_run;
    options.connections = request.connections;
    options.auth = Auth::from_env();
    options.tls = request.tls;
    if let Some(interval) = request.watch {
        return crate::watch::run(store, &options, interval, request.json, out);
    }
    let progress = crate::progress::Progress::new();
    let exported = tracklite_export::export(store, &options, &|e| progress.on_event(e));
    progress.finish();
    let summary = exported?;
    if request.json {
        json::write(out, &serde_json::to_value(&summary)?)?;
    } else {
        print_summary(&summary, out)?;
    }
    if !summary.ok() {
        eprintln!(
            "error: {} run(s) failed to export to {}; the others were exported (run the same \
             command again to retry)",
            summary.runs_failed, summary.target
        );
        for f in &summary.failures {
            eprintln!(
                "  FAILED run {} ({}) in {:?}: {}",
                f.run_id, f.run_name, f.experiment, f.error
            );
        }
    }
    Ok(if summary.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Shows an export's event as a plain line on standard error (the
/// passes of `--watch` print so, a bar being no use in a long watch).
pub(crate) fn progress(event: Event<'_>) {
    crate::progress::Progress::lines().on_event(event);
}

pub(crate) fn print_summary(s: &ExportSummary, out: &mut dyn Write) -> Result<()> {
    let verb = if s.dry_run { "would send" } else { "sent" };
    writeln!(
        out,
        "{}{}: runs {} created, {} updated, {} up to date, {} failed; {verb} {} points, {} params, \
         {} tags in {:.1} s",
        if s.dry_run { "dry run (from the export journal, no request made) " } else { "" },
        s.target,
        s.runs_created,
        s.runs_updated,
        s.runs_skipped,
        s.runs_failed,
        s.points,
        s.params,
        s.tags,
        s.seconds
    )?;
    let o = &s.objects;
    if s.dry_run {
        writeln!(
            out,
            "would make {} logged models, {} registered models, {} versions",
            o.logged_models_created, o.registered_models_created, o.versions_created
        )?;
    } else {
        writeln!(
            out,
            "inputs {}, outputs {}; logged models {} created, {} updated, {} files ({} bytes), \
             {} metric points ({} without a run on the server); registered models {} created, \
             versions {} created, {} registry updates",
            o.inputs,
            o.outputs,
            o.logged_models_created,
            o.logged_models_updated,
            o.model_files,
            o.model_bytes,
            o.model_metrics,
            o.model_metrics_without_run,
            o.registered_models_created,
            o.versions_created,
            o.registry_updates
        )?;
    }
    for w in &o.versions_waiting {
        writeln!(out, "waiting: {w}")?;
    }
    for f in &o.failures {
        writeln!(out, "FAILED: {f}")?;
    }
    Ok(())
}
