//! A top-k plan for filtered run searches in the default order (newest
//! first, then run id): read each experiment's runs in that order from
//! `runs_by_start`, test each against the filter, and stop at the page's
//! end, instead of sorting every run the filter's likeliest clause finds
//! (half a million for `params.model = 'a'` in a million runs). A window
//! is the runs that started at or after its bound (see [`Window`]).

use super::super::Sql;
use super::window::{compiled_for_window, full_query_rows, Window};
use super::{assemble, candidate_clause, Compiled, RunQuery, Start, MERGED_EXPERIMENTS};

/// A filtered run search in the default order.
pub struct StartWindow<'a> {
    query: &'a RunQuery<'a>,
    compiled: Vec<Compiled>,
    experiments: Vec<i64>,
}

impl<'a> StartWindow<'a> {
    /// None unless the order is the default one and the filter has a
    /// clause to start the full query from (without one, the full query
    /// already reads the runs in order and stops at the page), names no
    /// run ids, and at most [`MERGED_EXPERIMENTS`] experiments are
    /// searched.
    pub fn new(query: &'a RunQuery<'a>) -> Option<StartWindow<'a>> {
        if !query.order.is_empty() {
            return None;
        }
        let compiled = compiled_for_window(query)?;
        candidate_clause(query, &compiled)?;
        let mut experiments = query.experiment_ids.to_vec();
        experiments.sort_unstable();
        experiments.dedup();
        if experiments.is_empty() || experiments.len() > MERGED_EXPERIMENTS {
            return None;
        }
        Some(StartWindow {
            query,
            compiled,
            experiments,
        })
    }
}

impl Window for StartWindow<'_> {
    type Bound = i64;

    fn query(&self) -> &RunQuery<'_> {
        self.query
    }

    /// The start time of the `n`-th run of the experiments, newest first
    /// (every stage counted: a wider window is still a window): each
    /// experiment's first `n` from the index, merged.
    fn bound(&self, n: usize) -> Sql {
        let mut sql = Sql::plain("SELECT start_time FROM (");
        for (i, e) in self.experiments.iter().enumerate() {
            if i > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push("SELECT * FROM (SELECT start_time, run_uuid FROM runs WHERE experiment_id = ")
                .bind(*e)
                .push(" ORDER BY start_time DESC, run_uuid LIMIT ")
                .bind(n as i64)
                .push(")");
        }
        sql.push(") ORDER BY start_time DESC, run_uuid LIMIT 1 OFFSET ")
            .bind(n.saturating_sub(1) as i64);
        sql
    }

    fn full_query_rows(&self, n: usize) -> Sql {
        full_query_rows(self.query, &self.compiled, n)
    }

    fn page(&self, bound: Option<i64>) -> Sql {
        assemble(self.query, &self.compiled, Start::NewestFirst(bound))
    }
}
