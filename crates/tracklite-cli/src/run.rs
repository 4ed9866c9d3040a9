//! `run` and `history`: one run in detail, and one metric's every point.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};
use tracklite::Store;

use crate::format::{datetime, datetime_ms, duration, exact};
use crate::json;
use crate::table::{Align, Table};

/// The tag that names a dataset input's role (`training`, `eval`).
const CONTEXT_TAG: &str = "mlflow.data.context";

pub fn show(store: &Store, run_id: &str, as_json: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let run = store.get_run(run_id)?;
    if as_json {
        json::write(out, &json::run(&run)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let info = &run.info;
    let experiment = match store.get_experiment(&info.experiment_id) {
        Ok(e) => format!("{} (id {})", e.name, e.experiment_id),
        Err(_) => info.experiment_id.clone(),
    };
    let end = info.end_time.map(datetime).unwrap_or_else(|| "-".into());
    let fields = [
        ("run id", info.run_id.clone()),
        ("name", info.run_name.clone()),
        ("experiment", experiment),
        ("status", info.status.as_str().into()),
        ("user", info.user_id.clone()),
        ("start (UTC)", datetime(info.start_time)),
        ("end (UTC)", end),
        ("duration", duration(info.start_time, info.end_time)),
        ("lifecycle stage", info.lifecycle_stage.as_str().into()),
        ("artifact uri", info.artifact_uri.clone()),
    ];
    let mut table = Table::new([("", Align::Left), ("", Align::Left)]).hide_header();
    for (label, value) in fields {
        table.push(vec![label.into(), value]);
    }
    table.write(out)?;

    key_values(out, "params", &run.params)?;
    key_values(out, "tags", &run.tags)?;

    if !run.inputs.is_empty() {
        writeln!(out, "\ninputs ({})", run.inputs.len())?;
        let mut t = Table::new([
            ("NAME", Align::Left),
            ("DIGEST", Align::Left),
            ("CONTEXT", Align::Left),
            ("SOURCE", Align::Left),
        ])
        .indent(2);
        for input in &run.inputs {
            let d = &input.dataset;
            let context = input
                .tags
                .get(CONTEXT_TAG)
                .cloned()
                .unwrap_or_else(|| "-".into());
            t.push(vec![
                d.name.clone(),
                d.digest.clone(),
                context,
                format!("{}: {}", d.source_type, d.source),
            ]);
        }
        t.write(out)?;
    }

    writeln!(out, "\nmetrics ({})", run.metrics.len())?;
    if !run.metrics.is_empty() {
        let mut t = Table::new([
            ("KEY", Align::Left),
            ("VALUE", Align::Right),
            ("STEP", Align::Right),
            ("MIN", Align::Right),
            ("MAX", Align::Right),
            ("COUNT", Align::Right),
        ])
        .indent(2);
        for (key, m) in &run.metrics {
            t.push(vec![
                key.clone(),
                exact(m.value),
                m.step.to_string(),
                exact(m.min),
                exact(m.max),
                m.count.to_string(),
            ]);
        }
        t.write(out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn key_values(out: &mut dyn Write, title: &str, map: &BTreeMap<String, String>) -> Result<()> {
    writeln!(out, "\n{title} ({})", map.len())?;
    if !map.is_empty() {
        let mut t = Table::new([("KEY", Align::Left), ("VALUE", Align::Left)]).indent(2);
        for (k, v) in map {
            t.push(vec![k.clone(), v.clone()]);
        }
        t.write(out)?;
    }
    Ok(())
}

pub fn history(
    store: &Store,
    run_id: &str,
    key: &str,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let points = store.metric_history(run_id, key)?;
    if points.is_empty() {
        // The library answers an unknown key with an empty history, as
        // MLflow does; on the command line a typo deserves an error.
        let metrics = store.get_run(run_id)?.metrics;
        if !metrics.contains_key(key) {
            let known = if metrics.is_empty() {
                "it has no metrics".to_string()
            } else {
                let keys: Vec<&str> = metrics.keys().map(String::as_str).collect();
                format!("its metrics are: {}", keys.join(", "))
            };
            bail!("run {run_id} has no metric {key:?}; {known}");
        }
    }
    if as_json {
        json::write_lines(out, points.iter().map(json::point))?;
        return Ok(ExitCode::SUCCESS);
    }
    // Written line by line: a history may hold millions of points.
    let step_width = points
        .iter()
        .map(|p| p.step.to_string().len())
        .max()
        .unwrap_or(0)
        .max("STEP".len());
    writeln!(
        out,
        "{:>step_width$}  {:<23}  VALUE",
        "STEP", "TIMESTAMP (UTC)"
    )?;
    for p in &points {
        writeln!(
            out,
            "{:>step_width$}  {}  {}",
            p.step,
            datetime_ms(p.timestamp),
            exact(p.value)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
