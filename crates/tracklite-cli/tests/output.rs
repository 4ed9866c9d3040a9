//! What the binary prints: errors as JSON under --json (and nothing on
//! standard error), the note when --max-results leaves runs out, tables
//! that fit COLUMNS, and `compact` releasing its space in one run.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tracklite::{NewRun, RunStatus, Store, LOG_FILE};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }
}

fn cli(store: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .env_remove("TRACKLITE_STORE")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("the binary runs");
    Out {
        code: o.status.code().expect("an exit code"),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

/// A store with `runs` finished runs, each with a long name, a param and a
/// metric.
fn store_with_runs(dir: &Path, runs: usize) -> PathBuf {
    let path = dir.join("store");
    let store = Store::open(&path).unwrap();
    for i in 0..runs {
        let run = store
            .create_run(NewRun {
                run_name: Some(format!("a rather long run name number {i} of the sweep")),
                ..NewRun::default()
            })
            .unwrap()
            .run_id;
        store
            .log_param(&run, "optimizer", "adamw with a decoupled weight decay")
            .unwrap();
        store.log_metric(&run, "loss", 0.5, 1_000, 0).unwrap();
        store.end_run(&run, RunStatus::Finished).unwrap();
    }
    path
}

#[test]
fn errors_under_json_are_one_json_document_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_runs(dir.path(), 1);
    let missing = "0123456789abcdef0123456789abcdef";
    let out = cli(&path, &["run", missing, "--json"], &[]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "", "nothing on stderr under --json");
    let doc = out.json();
    assert_eq!(doc["error"]["kind"], "not_found");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(message.contains(missing), "{message}");

    let nowhere = dir.path().join("nowhere");
    let out = cli(&nowhere, &["runs", "--json"], &[]);
    assert_eq!((out.code, out.stderr.as_str()), (1, ""));
    assert_eq!(out.json()["error"]["kind"], "no_store");

    let out = cli(
        Path::new("http://127.0.0.1:1"),
        &["experiments", "--json"],
        &[],
    );
    assert_eq!(out.code, 1);
    let doc = out.json();
    assert_eq!(doc["error"]["kind"], "store_uri");
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("\"http://127.0.0.1:1\""));

    let out = cli(&path, &["runs", "--filter", "params.x > 1", "--json"], &[]);
    assert_eq!(out.json()["error"]["kind"], "invalid_filter");
    // Without --json, the same error is a line on stderr.
    let out = cli(&path, &["run", missing], &[]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
}

#[test]
fn max_results_says_when_more_runs_match() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_runs(dir.path(), 3);
    let out = cli(&path, &["runs", "--max-results", "2"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let last = out.stdout.lines().last().unwrap();
    assert_eq!(
        last,
        "showing the first 2 runs; more runs match: raise --max-results to see more"
    );
    let doc = cli(&path, &["runs", "--max-results", "2", "--json"], &[]).json();
    assert_eq!(doc["runs"].as_array().unwrap().len(), 2);
    assert_eq!(doc["more"], true);

    // Exactly as many as there are: nothing more to say.
    let out = cli(&path, &["runs", "--max-results", "3"], &[]);
    assert!(!out.stdout.contains("more runs match"), "{}", out.stdout);
    let doc = cli(&path, &["runs", "--max-results", "3", "--json"], &[]).json();
    assert_eq!(doc["more"], false);
}

#[test]
fn runs_lists_one_page_of_100_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_runs(dir.path(), 101);
    let doc = cli(&path, &["runs", "--json"], &[]).json();
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 100);
    assert_eq!(doc["more"], true);
    // The page is the first 100 of all the runs, in the same order.
    let all = cli(&path, &["runs", "--max-results", "101", "--json"], &[]).json();
    let all = all["runs"].as_array().unwrap();
    assert_eq!(&all[..100], &runs[..]);
    let out = cli(&path, &["runs"], &[]);
    assert_eq!(
        out.stdout.lines().last().unwrap(),
        "showing the first 100 runs; more runs match: raise --max-results to see more"
    );
}

#[test]
fn tables_fit_columns_and_keep_run_ids_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_runs(dir.path(), 2);
    let ids: Vec<String> = cli(&path, &["runs", "--json"], &[]).json()["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["info"]["run_id"].as_str().unwrap().to_string())
        .collect();

    // Not a terminal, no COLUMNS: one line a run, however wide.
    let wide = cli(&path, &["runs"], &[]);
    assert_eq!(wide.stdout.lines().count(), 3, "{}", wide.stdout);
    assert!(wide.stdout.lines().any(|l| l.chars().count() > 120));

    let narrow = cli(&path, &["runs"], &[("COLUMNS", "120")]);
    assert_eq!(narrow.code, 0, "{}", narrow.stderr);
    let text = &narrow.stdout;
    assert!(text.lines().count() > 3, "cells wrapped: {text}");
    for line in text.lines() {
        assert!(
            line.chars().count() <= 120,
            "{} chars: {line:?}",
            line.chars().count()
        );
    }
    for id in &ids {
        assert!(
            text.lines().any(|l| l.starts_with(id.as_str())),
            "{id} whole in {text}"
        );
    }
    // Wrapped, not cut (cells are clipped to 24 characters before, as
    // always): every word of the long cells is there.
    for word in ["rather", "number", "with a", "decoupled"] {
        assert_eq!(text.matches(word).count(), 2, "{word} in {text}");
    }
}

/// Bytes of disk the file takes (holes excluded).
fn allocated(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().blocks() * 512
}

#[test]
fn one_compact_releases_the_space_of_the_old_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let mut writer = store.metric_writer(&run).unwrap();
    let loss = writer.series("loss").unwrap();
    for step in 0..200_000 {
        writer
            .append(loss, (step % 97) as f64 * 0.25, 1_000 + step, step)
            .unwrap();
    }
    writer.close().unwrap();
    store.end_run(&run, RunStatus::Finished).unwrap();
    let before_points = store.metric_history(&run, "loss").unwrap();
    drop(store);
    let log = path.join(LOG_FILE);
    let before = allocated(&log);

    let out = cli(&path, &["compact", "--json"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "no progress under --json");
    let doc = out.json();
    assert_eq!(doc["series"], 1);
    assert_eq!(
        doc["pages_released"], doc["pages_before"],
        "every old page released by this run: {doc}"
    );
    let after = allocated(&log);
    assert!(
        after * 4 < before,
        "the log took {before} bytes, and {after} after one compact"
    );
    let store = Store::open(&path).unwrap();
    assert_eq!(store.metric_history(&run, "loss").unwrap(), before_points);
}
