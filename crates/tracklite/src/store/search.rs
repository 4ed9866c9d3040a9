//! Searching runs and experiments with MLflow's filter and order_by
//! language, one page at a time.
//!
//! One SQL query selects the page's ids (filtering, ordering and paging
//! all happen in SQLite, on the index's key/value indexes); a few batched
//! queries then load the page's runs or experiments whole
//! ([`crate::index::load`]).

use rusqlite::{params_from_iter, OptionalExtension};
use serde::Serialize;

use super::Store;
use crate::entities::{Experiment, LifecycleStage, Run, ViewType};
use crate::error::Result;
use crate::index::load::{load_experiments, load_runs, page_ids};
use crate::search::page_token::PageToken;
use crate::search::sql::{self, ExperimentQuery, RunQuery};
use crate::search::{check_max_results, experiments, runs};
use crate::validate;

/// One page of a run search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunPage {
    /// The runs of this page, in the order asked for.
    pub runs: Vec<Run>,
    /// Pass this to the next call for the next page; None on the last page.
    pub next_page_token: Option<String>,
}

/// One page of an experiment search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentPage {
    /// The experiments of this page, in the order asked for.
    pub experiments: Vec<Experiment>,
    /// Pass this to the next call for the next page; None on the last page.
    pub next_page_token: Option<String>,
}

fn stage_of(view: ViewType) -> Option<&'static str> {
    match view {
        ViewType::ActiveOnly => Some(LifecycleStage::Active.as_str()),
        ViewType::DeletedOnly => Some(LifecycleStage::Deleted.as_str()),
        ViewType::All => None,
    }
}

/// The token of the page after one that began at `offset`; None when no
/// more results follow.
fn next_token(more: bool, offset: usize, max_results: usize, snapshot: i64) -> Option<String> {
    more.then(|| {
        PageToken {
            offset: offset + max_results,
            snapshot: Some(snapshot),
        }
        .encode()
    })
}

/// One page of a search read from ever wider windows of an index in the
/// search's order (see [`sql::Window`]: the metric index for a metric
/// order, the param or tag index for a param or tag order, `runs_by_start`
/// for the default order); None when the full query
/// is to answer: the window would be no cheaper, or even every run the
/// index orders does not fill the page.
fn page_in_windows<W: sql::Window>(
    conn: &rusqlite::Connection,
    window: &W,
    max_results: usize,
) -> Result<Option<(Vec<String>, bool)>> {
    /// A window is at least twice the last, at most this many times: the
    /// rows read over all the windows stay within a few times those of the
    /// last one.
    const GROWTH: usize = 8;
    let mut size = window.first_size();
    loop {
        let full = window.full_query_rows(size);
        let full_rows: i64 = conn
            .prepare_cached(&full.text)?
            .query_row(params_from_iter(full.params.iter()), |r| r.get(0))?;
        if full_rows < size as i64 {
            return Ok(None);
        }
        let bound = window.bound(size);
        let bound: Option<W::Bound> = conn
            .prepare_cached(&bound.text)?
            .query_row(params_from_iter(bound.params.iter()), |r| r.get(0))
            .optional()?;
        let (ids, more) = page_ids::<String>(conn, &window.page(bound.clone()), max_results)?;
        // A full page (its extra row included) is the full query's page.
        if more {
            return Ok(Some((ids, more)));
        }
        if bound.is_none() {
            return Ok(None);
        }
        // The share of the window's runs that matched says how wide a
        // window holds the page; half as wide again for a margin.
        let next = match window.matches_found(ids.len()) {
            Some(found) => size.saturating_mul(window.matches_wanted()) / found * 3 / 2,
            None => size.saturating_mul(GROWTH),
        };
        size = next.clamp(size.saturating_mul(2), size.saturating_mul(GROWTH));
    }
}

impl Store {
    /// Searches the runs of some experiments with MLflow's filter language,
    /// returning one page of whole runs (params, tags, latest metrics and
    /// inputs, as [`Store::get_run`] returns them).
    ///
    /// - `filter`: clauses joined by AND, such as
    ///   `metrics.acc > 0.9 AND params.lr = '0.01'`; empty for all runs.
    /// - `max_results`: 1 to [`crate::SEARCH_MAX_RESULTS_LIMIT`]; MLflow's
    ///   default is [`crate::SEARCH_MAX_RESULTS_DEFAULT`].
    /// - `order_by`: clauses such as `metrics.acc DESC`; missing values (and
    ///   NaN metrics) come last. Default and final tie-breaks: start time,
    ///   newest first, then run id.
    /// - `page_token`: None for the first page, then the token the previous
    ///   page returned. Runs created while paging do not appear in later
    ///   pages of the same search, so no run is returned twice.
    ///
    /// An empty `experiment_ids` matches no run, as in MLflow.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{NewRun, Store, ViewType};
    /// let store = Store::open(dir.path())?;
    /// let run = store.create_run(NewRun::default())?;
    /// store.log_param(&run.run_id, "optimizer", "adam")?;
    /// store.log_metric(&run.run_id, "acc", 0.93, 1_700_000_000_000, 0)?;
    /// let page = store.search_runs(
    ///     &["0"],
    ///     "params.optimizer = 'adam' AND metrics.acc > 0.9",
    ///     ViewType::ActiveOnly,
    ///     100,
    ///     &["metrics.acc DESC"],
    ///     None,
    /// )?;
    /// assert_eq!(page.runs[0].info.run_id, run.run_id);
    /// assert!(page.next_page_token.is_none());
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        view: ViewType,
        max_results: usize,
        order_by: &[&str],
        page_token: Option<&str>,
    ) -> Result<RunPage> {
        check_max_results(max_results)?;
        let experiment_ids = experiment_ids
            .iter()
            .map(|id| validate::experiment_id(id))
            .collect::<Result<Vec<_>, _>>()?;
        let clauses = runs::parse_filter(filter)?;
        let order = runs::parse_order_by(order_by)?;
        let token = page_token.map(PageToken::decode).transpose()?;
        if experiment_ids.is_empty() {
            return Ok(RunPage {
                runs: Vec::new(),
                next_page_token: None,
            });
        }
        self.refresh_summaries_if_open()?;
        let index = self.inner.index()?;
        // One read transaction: the page's ids and its rows agree.
        let tx = index.conn().unchecked_transaction()?;
        let snapshot = match token.and_then(|t| t.snapshot) {
            Some(s) => s,
            None => tx
                .prepare_cached("SELECT coalesce(max(rowid), 0) FROM runs")?
                .query_row([], |r| r.get(0))?,
        };
        let offset = token.map_or(0, |t| t.offset);
        let query = RunQuery {
            experiment_ids: &experiment_ids,
            stage: stage_of(view),
            snapshot,
            clauses: &clauses,
            order: &order,
            artifact_root: &self.inner.artifact_root,
            limit: max_results + 1,
            offset,
        };
        let quick = if let Some(window) = sql::MetricWindow::new(&query) {
            page_in_windows(&tx, &window, max_results)?
        } else if let Some(window) = sql::ValueWindow::new(&query) {
            page_in_windows(&tx, &window, max_results)?
        } else if let Some(window) = sql::StartWindow::new(&query) {
            page_in_windows(&tx, &window, max_results)?
        } else {
            None
        };
        let (ids, more) = match quick {
            Some(page) => page,
            None => page_ids::<String>(&tx, &sql::runs(&query), max_results)?,
        };
        let runs = load_runs(&tx, &ids, &self.inner.artifact_root)?;
        tx.commit()?;
        Ok(RunPage {
            runs,
            next_page_token: next_token(more, offset, max_results, snapshot),
        })
    }

    /// Folds points that writers (of this process or others) hold in open
    /// blocks into the summaries that search reads. The cheap look for an
    /// open block first spares the full refresh when every block is sealed.
    fn refresh_summaries_if_open(&self) -> Result<()> {
        let open: bool = self
            .inner
            .index()?
            .conn()
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM metric_blocks WHERE sealed = 0)")?
            .query_row([], |r| r.get(0))?;
        if open {
            self.refresh_summaries(None)?;
        }
        Ok(())
    }

    /// Searches experiments with MLflow's filter language: `name`,
    /// `experiment_id`, `creation_time`, `last_update_time` and
    /// `tags.<key>`. Default order: newest first, then by id. Paging works
    /// as in [`Store::search_runs`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{Store, ViewType};
    /// let store = Store::open(dir.path())?;
    /// store.create_experiment("vision-resnet", None, &[("team".into(), "cv".into())])?;
    /// let page = store.search_experiments(
    ///     ViewType::ActiveOnly,
    ///     "name LIKE 'vision-%' AND tags.team = 'cv'",
    ///     100,
    ///     &["name"],
    ///     None,
    /// )?;
    /// assert_eq!(page.experiments[0].name, "vision-resnet");
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn search_experiments(
        &self,
        view: ViewType,
        filter: &str,
        max_results: usize,
        order_by: &[&str],
        page_token: Option<&str>,
    ) -> Result<ExperimentPage> {
        check_max_results(max_results)?;
        let clauses = experiments::parse_filter(filter)?;
        let order = experiments::parse_order_by(order_by)?;
        let token = page_token.map(PageToken::decode).transpose()?;
        let index = self.inner.index()?;
        let tx = index.conn().unchecked_transaction()?;
        let snapshot = match token.and_then(|t| t.snapshot) {
            Some(s) => s,
            None => tx.query_row(
                "SELECT coalesce(max(experiment_id), 0) FROM experiments",
                [],
                |r| r.get(0),
            )?,
        };
        let offset = token.map_or(0, |t| t.offset);
        let query = sql::experiments(&ExperimentQuery {
            stage: stage_of(view),
            snapshot,
            clauses: &clauses,
            order: &order,
            limit: max_results + 1,
            offset,
        });
        let (ids, more) = page_ids::<i64>(&tx, &query, max_results)?;
        let experiments = load_experiments(&tx, &ids, &self.inner.artifact_root)?;
        tx.commit()?;
        Ok(ExperimentPage {
            experiments,
            next_page_token: next_token(more, offset, max_results, snapshot),
        })
    }
}
