//! `tracklite`: inspect and maintain a tracklite store from the shell.
//!
//! The command-line program as a library: [`run`] takes the arguments and
//! returns the exit status, so that the `tracklite` binary and the Python
//! wheel (`python -m tracklite`, its `tracklite` script) are the same
//! program. This file holds the dispatch; the arguments are in `args`, and
//! each group of commands prints from its own module; everything else is
//! the `tracklite` library's.

/// Prints a line on standard error, unless `--json` asked for nothing but
/// the JSON document: notes and progress lines. (Defined before the
/// modules, which use it.)
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::quiet() {
            eprintln!($($arg)*);
        }
    };
}

mod args;
mod artifacts;
mod check;
mod counter;
mod errors;
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
mod store_uri;
mod table;
mod ui;
mod watch;

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use clap::Parser;
use tracklite::Store;

use args::{Cli, Command};
use store_uri::{Location, Origin, DEFAULT_STORE_DIR, MLFLOW_URI_ENV, STORE_ENV};

/// Set under `--json`: progress and notes on standard error are left out,
/// so that the JSON document is all a caller gets (warnings, an export's
/// failed runs and the log of `export --watch` are still printed).
static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether notes and progress are left out (`--json`).
pub(crate) fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Runs the program with `args` (the program's name first, as in
/// `std::env::args_os`), printing to the process's standard output and
/// error, and returns its exit status: 0 on success, 1 on an error (or
/// when `check` finds problems), 2 on a usage error. `--help` and
/// `--version` print to standard output and return 0.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout, usage errors to stderr.
            let _ = e.print();
            return e.exit_code();
        }
    };
    let as_json = cli.command.json();
    QUIET.store(as_json, Ordering::Relaxed);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let result = dispatch(cli, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) if code == ExitCode::SUCCESS => 0,
        Ok(_) => 1,
        // The reader went away (`tracklite history ... | head`): not an error.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) if as_json => {
            // One document on stdout: what is still buffered is dropped.
            let _ = out.into_parts();
            errors::print_json(&e);
            1
        }
        Err(e) => {
            let _ = out.flush();
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn dispatch(cli: Cli, out: &mut dyn Write) -> Result<ExitCode> {
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
    let location = store_uri::resolve(cli.store.as_deref(), |name| std::env::var_os(name))?;
    if let Command::Import { source, json } = &cli.command {
        return import::run(&location, source, *json, out);
    }
    if let Command::Ui {
        port,
        host,
        allow_remote,
    } = &cli.command
    {
        // The viewer opens the store itself, read-only.
        return ui::run(&location, host, *port, *allow_remote, out);
    }
    let writes = matches!(
        cli.command,
        Command::Gc { .. }
            | Command::Compact { .. }
            | Command::Check { repair: true, .. }
            | Command::Export { dry_run: false, .. }
    );
    let store = open_store(&location, writes)?;
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
        Command::Import { .. } | Command::Ui { .. } => {
            unreachable!("handled before the store is opened")
        }
    }
}

/// Opens the store at `location`. An inspection tool must not create a
/// store where there is none: `Store::open_existing` refuses a path without
/// one. A command that only reads falls back to a read-only open when the
/// store cannot be written (a full disk, read-only media, no write
/// permission), and says so on stderr.
fn open_store(location: &Location, writes: bool) -> Result<Store> {
    let path = &location.path;
    match Store::open_existing(path) {
        Ok(store) => Ok(store),
        Err(e @ tracklite::Error::NoStore { .. }) => Err(no_store(e, location)),
        Err(e) if !writes && cannot_write(&e) => match Store::open_read_only(path) {
            Ok(store) => {
                note!("note: opened read-only, as the store cannot be written: {e}");
                Ok(store)
            }
            Err(_) => {
                Err(e).with_context(|| format!("cannot open the store at {}", path.display()))
            }
        },
        Err(e) => Err(e).with_context(|| format!("cannot open the store at {}", path.display())),
    }
}

/// The library's "no store" error (it names the path and what is missing),
/// with what named the path, and a hint for an MLflow file store.
fn no_store(e: tracklite::Error, location: &Location) -> anyhow::Error {
    let path = &location.path;
    if is_mlflow_file_store(path) {
        let hint = format!(
            "{} holds an MLflow file store (mlruns), not a tracklite store; \
             `tracklite --store NEW_STORE import {}` copies it into one",
            path.display(),
            path.display()
        );
        return anyhow::Error::new(e).context(hint);
    }
    let origin = match location.origin {
        Origin::Default => format!(
            "no store given (--store, {STORE_ENV} or {MLFLOW_URI_ENV}) and none in ./{DEFAULT_STORE_DIR}"
        ),
        origin => format!("the store named by {origin}"),
    };
    anyhow::Error::new(e).context(origin)
}

/// An MLflow file store (`mlruns`): numbered experiment folders with
/// `meta.yaml`, and no tracklite index (as Python's `_is_mlflow_file_store`).
fn is_mlflow_file_store(path: &Path) -> bool {
    if path.join(tracklite::INDEX_FILE).exists() {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return false;
    };
    entries.flatten().any(|e| {
        e.file_name()
            .to_str()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            && e.path().join("meta.yaml").exists()
    })
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
