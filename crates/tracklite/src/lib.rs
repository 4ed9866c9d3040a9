//! tracklite: an embedded, serverless experiment-tracking store.
//!
//! A store is one directory: an SQLite index of experiments, runs, params,
//! tags and metric summaries; a memory-mapped, append-only, checksummed
//! metric log; and a folder of artifacts. Several processes may log to one
//! store at once, and a killed process loses nothing it had logged.
//!
//! Its entities follow MLflow's: experiments group runs; a run has params
//! (set once), tags, metrics (points of a value at a step and a time),
//! dataset inputs and artifacts; logged models belong to experiments.
//! [`Store`] is the way in.
//!
//! # Example
//!
//! Create a run, log a param and a metric, read the metric back, end the run:
//!
//! ```
//! use tracklite::{now_ms, NewRun, RunStatus, Store};
//!
//! # fn main() -> tracklite::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("my-store");
//! let store = Store::open(&path)?; // created when missing
//! let experiment_id = store.experiment_id_for("demo")?; // created when missing
//! let run = store.create_run(NewRun {
//!     experiment_id: Some(experiment_id),
//!     run_name: Some("first-run".into()),
//!     ..NewRun::default()
//! })?;
//! store.log_param(&run.run_id, "learning_rate", "0.01")?;
//!
//! // The fast path: a writer, and a handle per metric key.
//! let mut writer = store.metric_writer(&run.run_id)?;
//! let loss = writer.series("loss")?;
//! for step in 0..100 {
//!     writer.append(loss, 1.0 / (step + 1) as f64, now_ms(), step)?;
//! }
//! writer.log("accuracy", 0.93, now_ms(), 99)?; // by key
//! writer.close()?;
//! store.end_run(&run.run_id, RunStatus::Finished)?;
//!
//! let history = store.metric_history(&run.run_id, "loss")?;
//! assert_eq!(history.len(), 100);
//! assert_eq!(history[99].step, 99);
//! let run = store.get_run(&run.run_id)?;
//! assert_eq!(run.params["learning_rate"], "0.01");
//! assert_eq!(run.info.status, RunStatus::Finished);
//! assert_eq!(run.metrics["loss"].count, 100);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod artifacts;
mod check;
mod downsample;
mod entities;
mod error;
mod huge_pages;
mod import;
mod index;
mod log;
mod names;
mod process;
mod search;
mod store;
mod summary;
pub mod validate;

pub use check::{CheckReport, Problem};
pub use downsample::{Downsample, DownsampledSeries, XAxis};
pub use entities::{
    now_ms, Dataset, DatasetInput, Experiment, LifecycleStage, Metric, MetricColumns,
    MetricDatasetLink, MetricPoint, MetricSummary, NewRun, Run, RunInfo, RunStatus, RunUpdate,
    ViewType,
};
pub use entities::{BackingRun, ModelVersion, ModelVersionStage, NewModelVersion, RegisteredModel};
pub use entities::{ExperimentRecord, LoggedModelRecord, RegisteredModelRecord, RunRecord};
pub use entities::{
    LoggedModel, LoggedModelOutput, LoggedModelStatus, ModelMetric, NewLoggedModel,
};
pub use error::{
    EntityKind, Error, FormatError, IndexError, IndexErrorKind, Result, ValidationError,
};
#[cfg(feature = "mlruns-import")]
pub use import::{check_mlruns_source, ImportProblem, ImportProgress, ImportReport};
pub use import::{ExperimentImport, MetricDatasetLinks, RunImport};
pub use search::{SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_LIMIT};
pub use store::FileInfo;
pub use store::{value_digest, ExportJournal, JournaledRun};
pub use store::{
    CompactReport, Durability, GcOptions, GcReport, MetricWriter, Progress, SeriesHandle, Store,
    ARTIFACTS_DIR, INDEX_FILE, LOG_FILE, RECLAIM_GRACE,
};
pub use store::{
    DatasetFilter, LoggedModelOrder, LoggedModelPage, SEARCH_LOGGED_MODELS_MAX_RESULTS_DEFAULT,
};
pub use store::{ExperimentPage, RunPage};
pub use store::{
    ModelVersionPage, RegisteredModelPage, SEARCH_MODEL_VERSIONS_MAX_RESULTS_DEFAULT,
    SEARCH_MODEL_VERSIONS_MAX_RESULTS_LIMIT, SEARCH_REGISTERED_MODELS_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODELS_MAX_RESULTS_LIMIT,
};

/// Format constants, for tools and tests that inspect a store's files.
pub mod format {
    pub use crate::index::schema::SCHEMA_VERSION;
    pub use crate::log::format::{
        BLOCK_HEADER_SIZE, LOG_VERSION, MAX_BLOCK_PAGES, PAGE, RECORD_SIZE,
    };

    /// The name of the SQLite VFS that keeps the index's page checksums,
    /// registered in this process by the call. A tool that writes to
    /// `index.sqlite` itself must open it through this VFS (rusqlite's
    /// `Connection::open_with_flags_and_vfs`): pages it writes otherwise
    /// have no valid checksum and read as damaged.
    pub fn index_vfs() -> crate::Result<&'static str> {
        Ok(crate::index::checksum_vfs::name()?)
    }
}
