//! The metric API: `log_metric`, `log_batch`, `MetricWriter` and
//! `log_columns` round trips with exact bits, batch limits, key rules,
//! several writers on one run, visibility from another open of the store,
//! reopening, and `check` after ordinary use.

use std::collections::BTreeMap;
use std::path::Path;

use tracklite::{
    EntityKind, Error, Metric, MetricColumns, MetricPoint, NewRun, RunStatus, Store,
    ValidationError, ViewType,
};

const UNKNOWN_RUN: &str = "0123456789abcdef0123456789abcdef";

fn open(dir: &Path) -> Store {
    Store::open(dir.join("store")).unwrap()
}

fn new_run(store: &Store) -> String {
    store.create_run(NewRun::default()).unwrap().run_id
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Points as (step, timestamp, value bits): equal exactly, NaN included.
fn bits(points: &[MetricPoint]) -> Vec<(i64, i64, u64)> {
    points
        .iter()
        .map(|p| (p.step, p.timestamp, p.value.to_bits()))
        .collect()
}

fn column_bits(c: &MetricColumns) -> Vec<(i64, i64, u64)> {
    assert_eq!(c.steps.len(), c.values.len());
    assert_eq!(c.timestamps.len(), c.values.len());
    (0..c.len())
        .map(|i| (c.steps[i], c.timestamps[i], c.values[i].to_bits()))
        .collect()
}

/// Values whose bits a store could lose: NaNs with payloads, infinities,
/// negative zero, subnormals, extremes.
fn awkward_points() -> Vec<(i64, i64, f64)> {
    let values = [
        f64::from_bits(0x7ff8_0000_0000_0001),
        f64::from_bits(0xfff8_dead_beef_0000),
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        f64::MIN_POSITIVE / 4.0,
        f64::MAX,
        f64::MIN,
        -1.5,
        1e-300,
    ];
    let steps = [-5, -1, 0, 7, 3, i64::MIN, i64::MAX, 2, 2, -100, 0, 1];
    values
        .iter()
        .zip(steps)
        .enumerate()
        .map(|(i, (&v, s))| (s, 1_700_000_000_000 - 1000 * i as i64, v))
        .collect()
}

fn as_bits(points: &[(i64, i64, f64)]) -> Vec<(i64, i64, u64)> {
    points
        .iter()
        .map(|&(s, t, v)| (s, t, v.to_bits()))
        .collect()
}

#[test]
fn log_metric_round_trips_exact_bits_in_logged_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let points = awkward_points();
    for &(step, ts, value) in &points {
        store.log_metric(&run, "x", value, ts, step).unwrap();
    }
    assert_eq!(
        bits(&store.metric_history(&run, "x").unwrap()),
        as_bits(&points)
    );
    assert_eq!(
        column_bits(&store.metric_history_columns(&run, "x").unwrap()),
        as_bits(&points)
    );
    let summary = store.get_run(&run).unwrap().metrics["x"];
    assert_eq!(summary.count, points.len() as u64);
    assert_eq!(summary.step, i64::MAX);
    assert_eq!(
        (summary.min, summary.max),
        (f64::NEG_INFINITY, f64::INFINITY)
    );
}

#[test]
fn long_histories_keep_their_order_across_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    // Enough points for several blocks of growing size; steps go up and down.
    let points: Vec<(i64, i64, f64)> = (0..20_000i64)
        .map(|i| ((i * 7919) % 1000 - 500, i, (i as f64).sin()))
        .collect();
    for &(step, ts, value) in &points {
        store.log_metric(&run, "wave", value, ts, step).unwrap();
    }
    store.end_run(&run, RunStatus::Finished).unwrap();
    // More after the run's writer was closed: a new block, still in order.
    store.log_metric(&run, "wave", 42.0, 20_000, 9_999).unwrap();
    let mut expected = as_bits(&points);
    expected.push((9_999, 20_000, 42.0f64.to_bits()));
    assert_eq!(bits(&store.metric_history(&run, "wave").unwrap()), expected);
    let s = store.get_run(&run).unwrap().metrics["wave"];
    assert_eq!((s.count, s.step, s.value), (20_001, 9_999, 42.0));
}

#[test]
fn log_batch_round_trips_metrics_params_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let points = awkward_points();
    let mut metrics = Vec::new();
    for &(step, ts, value) in &points {
        metrics.push(Metric::new("train/loss", value, ts, step));
        metrics.push(Metric::new("val/acc/top1", -value, ts + 1, step));
    }
    store
        .log_batch(
            &run,
            &metrics,
            &pairs(&[("lr", "0.01"), ("layers", "4")]),
            &pairs(&[("phase", "warmup")]),
        )
        .unwrap();
    // A second batch of the same keys appends.
    store
        .log_batch(
            &run,
            &[Metric::new("train/loss", 0.125, 5, 1_000)],
            &[],
            &[],
        )
        .unwrap();

    let mut loss = as_bits(&points);
    loss.push((1_000, 5, 0.125f64.to_bits()));
    assert_eq!(
        bits(&store.metric_history(&run, "train/loss").unwrap()),
        loss
    );
    let acc: Vec<_> = points
        .iter()
        .map(|&(s, t, v)| (s, t + 1, (-v).to_bits()))
        .collect();
    assert_eq!(
        bits(&store.metric_history(&run, "val/acc/top1").unwrap()),
        acc
    );

    let r = store.get_run(&run).unwrap();
    assert_eq!(
        r.params,
        BTreeMap::from([
            ("layers".to_string(), "4".to_string()),
            ("lr".to_string(), "0.01".to_string()),
        ])
    );
    assert_eq!(r.tags["phase"], "warmup");
    assert_eq!(r.metrics["train/loss"].count, points.len() as u64 + 1);
    assert_eq!(r.metrics["val/acc/top1"].count, points.len() as u64);

    // An empty batch is accepted and changes nothing.
    store.log_batch(&run, &[], &[], &[]).unwrap();
    assert_eq!(store.get_run(&run).unwrap(), r);
}

#[test]
fn metric_writer_series_log_and_columns_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let points = awkward_points();

    let mut w = store.metric_writer(&run).unwrap();
    assert_eq!(w.run_id(), run);
    let loss = w.series("loss").unwrap();
    assert_eq!(w.series("loss").unwrap(), loss, "one handle per key");
    let acc = w.series("eval/acc").unwrap();
    assert_ne!(loss, acc);
    for &(step, ts, value) in &points {
        w.append(loss, value, ts, step).unwrap();
        w.log("by_name", value, ts, step).unwrap();
    }
    for step in 0..1000i64 {
        w.append(acc, step as f64 / 1000.0, 10 + step, step)
            .unwrap();
    }
    let steps: Vec<i64> = points.iter().map(|p| p.0).collect();
    let timestamps: Vec<i64> = points.iter().map(|p| p.1).collect();
    let values: Vec<f64> = points.iter().map(|p| p.2).collect();
    w.log_columns("cols", &steps, &timestamps, &values).unwrap();
    w.log_columns("cols", &[], &[], &[]).unwrap();

    // Readable before the writer is flushed or closed.
    assert_eq!(
        bits(&store.metric_history(&run, "loss").unwrap()),
        as_bits(&points)
    );
    w.close().unwrap();

    for key in ["loss", "by_name", "cols"] {
        assert_eq!(
            bits(&store.metric_history(&run, key).unwrap()),
            as_bits(&points),
            "{key}"
        );
    }
    let acc_history = store.metric_history(&run, "eval/acc").unwrap();
    assert_eq!(acc_history.len(), 1000);
    assert!(acc_history
        .iter()
        .enumerate()
        .all(|(i, p)| p.step == i as i64 && p.value == i as f64 / 1000.0));
    let cols = store.metric_history_columns(&run, "cols").unwrap();
    assert_eq!(cols.steps, steps);
    assert_eq!(cols.timestamps, timestamps);
    let metrics = store.get_run(&run).unwrap().metrics;
    assert_eq!(
        metrics.keys().collect::<Vec<_>>(),
        ["by_name", "cols", "eval/acc", "loss"]
    );
    assert_eq!(metrics["eval/acc"].value, 0.999);
}

#[test]
fn log_columns_refuses_columns_of_different_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let mut w = store.metric_writer(&run).unwrap();
    let err = w
        .log_columns("c", &[0, 1], &[0, 1, 2], &[0.0, 1.0])
        .unwrap_err();
    let msg = err.to_string();
    match err {
        Error::Validation(ValidationError::InvalidValue { field, value, .. }) => {
            assert_eq!(field, "metric columns");
            assert_eq!(value, "2 steps, 3 timestamps, 2 values");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert!(msg.contains("same length"), "{msg}");
    w.close().unwrap();
    assert!(store.metric_history(&run, "c").unwrap().is_empty());
}

#[test]
fn keys_are_separate_series_and_may_contain_slashes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let other = new_run(&store);
    let keys = [
        "loss",
        "train/loss",
        "train/loss/ema",
        "a b:c-d_e.f",
        "ünïcode",
        &"k".repeat(250),
    ];
    for (i, key) in keys.iter().enumerate() {
        for step in 0..10 {
            store
                .log_metric(&run, key, (i * 100 + step) as f64, 0, step as i64)
                .unwrap();
        }
    }
    store.log_metric(&other, "loss", -1.0, 0, 0).unwrap();
    for (i, key) in keys.iter().enumerate() {
        let h = store.metric_history(&run, key).unwrap();
        let values: Vec<f64> = h.iter().map(|p| p.value).collect();
        let expected: Vec<f64> = (0..10).map(|s| (i * 100 + s) as f64).collect();
        assert_eq!(values, expected, "{key}");
    }
    let metrics = store.get_run(&run).unwrap().metrics;
    assert_eq!(metrics.len(), keys.len());
    assert_eq!(metrics["train/loss"].value, 109.0);
    assert_eq!(store.metric_history(&other, "loss").unwrap().len(), 1);
    assert!(store.metric_history(&run, "train").unwrap().is_empty());
}

#[test]
fn batch_limits_are_mlflows() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let metrics = |n: usize, key: &str| -> Vec<Metric> {
        (0..n)
            .map(|i| Metric::new(key, i as f64, 0, i as i64))
            .collect()
    };
    let kv = |n: usize, prefix: &str| -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("{prefix}{i}"), i.to_string()))
            .collect()
    };

    store
        .log_batch(&run, &metrics(1000, "full"), &[], &[])
        .unwrap();
    assert_eq!(store.metric_history(&run, "full").unwrap().len(), 1000);
    store
        .log_batch(&run, &metrics(800, "mix"), &kv(100, "p"), &kv(100, "t"))
        .unwrap();
    let r = store.get_run(&run).unwrap();
    assert_eq!(r.params.len(), 100);
    assert_eq!(r.tags.len(), 101, "100 tags and mlflow.runName");

    let refused = |m: Vec<Metric>, p: Vec<(String, String)>, t: Vec<(String, String)>| {
        let err = store.log_batch(&run, &m, &p, &t).unwrap_err();
        let msg = err.to_string();
        match err {
            Error::Validation(ValidationError::BatchTooLarge { .. }) => msg,
            other => panic!("expected BatchTooLarge, got {other:?}"),
        }
    };
    assert_eq!(
        refused(metrics(1001, "over"), vec![], vec![]),
        "a batch may hold at most 1000 metrics, this one holds 1001"
    );
    assert_eq!(
        refused(vec![], kv(101, "q"), vec![]),
        "a batch may hold at most 100 params, this one holds 101"
    );
    assert_eq!(
        refused(vec![], vec![], kv(101, "u")),
        "a batch may hold at most 100 tags, this one holds 101"
    );
    assert_eq!(
        refused(metrics(950, "over"), kv(30, "q"), kv(30, "u")),
        "a batch may hold at most 1000 entries (metrics, params and tags together), this one holds 1010"
    );
    // Refused batches wrote nothing.
    assert!(store.metric_history(&run, "over").unwrap().is_empty());
    let after = store.get_run(&run).unwrap();
    assert_eq!(after.params, r.params);
    assert_eq!(after.tags, r.tags);
}

#[test]
fn invalid_metric_keys_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let long = "k".repeat(251);
    let bad_keys = [
        "", "a;b", "../x", "/abs", "a//b", "a/", "./a", "tab\tkey", &long,
    ];
    let mut w = store.metric_writer(&run).unwrap();
    for key in bad_keys {
        let errors = [
            store.log_metric(&run, key, 1.0, 0, 0).unwrap_err(),
            store
                .log_batch(&run, &[Metric::new(key, 1.0, 0, 0)], &[], &[])
                .unwrap_err(),
            w.series(key).unwrap_err(),
            w.log(key, 1.0, 0, 0).unwrap_err(),
            w.log_columns(key, &[0], &[0], &[1.0]).unwrap_err(),
        ];
        for err in errors {
            let msg = err.to_string();
            match err {
                Error::Validation(ValidationError::InvalidKey { kind, key: k, .. }) => {
                    assert_eq!((kind, k.as_str()), ("metric", key));
                    assert!(
                        msg.starts_with(&format!("invalid metric key {key:?}: ")),
                        "{msg}"
                    );
                }
                other => panic!("{key:?}: expected InvalidKey, got {other:?}"),
            }
        }
    }
    // A batch with one bad key writes none of its entries.
    let err = store
        .log_batch(
            &run,
            &[
                Metric::new("good", 1.0, 0, 0),
                Metric::new("bad;", 1.0, 0, 0),
            ],
            &pairs(&[("p", "1")]),
            &pairs(&[("t", "1")]),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Validation(ValidationError::InvalidKey { .. })
    ));
    w.close().unwrap();
    let r = store.get_run(&run).unwrap();
    assert!(r.metrics.is_empty(), "{:?}", r.metrics);
    assert!(r.params.is_empty());
    assert!(!r.tags.contains_key("t"));
}

#[test]
fn histories_of_unknown_keys_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    store.log_metric(&run, "loss", 1.0, 0, 0).unwrap();

    assert!(store.metric_history(&run, "nope").unwrap().is_empty());
    assert!(store
        .metric_history_columns(&run, "nope")
        .unwrap()
        .is_empty());
    for result in [
        store.metric_history(UNKNOWN_RUN, "loss").map(|_| ()),
        store
            .metric_history_columns(UNKNOWN_RUN, "loss")
            .map(|_| ()),
    ] {
        match result {
            Err(Error::NotFound { kind, id }) => {
                assert_eq!((kind, id.as_str()), (EntityKind::Run, UNKNOWN_RUN))
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
    }
    assert!(matches!(
        store.metric_history("../x", "loss"),
        Err(Error::Validation(ValidationError::InvalidValue {
            field: "run id",
            ..
        }))
    ));
}

#[test]
fn several_writers_on_one_run_lose_and_duplicate_nothing() {
    const WRITERS: u64 = 4;
    const POINTS: i64 = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let value = |w: u64, step: i64| (w as f64) * 1e6 + step as f64;

    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let store = store.clone();
            let run = run.clone();
            scope.spawn(move || {
                let mut writer = store.metric_writer(&run).unwrap();
                let shared = writer.series("shared").unwrap();
                for step in 0..POINTS {
                    writer.append(shared, value(w, step), step, step).unwrap();
                    writer
                        .log(&format!("own/{w}"), value(w, step), step, step)
                        .unwrap();
                }
                writer.close().unwrap();
            });
        }
    });

    let shared = store.metric_history(&run, "shared").unwrap();
    assert_eq!(shared.len(), (WRITERS as i64 * POINTS) as usize);
    let mut seen: Vec<u64> = shared.iter().map(|p| p.value.to_bits()).collect();
    seen.sort_unstable();
    let mut expected: Vec<u64> = (0..WRITERS)
        .flat_map(|w| (0..POINTS).map(move |s| value(w, s).to_bits()))
        .collect();
    expected.sort_unstable();
    assert_eq!(seen, expected, "every point exactly once");
    for p in &shared {
        assert_eq!(p.value, value((p.value / 1e6) as u64, p.step), "{p:?}");
    }
    // Each writer's own points are in its order.
    for w in 0..WRITERS {
        let own = store.metric_history(&run, &format!("own/{w}")).unwrap();
        assert_eq!(own.len(), POINTS as usize);
        assert!(own
            .iter()
            .enumerate()
            .all(|(i, p)| p.step == i as i64 && p.value == value(w, i as i64)));
    }

    let metrics = store.get_run(&run).unwrap().metrics;
    let s = metrics["shared"];
    assert_eq!(s.count, (WRITERS as i64 * POINTS) as u64);
    assert_eq!(s.step, POINTS - 1);
    assert_eq!(s.value, value(WRITERS - 1, POINTS - 1));
    assert_eq!((s.min, s.max), (0.0, value(WRITERS - 1, POINTS - 1)));
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.points, 2 * WRITERS * POINTS as u64);
}

#[test]
fn a_second_open_sees_summaries_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());
    let run = new_run(&first);
    for step in 0..500 {
        first
            .log_metric(&run, "loss", 1.0 / (step + 1) as f64, step, step)
            .unwrap();
    }
    let mut w = first.metric_writer(&run).unwrap();
    for step in 0..300 {
        w.log("acc", step as f64, step, step).unwrap();
    }
    w.flush().unwrap();
    first.flush().unwrap();

    let second = open(dir.path());
    let m = second.get_run(&run).unwrap().metrics;
    assert_eq!(
        (m["loss"].count, m["loss"].step, m["loss"].value),
        (500, 499, 1.0 / 500.0)
    );
    assert_eq!((m["loss"].min, m["loss"].max), (1.0 / 500.0, 1.0));
    assert_eq!((m["acc"].count, m["acc"].value), (300, 299.0));
    assert_eq!(second.metric_history(&run, "loss").unwrap().len(), 500);
    assert_eq!(
        bits(&second.metric_history(&run, "acc").unwrap()),
        bits(&first.metric_history(&run, "acc").unwrap())
    );

    // And the other way round: the second open logs, the first one sees it.
    second.log_metric(&run, "loss", 0.0, 1_000, 1_000).unwrap();
    second.flush().unwrap();
    let m = first.get_run(&run).unwrap().metrics;
    assert_eq!((m["loss"].count, m["loss"].value), (501, 0.0));
    w.close().unwrap();
}

#[test]
fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (experiments, runs, full) = {
        let store = open(dir.path());
        let exp = store
            .create_experiment("exp", None, &pairs(&[("k", "v")]))
            .unwrap();
        let mut full = Vec::new();
        for i in 0..5 {
            let run = store
                .create_run(NewRun {
                    experiment_id: Some(exp.clone()),
                    run_name: Some(format!("run-{i}")),
                    ..NewRun::default()
                })
                .unwrap()
                .run_id;
            store.log_param(&run, "i", &i.to_string()).unwrap();
            store
                .set_tag(&run, "parity", if i % 2 == 0 { "even" } else { "odd" })
                .unwrap();
            for step in 0..200 {
                store
                    .log_metric(&run, "loss", (i * 1000 + step) as f64, step, step)
                    .unwrap();
            }
            let mut w = store.metric_writer(&run).unwrap();
            w.log_columns("grad/norm", &[0, 1, 2], &[0, 1, 2], &[-0.0, 1.0, 2.0])
                .unwrap();
            // Dropped without close: dropping seals it too.
            drop(w);
            match i {
                0 => {
                    store.end_run(&run, RunStatus::Finished).unwrap();
                }
                1 => store.delete_run(&run).unwrap(),
                _ => {}
            }
            full.push(run);
        }
        let full: Vec<_> = full.iter().map(|r| store.get_run(r).unwrap()).collect();
        (
            store.list_experiments(ViewType::All).unwrap(),
            store.list_runs(&[], ViewType::All).unwrap(),
            full,
        )
    };

    let store = open(dir.path());
    assert_eq!(store.list_experiments(ViewType::All).unwrap(), experiments);
    assert_eq!(store.list_runs(&[], ViewType::All).unwrap(), runs);
    for before in &full {
        let id = &before.info.run_id;
        assert_eq!(&store.get_run(id).unwrap(), before);
        let loss = store.metric_history(id, "loss").unwrap();
        assert_eq!(loss.len(), 200);
        let grad = store.metric_history(id, "grad/norm").unwrap();
        assert_eq!(grad[0].value.to_bits(), (-0.0f64).to_bits());
    }
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.points, 5 * 203);
}

#[test]
fn check_is_clean_after_ordinary_use() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut expected_points = 0u64;
    let mut live_series = 0u64;
    let mut runs = Vec::new();
    for i in 0..6i64 {
        let run = new_run(&store);
        for step in 0..(100 * (i + 1)) {
            store
                .log_metric(&run, "a", step as f64, step, step)
                .unwrap();
        }
        store
            .log_batch(
                &run,
                &[
                    Metric::new("b", 1.0, 0, 0),
                    Metric::new("c", f64::NAN, 0, 0),
                ],
                &pairs(&[("p", "1")]),
                &[],
            )
            .unwrap();
        let mut w = store.metric_writer(&run).unwrap();
        w.log_columns("d", &[0, 1], &[0, 0], &[1.0, f64::INFINITY])
            .unwrap();
        w.close().unwrap();
        runs.push((run, 100 * (i + 1) as u64 + 4));
    }
    store.end_run(&runs[0].0, RunStatus::Finished).unwrap();
    store.end_run(&runs[1].0, RunStatus::Killed).unwrap();
    store.delete_run(&runs[2].0).unwrap();
    store.delete_run(&runs[3].0).unwrap();
    store.gc(Some(std::slice::from_ref(&runs[3].0))).unwrap();
    for (i, (_, points)) in runs.iter().enumerate() {
        if i != 3 {
            expected_points += points;
            live_series += 4;
        }
    }

    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(report.repaired.is_empty());
    assert_eq!(report.points, expected_points);
    assert_eq!(report.series, live_series);

    store.flush().unwrap();
    drop(store);
    let store = open(dir.path());
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.points, expected_points);
}

#[test]
fn logging_to_many_runs_keeps_few_blocks_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let runs: Vec<String> = (0..300).map(|_| new_run(&store)).collect();
    for (i, run) in runs.iter().enumerate() {
        store.log_metric(run, "loss", i as f64, 10, 0).unwrap();
        store
            .log_batch(run, &[Metric::new("acc", 0.5, 11, 1)], &[], &[])
            .unwrap();
    }
    // Runs logged to long ago had their writers closed and blocks sealed.
    let index = rusqlite::Connection::open(dir.path().join("store/index.sqlite")).unwrap();
    let open_blocks: i64 = index
        .query_row(
            "SELECT count(*) FROM metric_blocks WHERE sealed = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(open_blocks <= 2 * 64, "{open_blocks} blocks still open");
    // A run whose writer was closed takes points again, into a new block.
    store.log_metric(&runs[0], "loss", -1.0, 20, 1).unwrap();
    let history = store.metric_history(&runs[0], "loss").unwrap();
    assert_eq!(
        bits(&history),
        vec![(0, 10, 0f64.to_bits()), (1, 20, (-1f64).to_bits())]
    );
    // Every summary is right, whichever writer folded it.
    let page = store
        .search_runs(&[], "", ViewType::ActiveOnly, 1000, &[], None)
        .unwrap();
    for run in &page.runs {
        let i = runs.iter().position(|r| *r == run.info.run_id).unwrap();
        let loss = &run.metrics["loss"];
        let expected = if i == 0 { (2, -1.0) } else { (1, i as f64) };
        assert_eq!((loss.count, loss.value), expected, "run {i}");
        assert_eq!(run.metrics["acc"].count, 1);
    }
    let report = store.check(false).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.points, 601);
}

fn open_blocks(dir: &Path) -> i64 {
    let index = rusqlite::Connection::open(dir.join("store/index.sqlite")).unwrap();
    index
        .query_row(
            "SELECT count(*) FROM metric_blocks WHERE sealed = 0",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_writer_ends_its_run_with_its_blocks_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    // Points of the store's own cached writer and of another open of the
    // store are folded into the summaries by the same end.
    store.log_metric(&run, "cached", 3.0, 7, 2).unwrap();
    let other = open(dir.path());
    let mut elsewhere = other.metric_writer(&run).unwrap();
    elsewhere.log("elsewhere", 4.0, 8, 5).unwrap();
    let mut w = store.metric_writer(&run).unwrap();
    let handles = w.series_many(&["loss", "acc"]).unwrap();
    for step in 0..1_000 {
        w.append(handles[0], 1.0 / (step + 1) as f64, step, step)
            .unwrap();
    }
    w.append(handles[1], 0.75, 1, 1).unwrap();

    let info = w.end_run(RunStatus::Failed).unwrap();
    assert_eq!(info.status, RunStatus::Failed);
    assert!(info.end_time.is_some_and(|t| t >= info.start_time));
    let m = store.get_run(&run).unwrap().metrics;
    assert_eq!((m["loss"].count, m["loss"].value), (1_000, 1.0 / 1_000.0));
    assert_eq!((m["acc"].count, m["acc"].value), (1, 0.75));
    assert_eq!((m["cached"].count, m["cached"].step), (1, 2));
    assert_eq!((m["elsewhere"].count, m["elsewhere"].step), (1, 5));
    // Only the other open's writer, still open, holds a block open.
    assert_eq!(open_blocks(dir.path()), 1);
    elsewhere.close().unwrap();
    assert_eq!(open_blocks(dir.path()), 0);
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.points, 1_003);
}

#[test]
fn a_writer_refuses_to_end_its_run_as_running_and_still_seals() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let mut w = store.metric_writer(&run).unwrap();
    w.log("loss", 1.0, 0, 0).unwrap();
    let err = w.end_run(RunStatus::Running).unwrap_err();
    assert!(
        err.to_string().contains("RUNNING") && err.to_string().contains("FINISHED"),
        "{err}"
    );
    // The writer was dropped by the failed call: its block is sealed and
    // the run still running.
    assert_eq!(open_blocks(dir.path()), 0);
    assert_eq!(store.get_run_info(&run).unwrap().status, RunStatus::Running);
    assert_eq!(store.get_run(&run).unwrap().metrics["loss"].count, 1);
}

#[test]
fn a_writer_of_a_deleted_run_cannot_end_it_and_keeps_its_points() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let mut w = store.metric_writer(&run).unwrap();
    w.log("loss", 2.0, 0, 0).unwrap();
    store.delete_run(&run).unwrap();
    let err = w.end_run(RunStatus::Finished).unwrap_err();
    assert!(
        matches!(err, Error::RunDeleted(ref id) if *id == run),
        "{err}"
    );
    assert_eq!(open_blocks(dir.path()), 0, "the writer was closed anyway");
    store.restore_run(&run).unwrap();
    assert_eq!(
        bits(&store.metric_history(&run, "loss").unwrap()),
        vec![(0, 0, 2f64.to_bits())]
    );
}

#[test]
fn a_batch_of_old_and_new_keys_finds_the_old_series() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store);
    let mut first = store.metric_writer(&run).unwrap();
    let h = first.series_many(&["a", "b"]).unwrap();
    first.append(h[0], 1.0, 0, 0).unwrap();
    first.append(h[1], 2.0, 0, 0).unwrap();
    first.close().unwrap();
    // A later writer names keys the run has and a new one, in one batch.
    let mut second = store.metric_writer(&run).unwrap();
    let h = second.series_many(&["b", "c", "a"]).unwrap();
    second.append(h[0], 20.0, 1, 1).unwrap();
    second.append(h[1], 30.0, 1, 1).unwrap();
    second.append(h[2], 10.0, 1, 1).unwrap();
    second.end_run(RunStatus::Finished).unwrap();
    let history = |key: &str| -> Vec<f64> {
        store
            .metric_history(&run, key)
            .unwrap()
            .iter()
            .map(|p| p.value)
            .collect()
    };
    assert_eq!(history("a"), [1.0, 10.0]);
    assert_eq!(history("b"), [2.0, 20.0]);
    assert_eq!(history("c"), [30.0]);
    let m = store.get_run(&run).unwrap().metrics;
    assert_eq!((m["a"].count, m["b"].count, m["c"].count), (2, 2, 1));
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
}
