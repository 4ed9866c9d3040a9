//! `export --postgres URL --artifacts s3://...`: the direct mode, writing
//! into the server's database and bucket (the `tracklite-export` crate
//! does the work). Output as for the REST mode, plus the warnings of this
//! mode (infinities stored lossily). The URL's password is never printed:
//! the crate's messages show `***`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use tracklite::Store;
use tracklite_export::{DirectOptions, DirectSummary, Event, RunOutcome};

use crate::export::print_summary;
use crate::json;

/// What `tracklite export --postgres` was asked.
pub struct Request {
    pub postgres: String,
    pub artifacts: String,
    pub experiments: Vec<String>,
    pub runs: Vec<String>,
    pub dry_run: bool,
    pub json: bool,
}

/// Exit status 0 when every run and object was exported, 1 otherwise.
pub fn run(store: &Store, request: Request, out: &mut dyn Write) -> Result<ExitCode> {
    let mut options = DirectOptions::new(request.postgres, request.artifacts);
    options.experiments = request.experiments;
    options.runs = request.runs;
    options.dry_run = request.dry_run;
    let summary = tracklite_export::export_direct(store, &options, &progress)?;
    if request.json {
        json::write(out, &serde_json::to_value(&summary)?)?;
    } else {
        print_summary(&summary.export, out)?;
        print_direct(&summary, out)?;
    }
    if summary.infinite_values > 0 {
        eprintln!(
            "warning: {} metric value(s) were ±inf; MLflow's database stores them as \
             ±1.7976931348623157e308, so the server gives that number back",
            summary.infinite_values
        );
    }
    let e = &summary.export;
    if !e.ok() {
        eprintln!(
            "error: {} run(s) and {} other object(s) failed to export to {}; the rest was \
             exported (run the same command again to retry)",
            e.runs_failed,
            e.objects.failures.len(),
            e.target
        );
        for f in &e.failures {
            eprintln!(
                "  FAILED run {} ({}) in {:?}: {}",
                f.run_id, f.run_name, f.experiment, f.error
            );
        }
    }
    Ok(if e.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_direct(s: &DirectSummary, out: &mut dyn Write) -> Result<()> {
    if !s.export.dry_run {
        writeln!(
            out,
            "schema {}; artifacts: {} file(s), {} bytes uploaded",
            s.schema_revision, s.artifact_files, s.artifact_bytes
        )?;
    }
    Ok(())
}

/// Progress lines on standard error (none under `--json`).
fn progress(event: Event<'_>) {
    match event {
        Event::Experiment {
            name,
            remote_id,
            created,
        } => note!(
            "experiment {name:?}: {} (id {remote_id})",
            if created { "created" } else { "found" }
        ),
        Event::Run(r) => {
            let what = match r.outcome {
                RunOutcome::Created => "created",
                RunOutcome::Updated => "updated",
                RunOutcome::Skipped => "up to date",
                RunOutcome::Failed => "FAILED",
            };
            match &r.error {
                Some(e) => note!("run {} ({}): FAILED: {e}", r.run_id, r.run_name),
                None => note!(
                    "run {} ({}): {what}, {} points, {} params, {} tags",
                    r.run_id,
                    r.run_name,
                    r.points,
                    r.params,
                    r.tags
                ),
            }
        }
        _ => {}
    }
}
