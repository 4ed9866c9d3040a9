//! A top-k plan for run searches ordered first by a param or a tag: read
//! that table's (key, value) index in order, test each run against the
//! filter, and stop at the page's end, instead of sorting every run of the
//! experiments (seconds for `params.seed DESC` over a million runs).
//!
//! A window holds the runs whose value for the key is at or before its
//! bound, the `n`-th value in the order, ties included (see [`Window`]).
//! Runs without the key sort after every run with one, in both
//! directions, so they are never inside a window: when even the window of
//! every run with the key does not fill the page, the full query answers.

use super::super::Sql;
use super::window::{compiled_for_window, full_query_rows, Window};
use super::{assemble, Compiled, RunQuery, Start};
use crate::search::ast::{OrderBy, RunSortKey};

/// A run search that a param or tag index can answer in order.
pub struct ValueWindow<'a> {
    query: &'a RunQuery<'a>,
    compiled: Vec<Compiled>,
    /// `params` or `tags`.
    table: &'static str,
    key: String,
}

impl<'a> ValueWindow<'a> {
    /// None unless the first order key is a param or a tag, and the filter
    /// names no run ids (the runs' own key then finds the few candidates).
    pub fn new(query: &'a RunQuery<'a>) -> Option<ValueWindow<'a>> {
        let (table, key) = match query.order.first() {
            Some(OrderBy {
                key: RunSortKey::Param(key),
                ..
            }) => ("params", key),
            Some(OrderBy {
                key: RunSortKey::Tag(key),
                ..
            }) => ("tags", key),
            _ => return None,
        };
        let compiled = compiled_for_window(query)?;
        Some(ValueWindow {
            query,
            compiled,
            table,
            key: key.clone(),
        })
    }
}

impl Window for ValueWindow<'_> {
    type Bound = String;

    fn query(&self) -> &RunQuery<'_> {
        self.query
    }

    /// `SELECT` of the `n`-th value (n ≥ 1) of the key in the order; no
    /// row when fewer runs have the key.
    fn bound(&self, n: usize) -> Sql {
        let dir = super::super::direction(self.query.order[0].ascending);
        let mut sql = Sql::plain(&format!("SELECT value FROM {} WHERE key = ", self.table));
        sql.bind(self.key.clone())
            .push(&format!(" ORDER BY value{dir} LIMIT 1 OFFSET "))
            .bind(n.saturating_sub(1) as i64);
        sql
    }

    /// `SELECT count(*)`, up to `n`, of the rows the full query starts
    /// from.
    fn full_query_rows(&self, n: usize) -> Sql {
        full_query_rows(self.query, &self.compiled, n)
    }

    /// The page, read from the runs whose value is at or before `bound`
    /// (every run with the key when None); it is the full query's answer
    /// when it holds `limit` rows.
    fn page(&self, bound: Option<String>) -> Sql {
        assemble(
            self.query,
            &self.compiled,
            Start::ValueOrder(self.table, bound.as_deref()),
        )
    }
}
