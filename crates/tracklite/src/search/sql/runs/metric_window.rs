//! A top-k plan for run searches ordered first by a metric: read the
//! metric index in order, test each run against the filter, and stop at the
//! page's end, instead of finding every run the filter matches and sorting
//! them all.
//!
//! The plan reads a window: the runs whose number for the metric is at or
//! before the window's bound, the `n`-th number in the order (ties with it
//! included, so a window never splits runs of equal value). Every run
//! outside the window sorts after every run inside it (a later number,
//! NaN or no value), so when the window holds a full page of matches that
//! page is the full query's. Otherwise the caller widens the window, or
//! runs the full query once that is no dearer than the next window: when
//! the rows the full query starts from are fewer than the window's.

use super::super::Sql;
use super::window::{compiled_for_window, full_query_rows, Window};
use super::{assemble, Compiled, RunQuery, Start};
use crate::search::ast::{OrderBy, RunSortKey};

/// A run search that the metric index can answer in order.
pub struct MetricWindow<'a> {
    query: &'a RunQuery<'a>,
    compiled: Vec<Compiled>,
    key: String,
}

impl<'a> MetricWindow<'a> {
    /// None unless the first order key is a metric, and the filter names
    /// no run ids (the runs' own key then finds the few candidates).
    pub fn new(query: &'a RunQuery<'a>) -> Option<MetricWindow<'a>> {
        let Some(OrderBy {
            key: RunSortKey::Metric(key),
            ..
        }) = query.order.first()
        else {
            return None;
        };
        let compiled = compiled_for_window(query)?;
        Some(MetricWindow {
            query,
            compiled,
            key: key.clone(),
        })
    }
}

impl Window for MetricWindow<'_> {
    type Bound = f64;

    fn query(&self) -> &RunQuery<'_> {
        self.query
    }

    /// `SELECT` of the `n`-th number (n ≥ 1) of the metric in the order;
    /// no row when the metric has fewer numbers.
    fn bound(&self, n: usize) -> Sql {
        let dir = super::super::direction(self.query.order[0].ascending);
        let mut sql = Sql::plain("SELECT last_value FROM metric_series WHERE key = ");
        sql.bind(self.key.clone())
            .push(&format!(
                " AND last_value IS NOT NULL ORDER BY last_value{dir} LIMIT 1 OFFSET "
            ))
            .bind(n.saturating_sub(1) as i64);
        sql
    }

    /// `SELECT count(*)`, up to `n`, of the rows the full query starts
    /// from.
    fn full_query_rows(&self, n: usize) -> Sql {
        full_query_rows(self.query, &self.compiled, n)
    }

    /// The page, read from the runs whose number is at or before `bound`
    /// (every run with a number when None); it is the full query's answer
    /// when it holds `limit` rows.
    fn page(&self, bound: Option<f64>) -> Sql {
        assemble(self.query, &self.compiled, Start::MetricOrder(bound))
    }
}
