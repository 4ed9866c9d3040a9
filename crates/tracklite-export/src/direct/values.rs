//! Metric values as MLflow's SQL store keeps them, and the choice of which
//! points of a series to write: pure functions, no database.
//!
//! MLflow 3.17's store (`sanitize_metric_value`) writes NaN as value 0 with
//! `is_nan` true, and ±inf as ±`f64::MAX` (so an infinity read back is
//! `f64::MAX`: lossy). A run's `latest_metrics` row per key is the point
//! with the greatest (step, timestamp, value), comparing stored values.

use std::collections::HashSet;

/// The largest finite f64, which MLflow stores for +inf (and its negation
/// for -inf).
pub(crate) const INFINITY_STORED: f64 = f64::MAX;

/// A point as stored: the value column and `is_nan`.
pub(crate) fn stored_value(v: f64) -> (f64, bool) {
    if v.is_nan() {
        (0.0, true)
    } else if v.is_infinite() {
        (INFINITY_STORED.copysign(v), false)
    } else {
        (v, false)
    }
}

/// What identifies a stored point of one series: the columns of the
/// primary key of `metrics` besides key and run (timestamp, step, value,
/// is_nan). -0.0 and 0.0 are one value to PostgreSQL's `float8` equality.
pub(crate) type PointId = (i64, i64, u64, bool);

/// The identity of a local point once stored.
pub(crate) fn point_id(timestamp: i64, step: i64, value: f64) -> PointId {
    let (v, nan) = stored_value(value);
    let v = if v == 0.0 { 0.0 } else { v };
    (timestamp, step, v.to_bits(), nan)
}

/// The latest point of a series as `latest_metrics` keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Latest {
    pub step: i64,
    pub timestamp: i64,
    /// The stored value (NaN as 0, ±inf as ±`f64::MAX`).
    pub value: f64,
    pub is_nan: bool,
}

impl Latest {
    /// The stored form of a local point.
    pub fn of(step: i64, timestamp: i64, value: f64) -> Latest {
        let (value, is_nan) = stored_value(value);
        Latest {
            step,
            timestamp,
            value,
            is_nan,
        }
    }

    /// True when `self` is strictly later than `other` by (step,
    /// timestamp, value), as MLflow compares them.
    pub fn later_than(&self, other: &Latest) -> bool {
        (self.step, self.timestamp)
            .cmp(&(other.step, other.timestamp))
            .then(
                // Stored values are never NaN.
                self.value
                    .partial_cmp(&other.value)
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
            .is_gt()
    }

    /// The later of `current` (what the table holds, if anything) and
    /// `candidate`.
    pub fn merge(current: Option<Latest>, candidate: Latest) -> Latest {
        match current {
            Some(c) if !candidate.later_than(&c) => c,
            _ => candidate,
        }
    }
}

/// Which ordinals of a local series (in logged order) to write, given what
/// the database holds for it.
///
/// - `ids`: each local point's [`PointId`];
/// - `journaled`: how many points (a prefix) the journal says were written;
/// - `remote_count`: rows the database holds for the (run, key);
/// - `remote_points`: reads those rows, asked only when the journal's prefix
///   does not account for them (an export cut off between its commit and
///   its journal write, or rows written by someone else).
///
/// Points already held, and repeats of a point (which the primary key
/// refuses), are left out. The answer, with the prefix now written.
pub(crate) fn plan_series<E>(
    ids: &[PointId],
    journaled: u64,
    remote_count: u64,
    remote_points: impl FnOnce() -> Result<HashSet<PointId>, E>,
) -> Result<Vec<usize>, E> {
    let journaled = (journaled as usize).min(ids.len());
    let mut seen: HashSet<PointId> = HashSet::with_capacity(ids.len());
    for id in &ids[..journaled] {
        seen.insert(*id);
    }
    let from = if seen.len() as u64 == remote_count {
        journaled
    } else if remote_count == 0 {
        seen.clear();
        0
    } else {
        seen = remote_points()?;
        0
    };
    Ok((from..ids.len()).filter(|&i| seen.insert(ids[i])).collect())
}

/// How many of `values` are ±inf (stored lossily).
pub(crate) fn count_infinite(values: impl IntoIterator<Item = f64>) -> u64 {
    values.into_iter().filter(|v| v.is_infinite()).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_stored_as_mlflow_stores_them() {
        assert_eq!(stored_value(1.5), (1.5, false));
        assert_eq!(stored_value(f64::NAN), (0.0, true));
        assert_eq!(
            stored_value(f64::INFINITY),
            (1.797_693_134_862_315_7e308, false)
        );
        assert_eq!(
            stored_value(f64::NEG_INFINITY),
            (-1.797_693_134_862_315_7e308, false)
        );
        assert_eq!(point_id(1, 2, -0.0), point_id(1, 2, 0.0));
        assert_ne!(point_id(1, 2, f64::NAN), point_id(1, 2, 0.0));
        assert_eq!(point_id(1, 2, f64::INFINITY), point_id(1, 2, f64::MAX));
        assert_eq!(
            count_infinite([1.0, f64::INFINITY, f64::NAN, -f64::INFINITY]),
            2
        );
    }

    #[test]
    fn the_latest_point_is_the_greatest_step_timestamp_value() {
        let a = Latest::of(5, 100, 0.5);
        assert!(Latest::of(6, 0, -1.0).later_than(&a));
        assert!(Latest::of(5, 101, -1.0).later_than(&a));
        assert!(Latest::of(5, 100, 0.6).later_than(&a));
        assert!(!Latest::of(5, 100, 0.5).later_than(&a));
        assert!(!Latest::of(4, 999, 9.0).later_than(&a));
        // NaN compares as its stored 0.
        assert!(!Latest::of(5, 100, f64::NAN).later_than(&a));
        assert!(Latest::of(5, 100, f64::NAN).later_than(&Latest::of(5, 100, -1.0)));
        // Merged with what the table has: the later one stays.
        assert_eq!(Latest::merge(Some(a), Latest::of(4, 0, 1.0)), a);
        assert_eq!(
            Latest::merge(Some(a), Latest::of(7, 0, 1.0)),
            Latest::of(7, 0, 1.0)
        );
        assert_eq!(Latest::merge(None, a), a);
    }

    fn ids(points: &[(i64, i64, f64)]) -> Vec<PointId> {
        points.iter().map(|&(t, s, v)| point_id(t, s, v)).collect()
    }

    fn never() -> Result<HashSet<PointId>, String> {
        Err("the remote points were not needed".into())
    }

    #[test]
    fn a_new_series_is_written_whole_without_repeats() {
        let p = ids(&[(1, 0, 1.0), (2, 1, f64::NAN), (2, 1, f64::NAN), (3, 2, 0.5)]);
        assert_eq!(plan_series(&p, 0, 0, never).unwrap(), vec![0, 1, 3]);
    }

    #[test]
    fn the_journal_prefix_is_trusted_when_the_count_agrees() {
        let p = ids(&[
            (1, 0, 1.0),
            (1, 0, 1.0),
            (2, 1, 2.0),
            (3, 2, 3.0),
            (1, 0, 1.0),
        ]);
        // 3 points journaled, 2 distinct rows held: only the rest goes.
        assert_eq!(plan_series(&p, 3, 2, never).unwrap(), vec![3]);
        // Everything written: nothing goes.
        assert!(plan_series(&p, 5, 3, never).unwrap().is_empty());
    }

    #[test]
    fn rows_the_journal_does_not_know_are_read_and_skipped() {
        let p = ids(&[(1, 0, 1.0), (2, 1, 2.0), (3, 2, 3.0), (4, 3, 4.0)]);
        // Committed, then cut off before the journal write.
        let held: HashSet<PointId> = p[..3].iter().copied().collect();
        assert_eq!(
            plan_series(&p, 0, 3, || Ok::<_, String>(held)).unwrap(),
            vec![3]
        );
        // A journal that says more than the database holds (the rows were
        // deleted there): what is missing is written again.
        assert_eq!(plan_series(&p, 4, 0, never).unwrap(), vec![0, 1, 2, 3]);
    }
}
