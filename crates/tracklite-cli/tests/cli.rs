//! The `tracklite` binary against real stores built with the library.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tracklite::format::{BLOCK_HEADER_SIZE, PAGE, RECORD_SIZE};
use tracklite::{NewRun, RunStatus, RunUpdate, Store, INDEX_FILE, LOG_FILE};

/// 2026-11-28 11:20:53 UTC, in ms.
const T0: i64 = 1_795_864_853_000;

/// What the binary did.
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

    /// Asserts a successful run and returns stdout.
    fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "stderr: {}\nstdout: {}",
            self.stderr, self.stdout
        );
        &self.stdout
    }
}

/// The binary, with no store in its environment.
fn tracklite() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracklite"));
    for name in [
        "TRACKLITE_STORE",
        "MLFLOW_TRACKING_URI",
        "TRACKLITE_SERVE_FILE_URIS",
        "COLUMNS",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

fn exec(cmd: &mut Command) -> Out {
    let o = cmd.output().expect("the binary runs");
    Out {
        code: o.status.code().expect("an exit code, not a signal"),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

/// Runs `tracklite --store <store> args...`.
fn cli(store: &Path, args: &[&str]) -> Out {
    exec(tracklite().arg("--store").arg(store).args(args))
}

/// A store with experiments `mnist` (runs `alpha`, finished, and `beta`,
/// running), `cifar` (run `gamma`, deleted) and `old` (deleted).
struct Sample {
    _dir: tempfile::TempDir,
    path: PathBuf,
    alpha: String,
    beta: String,
    gamma: String,
    old: String,
}

fn sample() -> Sample {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let mnist = store.create_experiment("mnist", None, &[]).unwrap();
    let cifar = store.create_experiment("cifar", None, &[]).unwrap();
    let old = store.create_experiment("old", None, &[]).unwrap();
    store.delete_experiment(&old).unwrap();

    let new_run = |experiment: &str, name: &str, start: i64| {
        store
            .create_run(NewRun {
                experiment_id: Some(experiment.into()),
                run_name: Some(name.into()),
                user_id: Some("alice".into()),
                start_time: Some(start),
                ..NewRun::default()
            })
            .unwrap()
            .run_id
    };

    let alpha = new_run(&mnist, "alpha", T0);
    store.log_param(&alpha, "lr", "0.1").unwrap();
    store.log_param(&alpha, "batch", "32").unwrap();
    store.set_tag(&alpha, "note", "first try").unwrap();
    for step in 0..5 {
        store
            .log_metric(
                &alpha,
                "loss",
                1.0 / (step + 1) as f64,
                T0 + step * 1000,
                step,
            )
            .unwrap();
    }
    store
        .log_metric(&alpha, "acc", 0.875, T0 + 4000, 4)
        .unwrap();
    store
        .update_run(
            &alpha,
            RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(T0 + 187_000),
                run_name: None,
            },
        )
        .unwrap();

    let beta = new_run(&mnist, "beta", T0 + 60_000);
    store.log_param(&beta, "lr", "0.01").unwrap();
    let odd = [0.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -0.0];
    for (step, v) in odd.iter().enumerate() {
        store
            .log_metric(&beta, "odd", *v, T0 + 60_000 + step as i64, step as i64)
            .unwrap();
    }

    let gamma = new_run(&cifar, "gamma", T0 + 120_000);
    store
        .log_metric(&gamma, "loss", 2.5, T0 + 120_000, 0)
        .unwrap();
    store.delete_run(&gamma).unwrap();
    drop(store);
    Sample {
        _dir: dir,
        path,
        alpha,
        beta,
        gamma,
        old,
    }
}

/// The line of `text` that contains `needle`.
fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn experiments_table_and_views() {
    let s = sample();
    let out = cli(&s.path, &["experiments"]);
    let text = out.ok();
    let header = words(text.lines().next().unwrap());
    assert_eq!(header, ["ID", "NAME", "STAGE", "CREATED", "(UTC)", "RUNS"]);
    let mnist = words(line_with(text, "mnist"));
    assert_eq!(mnist[2], "active");
    assert_eq!(mnist[5], "2", "two active runs in mnist: {text}");
    // The creation time is today's date and a time of day.
    assert_eq!(mnist[3].len(), 10, "{text}");
    assert_eq!(mnist[3].as_bytes()[4], b'-');
    assert_eq!(mnist[4].len(), 8);
    assert_eq!(words(line_with(text, "cifar"))[5], "0", "gamma is deleted");
    assert!(text.contains("Default"));
    assert!(
        !text.contains("old"),
        "a deleted experiment in the active view: {text}"
    );

    let deleted = cli(&s.path, &["experiments", "--view", "deleted"]);
    let deleted = deleted.ok();
    assert!(
        deleted.contains("old") && !deleted.contains("mnist"),
        "{deleted}"
    );
    let all = cli(&s.path, &["experiments", "--view", "all"]);
    assert_eq!(
        all.ok().lines().count(),
        5,
        "header, Default, mnist, cifar, old"
    );
    assert_eq!(
        words(line_with(all.ok(), "cifar"))[5],
        "1",
        "gamma counts in the all view"
    );
}

#[test]
fn experiments_json() {
    let s = sample();
    let doc = cli(&s.path, &["experiments", "--json"]).json();
    let list = doc.as_array().unwrap();
    assert_eq!(list.len(), 3);
    let mnist = list.iter().find(|e| e["name"] == "mnist").unwrap();
    assert_eq!(mnist["lifecycle_stage"], "active");
    assert_eq!(mnist["run_count"], 2);
    assert!(mnist["experiment_id"].is_string());
    assert!(mnist["creation_time"].as_i64().unwrap() > T0 - 365 * 86_400_000 * 10);
    assert!(mnist["artifact_location"].is_string());
    assert!(mnist["tags"].is_object());
}

#[test]
fn runs_table_of_one_experiment() {
    let s = sample();
    let out = cli(&s.path, &["runs", "--experiment", "mnist"]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let header = words(lines[0]);
    assert_eq!(
        header,
        [
            "RUN",
            "ID",
            "NAME",
            "STATUS",
            "START",
            "(UTC)",
            "DURATION",
            "metrics.acc",
            "metrics.loss",
            "metrics.odd",
            "params.batch",
            "params.lr"
        ]
    );
    // Newest first.
    assert!(
        lines[1].starts_with(&s.beta) && lines[2].starts_with(&s.alpha),
        "{text}"
    );
    let alpha = words(lines[2]);
    assert_eq!(
        alpha[1..],
        [
            "alpha",
            "FINISHED",
            "2026-11-28",
            "11:20:53",
            "3m",
            "07s",
            "0.875",
            "0.2",
            "-",
            "32",
            "0.1"
        ]
    );
    let beta = words(lines[1]);
    assert_eq!(
        beta[1..],
        [
            "beta",
            "RUNNING",
            "2026-11-28",
            "11:21:53",
            "-",
            "-",
            "-",
            "-0",
            "-",
            "0.01"
        ]
    );
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn runs_of_every_experiment_and_views() {
    let s = sample();
    let out = cli(&s.path, &["runs"]);
    let text = out.ok();
    assert!(words(text.lines().next().unwrap()).contains(&"EXPERIMENT"));
    assert_eq!(words(line_with(text, &s.alpha))[2], "mnist");
    assert!(!text.contains(&s.gamma), "a deleted run in the active view");

    let deleted = cli(&s.path, &["runs", "--view", "deleted"]);
    let deleted = deleted.ok();
    assert_eq!(deleted.lines().count(), 2, "{deleted}");
    let gamma = words(line_with(deleted, &s.gamma));
    assert_eq!(gamma[1..5], ["gamma", "cifar", "deleted", "RUNNING"]);

    let all = cli(&s.path, &["runs", "--view", "all", "--limit", "2"]);
    let all = all.ok();
    assert_eq!(all.lines().count(), 4);
    assert!(
        all.ends_with(
            "showing the first 2 runs; more runs match: raise --max-results to see more\n"
        ),
        "{all}"
    );
    assert!(
        all.lines().nth(1).unwrap().starts_with(&s.gamma),
        "newest first: {all}"
    );

    let none = cli(&s.path, &["runs", "--experiment", "cifar"]);
    assert_eq!(none.ok(), "no runs\n");
    // An experiment may be named by its id too.
    let by_id = cli(&s.path, &["runs", "--experiment", "2", "--view", "all"]);
    assert!(by_id.ok().contains(&s.gamma));
}

#[test]
fn runs_of_an_unknown_experiment_is_an_error() {
    let s = sample();
    let out = cli(&s.path, &["runs", "--experiment", "imagenet"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: experiment \"imagenet\" does not exist\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn runs_json() {
    let s = sample();
    let doc = cli(&s.path, &["runs", "--experiment", "mnist", "--json"]).json();
    assert_eq!(doc["more"], false);
    let list = doc["runs"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["info"]["run_id"], s.beta.as_str());
    assert_eq!(list[1]["info"]["run_id"], s.alpha.as_str());
    assert_eq!(list[1]["info"]["status"], "FINISHED");
    assert_eq!(list[1]["params"]["lr"], "0.1");
    assert_eq!(list[1]["metrics"]["loss"]["value"], 0.2);
    assert_eq!(list[1]["metrics"]["loss"]["count"], 5);
    let odd = &list[0]["metrics"]["odd"];
    assert_eq!(odd["max"], "Infinity");
    assert_eq!(odd["min"], "-Infinity");
}

#[test]
fn many_metric_columns_are_limited() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    for k in 0..10 {
        store
            .log_metric(&run, &format!("m{k}"), k as f64, T0, 0)
            .unwrap();
    }
    drop(store);
    let out = cli(&path, &["runs"]);
    let header = words(out.ok().lines().next().unwrap());
    assert_eq!(
        header.iter().filter(|h| h.starts_with("metrics.")).count(),
        6
    );
    assert!(out.stderr.contains("4 more metric"), "{}", out.stderr);
    let doc = cli(&path, &["runs", "--json"]).json();
    assert_eq!(doc["runs"][0]["metrics"].as_object().unwrap().len(), 10);
}

#[test]
fn run_text() {
    let s = sample();
    let out = cli(&s.path, &["run", &s.alpha]);
    let text = out.ok();
    assert_eq!(
        words(line_with(text, "run id")),
        ["run", "id", s.alpha.as_str()]
    );
    assert_eq!(words(line_with(text, "name")), ["name", "alpha"]);
    assert!(line_with(text, "experiment").contains("mnist (id 1)"));
    assert_eq!(words(line_with(text, "status")), ["status", "FINISHED"]);
    assert_eq!(words(line_with(text, "user")), ["user", "alice"]);
    assert!(line_with(text, "start (UTC)").ends_with("2026-11-28 11:20:53"));
    assert!(line_with(text, "end (UTC)").ends_with("2026-11-28 11:24:00"));
    assert_eq!(
        words(line_with(text, "duration")),
        ["duration", "3m", "07s"]
    );
    assert_eq!(
        words(line_with(text, "lifecycle stage")),
        ["lifecycle", "stage", "active"]
    );
    assert!(line_with(text, "artifact uri").contains(&format!("{}/artifacts", s.alpha)));
    assert!(text.contains("params (2)"));
    assert_eq!(words(line_with(text, "batch")), ["batch", "32"]);
    assert_eq!(words(line_with(text, "note")), ["note", "first", "try"]);
    assert_eq!(
        words(line_with(text, "mlflow.runName")),
        ["mlflow.runName", "alpha"]
    );
    assert_eq!(
        words(line_with(text, "  loss")),
        ["loss", "0.2", "4", "0.2", "1.0", "5"]
    );
    assert_eq!(
        words(line_with(text, "  acc")),
        ["acc", "0.875", "4", "0.875", "0.875", "1"]
    );
}

#[test]
fn run_json() {
    let s = sample();
    let doc = cli(&s.path, &["run", &s.beta, "--json"]).json();
    assert_eq!(doc["info"]["run_id"], s.beta.as_str());
    assert_eq!(doc["info"]["run_name"], "beta");
    assert_eq!(doc["info"]["experiment_id"], "1");
    assert_eq!(doc["info"]["status"], "RUNNING");
    assert_eq!(doc["info"]["user_id"], "alice");
    assert_eq!(doc["info"]["start_time"], T0 + 60_000);
    assert_eq!(doc["info"]["end_time"], Value::Null);
    assert_eq!(doc["info"]["lifecycle_stage"], "active");
    assert_eq!(doc["params"]["lr"], "0.01");
    assert_eq!(doc["tags"]["mlflow.runName"], "beta");
    let odd = &doc["metrics"]["odd"];
    assert_eq!(odd["step"], 5);
    assert_eq!(odd["count"], 6);
    assert_eq!(
        odd["value"].as_f64().unwrap().to_bits(),
        (-0.0f64).to_bits()
    );
    assert_eq!(odd["min"], "-Infinity");
    assert_eq!(odd["max"], "Infinity");
    assert!(doc["inputs"].as_array().unwrap().is_empty());
}

#[test]
fn history_text_prints_values_exactly() {
    let s = sample();
    let out = cli(&s.path, &["history", &s.beta, "odd"]);
    let lines: Vec<Vec<&str>> = out.ok().lines().map(words).collect();
    assert_eq!(lines[0], ["STEP", "TIMESTAMP", "(UTC)", "VALUE"]);
    let values: Vec<&str> = lines[1..].iter().map(|l| l[3]).collect();
    assert_eq!(values, ["0.1", "NaN", "inf", "-inf", "1e300", "-0.0"]);
    assert_eq!(lines[3][..3], ["2", "2026-11-28", "11:21:53.002"]);
}

#[test]
fn history_json_spells_non_finite_values_as_strings() {
    let s = sample();
    let doc = cli(&s.path, &["history", &s.beta, "odd", "--json"]).json();
    let points = doc.as_array().unwrap();
    assert_eq!(points.len(), 6);
    assert_eq!(
        points[0],
        serde_json::json!({"step": 0, "timestamp": T0 + 60_000, "value": 0.1})
    );
    let values: Vec<&Value> = points.iter().map(|p| &p["value"]).collect();
    assert_eq!(values[1], "NaN");
    assert_eq!(values[2], "Infinity");
    assert_eq!(values[3], "-Infinity");
    assert_eq!(values[4].as_f64(), Some(1e300));
}

#[test]
fn history_of_an_unknown_key_names_the_known_ones() {
    let s = sample();
    let out = cli(&s.path, &["history", &s.alpha, "los"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "error: run {} has no metric \"los\"; its metrics are: acc, loss\n",
            s.alpha
        )
    );
}

#[test]
fn unknown_run_id_is_an_error() {
    let s = sample();
    let missing = "0123456789abcdef0123456789abcdef";
    for args in [vec!["run", missing], vec!["history", missing, "loss"]] {
        let out = cli(&s.path, &args);
        assert_eq!(out.code, 1, "{args:?}");
        assert_eq!(
            out.stderr,
            format!("error: run \"{missing}\" does not exist\n"),
            "{args:?}"
        );
        assert!(out.stdout.is_empty());
    }
    // Under --json, the error is the JSON document on stdout.
    let out = cli(&s.path, &["run", missing, "--json"]);
    assert_eq!((out.code, out.stderr.as_str()), (1, ""));
    assert_eq!(
        out.json()["error"]["message"],
        format!("run \"{missing}\" does not exist")
    );
    let out = cli(&s.path, &["run", "../etc"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("error: invalid run id \"../etc\""),
        "{}",
        out.stderr
    );
}

#[test]
fn store_from_the_environment() {
    let s = sample();
    let out =
        exec(
            tracklite()
                .env("TRACKLITE_STORE", &s.path)
                .args(["runs", "--experiment", "mnist"]),
        );
    assert!(out.ok().contains(&s.alpha));
    // --store wins over the environment.
    let out = exec(
        tracklite()
            .env("TRACKLITE_STORE", "/nonexistent/store")
            .arg("--store")
            .arg(&s.path)
            .arg("experiments"),
    );
    assert!(out.ok().contains("mnist"));
    // The option may follow the subcommand.
    let out = exec(tracklite().args(["experiments", "--store"]).arg(&s.path));
    assert!(out.ok().contains("mnist"));
}

#[test]
fn missing_store_is_an_error() {
    // Nothing names a store, and there is none in ./tracklite-runs.
    let empty = tempfile::tempdir().unwrap();
    let out = exec(tracklite().current_dir(empty.path()).arg("experiments"));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "error: no store given (--store, TRACKLITE_STORE or MLFLOW_TRACKING_URI) \
             and none in ./tracklite-runs: no tracklite store at tracklite-runs"
        ),
        "{}",
        out.stderr
    );
    assert!(!empty.path().join("tracklite-runs").exists());

    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("nowhere");
    let out = cli(&nowhere, &["runs"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
    assert!(!nowhere.exists(), "the tool created a store");

    let out = cli(dir.path(), &["runs"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("is not a tracklite store") && out.stderr.contains(INDEX_FILE),
        "{}",
        out.stderr
    );
    assert!(
        !dir.path().join(INDEX_FILE).exists(),
        "the tool created a store"
    );
}

#[test]
fn usage_errors_exit_2() {
    let s = sample();
    assert_eq!(cli(&s.path, &["frobnicate"]).code, 2);
    assert_eq!(cli(&s.path, &["history", &s.alpha]).code, 2);
    assert_eq!(cli(&s.path, &["runs", "--view", "sideways"]).code, 2);
    assert_eq!(exec(tracklite().arg("--help")).code, 0);
}

/// A finished run with `points` points of one metric: one series whose
/// first block starts at page 1.
fn store_with_points(dir: &Path, points: i64) -> PathBuf {
    let path = dir.join("store");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    for step in 0..points {
        store
            .log_metric(&run, "loss", step as f64 * 0.5, T0 + step, step)
            .unwrap();
    }
    store.end_run(&run, RunStatus::Finished).unwrap();
    path
}

#[test]
fn check_a_clean_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_points(dir.path(), 500);
    let out = cli(&path, &["check"]);
    let text = out.ok();
    assert!(text.starts_with("1 series, "), "{text}");
    assert!(text.contains("500 points"), "{text}");
    assert!(text.ends_with("ok\n"), "{text}");

    let doc = cli(&path, &["check", "--json"]).json();
    assert_eq!(doc["clean"], true);
    assert_eq!(doc["report"]["points"], 500);
    assert_eq!(doc["report"]["problems"], serde_json::json!([]));
    assert_eq!(doc["after_repair"], Value::Null);
    assert_eq!(cli(&path, &["check", "--repair"]).code, 0);
}

#[test]
fn check_damaged_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_points(dir.path(), 500);
    // Garbage over three records in the middle of the first block.
    let file = OpenOptions::new()
        .write(true)
        .open(path.join(LOG_FILE))
        .unwrap();
    let offset = PAGE + (BLOCK_HEADER_SIZE + 40 * RECORD_SIZE) as u64;
    file.write_all_at(&[0xA5; 3 * RECORD_SIZE], offset).unwrap();
    drop(file);

    let out = cli(&path, &["check"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("problem: "), "{}", out.stdout);
    assert!(out.stdout.contains("damaged records"), "{}", out.stdout);
    assert!(!out.stdout.contains("\nok\n"));

    let doc = cli(&path, &["check", "--json"]).json();
    assert_eq!(doc["clean"], false);
    assert!(!doc["report"]["problems"].as_array().unwrap().is_empty());

    // Repair fixes the summaries; damaged records cannot be restored, so
    // the re-check still fails.
    let out = cli(&path, &["check", "--repair"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("repaired: "), "{}", out.stdout);
    assert!(out.stdout.contains("after repair:"), "{}", out.stdout);
    let doc = cli(&path, &["check", "--repair", "--json"]).json();
    assert_eq!(doc["clean"], false);
    assert!(doc["after_repair"]["problems"].is_array());
}

#[test]
fn check_repair_exit_status_follows_the_recheck() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_points(dir.path(), 300);
    // A summary that disagrees with the log: repairable. Written as
    // tracklite writes the index (page checksums), so that only the
    // summary is wrong.
    let vfs = tracklite::format::index_vfs().unwrap();
    let db = rusqlite::Connection::open_with_flags_and_vfs(
        path.join(INDEX_FILE),
        rusqlite::OpenFlags::default(),
        vfs,
    )
    .unwrap();
    db.execute("UPDATE metric_series SET count = count + 7", [])
        .unwrap();
    drop(db);

    let out = cli(&path, &["check"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let out = cli(&path, &["check", "--repair", "--json"]);
    let doc = out.json();
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(doc["clean"], true);
    assert!(!doc["report"]["repaired"].as_array().unwrap().is_empty());
    assert_eq!(doc["after_repair"]["problems"], serde_json::json!([]));
    assert_eq!(cli(&path, &["check"]).code, 0);
}

#[test]
fn gc_removes_deleted_runs() {
    let s = sample();
    // Only deleted runs can be removed.
    let out = cli(&s.path, &["gc", &s.alpha]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is not deleted"), "{}", out.stderr);

    let out = cli(&s.path, &["gc"]);
    assert_eq!(
        out.ok(),
        format!(
            "removed run {}\nremoved experiment {}\nreleased 4.0 KiB of metric log space\n",
            s.gamma, s.old
        )
    );
    let gone = cli(&s.path, &["run", &s.gamma]);
    assert_eq!(gone.code, 1);
    assert!(gone.stderr.contains("does not exist"));
    assert!(cli(&s.path, &["run", &s.alpha]).ok().contains("alpha"));

    let doc = cli(&s.path, &["gc", "--json"]).json();
    assert_eq!(doc["removed_runs"], serde_json::json!([]));
    assert_eq!(cli(&s.path, &["gc"]).ok(), "no deleted runs to remove\n");
}

#[test]
fn gc_of_listed_runs() {
    let s = sample();
    let store = Store::open(&s.path).unwrap();
    store.delete_run(&s.beta).unwrap();
    drop(store);
    let doc = cli(&s.path, &["gc", &s.beta, "--json"]).json();
    assert_eq!(doc["removed_runs"], serde_json::json!([s.beta]));
    let left = cli(&s.path, &["runs", "--view", "deleted"]);
    assert!(
        left.ok().contains(&s.gamma),
        "only the listed run is removed"
    );
}

#[test]
fn compact_reports_progress_and_keeps_points() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_points(dir.path(), 5_000);
    let store = Store::open(&path).unwrap();
    let run_id = store.list_runs(&[], tracklite::ViewType::All).unwrap()[0]
        .run_id
        .clone();
    let before = store.metric_history(&run_id, "loss").unwrap();
    drop(store);
    let out = cli(&path, &["compact"]);
    let text = out.ok();
    assert!(
        text.starts_with("compacted 1 series, 5000 points: 252.0 KiB -> 4.0 KiB\n"),
        "{text}"
    );
    assert!(
        out.stderr.contains("compacting: 1/1 series"),
        "{}",
        out.stderr
    );
    let doc = cli(&path, &["compact", "--json"]).json();
    assert_eq!(doc["series"], 0, "nothing left to compact: {doc}");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.metric_history(&run_id, "loss").unwrap(), before);
    assert_eq!(cli(&path, &["check"]).code, 0);
}

#[test]
fn artifacts_lists_files_and_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    store
        .log_artifact_bytes(&run_id, "model/weights.bin", &[7u8; 3000])
        .unwrap();
    store
        .log_artifact_bytes(&run_id, "notes.txt", b"hello")
        .unwrap();
    drop(store);
    let text = cli(&path, &["artifacts", &run_id]).ok().to_string();
    assert!(line_with(&text, "model/").contains("dir"), "{text}");
    assert_eq!(
        words(line_with(&text, "notes.txt")),
        ["notes.txt", "5", "B"]
    );
    let sub = cli(&path, &["artifacts", &run_id, "model"])
        .ok()
        .to_string();
    assert_eq!(
        words(line_with(&sub, "weights")),
        ["model/weights.bin", "2.9", "KiB"]
    );
    let doc = cli(&path, &["artifacts", &run_id, "--json"]).json();
    assert_eq!(doc["files"][1]["path"], "notes.txt");
    assert_eq!(doc["files"][1]["file_size"], 5);
    let bad = cli(&path, &["artifacts", &run_id, "../x"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("artifact path"), "{}", bad.stderr);
}

#[test]
fn runs_filter_order_and_max_results() {
    let s = sample();
    let ids = |out: &Out| -> Vec<String> {
        out.json()["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["info"]["run_id"].as_str().unwrap().to_string())
            .collect()
    };
    let lr = cli(
        &s.path,
        &["runs", "--filter", "params.lr = '0.1'", "--json"],
    );
    assert_eq!(ids(&lr), vec![s.alpha.clone()]);
    // Oldest first, then newest first; both mnist runs.
    let asc = cli(
        &s.path,
        &["runs", "--order-by", "attributes.start_time ASC", "--json"],
    );
    assert_eq!(ids(&asc), [s.alpha.clone(), s.beta.clone()]);
    let one = cli(&s.path, &["runs", "--max-results", "1", "--json"]);
    assert_eq!(ids(&one), vec![s.beta.clone()]);
    let text = cli(&s.path, &["runs", "--filter", "metrics.acc > 0.5"])
        .ok()
        .to_string();
    assert!(text.contains("alpha") && !text.contains("beta"), "{text}");
    let bad = cli(&s.path, &["runs", "--filter", "params.lr > 1"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("comparator > is not allowed for param"),
        "{}",
        bad.stderr
    );
}
