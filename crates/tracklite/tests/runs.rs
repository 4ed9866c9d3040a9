//! Runs: creation and its defaults, nested runs, reading a run back with
//! its metric summaries, status and name updates, soft deletion,
//! restoration and garbage collection, immutable params, tags, listing,
//! and the errors for unknown and malformed run ids.

mod common;

use common::{assert_invalid_state, assert_run_deleted};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tracklite::{
    now_ms, Durability, EntityKind, Error, LifecycleStage, Metric, NewRun, RunStatus, RunUpdate,
    Store, ValidationError, ViewType,
};

const RUN_NAME_TAG: &str = "mlflow.runName";
const PARENT_TAG: &str = "mlflow.parentRunId";
/// A well-formed run id that no store holds.
const UNKNOWN_RUN: &str = "0123456789abcdef0123456789abcdef";

fn open(dir: &Path) -> Store {
    Store::open(dir.join("store")).unwrap()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn new_run(store: &Store) -> String {
    store.create_run(NewRun::default()).unwrap().run_id
}

fn run_at(store: &Store, experiment_id: &str, start_time: i64) -> String {
    store
        .create_run(NewRun {
            experiment_id: Some(experiment_id.into()),
            start_time: Some(start_time),
            ..NewRun::default()
        })
        .unwrap()
        .run_id
}

fn assert_run_not_found<T: std::fmt::Debug>(result: Result<T, Error>, id: &str) {
    match result {
        Err(err @ Error::NotFound { .. }) => {
            assert_eq!(err.to_string(), format!("run {id:?} does not exist"));
        }
        other => panic!("expected NotFound for run {id:?}, got {other:?}"),
    }
}

fn assert_bad_run_id<T: std::fmt::Debug>(result: Result<T, Error>, id: &str) {
    match result {
        Err(Error::Validation(ValidationError::InvalidValue { field, value, .. })) => {
            assert_eq!((field, value.as_str()), ("run id", id));
        }
        other => panic!("expected a run id validation error for {id:?}, got {other:?}"),
    }
}

fn is_generated_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() == 3
        && parts[..2]
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[2].parse::<u32>().is_ok_and(|n| n < 1000)
}

/// The folder `artifact_uri` names, with a file in it, as an artifact
/// logger would leave it.
fn write_artifact(store: &Store, run_id: &str) -> PathBuf {
    let uri = store.get_run_info(run_id).unwrap().artifact_uri;
    let dir = PathBuf::from(uri);
    std::fs::create_dir_all(dir.join("model")).unwrap();
    std::fs::write(dir.join("model/weights.bin"), b"weights").unwrap();
    dir
}

#[test]
fn create_run_fills_in_mlflow_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let before = now_ms();
    let info = store.create_run(NewRun::default()).unwrap();
    let after = now_ms();

    assert_eq!(info.run_id.len(), 32, "{}", info.run_id);
    assert!(
        info.run_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{}",
        info.run_id
    );
    assert!(is_generated_name(&info.run_name), "{}", info.run_name);
    assert_eq!(info.status, RunStatus::Running);
    assert!(
        (before..=after).contains(&info.start_time),
        "{before} <= {} <= {after}",
        info.start_time
    );
    assert_eq!(info.end_time, None);
    assert_eq!(info.experiment_id, "0");
    assert_eq!(info.lifecycle_stage, LifecycleStage::Active);
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into());
    assert_eq!(info.user_id, user);
    assert_eq!(
        info.artifact_uri,
        format!("{}/0/{}/artifacts", store.artifact_root(), info.run_id)
    );

    let run = store.get_run(&info.run_id).unwrap();
    assert_eq!(run.info, info);
    assert_eq!(
        run.tags,
        BTreeMap::from([(RUN_NAME_TAG.to_string(), info.run_name.clone())])
    );
    assert!(run.params.is_empty());
    assert!(run.metrics.is_empty());

    let other = store.create_run(NewRun::default()).unwrap();
    assert_ne!(other.run_id, info.run_id);
    // An empty name is no name: one is generated.
    let unnamed = store
        .create_run(NewRun {
            run_name: Some(String::new()),
            ..NewRun::default()
        })
        .unwrap();
    assert!(is_generated_name(&unnamed.run_name), "{}", unnamed.run_name);
}

#[test]
fn create_run_takes_explicit_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let exp = store.create_experiment("exp", None, &[]).unwrap();
    let info = store
        .create_run(NewRun {
            experiment_id: Some(exp.clone()),
            run_name: Some("baseline".into()),
            user_id: Some("alice".into()),
            start_time: Some(1_600_000_000_000),
            tags: pairs(&[("team", "vision"), ("data/split", "v2")]),
            params: pairs(&[("lr", "0.1")]),
            parent_run_id: None,
        })
        .unwrap();
    assert_eq!(info.experiment_id, exp);
    assert_eq!(info.run_name, "baseline");
    assert_eq!(info.user_id, "alice");
    assert_eq!(info.start_time, 1_600_000_000_000);
    assert_eq!(info.status, RunStatus::Running);

    let run = store.get_run(&info.run_id).unwrap();
    assert_eq!(
        run.tags,
        BTreeMap::from([
            ("data/split".to_string(), "v2".to_string()),
            (RUN_NAME_TAG.to_string(), "baseline".to_string()),
            ("team".to_string(), "vision".to_string()),
        ])
    );
    assert_eq!(
        run.params,
        BTreeMap::from([("lr".to_string(), "0.1".to_string())])
    );
}

/// MLflow takes the run name from the `mlflow.runName` tag when no name is
/// given (`run_name = run_name or run_name_tag or _generate_random_name()`).
#[test]
fn create_run_takes_its_name_from_the_run_name_tag() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let info = store
        .create_run(NewRun {
            tags: pairs(&[(RUN_NAME_TAG, "from-tag")]),
            ..NewRun::default()
        })
        .unwrap();
    assert_eq!(info.run_name, "from-tag");
    assert_eq!(
        store.get_run(&info.run_id).unwrap().tags[RUN_NAME_TAG],
        "from-tag"
    );
}

/// MLflow refuses a run name and a `mlflow.runName` tag that disagree
/// rather than silently dropping one of them.
#[test]
fn create_run_refuses_a_name_that_contradicts_the_run_name_tag() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let result = store.create_run(NewRun {
        run_name: Some("by-argument".into()),
        tags: pairs(&[(RUN_NAME_TAG, "by-tag")]),
        ..NewRun::default()
    });
    match result {
        Err(Error::Validation(e)) => {
            let msg = e.to_string();
            assert!(
                msg.contains("by-argument") && msg.contains("by-tag"),
                "{msg}"
            );
        }
        other => panic!("expected a validation error naming both names, got {other:?}"),
    }
    assert!(store.list_runs(&[], ViewType::All).unwrap().is_empty());

    // Agreeing values are fine.
    let info = store
        .create_run(NewRun {
            run_name: Some("same".into()),
            tags: pairs(&[(RUN_NAME_TAG, "same")]),
            ..NewRun::default()
        })
        .unwrap();
    assert_eq!(info.run_name, "same");
}

#[test]
fn nested_runs_record_their_parent() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let parent = new_run(&store);
    let child = store
        .create_run(NewRun {
            parent_run_id: Some(parent.clone()),
            ..NewRun::default()
        })
        .unwrap();
    let tags = store.get_run(&child.run_id).unwrap().tags;
    assert_eq!(tags[PARENT_TAG], parent);
    assert_eq!(tags[RUN_NAME_TAG], child.run_name);
    assert!(!store
        .get_run(&parent)
        .unwrap()
        .tags
        .contains_key(PARENT_TAG));

    assert_run_not_found(
        store.create_run(NewRun {
            parent_run_id: Some(UNKNOWN_RUN.into()),
            ..NewRun::default()
        }),
        UNKNOWN_RUN,
    );
    assert_bad_run_id(
        store.create_run(NewRun {
            parent_run_id: Some("../p".into()),
            ..NewRun::default()
        }),
        "../p",
    );
    assert_eq!(store.list_runs(&[], ViewType::All).unwrap().len(), 2);
}

#[test]
fn get_run_summarises_each_metric() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);

    // Latest is the greatest (step, timestamp, value), not the last logged.
    for (value, ts, step) in [
        (5.0, 10, 0),
        (1.0, 5, 2),
        (3.0, 5, 2),
        (9.0, 100, 1),
        (2.0, 4, 2),
    ] {
        store.log_metric(&run, "loss", value, ts, step).unwrap();
    }
    // A payload NaN, to see that the exact bits come back.
    let nan = f64::from_bits(0x7ff8_0000_0000_1234);
    store.log_metric(&run, "all_nan", nan, 1, 0).unwrap();
    store.log_metric(&run, "mixed", 2.0, 1, 0).unwrap();
    store.log_metric(&run, "mixed", nan, 1, 1).unwrap();
    store.log_metric(&run, "mixed", -7.0, 1, 0).unwrap();
    store.log_metric(&run, "inf", f64::INFINITY, 1, 0).unwrap();
    store
        .log_metric(&run, "inf", f64::NEG_INFINITY, 1, 1)
        .unwrap();
    store.log_metric(&run, "inf", 0.5, 1, 0).unwrap();
    // At an equal step and timestamp, NaN ranks as 0, as in MLflow's SQL store.
    store.log_metric(&run, "tie", -1.0, 7, 3).unwrap();
    store.log_metric(&run, "tie", nan, 7, 3).unwrap();

    let metrics = store.get_run(&run).unwrap().metrics;
    assert_eq!(
        metrics.keys().collect::<Vec<_>>(),
        ["all_nan", "inf", "loss", "mixed", "tie"]
    );

    let loss = metrics["loss"];
    assert_eq!((loss.step, loss.timestamp, loss.value), (2, 5, 3.0));
    assert_eq!((loss.min, loss.max, loss.count), (1.0, 9.0, 5));

    let all_nan = metrics["all_nan"];
    assert_eq!(all_nan.value.to_bits(), nan.to_bits());
    assert!(all_nan.min.is_nan() && all_nan.max.is_nan());
    assert_eq!(all_nan.count, 1);

    let mixed = metrics["mixed"];
    assert_eq!(mixed.value.to_bits(), nan.to_bits());
    assert_eq!(
        (mixed.step, mixed.min, mixed.max, mixed.count),
        (1, -7.0, 2.0, 3)
    );

    let inf = metrics["inf"];
    assert_eq!((inf.step, inf.value), (1, f64::NEG_INFINITY));
    assert_eq!((inf.min, inf.max), (f64::NEG_INFINITY, f64::INFINITY));

    let tie = metrics["tie"];
    assert_eq!(tie.value.to_bits(), nan.to_bits(), "{tie:?}");
    assert_eq!((tie.min, tie.max, tie.count), (-1.0, -1.0, 2));
}

#[test]
fn update_run_sets_each_status_and_the_end_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    store.log_metric(&run, "loss", 0.5, 1, 0).unwrap();

    for status in [
        RunStatus::Scheduled,
        RunStatus::Finished,
        RunStatus::Failed,
        RunStatus::Killed,
        RunStatus::Running,
    ] {
        let info = store
            .update_run(
                &run,
                RunUpdate {
                    status: Some(status),
                    ..RunUpdate::default()
                },
            )
            .unwrap();
        assert_eq!(info.status, status);
        assert_eq!(store.get_run_info(&run).unwrap().status, status);
        assert_eq!(info.end_time, None, "a status alone leaves the end time");
    }

    let info = store
        .update_run(
            &run,
            RunUpdate {
                end_time: Some(1_700_000_000_123),
                ..RunUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(info.end_time, Some(1_700_000_000_123));
    assert_eq!(
        info.status,
        RunStatus::Running,
        "an end time alone leaves the status"
    );

    // Logging goes on after a terminal status, as MLflow allows.
    store.end_run(&run, RunStatus::Finished).unwrap();
    store.log_metric(&run, "loss", 0.25, 2, 1).unwrap();
    let summary = store.get_run(&run).unwrap().metrics["loss"];
    assert_eq!((summary.count, summary.value), (2, 0.25));
}

#[test]
fn end_run_sets_status_and_end_time_now() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    store.log_metric(&run, "loss", 1.5, 1, 0).unwrap();
    let before = now_ms();
    let info = store.end_run(&run, RunStatus::Failed).unwrap();
    let after = now_ms();
    assert_eq!(info.status, RunStatus::Failed);
    let end = info.end_time.expect("an end time");
    assert!(
        (before..=after).contains(&end),
        "{before} <= {end} <= {after}"
    );
    assert_eq!(store.get_run_info(&run).unwrap(), info);
    assert_eq!(store.get_run(&run).unwrap().metrics["loss"].value, 1.5);
}

#[test]
fn renaming_a_run_and_the_run_name_tag_stay_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);

    let info = store
        .update_run(
            &run,
            RunUpdate {
                run_name: Some("renamed".into()),
                ..RunUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(info.run_name, "renamed");
    assert_eq!(info.status, RunStatus::Running);
    assert_eq!(store.get_run(&run).unwrap().tags[RUN_NAME_TAG], "renamed");

    store.set_tag(&run, RUN_NAME_TAG, "via-tag").unwrap();
    assert_eq!(store.get_run_info(&run).unwrap().run_name, "via-tag");
    let listed = store.list_runs(&["0"], ViewType::All).unwrap();
    assert_eq!(listed[0].run_name, "via-tag");

    store
        .log_params_and_tags(&run, &[], &pairs(&[(RUN_NAME_TAG, "via-batch")]))
        .unwrap();
    assert_eq!(store.get_run_info(&run).unwrap().run_name, "via-batch");

    match store.update_run(
        &run,
        RunUpdate {
            run_name: Some("x".repeat(8001)),
            ..RunUpdate::default()
        },
    ) {
        Err(Error::Validation(ValidationError::TooLong { limit, length, .. })) => {
            assert_eq!((limit, length), (8000, 8001))
        }
        other => panic!("expected TooLong, got {other:?}"),
    }
    assert_eq!(store.get_run_info(&run).unwrap().run_name, "via-batch");
}

#[test]
fn deleted_runs_refuse_changes_until_restored() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    store.log_metric(&run, "loss", 1.0, 1, 0).unwrap();
    store.set_tag(&run, "keep", "me").unwrap();

    store.delete_run(&run).unwrap();
    let info = store.get_run_info(&run).unwrap();
    assert_eq!(info.lifecycle_stage, LifecycleStage::Deleted);
    // A deleted run can still be read.
    assert_eq!(store.get_run(&run).unwrap().metrics["loss"].count, 1);

    assert_run_deleted(store.log_param(&run, "lr", "0.1"), &run);
    assert_run_deleted(store.set_tag(&run, "k", "v"), &run);
    assert_run_deleted(store.delete_tag(&run, "keep"), &run);
    assert_run_deleted(store.log_metric(&run, "loss", 2.0, 2, 1), &run);
    assert_run_deleted(
        store.log_batch(&run, &[Metric::new("loss", 2.0, 2, 1)], &[], &[]),
        &run,
    );
    assert_run_deleted(
        store.log_batch(&run, &[], &pairs(&[("lr", "0.1")]), &[]),
        &run,
    );
    assert_run_deleted(store.metric_writer(&run).map(|_| ()), &run);
    assert_run_deleted(store.end_run(&run, RunStatus::Finished), &run);
    assert_invalid_state(store.delete_run(&run), &[&run, "already deleted"]);
    let after = store.get_run(&run).unwrap();
    assert!(after.params.is_empty());
    assert_eq!(after.tags["keep"], "me");
    assert_eq!(after.metrics["loss"].count, 1);
    assert_eq!(after.info.status, RunStatus::Running);

    store.restore_run(&run).unwrap();
    assert_eq!(
        store.get_run_info(&run).unwrap().lifecycle_stage,
        LifecycleStage::Active
    );
    store.log_param(&run, "lr", "0.1").unwrap();
    store.log_metric(&run, "loss", 2.0, 2, 1).unwrap();
    let mut w = store.metric_writer(&run).unwrap();
    w.log("acc", 0.9, 3, 1).unwrap();
    w.close().unwrap();
    let restored = store.get_run(&run).unwrap();
    assert_eq!(restored.params["lr"], "0.1");
    assert_eq!(restored.metrics["loss"].count, 2);
    assert_eq!(restored.metrics["acc"].value, 0.9);

    assert_invalid_state(store.restore_run(&run), &[&run, "already active"]);
}

#[test]
fn gc_removes_deleted_runs_and_their_artifacts_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let exp = store.create_experiment("exp", None, &[]).unwrap();
    let keep = new_run(&store);
    let doomed = [new_run(&store), run_at(&store, &exp, 5)];
    let mut artifacts = BTreeMap::new();
    for run in doomed.iter().chain([&keep]) {
        store.log_param(run, "lr", "0.1").unwrap();
        store.set_tag(run, "t", "v").unwrap();
        for step in 0..300 {
            store
                .log_metric(run, "loss", step as f64, step, step)
                .unwrap();
        }
        artifacts.insert(run.clone(), write_artifact(&store, run));
    }
    let kept_before = store.get_run(&keep).unwrap();
    for run in &doomed {
        store.delete_run(run).unwrap();
    }

    let mut expected: Vec<String> = doomed.to_vec();
    expected.sort();
    let mut removed = store.gc(None).unwrap().removed_runs;
    removed.sort();
    assert_eq!(removed, expected);

    for run in &doomed {
        assert_run_not_found(store.get_run(run), run);
        assert_run_not_found(store.metric_history(run, "loss"), run);
        let run_dir = artifacts[run].parent().unwrap();
        assert!(!run_dir.exists(), "{} is still there", run_dir.display());
        assert!(
            run_dir.starts_with(store.path()),
            "the artifacts were under the store"
        );
    }
    assert!(store
        .list_runs(&[], ViewType::All)
        .unwrap()
        .iter()
        .all(|r| r.run_id == keep));

    assert_eq!(store.get_run(&keep).unwrap(), kept_before);
    assert_eq!(store.metric_history(&keep, "loss").unwrap().len(), 300);
    assert!(artifacts[&keep].join("model/weights.bin").is_file());

    assert!(store.gc(None).unwrap().removed_runs.is_empty());
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.points, 300);
}

#[test]
fn gc_of_listed_runs_checks_each_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let active = new_run(&store);
    let deleted = [new_run(&store), new_run(&store)];
    for run in &deleted {
        store.delete_run(run).unwrap();
    }

    assert_invalid_state(
        store.gc(Some(&[deleted[0].clone(), active.clone()])),
        &[&active, "not deleted"],
    );
    assert_run_not_found(store.gc(Some(&[UNKNOWN_RUN.to_string()])), UNKNOWN_RUN);
    // A refused gc removes nothing.
    assert_eq!(
        store.list_runs(&[], ViewType::DeletedOnly).unwrap().len(),
        2
    );

    let report = store.gc(Some(std::slice::from_ref(&deleted[0]))).unwrap();
    assert_eq!(report.removed_runs, [deleted[0].clone()]);
    assert_run_not_found(store.get_run_info(&deleted[0]), &deleted[0]);
    assert_eq!(
        store.get_run_info(&deleted[1]).unwrap().lifecycle_stage,
        LifecycleStage::Deleted
    );
    assert_eq!(
        store.get_run_info(&active).unwrap().lifecycle_stage,
        LifecycleStage::Active
    );
}

#[test]
fn params_are_immutable() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    store.log_param(&run, "lr", "0.1").unwrap();
    store.log_param(&run, "lr", "0.1").unwrap();

    let err = store.log_param(&run, "lr", "0.2").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("param \"lr\" of run {run} already logged as \"0.1\", cannot change it to \"0.2\"")
    );
    match err {
        Error::ParamChanged {
            run_id,
            key,
            old,
            new,
        } => assert_eq!(
            (run_id.as_str(), key.as_str(), old.as_str(), new.as_str()),
            (run.as_str(), "lr", "0.1", "0.2")
        ),
        other => panic!("expected ParamChanged, got {other:?}"),
    }

    // Nothing of a failing call is written: not its other params, tags or metrics.
    assert!(matches!(
        store.log_params_and_tags(
            &run,
            &pairs(&[("a", "1"), ("lr", "0.3")]),
            &pairs(&[("t", "x")])
        ),
        Err(Error::ParamChanged { .. })
    ));
    assert!(matches!(
        store.log_batch(
            &run,
            &[Metric::new("m", 1.0, 1, 0)],
            &pairs(&[("b", "1"), ("lr", "0.4")]),
            &pairs(&[("u", "y")])
        ),
        Err(Error::ParamChanged { .. })
    ));
    let after = store.get_run(&run).unwrap();
    assert_eq!(
        after.params,
        BTreeMap::from([("lr".to_string(), "0.1".to_string())])
    );
    assert!(!after.tags.contains_key("t") && !after.tags.contains_key("u"));
    assert!(after.metrics.is_empty());
    assert!(store.metric_history(&run, "m").unwrap().is_empty());

    // One batch that gives a param two values is refused before anything is written.
    match store.log_params_and_tags(&run, &pairs(&[("c", "1"), ("c", "2")]), &[]) {
        Err(Error::Validation(e)) => {
            let msg = e.to_string();
            assert!(msg.contains("\"1\"") && msg.contains("\"2\""), "{msg}");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    // The same key twice with one value is fine.
    store
        .log_params_and_tags(&run, &pairs(&[("d", "1"), ("d", "1")]), &[])
        .unwrap();
    let params = store.get_run(&run).unwrap().params;
    assert_eq!(params.keys().collect::<Vec<_>>(), ["d", "lr"]);
}

#[test]
fn param_and_tag_limits() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);

    store.log_param(&run, "p", &"v".repeat(6000)).unwrap();
    let err = store.log_param(&run, "q", &"v".repeat(6001)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "param value for key \"q\" is 6001 characters long; the limit is 6000"
    );
    store.set_tag(&run, "t", &"v".repeat(8000)).unwrap();
    let err = store.set_tag(&run, "u", &"v".repeat(8001)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tag value for key \"u\" is 8001 characters long; the limit is 8000"
    );
    for (kind, err) in [
        ("param", store.log_param(&run, "a;b", "1").unwrap_err()),
        ("tag", store.set_tag(&run, "../up", "1").unwrap_err()),
    ] {
        match err {
            Error::Validation(ValidationError::InvalidKey { kind: k, .. }) => assert_eq!(k, kind),
            other => panic!("expected InvalidKey, got {other:?}"),
        }
    }
    let run_data = store.get_run(&run).unwrap();
    assert_eq!(run_data.params.len(), 1);
    assert_eq!(run_data.params["p"].len(), 6000);
    assert_eq!(run_data.tags["t"].len(), 8000);
    assert!(!run_data.tags.contains_key("u"));

    // A run name is at most 8000 characters; a refused run is not created.
    store
        .create_run(NewRun {
            run_name: Some("n".repeat(8000)),
            ..NewRun::default()
        })
        .unwrap();
    assert!(matches!(
        store.create_run(NewRun {
            run_name: Some("n".repeat(8001)),
            ..NewRun::default()
        }),
        Err(Error::Validation(ValidationError::TooLong {
            limit: 8000,
            ..
        }))
    ));
    assert!(matches!(
        store.create_run(NewRun {
            tags: pairs(&[("big", &"v".repeat(8001))]),
            ..NewRun::default()
        }),
        Err(Error::Validation(ValidationError::TooLong {
            limit: 8000,
            ..
        }))
    ));
    assert_eq!(store.list_runs(&[], ViewType::All).unwrap().len(), 2);
}

#[test]
fn tags_are_set_replaced_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let name = store.get_run_info(&run).unwrap().run_name;

    store.set_tag(&run, "stage", "dev").unwrap();
    store.set_tag(&run, "stage", "prod").unwrap();
    store
        .log_params_and_tags(&run, &[], &pairs(&[("a/b", ""), ("c", "3")]))
        .unwrap();
    assert_eq!(
        store.get_run(&run).unwrap().tags,
        BTreeMap::from([
            ("a/b".to_string(), String::new()),
            ("c".to_string(), "3".to_string()),
            (RUN_NAME_TAG.to_string(), name),
            ("stage".to_string(), "prod".to_string()),
        ])
    );

    store.delete_tag(&run, "stage").unwrap();
    assert!(!store.get_run(&run).unwrap().tags.contains_key("stage"));

    let err = store.delete_tag(&run, "stage").unwrap_err();
    match &err {
        Error::NotFound { kind, id } => {
            assert_eq!(*kind, EntityKind::RunTag);
            assert!(id.contains("stage") && id.contains(&run), "{id}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_run_not_found(store.delete_tag(UNKNOWN_RUN, "stage"), UNKNOWN_RUN);
}

#[test]
fn list_runs_orders_by_start_time_and_filters_by_view() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = store.create_experiment("a", None, &[]).unwrap();
    let b = store.create_experiment("b", None, &[]).unwrap();
    let r1000 = run_at(&store, &a, 1000);
    let r3000 = run_at(&store, &a, 3000);
    let r2000 = run_at(&store, &a, 2000);
    let r2500 = run_at(&store, &b, 2500);
    let r0 = run_at(&store, "0", 10);
    // Equal start times: ordered by run id.
    let mut tied = [run_at(&store, &b, 1500), run_at(&store, &b, 1500)];
    tied.sort();

    let listed = |ids: &[&str], view| -> Vec<String> {
        store
            .list_runs(ids, view)
            .unwrap()
            .into_iter()
            .map(|r| r.run_id)
            .collect()
    };
    assert_eq!(
        listed(&[&a], ViewType::ActiveOnly),
        [&r3000, &r2000, &r1000].map(String::as_str)
    );
    assert_eq!(
        listed(&[&a, &b], ViewType::ActiveOnly),
        [&r3000, &r2500, &r2000, &tied[0], &tied[1], &r1000].map(String::as_str)
    );
    assert_eq!(
        listed(&[], ViewType::ActiveOnly),
        [&r3000, &r2500, &r2000, &tied[0], &tied[1], &r1000, &r0].map(String::as_str)
    );

    store.delete_run(&r2000).unwrap();
    assert_eq!(
        listed(&[&a], ViewType::ActiveOnly),
        [&r3000, &r1000].map(String::as_str)
    );
    assert_eq!(
        listed(&[&a], ViewType::DeletedOnly),
        [&r2000].map(String::as_str)
    );
    assert_eq!(
        listed(&[&a], ViewType::All),
        [&r3000, &r2000, &r1000].map(String::as_str)
    );

    let infos = store.list_runs(&[&a], ViewType::All).unwrap();
    assert_eq!(infos[1], store.get_run_info(&r2000).unwrap());
    assert_eq!(infos[1].lifecycle_stage, LifecycleStage::Deleted);

    assert!(listed(&["999"], ViewType::All).is_empty());
    match store.list_runs(&["x"], ViewType::All) {
        Err(Error::Validation(ValidationError::InvalidValue { field, .. })) => {
            assert_eq!(field, "experiment id")
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn unknown_run_ids_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = UNKNOWN_RUN;
    assert_run_not_found(store.get_run(id), id);
    assert_run_not_found(store.get_run_info(id), id);
    assert_run_not_found(store.log_param(id, "k", "v"), id);
    assert_run_not_found(store.set_tag(id, "k", "v"), id);
    assert_run_not_found(store.log_metric(id, "k", 1.0, 1, 0), id);
    assert_run_not_found(
        store.log_batch(id, &[Metric::new("k", 1.0, 1, 0)], &[], &[]),
        id,
    );
    assert_run_not_found(store.metric_writer(id).map(|_| ()), id);
    assert_run_not_found(store.metric_history(id, "k"), id);
    assert_run_not_found(store.metric_history_columns(id, "k"), id);
    assert_run_not_found(store.update_run(id, RunUpdate::default()), id);
    assert_run_not_found(store.end_run(id, RunStatus::Finished), id);
    assert_run_not_found(store.delete_run(id), id);
    assert_run_not_found(store.restore_run(id), id);
}

#[test]
fn malformed_run_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for id in ["../x", "", "a/b", "-abc", "x".repeat(257).as_str()] {
        assert_bad_run_id(store.get_run(id), id);
        assert_bad_run_id(store.get_run_info(id), id);
        assert_bad_run_id(store.log_param(id, "k", "v"), id);
        assert_bad_run_id(store.set_tag(id, "k", "v"), id);
        assert_bad_run_id(store.delete_tag(id, "k"), id);
        assert_bad_run_id(store.log_metric(id, "k", 1.0, 1, 0), id);
        assert_bad_run_id(store.log_batch(id, &[], &[], &[]), id);
        assert_bad_run_id(store.metric_writer(id).map(|_| ()), id);
        assert_bad_run_id(store.metric_history(id, "k"), id);
        assert_bad_run_id(store.update_run(id, RunUpdate::default()), id);
        assert_bad_run_id(store.end_run(id, RunStatus::Finished), id);
        assert_bad_run_id(store.delete_run(id), id);
        assert_bad_run_id(store.restore_run(id), id);
    }
    let msg = store.get_run("../x").unwrap_err().to_string();
    assert!(msg.contains("invalid run id \"../x\""), "{msg}");
    // Nothing escaped the store's directory.
    assert!(!dir.path().join("x").exists());
}

/// Under either durability a run created, filled through a writer's
/// `series_many` and ended reads back whole from another open of the store;
/// the choice belongs to one handle and its clones.
#[test]
fn ended_runs_read_back_under_either_durability() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.durability(), Durability::Process);
    for durability in [Durability::Process, Durability::PowerLoss] {
        store.set_durability(durability);
        assert_eq!(store.clone().durability(), durability);
        let run_id = new_run(&store);
        store
            .log_params_and_tags(&run_id, &pairs(&[("lr", "0.1")]), &[])
            .unwrap();
        let mut writer = store.metric_writer(&run_id).unwrap();
        let keys = ["acc", "loss", "acc"];
        let handles = writer.series_many(&keys).unwrap();
        assert_eq!(handles[0], handles[2], "one series per key");
        for (handle, value) in handles.iter().zip([0.5, 0.25, 0.75]) {
            writer.append(*handle, value, now_ms(), 1).unwrap();
        }
        writer.close().unwrap();
        store.end_run(&run_id, RunStatus::Finished).unwrap();

        let other = Store::open(dir.path().join("store")).unwrap();
        assert_eq!(other.durability(), Durability::Process);
        let run = other.get_run(&run_id).unwrap();
        assert_eq!(run.info.status, RunStatus::Finished, "{durability:?}");
        assert_eq!(run.params["lr"], "0.1");
        assert_eq!(run.metrics["loss"].value, 0.25);
        // The same step: the latest is the larger value.
        assert_eq!(run.metrics["acc"].value, 0.75);
    }
}

/// The run counts the index keeps (`run_counts`) against the runs
/// themselves, per experiment, in each view.
fn assert_counts_match_runs(store: &Store) {
    let experiments = store.list_experiments(ViewType::All).unwrap();
    for view in [ViewType::ActiveOnly, ViewType::DeletedOnly, ViewType::All] {
        let counts = store.count_runs(view).unwrap();
        let mut expected = std::collections::HashMap::new();
        for e in &experiments {
            let n = store.list_runs(&[&e.experiment_id], view).unwrap().len() as u64;
            if n > 0 {
                expected.insert(e.experiment_id.clone(), n);
            }
        }
        assert_eq!(counts, expected, "{view:?}");
    }
}

#[test]
fn run_counts_follow_creation_deletion_restoration_and_gc() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = store.create_experiment("a", None, &[]).unwrap();
    let b = store.create_experiment("b", None, &[]).unwrap();
    let mut runs = Vec::new();
    for (i, exp) in [&a, &a, &a, &b, &b].into_iter().enumerate() {
        let run = store
            .create_run(NewRun {
                experiment_id: Some(exp.clone()),
                run_name: Some(format!("r{i}")),
                ..NewRun::default()
            })
            .unwrap();
        runs.push(run.run_id);
    }
    assert_eq!(store.count_runs(ViewType::All).unwrap()[&a], 3);
    assert_counts_match_runs(&store);

    store.delete_run(&runs[0]).unwrap();
    assert_eq!(store.count_runs(ViewType::DeletedOnly).unwrap()[&a], 1);
    assert_counts_match_runs(&store);
    store.restore_run(&runs[0]).unwrap();
    assert_counts_match_runs(&store);

    // Deleting an experiment deletes its runs; gc removes deleted runs.
    store.delete_experiment(&b).unwrap();
    assert_eq!(store.count_runs(ViewType::DeletedOnly).unwrap()[&b], 2);
    assert!(!store
        .count_runs(ViewType::ActiveOnly)
        .unwrap()
        .contains_key(&b));
    assert_counts_match_runs(&store);
    store.delete_run(&runs[1]).unwrap();
    store.gc(None).unwrap();
    assert_counts_match_runs(&store);
    assert_eq!(store.count_runs(ViewType::All).unwrap()[&a], 2);
    assert!(!store.count_runs(ViewType::All).unwrap().contains_key(&b));
}
