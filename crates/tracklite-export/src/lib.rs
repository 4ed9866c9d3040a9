//! Exports a tracklite store to an MLflow tracking server through its REST
//! API (`/api/2.0/mlflow/...`): experiments by name, runs with their
//! original start and end times, status, user, name, tags, params and
//! every metric point with its own timestamp and step, nested runs with
//! their parent links, and the files of each run's artifact folder (to the
//! server's artifact proxy, or straight to an `s3://` bucket).
//!
//! Incremental and resumable: the store's export journal (see
//! [`tracklite::ExportJournal`]) records what the server acknowledged, so a
//! second export sends only what is new, and an export cut off at any
//! moment is finished by running it again. Every remote run is tagged with
//! the store's id and the local run id (`tracklite.store_id`,
//! `tracklite.run_id`), so a lost journal is rebuilt from the server and a
//! run is never created twice.
//!
//! Live: [`watch`] repeats the export every few seconds while runs are
//! logged, until told to stop, surviving a server that goes away and comes
//! back.
//!
//! The direct mode ([`export_direct`]) writes into the server's PostgreSQL
//! database instead, as MLflow's SQL store does, and puts artifacts
//! straight into its bucket: several times faster for large histories.
//!
//! Connections: basic auth or a bearer token ([`Auth::from_env`]), TLS with
//! the system's roots, a CA bundle or no verification
//! ([`TlsOptions::from_env`]), retries with backoff on 429, 5xx and
//! transport errors (a `Retry-After` is waited for). [`check`] tries each
//! step an export needs (server, auth, version, creating an experiment,
//! the artifact store) without exporting anything.
//!
//! All network code of tracklite is in this crate; the core crate has none.
//!
//! ```no_run
//! use tracklite_export::{check, export, Auth, ExportOptions, TlsOptions};
//! let store = tracklite::Store::open_existing("runs")?;
//! let mut options = ExportOptions::new("https://mlflow.example.org");
//! options.auth = Auth::from_env();
//! options.tls = TlsOptions::from_env()?;
//! assert!(check(&options)?.ok());
//! let summary = export(&store, &options, &|_event| {})?;
//! assert!(summary.ok(), "{:?}", summary.failures);
//! # Ok::<(), tracklite_export::ExportError>(())
//! ```

mod api;
mod artifacts;
mod batch;
mod check;
mod client;
mod digests;
mod direct;
mod error;
mod export;
mod file_bytes;
mod inputs;
mod local_models;
mod models;
mod objects;
mod percent;
mod registry;
mod retry_after;
mod s3;
mod select;
mod summary;
mod tls;
mod verify;
mod watch;

pub use api::{RUN_ID_TAG, STORE_ID_TAG};
pub use check::{check, Check, CheckReport, CheckStatus};
pub use client::{normalise_target, Auth, RetryPolicy};
pub use direct::{export_direct, DirectOptions, DirectSummary, SUPPORTED_REVISIONS};
pub use error::{ExportError, Result};
pub use export::{export, ExportOptions};
pub use models::MODEL_ID_TAG;
pub use objects::ObjectsSummary;
pub use percent::percent_decode;
pub use registry::MODEL_VERSION_TAG;
pub use summary::{Event, ExportSummary, RunFailure, RunOutcome, RunReport};
pub use tls::{TlsOptions, CERT_PATH_VAR, INSECURE_VAR};
pub use watch::{watch, StopSignal, WatchSummary};
