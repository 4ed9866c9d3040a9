//! Metric points, summaries, histories and the datasets imported points
//! name, and the clock their timestamps are read from.

use serde::Serialize;

/// The latest value of one metric of a run, with its minimum and maximum.
///
/// "Latest" is the point with the greatest (step, timestamp, value), as in
/// MLflow. `min` and `max` ignore NaN; they are NaN only when every value is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricSummary {
    /// The latest point's value.
    pub value: f64,
    /// The latest point's time, in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// The latest point's step.
    pub step: i64,
    /// The smallest value logged, NaN aside.
    pub min: f64,
    /// The largest value logged, NaN aside.
    pub max: f64,
    /// How many points the metric has.
    pub count: u64,
}

/// One point of a metric: a value at a step and a time (ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricPoint {
    /// The value, kept exactly (NaN and ±inf included).
    pub value: f64,
    /// When the value was measured, in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// The training step the value belongs to; MLflow's default is 0.
    pub step: i64,
}

/// A metric point with its key, for batches.
///
/// It names no dataset: points logged live keep none, as in MLflow's SQL
/// store; only an imported point keeps the dataset its metric line named
/// (see [`MetricDatasetLink`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The metric's name, such as `loss`.
    pub key: String,
    /// The value, kept exactly (NaN and ±inf included).
    pub value: f64,
    /// When the value was measured, in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// The training step the value belongs to; MLflow's default is 0.
    pub step: i64,
}

impl Metric {
    /// A point of metric `key`: `value` at `timestamp` (ms since the epoch)
    /// and `step`.
    pub fn new(key: impl Into<String>, value: f64, timestamp: i64, step: i64) -> Self {
        Metric {
            key: key.into(),
            value,
            timestamp,
            step,
        }
    }
}

/// The dataset one point of a metric history was computed on, as an MLflow
/// file store's metric line names it (MLflow 3's `Metric.dataset_name` and
/// `dataset_digest`). Kept for imported points only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricDatasetLink {
    /// The point's 0-based position in the history, in the order logged.
    pub ordinal: u64,
    /// The dataset's name, as in [`Dataset::name`](crate::Dataset::name).
    pub dataset_name: String,
    /// The dataset's digest, as in [`Dataset::digest`](crate::Dataset::digest).
    pub dataset_digest: String,
}

/// A metric history in columns, ready for numpy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricColumns {
    /// Each point's step, in the order logged.
    pub steps: Vec<i64>,
    /// Each point's time, in milliseconds since the Unix epoch.
    pub timestamps: Vec<i64>,
    /// Each point's value.
    pub values: Vec<f64>,
}

impl MetricColumns {
    /// The number of points; the three columns have this length.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the history has no points.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
