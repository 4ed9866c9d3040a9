//! tracklite: an embedded, serverless experiment-tracking store.
//!
//! A store is one directory: an SQLite index of experiments, runs, params,
//! tags and metric summaries; a memory-mapped, append-only, checksummed
//! metric log; and a folder of artifacts. Several processes may log to one
//! store at once, and a killed process loses nothing it had logged.

mod artifacts;
mod check;
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
pub use entities::{
    now_ms, Dataset, DatasetInput, Experiment, LifecycleStage, Metric, MetricColumns,
    MetricDatasetLink, MetricPoint, MetricSummary, NewRun, Run, RunInfo, RunStatus, RunUpdate,
    ViewType,
};
pub use entities::{ExperimentRecord, LoggedModelRecord, RunRecord};
pub use entities::{
    LoggedModel, LoggedModelOutput, LoggedModelStatus, ModelMetric, NewLoggedModel,
};
pub use error::{
    EntityKind, Error, FormatError, IndexError, IndexErrorKind, Result, ValidationError,
};
pub use import::{check_mlruns_source, ImportProblem, ImportProgress, ImportReport};
pub use import::{ExperimentImport, MetricDatasetLinks, RunImport};
pub use search::{SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_LIMIT};
pub use store::FileInfo;
pub use store::{
    CompactReport, GcReport, MetricWriter, Progress, SeriesHandle, Store, ARTIFACTS_DIR,
    INDEX_FILE, LOG_FILE, RECLAIM_GRACE,
};
pub use store::{
    DatasetFilter, LoggedModelOrder, LoggedModelPage, SEARCH_LOGGED_MODELS_MAX_RESULTS_DEFAULT,
};
pub use store::{ExperimentPage, RunPage};

/// Format constants, for tools and tests that inspect a store's files.
pub mod format {
    pub use crate::index::schema::SCHEMA_VERSION;
    pub use crate::log::format::{
        BLOCK_HEADER_SIZE, LOG_VERSION, MAX_BLOCK_PAGES, PAGE, RECORD_SIZE,
    };
}
