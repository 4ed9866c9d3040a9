//! What the windowed plans of run searches share ([`super::MetricWindow`],
//! [`super::ValueWindow`], [`super::StartWindow`]): a page in some order read from the first runs
//! of that order (a window), widened until it holds the page, or given up
//! for the full query once that is no dearer than the next window.

use super::super::Sql;
use super::{candidate_clause, looks_up_run_ids, run_clause, Compiled, RunQuery};

/// A run search that an index can answer in its order, one window at a
/// time. A window holds the runs at or before its bound in the order, the
/// `n`-th run's (ties included, so a window never splits runs that sort
/// equal on the order's first key); every run outside sorts after every
/// run inside, so a window holding a full page of matches gives the full
/// query's page.
pub trait Window {
    /// The value of the order's first key at a window's edge.
    type Bound: rusqlite::types::FromSql + Clone;

    fn query(&self) -> &RunQuery<'_>;

    /// `SELECT` of the first key of the `n`-th run (n ≥ 1) in the order;
    /// no row when there are fewer.
    fn bound(&self, n: usize) -> Sql;

    /// `SELECT count(*)`, up to `n`, of the rows the full query starts
    /// from: the candidates of its starting clause, or the runs of the
    /// experiments.
    fn full_query_rows(&self, n: usize) -> Sql;

    /// The page, read from the runs at or before `bound` (every run the
    /// index orders when None); it is the full query's answer when it
    /// holds `limit` rows.
    fn page(&self, bound: Option<Self::Bound>) -> Sql;

    /// The first window's size: a few pages' worth of rows, enough when a
    /// quarter of the runs match; a more selective filter takes a wider
    /// window next, sized by the matches this one found.
    fn first_size(&self) -> usize {
        let q = self.query();
        (4 * (q.limit + q.offset)).max(64)
    }

    /// The matches a page needs: those of earlier pages, then its own.
    fn matches_wanted(&self) -> usize {
        let q = self.query();
        q.offset + q.limit
    }

    /// The matches a window held, from the rows its page returned (the
    /// page skips the earlier pages' matches); None when it returned none.
    fn matches_found(&self, rows: usize) -> Option<usize> {
        (rows > 0).then_some(self.query().offset + rows)
    }
}

/// `SELECT count(*)`, up to `n`, of the rows the full query of `q` starts
/// from.
pub(super) fn full_query_rows(q: &RunQuery<'_>, compiled: &[Compiled], n: usize) -> Sql {
    let mut sql = Sql::plain("SELECT count(*) FROM (");
    match candidate_clause(q, compiled) {
        Some(i) => {
            let Compiled::Keyed(k) = &compiled[i] else {
                unreachable!("only keyed clauses start a query")
            };
            sql.append(&k.candidates());
        }
        None => {
            sql.push("SELECT 1 FROM runs r WHERE r.experiment_id IN ")
                .bind_list(q.experiment_ids);
        }
    }
    sql.push(" LIMIT ").bind(n as i64).push(")");
    sql
}

/// The compiled clauses of `q`'s filter, for a windowed plan; None when the
/// filter names run ids (the runs' own key then finds the few candidates,
/// and no window is cheaper).
pub(super) fn compiled_for_window(q: &RunQuery<'_>) -> Option<Vec<Compiled>> {
    if q.clauses.iter().any(looks_up_run_ids) {
        return None;
    }
    Some(
        q.clauses
            .iter()
            .map(|c| run_clause(c, q.artifact_root))
            .collect(),
    )
}
