//! Metric points, summaries, histories and the datasets imported points
//! name, and the clock their timestamps are read from.

use serde::Serialize;

/// The latest value of one metric of a run, with its minimum and maximum.
///
/// "Latest" is the point with the greatest (step, timestamp, value), as in
/// MLflow. `min` and `max` ignore NaN; they are NaN only when every value is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricSummary {
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    pub min: f64,
    pub max: f64,
    pub count: u64,
}

/// One point of a metric: a value at a step and a time (ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricPoint {
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

/// A metric point with its key, for batches.
///
/// It names no dataset: points logged live keep none, as in MLflow's SQL
/// store; only an imported point keeps the dataset its metric line named
/// (see [`MetricDatasetLink`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

impl Metric {
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
    pub dataset_name: String,
    pub dataset_digest: String,
}

/// A metric history in columns, ready for numpy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricColumns {
    pub steps: Vec<i64>,
    pub timestamps: Vec<i64>,
    pub values: Vec<f64>,
}

impl MetricColumns {
    pub fn len(&self) -> usize {
        self.values.len()
    }

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
