//! `check`, `gc` and `compact`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use tracklite::{GcOptions, Store};

use crate::counter::Counter;
use crate::{format, json};

/// Checks the store, and with `repair` repairs it and checks again. The
/// exit status is 0 when the last check found no problem, 1 otherwise.
///
/// JSON: `{"clean": bool, "report": CheckReport, "after_repair": CheckReport | null}`,
/// where `after_repair` is the re-check, present when a repair was made.
pub fn check(store: &Store, repair: bool, as_json: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let report = store.check(repair)?;
    // The library repairs only a store with problems; then a second,
    // read-only check tells what is left.
    let after = if repair && !report.is_clean() {
        Some(store.check(false)?)
    } else {
        None
    };
    let clean = after.as_ref().unwrap_or(&report).is_clean();
    if as_json {
        let doc = json!({ "clean": clean, "report": report, "after_repair": after });
        json::write(out, &doc)?;
    } else {
        write!(out, "{report}")?;
        if let Some(after) = &after {
            write!(out, "\nafter repair:\n{after}")?;
        }
    }
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Removes deleted runs for good: those listed, or all when none is. A
/// run that backs a registered model version fails the whole gc (the
/// library's error names each run and version) unless `force`.
pub fn gc(
    store: &Store,
    run_ids: &[String],
    force: bool,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let options = GcOptions {
        only: (!run_ids.is_empty()).then_some(run_ids),
        force,
    };
    let mut counter = Counter::new("removing artifacts", "folders");
    let report = store.gc_with(options, &mut |p| counter.set(p.done, p.total))?;
    counter.finish();
    if as_json {
        json::write(out, &serde_json::to_value(&report)?)?;
    } else if report.removed_runs.is_empty() && report.removed_experiments.is_empty() {
        writeln!(out, "no deleted runs to remove")?;
    } else {
        for id in &report.removed_runs {
            writeln!(out, "removed run {id}")?;
        }
        for id in &report.removed_experiments {
            writeln!(out, "removed experiment {id}")?;
        }
        writeln!(
            out,
            "released {} of metric log space",
            format::bytes(report.pages_released * tracklite::format::PAGE)
        )?;
    }
    if !as_json {
        for run in &report.forced {
            let versions: Vec<String> = run
                .versions
                .iter()
                .map(|(name, version)| format!("model {name:?} version {version}"))
                .collect();
            writeln!(
                out,
                "forced: run {} was used by {}",
                run.run_id,
                versions.join(", ")
            )?;
        }
    }
    if !as_json && report.temp_files_removed > 0 {
        writeln!(
            out,
            "removed {} temporary files left by interrupted artifact writes",
            report.temp_files_removed
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Rewrites ended runs' metrics into compressed blocks and releases the
/// space they used, showing progress on standard error.
pub fn compact(store: &Store, as_json: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let mut counter = Counter::new("compacting", "series");
    let report = store.compact(&mut |p| {
        counter.set(p.done, p.total);
        if p.done == p.total {
            // The library waits until no reader can still use the old
            // blocks (a few seconds at most), then releases their pages.
            counter.say("releasing the space of the old blocks");
        }
    })?;
    counter.finish();
    if as_json {
        json::write(out, &serde_json::to_value(&report)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let page = tracklite::format::PAGE;
    writeln!(
        out,
        "compacted {} series, {} points: {} -> {}",
        report.series,
        report.points,
        format::bytes(report.pages_before * page),
        format::bytes(report.pages_after * page)
    )?;
    for s in &report.skipped {
        writeln!(out, "skipped {s}")?;
    }
    writeln!(
        out,
        "released {} of metric log space",
        format::bytes(report.pages_released * page)
    )?;
    Ok(ExitCode::SUCCESS)
}
