//! The direct mode: writes a store straight into the PostgreSQL database
//! of an MLflow 3.17 tracking server, as MLflow's own SQL store writes it,
//! and puts run artifacts straight into the server's bucket. The server is
//! not involved (it may be stopped); afterwards it serves the runs as if
//! they had been logged through it.
//!
//! What is written, and how:
//!
//! - experiments by name in the default workspace (made when missing, with
//!   the artifact location the server would give: `<root>/<id>`, or
//!   `mlflow-artifacts:/<id>` when the database's Default experiment shows
//!   a server that proxies artifacts), with their tags;
//! - runs under their own ids (tracklite run ids are MLflow's 32 hex),
//!   start and end times, status, user, name, tags, params, every metric
//!   point (binary `COPY` into `metrics`), `latest_metrics` merged with
//!   what the table holds, dataset inputs, model inputs and outputs;
//! - logged models (`m-<32 hex>` ids kept) with params, tags and metrics;
//! - registered models, versions under their own numbers, tags, aliases;
//! - run (and logged model) artifact files, to `s3://` (see [`crate::s3`]).
//!
//! Runs are written in batches, each in one transaction (each run in a
//! savepoint of it) with one `COPY` of all their points. What to write is decided by the
//! database, not by the export journal: per run, the params held and the
//! number of points per key (one grouped count); the journal only says
//! which prefix of each series those points are, and is written after the
//! commit. An export cut off between the commit and the journal write is
//! repaired by the next one (the count disagrees with the journal, so the
//! points of that series are read back and compared), and no row is ever
//! written twice.

mod artifacts;
mod dry_run;
mod experiments;
mod inputs;
mod metrics;
mod models;
mod registry;
mod runs;
mod schema;
mod target;
mod values;

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;
use tracklite::{ExportJournal, Store};

use crate::error::{ExportError, Result};
use crate::select::select;
use crate::summary::{Event, ExportSummary, RunFailure, RunOutcome, RunReport};

pub use schema::SUPPORTED_REVISIONS;

/// What to export in direct mode, where.
#[derive(Debug, Clone)]
pub struct DirectOptions {
    /// The server's database: `postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DB`
    /// (`postgresql+psycopg2://` as MLflow spells it is taken too). The
    /// password is never shown: messages show `***`.
    pub postgres: String,
    /// The server's artifact root in its bucket, `s3://BUCKET[/PREFIX]`: its
    /// `--default-artifact-root`, or its `--artifacts-destination` when it
    /// proxies artifacts.
    pub artifacts: String,
    /// Export the runs of these experiments (by name). With `runs` empty
    /// too: every active run of the store.
    pub experiments: Vec<String>,
    /// Export these runs (by id), besides those of `experiments`.
    pub runs: Vec<String>,
    /// Only say what would be written, from the export journal; nothing is
    /// read from or written to the database.
    pub dry_run: bool,
}

impl DirectOptions {
    /// Options with every default: all runs, no dry run.
    pub fn new(postgres: impl Into<String>, artifacts: impl Into<String>) -> DirectOptions {
        DirectOptions {
            postgres: postgres.into(),
            artifacts: artifacts.into(),
            experiments: Vec::new(),
            runs: Vec::new(),
            dry_run: false,
        }
    }
}

/// What a direct export did: the counts of [`ExportSummary`] (its target
/// is the database's URL without credentials), and what is particular to
/// this mode.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DirectSummary {
    /// Runs, points, params, tags, inputs, models and registry objects.
    #[serde(flatten)]
    pub export: ExportSummary,
    /// The database's MLflow schema revision (empty for a dry run).
    pub schema_revision: String,
    /// Metric points written whose value is ±inf: MLflow stores them as
    /// ±1.7976931348623157e308, so they read back as that number.
    pub infinite_values: u64,
    /// Artifact files uploaded (runs' and logged models').
    pub artifact_files: u64,
    /// Their bytes.
    pub artifact_bytes: u64,
}

/// What the steps share.
pub(crate) struct Context<'a> {
    pub store: &'a Store,
    pub client: postgres::Client,
    pub target: target::PgTarget,
    pub journal: ExportJournal,
    /// `s3://bucket[/prefix]`, no trailing `/`.
    pub artifact_root: String,
    /// New experiments get `mlflow-artifacts:/<id>` (a proxying server).
    pub proxied: bool,
}

impl Context<'_> {
    /// An error of `what` with the database's message, password hidden.
    pub fn error(&self, what: impl Into<String>, e: &dyn std::error::Error) -> ExportError {
        self.target.error(what, e)
    }
}

/// Exports `store` into the database of `options.postgres`. The summary
/// lists each run and object that failed; the error is for failures of the
/// whole export (the store, the database, its schema, the selection).
pub fn export_direct(
    store: &Store,
    options: &DirectOptions,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<DirectSummary> {
    let started = Instant::now();
    let target = target::PgTarget::parse(&options.postgres)?;
    let artifact_root = artifacts::parse_root(&options.artifacts)?;
    let journal = store.export_journal(&target.journal_key);
    let selection = select(store, &options.experiments, &options.runs)?;
    let journaled = journal.runs()?;
    let mut summary = DirectSummary {
        export: ExportSummary {
            target: target.journal_key.clone(),
            dry_run: options.dry_run,
            ..ExportSummary::default()
        },
        ..DirectSummary::default()
    };
    if options.dry_run {
        dry_run::dry_run(&selection, &journal, &journaled, &mut summary.export)?;
        summary.export.seconds = started.elapsed().as_secs_f64();
        return Ok(summary);
    }
    store.flush()?;
    let mut client = target
        .config
        .connect(postgres::NoTls)
        .map_err(|e| target.error("connecting", &e))?;
    summary.schema_revision = schema::check(&mut client, &target)?;
    let mut ctx = Context {
        store,
        client,
        proxied: false,
        target,
        journal,
        artifact_root,
    };
    ctx.proxied = experiments::server_proxies(&mut ctx)?;

    let mut remote_experiments = HashMap::new();
    for (local_id, e) in &selection.experiments {
        let outcome = experiments::ensure(&mut ctx, local_id, e);
        if let Ok((remote, created)) = &outcome {
            summary.export.experiments_created += usize::from(*created);
            on_event(Event::Experiment {
                name: &e.name,
                remote_id: &remote.id.to_string(),
                created: *created,
            });
        }
        remote_experiments.insert(local_id.clone(), outcome.map(|(r, _)| r));
    }

    let points_total: u64 = selection
        .runs
        .iter()
        .flat_map(|(r, _)| r.metrics.values().map(|s| s.count))
        .sum();
    let mut points_sent = 0;
    for batch in batches(&selection.runs) {
        let outcomes = export_batch(
            &mut ctx,
            &batch,
            &remote_experiments,
            &selection,
            &journaled,
        );
        for (run, outcome) in batch.iter().zip(outcomes) {
            let experiment = &selection.experiments[&run.info.experiment_id];
            let mut report = RunReport {
                run_id: run.info.run_id.clone(),
                run_name: run.info.run_name.clone(),
                experiment: experiment.name.clone(),
                remote_run_id: None,
                outcome: RunOutcome::Failed,
                points: 0,
                params: 0,
                tags: 0,
                error: None,
            };
            match outcome {
                Ok(w) => {
                    report.remote_run_id = Some(run.info.run_id.clone());
                    report.outcome = w.outcome();
                    report.points = w.points;
                    report.params = w.params;
                    report.tags = w.tags;
                    summary.infinite_values += w.infinite;
                    summary.export.objects.inputs += w.inputs;
                    summary.artifact_files += w.artifact_files;
                    summary.artifact_bytes += w.artifact_bytes;
                    points_sent += w.points;
                }
                Err(e) => report.error = Some(e.to_string()),
            }
            summary.export.add(&report);
            on_event(Event::Run(&report));
            on_event(Event::Progress {
                points_sent,
                points_total,
                seconds: started.elapsed().as_secs_f64(),
            });
            if let Some(error) = report.error {
                summary.export.failures.push(RunFailure {
                    run_id: report.run_id,
                    run_name: report.run_name,
                    experiment: report.experiment,
                    error,
                });
            }
        }
    }

    let experiments: HashMap<String, experiments::RemoteExperiment> = remote_experiments
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.ok()?)))
        .collect();
    let models = models::export_logged_models(&mut ctx, &experiments, &mut summary)?;
    registry::export_registry(&mut ctx, &models, &mut summary)?;
    summary.export.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The most local points one transaction writes: what a batch holds in
/// memory until its `COPY`.
const BATCH_POINTS: u64 = 1_000_000;
/// The most runs one transaction writes.
const BATCH_RUNS: usize = 64;

/// The selected runs in batches (each sorted by id, so that two exporters
/// lock rows in one order and never deadlock), each written in one
/// transaction with one `COPY` (see [`metrics::write_runs`]).
fn batches<T>(runs: &[(tracklite::Run, T)]) -> Vec<Vec<&tracklite::Run>> {
    let mut out: Vec<Vec<&tracklite::Run>> = Vec::new();
    let mut points = 0;
    for (run, _) in runs {
        let n: u64 = run.metrics.values().map(|s| s.count).sum();
        match out.last_mut() {
            Some(b) if b.len() < BATCH_RUNS && points + n <= BATCH_POINTS => {
                b.push(run);
                points += n;
            }
            _ => {
                out.push(vec![run]);
                points = n;
            }
        }
    }
    for b in &mut out {
        b.sort_by(|x, y| x.info.run_id.cmp(&y.info.run_id));
    }
    out
}

/// Writes a batch of runs in one transaction: each run's row, params, tags
/// and inputs in a savepoint (a run that fails leaves nothing behind and
/// the others go on), then the points of those that succeeded, then the
/// commit; after it, each run's journal and artifact files. An outcome per
/// run, in the batch's order.
fn export_batch(
    ctx: &mut Context<'_>,
    batch: &[&tracklite::Run],
    remote_experiments: &HashMap<
        String,
        std::result::Result<experiments::RemoteExperiment, String>,
    >,
    selection: &crate::select::Selection,
    journaled: &HashMap<String, tracklite::JournaledRun>,
) -> Vec<Result<runs::RunWrite>> {
    let mut outcomes: Vec<Result<(runs::RunWrite, String)>> = Vec::with_capacity(batch.len());
    let written = {
        let target = &ctx.target;
        let store = ctx.store;
        let first = &batch[0].info.run_id;
        let batch_err = |what: &str, e: &dyn std::error::Error| {
            let whose = if batch.len() == 1 {
                format!("run {first}")
            } else {
                format!("runs {first} and {} more", batch.len() - 1)
            };
            target.error(format!("{whose}: {what}"), e)
        };
        let attempt = (|| -> Result<Vec<metrics::MetricsWritten>> {
            let mut tx = ctx
                .client
                .transaction()
                .map_err(|e| batch_err("starting a transaction", &e))?;
            for run in batch {
                let id = run.info.run_id.as_str();
                let err = |what: &str, e: &dyn std::error::Error| {
                    target.error(format!("run {id}: {what}"), e)
                };
                let outcome = match &remote_experiments[&run.info.experiment_id] {
                    Ok(remote) => {
                        let mut sp = tx
                            .transaction()
                            .map_err(|e| err("starting a savepoint", &e))?;
                        match runs::write_run(&mut sp, store, run, remote, &err) {
                            Ok(w) => sp
                                .commit()
                                .map(|()| w)
                                .map_err(|e| err("releasing its savepoint", &e)),
                            Err(e) => {
                                sp.rollback()
                                    .map_err(|e| err("rolling back its savepoint", &e))?;
                                Err(e)
                            }
                        }
                    }
                    Err(e) => Err(ExportError::Run {
                        run_id: id.to_string(),
                        reason: format!(
                            "its experiment {:?}: {e}",
                            selection.experiments[&run.info.experiment_id].name
                        ),
                    }),
                };
                outcomes.push(outcome);
            }
            let default = tracklite::JournaledRun::default();
            let ok: Vec<(&tracklite::Run, &tracklite::JournaledRun)> = batch
                .iter()
                .zip(&outcomes)
                .filter(|(_, o)| o.is_ok())
                .map(|(r, _)| (*r, journaled.get(&r.info.run_id).unwrap_or(&default)))
                .collect();
            let written = metrics::write_runs(&mut tx, store, &ok, &batch_err)?;
            tx.commit().map_err(|e| batch_err("committing", &e))?;
            Ok(written)
        })();
        attempt
    };
    let mut written = match written {
        Ok(w) => w.into_iter(),
        // Nothing of the batch was committed: every run fails with it.
        Err(e) => {
            let reason = e.to_string();
            return batch
                .iter()
                .map(|r| {
                    Err(ExportError::Run {
                        run_id: r.info.run_id.clone(),
                        reason: reason.clone(),
                    })
                })
                .collect();
        }
    };
    batch
        .iter()
        .zip(outcomes)
        .map(|(run, outcome)| {
            let (w, uri) = outcome?;
            let m = written.next().expect("one MetricsWritten per run written");
            runs::finish_run(ctx, run, w, &m, &uri)
        })
        .collect()
}
