//! `tracklite export` against a real MLflow tracking server (MLflow's own
//! `mlflow server` on SQLite, started on a free loopback port by each
//! test). What the server holds is read back with MLflow's own client and
//! compared with the store, field by field and point by point.
//!
//! The server comes from a Python environment: `$TRACKLITE_TEST_VENV`, or
//! the checkout's `.venv` (made by `scripts/python-env.sh`). Without one,
//! these tests say so and pass without running.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tracklite::{NewRun, RunStatus, RunUpdate, Store};

mod common;

use common::{export, pairs, venv, Server};

const BASE_TIME: i64 = 1_700_000_000_000;

/// Everything the server holds, read with MLflow's client: run id → run.
fn dump(venv: &Path, url: &str) -> BTreeMap<String, Value> {
    const SCRIPT: &str = r#"
import json, struct, sys
from mlflow import MlflowClient
from mlflow.entities import ViewType
c = MlflowClient(sys.argv[1])
out = {}
for e in c.search_experiments(view_type=ViewType.ALL):
    for r in c.search_runs([e.experiment_id], run_view_type=ViewType.ALL, max_results=50000):
        metrics = {}
        for k in r.data.metrics:
            metrics[k] = [
                [m.timestamp, m.step, "nan" if m.value != m.value
                 else struct.unpack("<q", struct.pack("<d", m.value))[0]]
                for m in c.get_metric_history(r.info.run_id, k)
            ]
        out[r.info.run_id] = dict(
            experiment=e.name, experiment_tags=e.tags, run_name=r.info.run_name,
            user=r.info.user_id, status=r.info.status, start=r.info.start_time,
            end=r.info.end_time, stage=r.info.lifecycle_stage, params=r.data.params,
            tags=r.data.tags, metrics=metrics)
print(json.dumps(out))
"#;
    let output = Command::new(venv.join("bin/python"))
        .args(["-c", SCRIPT, url])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `tracklite export --to URL --json ARGS...`.
fn count(summary: &Value, field: &str) -> u64 {
    summary[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {summary}"))
}

/// A point as the server keeps it: (timestamp, step, value bits), NaN
/// spelled "nan" and ±inf as ±f64::MAX (MLflow's SQL store cannot hold inf).
fn canonical(timestamp: i64, step: i64, value: f64) -> (i64, i64, String) {
    let v = if value.is_nan() {
        return (timestamp, step, "nan".into());
    } else if value.is_infinite() {
        f64::MAX.copysign(value)
    } else {
        value
    };
    (timestamp, step, (v.to_bits() as i64).to_string())
}

/// Checks every field of every run of `store` against the server's copy;
/// returns how many remote runs the store has there.
fn assert_same(store: &Store, remote: &BTreeMap<String, Value>) -> usize {
    let store_id = store.store_id().unwrap();
    let mine: BTreeMap<String, (&String, &Value)> = remote
        .iter()
        .filter(|(_, r)| r["tags"]["tracklite.store_id"] == store_id.as_str())
        .map(|(id, r)| {
            (
                r["tags"]["tracklite.run_id"].as_str().unwrap().to_string(),
                (id, r),
            )
        })
        .collect();
    let mine_count = remote
        .values()
        .filter(|r| r["tags"]["tracklite.store_id"] == store_id.as_str())
        .count();
    assert_eq!(mine.len(), mine_count, "one remote run per local run");
    let local_of_remote: BTreeMap<&String, &String> = mine
        .iter()
        .map(|(local, (remote, _))| (*remote, local))
        .collect();
    let runs = store
        .list_runs(&[], tracklite::ViewType::ActiveOnly)
        .unwrap();
    assert_eq!(runs.len(), mine.len());
    for info in runs {
        let run = store.get_run(&info.run_id).unwrap();
        let (_, r) = mine
            .get(&info.run_id)
            .unwrap_or_else(|| panic!("run {} is not on the server", info.run_id));
        let experiment = store.get_experiment(&info.experiment_id).unwrap();
        assert_eq!(r["experiment"], experiment.name.as_str());
        for (k, v) in &experiment.tags {
            assert_eq!(r["experiment_tags"][k], v.as_str(), "experiment tag {k}");
        }
        assert_eq!(r["run_name"], info.run_name.as_str());
        assert_eq!(r["user"], info.user_id.as_str());
        assert_eq!(r["status"], info.status.as_str());
        assert_eq!(r["start"], info.start_time);
        assert_eq!(r["end"].as_i64(), info.end_time);
        assert_eq!(r["stage"], "active");
        let params: BTreeMap<String, String> = serde_json::from_value(r["params"].clone()).unwrap();
        assert_eq!(params, run.params, "params of {}", info.run_id);
        let tags: BTreeMap<String, String> = serde_json::from_value(r["tags"].clone()).unwrap();
        for (k, v) in &run.tags {
            if k == "mlflow.parentRunId" {
                // The parent's remote id, which is the remote run of the local parent.
                assert_eq!(local_of_remote[&tags[k]], v, "parent of {}", info.run_id);
            } else {
                assert_eq!(tags.get(k), Some(v), "tag {k} of {}", info.run_id);
            }
        }
        assert_eq!(tags["tracklite.run_id"], info.run_id);
        let keys: BTreeSet<&String> = run.metrics.keys().collect();
        let remote_keys: BTreeSet<&String> = r["metrics"].as_object().unwrap().keys().collect();
        assert_eq!(keys, remote_keys);
        for key in keys {
            let h = store.metric_history(&info.run_id, key).unwrap();
            let local: BTreeSet<(i64, i64, String)> = h
                .iter()
                .map(|p| canonical(p.timestamp, p.step, p.value))
                .collect();
            let there: Vec<(i64, i64, String)> = r["metrics"][key]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let v = match &p[2] {
                        Value::String(s) => s.clone(),
                        n => n.as_i64().unwrap().to_string(),
                    };
                    (p[0].as_i64().unwrap(), p[1].as_i64().unwrap(), v)
                })
                .collect();
            // Exact duplicates are kept once by the server; nothing else is lost or doubled.
            assert_eq!(
                there.len(),
                local.len(),
                "points of {key} in {}",
                info.run_id
            );
            assert_eq!(
                there.into_iter().collect::<BTreeSet<_>>(),
                local,
                "points of {key} in {}",
                info.run_id
            );
        }
    }
    mine.len()
}

/// A store of three runs: a parent (failed) and its child (finished) in an
/// experiment with tags, and a running run in Default; special values, an
/// exact duplicate point and a series longer than one batch.
fn make_store(path: &Path) -> (Store, String) {
    let store = Store::open(path).unwrap();
    let exp = store
        .create_experiment(
            "vision",
            None,
            &pairs(&[("team", "cv"), ("mlflow.note.content", "hi")]),
        )
        .unwrap();
    let parent = store
        .create_run(NewRun {
            experiment_id: Some(exp.clone()),
            run_name: Some("sweep".into()),
            user_id: Some("alice".into()),
            start_time: Some(BASE_TIME),
            tags: pairs(&[("stage", "train")]),
            params: pairs(&[("lr", "0.1"), ("batch", "32")]),
            ..NewRun::default()
        })
        .unwrap()
        .run_id;
    let mut w = store.metric_writer(&parent).unwrap();
    let loss = w.series("loss").unwrap();
    for i in 0..2500i64 {
        let v = match i {
            7 => f64::NAN,
            8 => f64::INFINITY,
            9 => f64::NEG_INFINITY,
            _ => 1.0 / (i + 1) as f64,
        };
        w.append(loss, v, BASE_TIME + i * 10, i).unwrap();
    }
    w.log("acc", 0.5, BASE_TIME + 5, 0).unwrap();
    w.log("acc", 0.5, BASE_TIME + 5, 0).unwrap(); // an exact duplicate
    w.log("acc", 0.75, BASE_TIME + 5, 1).unwrap();
    w.close().unwrap();
    store
        .update_run(
            &parent,
            RunUpdate {
                status: Some(RunStatus::Failed),
                end_time: Some(BASE_TIME + 60_000),
                run_name: None,
            },
        )
        .unwrap();
    let child = store
        .create_run(NewRun {
            experiment_id: Some(exp),
            run_name: Some("trial-1".into()),
            user_id: Some("bob".into()),
            start_time: Some(BASE_TIME + 1000),
            params: pairs(&[("depth", "4")]),
            parent_run_id: Some(parent),
            ..NewRun::default()
        })
        .unwrap()
        .run_id;
    store
        .log_metric(&child, "val/loss", 0.25, BASE_TIME + 2000, 3)
        .unwrap();
    store
        .update_run(
            &child,
            RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(BASE_TIME + 3000),
                run_name: None,
            },
        )
        .unwrap();
    let running = store
        .create_run(NewRun {
            run_name: Some("live".into()),
            user_id: Some("carol".into()),
            start_time: Some(BASE_TIME + 5000),
            ..NewRun::default()
        })
        .unwrap()
        .run_id;
    for i in 0..10 {
        store
            .log_metric(&running, "throughput", i as f64, BASE_TIME + 6000 + i, i)
            .unwrap();
    }
    store.flush().unwrap();
    (store, running)
}

#[test]
fn export_is_exact_incremental_and_idempotent() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&venv, dir.path());
    let path = dir.path().join("store");
    let (store, running) = make_store(&path);

    let (out, summary) = export(&path, &server.url(), &[]);
    assert!(
        out.status.success(),
        "{summary}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&summary, "runs_created"), 3, "{summary}");
    assert_eq!(count(&summary, "runs_failed"), 0, "{summary}");
    assert_eq!(count(&summary, "points"), 2500 + 3 + 1 + 10);
    assert_eq!(count(&summary, "params"), 3);
    assert_eq!(assert_same(&store, &dump(&venv, &server.url())), 3);

    // Nothing new: nothing sent.
    let (out, summary) = export(&path, &server.url(), &[]);
    assert!(out.status.success(), "{summary}");
    for field in [
        "runs_created",
        "runs_updated",
        "runs_failed",
        "points",
        "params",
        "tags",
    ] {
        assert_eq!(count(&summary, field), 0, "{field}: {summary}");
    }
    assert_eq!(count(&summary, "runs_skipped"), 3);

    // New points, a param, a tag and an end: exactly those are sent.
    for i in 10..510 {
        store
            .log_metric(&running, "throughput", i as f64, BASE_TIME + 6000 + i, i)
            .unwrap();
    }
    store.log_param(&running, "workers", "8").unwrap();
    store.set_tag(&running, "note", "resumed").unwrap();
    store
        .update_run(
            &running,
            RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(BASE_TIME + 90_000),
                run_name: None,
            },
        )
        .unwrap();
    store.flush().unwrap();
    let (_, dry) = export(&path, &server.url(), &["--dry-run"]);
    assert_eq!(
        (count(&dry, "points"), count(&dry, "runs_updated")),
        (500, 1),
        "{dry}"
    );
    let (out, summary) = export(&path, &server.url(), &[]);
    assert!(out.status.success(), "{summary}");
    assert_eq!(count(&summary, "runs_updated"), 1, "{summary}");
    assert_eq!(count(&summary, "runs_skipped"), 2, "{summary}");
    assert_eq!(count(&summary, "points"), 500);
    assert_eq!(count(&summary, "params"), 1);
    assert_eq!(count(&summary, "tags"), 1);
    assert_eq!(assert_same(&store, &dump(&venv, &server.url())), 3);
}

#[test]
fn a_lost_journal_is_rebuilt_from_the_server_and_a_param_conflict_is_refused() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&venv, dir.path());
    let path = dir.path().join("store");
    let (store, _) = make_store(&path);
    let (out, _) = export(&path, &server.url(), &[]);
    assert!(out.status.success());

    // A copy of the store exported to the same server under another URL
    // spelling would be one target; a journal lost (another spelling of
    // the host here: a separate journal) finds the same remote runs.
    let other_url = server.url().replace("127.0.0.1", "localhost");
    let (out, summary) = export(&path, &other_url, &[]);
    assert!(out.status.success(), "{summary}");
    assert_eq!(count(&summary, "runs_created"), 0, "{summary}");
    assert_eq!(count(&summary, "points"), 0, "{summary}");
    assert_eq!(count(&summary, "params"), 0, "{summary}");
    assert_eq!(assert_same(&store, &dump(&venv, &server.url())), 3);

    // A param set on the server with another value: the run is refused
    // whole, loudly, and the others are exported.
    let remote = dump(&venv, &server.url());
    let (remote_id, _) = remote
        .iter()
        .find(|(_, r)| r["run_name"] == "live")
        .unwrap();
    let script = format!(
        "from mlflow import MlflowClient; MlflowClient('{}').log_param('{remote_id}', 'workers', '2')",
        server.url()
    );
    let status = Command::new(venv.join("bin/python"))
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(status.success());
    let running = store
        .list_runs(&[], tracklite::ViewType::ActiveOnly)
        .unwrap()
        .into_iter()
        .find(|r| r.run_name == "live")
        .unwrap()
        .run_id;
    store.log_param(&running, "workers", "8").unwrap();
    store
        .log_metric(&running, "throughput", 1.0, BASE_TIME, 99)
        .unwrap();
    store.flush().unwrap();
    let (out, summary) = export(&path, &server.url(), &[]);
    assert!(!out.status.success(), "{summary}");
    assert_eq!(count(&summary, "runs_failed"), 1, "{summary}");
    assert_eq!(
        count(&summary, "points"),
        0,
        "nothing of the run is sent: {summary}"
    );
    let error = summary["failures"][0]["error"].as_str().unwrap();
    for part in [running.as_str(), "\"workers\"", "\"2\"", "\"8\""] {
        assert!(error.contains(part), "{part} in {error}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FAILED"), "{stderr}");
}

#[test]
fn two_laptops_export_into_the_same_experiments_without_clobbering() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&venv, dir.path());
    // Two machines' stores: the same experiment names and run names, other
    // store ids and run ids.
    let (a, _) = make_store(&dir.path().join("laptop-a"));
    let (b, _) = make_store(&dir.path().join("laptop-b"));
    assert_ne!(a.store_id().unwrap(), b.store_id().unwrap());
    let (out, first) = export(&dir.path().join("laptop-a"), &server.url(), &[]);
    assert!(out.status.success(), "{first}");
    let (out, second) = export(&dir.path().join("laptop-b"), &server.url(), &[]);
    assert!(out.status.success(), "{second}");
    // The second merges into the experiment the first made.
    assert_eq!(count(&first, "experiments_created"), 1, "{first}");
    assert_eq!(count(&second, "experiments_created"), 0, "{second}");
    assert_eq!(count(&second, "runs_created"), 3, "{second}");

    let remote = dump(&venv, &server.url());
    assert_eq!(remote.len(), 6, "{remote:?}");
    assert_eq!(assert_same(&a, &remote), 3);
    assert_eq!(assert_same(&b, &remote), 3);
    // Each nested run's parent is its own laptop's parent run.
    for r in remote.values() {
        if let Some(parent) = r["tags"]["mlflow.parentRunId"].as_str() {
            assert_eq!(
                remote[parent]["tags"]["tracklite.store_id"],
                r["tags"]["tracklite.store_id"]
            );
        }
    }
    // Each exports only its own news afterwards.
    a.log_metric(
        &a.list_runs(&[], tracklite::ViewType::ActiveOnly).unwrap()[0].run_id,
        "late",
        1.0,
        BASE_TIME,
        0,
    )
    .unwrap();
    a.flush().unwrap();
    let (out, again) = export(&dir.path().join("laptop-a"), &server.url(), &[]);
    assert!(out.status.success(), "{again}");
    assert_eq!(count(&again, "points"), 1, "{again}");
    let (out, again) = export(&dir.path().join("laptop-b"), &server.url(), &[]);
    assert!(out.status.success(), "{again}");
    assert_eq!(count(&again, "points"), 0, "{again}");
    let remote = dump(&venv, &server.url());
    assert_eq!(assert_same(&a, &remote), 3);
    assert_eq!(assert_same(&b, &remote), 3);
}

#[test]
fn an_export_killed_midway_is_finished_by_the_next() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&venv, dir.path());
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let mut runs = Vec::new();
    for r in 0..3 {
        let run = store
            .create_run(NewRun {
                run_name: Some(format!("long-{r}")),
                start_time: Some(BASE_TIME),
                params: pairs(&[("seed", &r.to_string())]),
                ..NewRun::default()
            })
            .unwrap()
            .run_id;
        let mut w = store.metric_writer(&run).unwrap();
        for key in ["loss", "acc"] {
            let s = w.series(key).unwrap();
            for i in 0..12_000i64 {
                w.append(s, (i % 97) as f64 * 0.01, BASE_TIME + i, i)
                    .unwrap();
            }
        }
        w.close().unwrap();
        store.end_run(&run, RunStatus::Finished).unwrap();
        runs.push(run);
    }
    store.flush().unwrap();
    let total: u64 = 3 * 2 * 12_000;

    // Killed (SIGKILL) once the server has acknowledged some points.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .arg("--store")
        .arg(&path)
        .args(["export", "--to", &server.url(), "--connections", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = store.export_journal(&server.url());
    let deadline = Instant::now() + Duration::from_secs(300);
    let sent = loop {
        let sent: u64 = journal
            .runs()
            .unwrap()
            .values()
            .flat_map(|r| r.series.values().copied())
            .sum();
        if sent > 0 {
            break sent;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the export ended too soon"
        );
        assert!(Instant::now() < deadline, "no point sent in 300 s");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(sent < total, "killed before the end ({sent} of {total})");

    let (out, summary) = export(&path, &server.url(), &[]);
    assert!(
        out.status.success(),
        "{summary}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&summary, "runs_failed"), 0);
    assert!(count(&summary, "points") <= total);
    assert_eq!(assert_same(&store, &dump(&venv, &server.url())), 3);

    // And nothing is left to send.
    let (_, summary) = export(&path, &server.url(), &[]);
    assert_eq!(count(&summary, "points"), 0, "{summary}");
    assert_eq!(count(&summary, "runs_skipped"), 3, "{summary}");
}

#[test]
fn a_server_killed_midway_fails_loudly_and_the_next_export_finishes() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&venv, dir.path());
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run = store
        .create_run(NewRun {
            run_name: Some("big".into()),
            start_time: Some(BASE_TIME),
            ..NewRun::default()
        })
        .unwrap()
        .run_id;
    let mut w = store.metric_writer(&run).unwrap();
    let s = w.series("loss").unwrap();
    for i in 0..40_000i64 {
        w.append(s, i as f64, BASE_TIME + i, i).unwrap();
    }
    w.close().unwrap();
    store.end_run(&run, RunStatus::Finished).unwrap();

    let child = Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .arg("--store")
        .arg(&path)
        .args(["export", "--to", &server.url(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let journal = store.export_journal(&server.url());
    let deadline = Instant::now() + Duration::from_secs(300);
    while journal
        .runs()
        .unwrap()
        .get(&run)
        .is_none_or(|r| r.points_sent("loss") == 0)
    {
        assert!(Instant::now() < deadline, "no point sent in 300 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "the export failed");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(count(&summary, "runs_failed"), 1, "{summary}");

    server.spawn();
    let (out, summary) = export(&path, &server.url(), &[]);
    assert!(
        out.status.success(),
        "{summary}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(assert_same(&store, &dump(&venv, &server.url())), 1);
}

/// The export rate of one run of 200,000 points to a local server (run by
/// hand: `cargo test --release -p tracklite-cli --test export_mlflow --
/// --ignored --nocapture export_rate`).
#[test]
#[ignore]
fn export_rate() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&venv, dir.path());
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let mut w = store.metric_writer(&run).unwrap();
    let s = w.series("loss").unwrap();
    let points = 200_000i64;
    for i in 0..points {
        w.append(s, (i as f64).sin(), BASE_TIME + i, i).unwrap();
    }
    w.close().unwrap();
    store.end_run(&run, RunStatus::Finished).unwrap();
    let started = Instant::now();
    let (out, summary) = export(&path, &server.url(), &["--connections", "4"]);
    let seconds = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{summary}");
    assert_eq!(count(&summary, "points"), points as u64);
    println!(
        "export rate: {points} points in {seconds:.1} s = {:.0} points/s \
         (4 connections, verification included; summary {summary})",
        points as f64 / seconds
    );
}
