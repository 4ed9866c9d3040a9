//! Importing records made elsewhere into a store, with the ids, times and
//! stages they already have: experiments, runs and logged models one by one
//! (`records`, always built), and a whole MLflow file store, an `mlruns`
//! folder (`from_mlruns`, with the `mlruns-import` feature, which brings
//! the YAML parser its `meta.yaml` files need).

#[cfg(feature = "mlruns-import")]
mod from_mlruns;
mod records;

#[cfg(feature = "mlruns-import")]
pub use from_mlruns::{check_mlruns_source, ImportProblem, ImportProgress, ImportReport};
pub use records::{ExperimentImport, MetricDatasetLinks, RunImport};
