//! `experiments` and `runs`: listings as tables or JSON arrays.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::{json, Value};
use tracklite::{Experiment, Run, Store, ViewType};

use crate::format::{clip, compact, datetime, duration};
use crate::json;
use crate::table::{Align, Table};

/// At most this many metric columns, and param columns, in the runs table;
/// `tracklite run` and `--json` show every one.
const MAX_METRIC_COLUMNS: usize = 6;
const MAX_PARAM_COLUMNS: usize = 4;
/// Longest cell of a name or param value in a listing.
const MAX_CELL: usize = 32;
/// The runs `runs` shows unless told how many: a screenful or two, and
/// what MLflow's UI shows on a page.
pub const DEFAULT_PAGE: usize = 100;

pub fn experiments(
    store: &Store,
    view: ViewType,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let experiments = store.list_experiments(view)?;
    // The number of rows that `runs --experiment NAME --view` with this
    // view prints, for every experiment at once.
    let counts = store.count_runs(view)?;
    let count = |e: &Experiment| counts.get(&e.experiment_id).copied().unwrap_or(0);

    if as_json {
        let mut docs = Vec::with_capacity(experiments.len());
        for e in &experiments {
            let mut doc = serde_json::to_value(e)?;
            if let Value::Object(map) = &mut doc {
                map.insert("run_count".into(), Value::from(count(e)));
            }
            docs.push(doc);
        }
        json::write(out, &Value::Array(docs))?;
        return Ok(ExitCode::SUCCESS);
    }
    if experiments.is_empty() {
        writeln!(out, "no experiments")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new([
        ("ID", Align::Right),
        ("NAME", Align::Left),
        ("STAGE", Align::Left),
        ("CREATED (UTC)", Align::Left),
        ("RUNS", Align::Right),
    ]);
    for e in &experiments {
        table.push(vec![
            e.experiment_id.clone(),
            e.name.clone(),
            e.lifecycle_stage.as_str().into(),
            datetime(e.creation_time),
            count(e).to_string(),
        ]);
    }
    table.write(out)?;
    Ok(ExitCode::SUCCESS)
}

/// The experiment called `name`, or with that id when no name matches.
fn find_experiment(store: &Store, name: &str) -> Result<Experiment> {
    if let Some(e) = store.get_experiment_by_name(name)? {
        return Ok(e);
    }
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(e) = store.get_experiment(name) {
            return Ok(e);
        }
    }
    bail!("experiment {name:?} does not exist")
}

/// What `runs` selects and in which order, in MLflow's search language.
pub struct RunQuery {
    pub filter: String,
    pub order_by: Vec<String>,
    /// At most this many runs.
    pub max_results: usize,
}

/// Every run the query selects, up to its maximum, page by page; and
/// whether more runs match than the maximum let through.
fn search_all(
    store: &Store,
    ids: &[&str],
    view: ViewType,
    q: &RunQuery,
) -> Result<(Vec<Run>, bool)> {
    let order: Vec<&str> = q.order_by.iter().map(String::as_str).collect();
    let mut runs = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let want = (q.max_results - runs.len()).min(tracklite::SEARCH_MAX_RESULTS_LIMIT);
        if want == 0 {
            // The search gives a token only when more runs match.
            return Ok((runs, token.is_some()));
        }
        let page = store.search_runs(ids, &q.filter, view, want, &order, token.as_deref())?;
        runs.extend(page.runs);
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => return Ok((runs, false)),
        }
    }
}

pub fn runs(
    store: &Store,
    experiment: Option<&str>,
    view: ViewType,
    query: &RunQuery,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let only = experiment
        .map(|name| find_experiment(store, name))
        .transpose()?;
    let all;
    let ids: Vec<&str> = match &only {
        Some(e) => vec![e.experiment_id.as_str()],
        None => {
            all = store.list_experiments(ViewType::All)?;
            all.iter().map(|e| e.experiment_id.as_str()).collect()
        }
    };
    let (runs, more) = search_all(store, &ids, view, query)?;

    if as_json {
        let docs = runs.iter().map(json::run).collect::<Result<Vec<_>>>()?;
        json::write(out, &json!({ "runs": docs, "more": more }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        writeln!(out, "no runs")?;
        return Ok(ExitCode::SUCCESS);
    }
    write_runs_table(store, only.as_ref(), view, &runs, out)?;
    if more {
        writeln!(
            out,
            "showing the first {}; more runs match: raise --max-results to see more",
            plural(runs.len(), "run")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The runs as a table: id, name, experiment (when several), stage (when
/// not only active runs), status, start, duration, then the metrics and
/// params most runs have.
fn write_runs_table(
    store: &Store,
    only: Option<&tracklite::Experiment>,
    view: ViewType,
    runs: &[Run],
    out: &mut dyn Write,
) -> Result<()> {
    let experiment_names: BTreeMap<String, String> = if only.is_none() {
        store
            .list_experiments(ViewType::All)?
            .into_iter()
            .map(|e| (e.experiment_id, e.name))
            .collect()
    } else {
        BTreeMap::new()
    };
    let metric_keys = common_keys(runs.iter().map(|r| r.metrics.keys()), MAX_METRIC_COLUMNS);
    let param_keys = common_keys(runs.iter().map(|r| r.params.keys()), MAX_PARAM_COLUMNS);

    let mut columns = vec![
        ("RUN ID".to_string(), Align::Left),
        ("NAME".into(), Align::Left),
    ];
    if only.is_none() {
        columns.push(("EXPERIMENT".into(), Align::Left));
    }
    let show_stage = view != ViewType::ActiveOnly;
    if show_stage {
        columns.push(("STAGE".into(), Align::Left));
    }
    columns.extend([
        ("STATUS".into(), Align::Left),
        ("START (UTC)".into(), Align::Left),
        ("DURATION".into(), Align::Right),
    ]);
    columns.extend(
        metric_keys
            .shown
            .iter()
            .map(|k| (format!("metrics.{k}"), Align::Right)),
    );
    columns.extend(
        param_keys
            .shown
            .iter()
            .map(|k| (format!("params.{k}"), Align::Left)),
    );

    let mut table = Table::new(columns).keep_whole(0);
    for run in runs {
        let info = &run.info;
        let mut row = vec![info.run_id.clone(), clip(&info.run_name, MAX_CELL)];
        if only.is_none() {
            let name = experiment_names
                .get(&info.experiment_id)
                .map(String::as_str)
                .unwrap_or(&info.experiment_id);
            row.push(clip(name, MAX_CELL));
        }
        if show_stage {
            row.push(info.lifecycle_stage.as_str().into());
        }
        row.extend([
            info.status.as_str().into(),
            datetime(info.start_time),
            duration(info.start_time, info.end_time),
        ]);
        row.extend(metric_keys.shown.iter().map(|k| match run.metrics.get(*k) {
            Some(m) => compact(m.value),
            None => "-".into(),
        }));
        row.extend(param_keys.shown.iter().map(|k| match run.params.get(*k) {
            Some(v) => clip(v, MAX_CELL),
            None => "-".into(),
        }));
        table.push(row);
    }
    table.write(out)?;

    if metric_keys.hidden > 0 || param_keys.hidden > 0 {
        note!(
            "note: {} more metric and {} more param columns are not shown; \
             `tracklite run RUN_ID` and --json show every one",
            metric_keys.hidden,
            param_keys.hidden
        );
    }
    Ok(())
}

/// The columns of a listing: at most `max` keys, the ones the most runs
/// have (ties by name), shown in name order.
struct Columns<'a> {
    shown: Vec<&'a String>,
    hidden: usize,
}

fn common_keys<'a, I>(per_run: impl Iterator<Item = I>, max: usize) -> Columns<'a>
where
    I: Iterator<Item = &'a String>,
{
    let mut runs_with: BTreeMap<&'a String, usize> = BTreeMap::new();
    for keys in per_run {
        for k in keys {
            *runs_with.entry(k).or_default() += 1;
        }
    }
    let mut ranked: Vec<(&'a String, usize)> = runs_with.into_iter().collect();
    // Stable sort: keys held by equally many runs stay in name order.
    ranked.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let hidden = ranked.len().saturating_sub(max);
    let mut shown: Vec<&'a String> = ranked.into_iter().take(max).map(|(k, _)| k).collect();
    shown.sort();
    Columns { shown, hidden }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_common_keys() {
        let keys: Vec<Vec<String>> = vec![
            vec!["b".into(), "z".into()],
            vec!["a".into(), "b".into(), "z".into()],
            vec!["c".into(), "z".into()],
        ];
        let cols = common_keys(keys.iter().map(|k| k.iter()), 2);
        assert_eq!(cols.shown, ["b", "z"]);
        assert_eq!(cols.hidden, 2);
        let all = common_keys(keys.iter().map(|k| k.iter()), 10);
        assert_eq!(all.shown, ["a", "b", "c", "z"]);
        assert_eq!(all.hidden, 0);
    }
}
