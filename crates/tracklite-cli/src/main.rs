//! `tracklite`: inspect and maintain a tracklite store from the shell.
//!
//! This file holds the argument definitions and the dispatch; each group of
//! commands prints from its own module, and everything else is the
//! `tracklite` library's.

mod artifacts;
mod check;
mod export;
mod export_direct;
mod format;
mod import;
mod json;
mod listing;
mod maintenance;
mod models;
mod progress;
mod run;
mod table;
mod watch;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use tracklite::{Store, ViewType};

/// The environment variable naming the store when `--store` is absent.
const STORE_ENV: &str = "TRACKLITE_STORE";

#[derive(Parser)]
#[command(
    name = "tracklite",
    version,
    about = "Inspect and maintain a tracklite experiment-tracking store",
    after_help = "Times are printed in UTC. Exit status: 0 on success, 1 on an error \
                  (or when `check` finds problems), 2 on a usage error."
)]
struct Cli {
    /// The store's directory [default: the TRACKLITE_STORE environment variable]
    #[arg(long, global = true, value_name = "PATH")]
    store: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List experiments with their run counts
    Experiments {
        /// Which lifecycle stages to list
        #[arg(long, value_enum, default_value_t = View::Active)]
        view: View,
        /// Print one JSON document instead of a table
        #[arg(long)]
        json: bool,
    },
    /// List runs, newest first, with their latest metrics and their params
    Runs {
        /// Only the runs of this experiment (a name, or an id) [default: all experiments]
        #[arg(long, value_name = "NAME")]
        experiment: Option<String>,
        /// Which lifecycle stages to list
        #[arg(long, value_enum, default_value_t = View::Active)]
        view: View,
        /// Only runs matching this filter, in MLflow's search language,
        /// e.g. "metrics.acc > 0.9 AND params.lr = '0.01'"
        #[arg(long, value_name = "FILTER", default_value = "")]
        filter: String,
        /// Order by these keys, e.g. "metrics.acc DESC" (repeatable)
        /// [default: start time, newest first]
        #[arg(long, value_name = "KEY [ASC|DESC]")]
        order_by: Vec<String>,
        /// Show at most this many runs
        #[arg(long, visible_alias = "limit", value_name = "N")]
        max_results: Option<usize>,
        /// Print one JSON document instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show one run: info, params, tags, inputs and latest metrics
    Run {
        run_id: String,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Print every point of one metric of a run: step, timestamp, value
    History {
        run_id: String,
        key: String,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Verify the index and the metric log; exit status 1 when problems are found
    Check {
        /// Repair what can be repaired, then check again
        #[arg(long)]
        repair: bool,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// List a run's artifacts, under PATH or at the run's root
    Artifacts {
        run_id: String,
        path: Option<String>,
        /// Print one JSON document instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Rewrite ended runs' metrics into compressed blocks and release freed space
    Compact {
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Import an MLflow file store (an mlruns folder, with its model
    /// registry), creating the store if needed; exit status 1 when damaged
    /// files were left out
    Import {
        /// The mlruns folder; it is only read
        source: PathBuf,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// List registered models with their latest versions and aliases, or
    /// show one model with every version
    Models {
        /// The registered model to show [default: list every model]
        name: Option<String>,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Permanently remove deleted runs: all of them, or only those listed.
    /// A deleted run whose artifacts a registered model version uses makes
    /// the whole gc fail, removing nothing, unless --force is given
    Gc {
        /// Deleted runs to remove [default: every deleted run]
        run_ids: Vec<String>,
        /// Remove deleted runs even when registered model versions use
        /// their artifacts (the versions are left without their files)
        #[arg(long)]
        force: bool,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Push the store to an MLflow tracking server, sending only what is new
    ///
    /// Experiments are matched by name; runs keep their start and end times,
    /// status, user, name, params, tags and every metric point, and their
    /// artifact files go to the server's artifact proxy (mlflow-artifacts:)
    /// or straight to the bucket (s3://, with MLFLOW_S3_ENDPOINT_URL and the
    /// AWS_* variables). The export journal in the store records what the
    /// server acknowledged: run the same command again to send what is new,
    /// or to finish an export that was cut off. Credentials:
    /// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or
    /// MLFLOW_TRACKING_TOKEN. TLS: the system's CA roots, or the PEM bundle
    /// of MLFLOW_TRACKING_SERVER_CERT_PATH (or --ca-cert);
    /// MLFLOW_TRACKING_INSECURE_TLS=true (or --insecure) skips verification.
    /// With --check, nothing is exported: each step an export needs is
    /// tried (server, auth, version, creating an experiment, the artifact
    /// store) and reported OK or FAILED. Progress: a bar on a terminal,
    /// plain lines otherwise. Exit status 1 when any run failed (each is
    /// listed) or any check did not pass.
    ///
    /// Direct mode (--postgres and --artifacts instead of --to): writes
    /// straight into the server's PostgreSQL database (MLflow 3.17 schema)
    /// and its S3 bucket, keeping run ids and model version numbers; the
    /// server need not run. A password in the URL is never printed.
    Export {
        /// The tracking server: http(s)://HOST[:PORT]
        #[arg(
            long,
            value_name = "URL",
            required_unless_present = "postgres",
            conflicts_with = "postgres"
        )]
        to: Option<String>,
        /// Check that an export would work, exporting nothing: reach the
        /// server, authenticate, create and delete a scratch experiment,
        /// put and delete a scratch artifact file
        #[arg(long, conflicts_with_all = ["dry_run", "postgres", "watch"])]
        check: bool,
        /// Trust the CA certificates of this PEM file instead of the
        /// system's [default: MLFLOW_TRACKING_SERVER_CERT_PATH]
        #[arg(long, value_name = "PATH", conflicts_with = "postgres")]
        ca_cert: Option<PathBuf>,
        /// Do not verify the server's TLS certificate (prints a warning)
        /// [default: MLFLOW_TRACKING_INSECURE_TLS]
        #[arg(long, conflicts_with = "postgres")]
        insecure: bool,
        /// Direct mode: the server's database,
        /// postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DB
        #[arg(long, value_name = "URL", requires = "artifacts")]
        postgres: Option<String>,
        /// Direct mode: the server's artifact root in its bucket,
        /// s3://BUCKET[/PREFIX] (its --default-artifact-root, or its
        /// --artifacts-destination when it proxies artifacts)
        #[arg(long, value_name = "S3_URI", requires = "postgres")]
        artifacts: Option<String>,
        /// Only the runs of this experiment (repeatable) [default: every run]
        #[arg(long, value_name = "NAME")]
        experiment: Vec<String>,
        /// Only this run (repeatable; its parent runs come along)
        #[arg(long = "run", value_name = "ID")]
        runs: Vec<String>,
        /// Say what would be sent, from the journal only: no request, no write
        #[arg(long)]
        dry_run: bool,
        /// Requests in flight at once
        #[arg(long, default_value_t = 4, value_name = "N")]
        connections: usize,
        /// Print one JSON document (the summary, or the check's report)
        /// instead of text
        #[arg(long)]
        json: bool,
        /// Keep exporting what is new every few seconds while runs are
        /// logged, until interrupted (Ctrl-C or SIGTERM), then once more
        #[arg(long, conflicts_with_all = ["dry_run", "postgres"])]
        watch: bool,
        /// Seconds between two passes of --watch
        #[arg(
            long,
            default_value_t = 5.0,
            value_name = "SECONDS",
            requires = "watch"
        )]
        interval: f64,
    },
}

/// Lifecycle stages to list, as spelled on the command line.
#[derive(Clone, Copy, ValueEnum)]
enum View {
    Active,
    Deleted,
    All,
}

impl From<View> for ViewType {
    fn from(v: View) -> ViewType {
        match v {
            View::Active => ViewType::ActiveOnly,
            View::Deleted => ViewType::DeletedOnly,
            View::All => ViewType::All,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let result = dispatch(cli, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        // The reader went away (`tracklite history ... | head`): not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli, out: &mut dyn Write) -> Result<ExitCode> {
    if let Command::Import { source, json } = &cli.command {
        return import::run(cli.store, source, *json, out);
    }
    if let Command::Export {
        to,
        check: true,
        ca_cert,
        insecure,
        json,
        ..
    } = &cli.command
    {
        // A check reads no store: it needs none.
        let tls = check::tls_options(ca_cert.clone(), *insecure)?;
        return check::run(to.as_deref().unwrap_or_default(), tls, *json, out);
    }
    let writes = matches!(
        cli.command,
        Command::Gc { .. }
            | Command::Compact { .. }
            | Command::Check { repair: true, .. }
            | Command::Export { dry_run: false, .. }
    );
    let store = open_store(cli.store, writes)?;
    match cli.command {
        Command::Experiments { view, json } => listing::experiments(&store, view.into(), json, out),
        Command::Runs {
            experiment,
            view,
            filter,
            order_by,
            max_results,
            json,
        } => {
            let query = listing::RunQuery {
                filter,
                order_by,
                max_results,
            };
            listing::runs(
                &store,
                experiment.as_deref(),
                view.into(),
                &query,
                json,
                out,
            )
        }
        Command::Run { run_id, json } => run::show(&store, &run_id, json, out),
        Command::History { run_id, key, json } => run::history(&store, &run_id, &key, json, out),
        Command::Check { repair, json } => maintenance::check(&store, repair, json, out),
        Command::Gc {
            run_ids,
            force,
            json,
        } => maintenance::gc(&store, &run_ids, force, json, out),
        Command::Compact { json } => maintenance::compact(&store, json, out),
        Command::Models { name: None, json } => models::list(&store, json, out),
        Command::Models {
            name: Some(name),
            json,
        } => models::show(&store, &name, json, out),
        Command::Artifacts { run_id, path, json } => {
            artifacts::list(&store, &run_id, path.as_deref(), json, out)
        }
        Command::Export {
            postgres: Some(postgres),
            artifacts,
            experiment,
            runs,
            dry_run,
            json,
            ..
        } => export_direct::run(
            &store,
            export_direct::Request {
                postgres,
                artifacts: artifacts.unwrap_or_default(),
                experiments: experiment,
                runs,
                dry_run,
                json,
            },
            out,
        ),
        Command::Export {
            to,
            experiment,
            runs,
            dry_run,
            connections,
            json,
            watch,
            interval,
            ca_cert,
            insecure,
            ..
        } => export::run(
            &store,
            export::Request {
                to: to.unwrap_or_default(),
                experiments: experiment,
                runs,
                dry_run,
                connections,
                json,
                watch: watch.then_some(interval),
                tls: check::tls_options(ca_cert, insecure)?,
            },
            out,
        ),
        Command::Import { .. } => unreachable!("handled before the store is opened"),
    }
}

/// Opens the store named by `--store` or by the environment. An inspection
/// tool must not create a store where there is none: `Store::open_existing`
/// refuses a path without one. A command that only reads falls back to a
/// read-only open when the store cannot be written (a full disk, read-only
/// media, no write permission), and says so on stderr.
fn open_store(path: Option<PathBuf>, writes: bool) -> Result<Store> {
    let path = match path {
        Some(p) => p,
        None => match std::env::var_os(STORE_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => bail!("no store given: pass --store PATH or set {STORE_ENV}"),
        },
    };
    match Store::open_existing(&path) {
        Ok(store) => Ok(store),
        // Its message names the path and what is missing.
        Err(e @ tracklite::Error::NoStore { .. }) => Err(e.into()),
        Err(e) if !writes && cannot_write(&e) => match Store::open_read_only(&path) {
            Ok(store) => {
                eprintln!("note: opened read-only, as the store cannot be written: {e}");
                Ok(store)
            }
            Err(_) => {
                Err(e).with_context(|| format!("cannot open the store at {}", path.display()))
            }
        },
        Err(e) => Err(e).with_context(|| format!("cannot open the store at {}", path.display())),
    }
}

/// True for the errors of a writable open that a read-only open avoids.
fn cannot_write(e: &tracklite::Error) -> bool {
    use tracklite::{Error, IndexErrorKind};
    match e {
        Error::ReadOnly { .. } => true,
        Error::Index(index) => matches!(
            index.kind(),
            IndexErrorKind::Full | IndexErrorKind::ReadOnly | IndexErrorKind::CannotOpen
        ),
        Error::Io { source, .. } => matches!(
            source.kind(),
            io::ErrorKind::PermissionDenied
                | io::ErrorKind::StorageFull
                | io::ErrorKind::ReadOnlyFilesystem
                | io::ErrorKind::QuotaExceeded
        ),
        _ => false,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                .is_some_and(|k| k == io::ErrorKind::BrokenPipe)
    })
}
