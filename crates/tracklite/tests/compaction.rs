//! Compaction rewrites ended runs into compressed blocks without changing a
//! single point, while readers keep reading; gc and reclaim give space back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tracklite::{NewRun, RunStatus, Store};

/// A training curve: steps in order, timestamps ~40 ms apart, a decaying
/// loss with noise, stored as float32 values widened to f64.
fn log_curve(store: &Store, run_id: &str, key: &str, n: i64, seed: u64) {
    let mut w = store.metric_writer(run_id).unwrap();
    let h = w.series(key).unwrap();
    let mut x = seed;
    let mut ts = 1_764_000_000_000i64;
    for step in 0..n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let noise = (x >> 40) as f64 / (1u64 << 24) as f64 - 0.5;
        ts += 35 + (x >> 60) as i64;
        let loss = (2.0 * (-(step as f64) / 20_000.0).exp() + 0.02 * noise) as f32 as f64;
        w.append(h, loss, ts, step).unwrap();
    }
    w.close().unwrap();
}

fn history_bits(store: &Store, run_id: &str, key: &str) -> Vec<(i64, i64, u64)> {
    store
        .metric_history(run_id, key)
        .unwrap()
        .iter()
        .map(|p| (p.step, p.timestamp, p.value.to_bits()))
        .collect()
}

#[test]
fn compaction_keeps_every_point_and_shrinks_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let done = store.create_run(NewRun::default()).unwrap().run_id;
    let live = store.create_run(NewRun::default()).unwrap().run_id;
    for (i, key) in ["loss", "val/loss", "lr"].iter().enumerate() {
        log_curve(&store, &done, key, 100_000, i as u64);
    }
    log_curve(&store, &live, "loss", 10_000, 9);
    store.log_metric(&done, "nan", f64::NAN, 1, 1).unwrap();
    store.end_run(&done, RunStatus::Finished).unwrap();
    let keys = ["loss", "val/loss", "lr", "nan"];
    let before: Vec<_> = keys
        .iter()
        .map(|k| history_bits(&store, &done, k))
        .collect();
    let summary_before = store.get_run(&done).unwrap().metrics;
    let live_before = history_bits(&store, &live, "loss");
    let usage_before = store.log_disk_usage().unwrap();

    let mut seen = Vec::new();
    let report = store.compact(&mut |p| seen.push(p)).unwrap();
    assert_eq!(report.series, 4, "{report:?}");
    assert_eq!(report.points, 300_001);
    assert!(report.skipped.is_empty());
    assert_eq!(seen.last().map(|p| (p.done, p.total)), Some((4, 4)));
    let bytes_per_point = (report.pages_after * 4096) as f64 / report.points as f64;
    assert!(
        bytes_per_point <= 8.0,
        "{bytes_per_point:.2} bytes per point"
    );

    for (k, want) in keys.iter().zip(&before) {
        assert_eq!(&history_bits(&store, &done, k), want, "history of {k}");
    }
    assert_eq!(
        history_bits(&store, &live, "loss"),
        live_before,
        "the live run is untouched"
    );
    assert_eq!(
        store.get_run(&done).unwrap().metrics.len(),
        summary_before.len()
    );
    assert!(store.check(false).unwrap().is_clean());

    // The old pages are released by the same compaction, once no reader
    // can be looking at them any more: nothing is left for a later one.
    assert_eq!(report.pages_released, report.pages_before);
    assert_eq!(store.reclaim(Duration::ZERO).unwrap(), 0);
    let usage_after = store.log_disk_usage().unwrap();
    assert!(
        usage_after < usage_before / 3,
        "{usage_before} -> {usage_after} bytes"
    );
    let reopened = Store::open(dir.path()).unwrap();
    for (k, want) in keys.iter().zip(&before) {
        assert_eq!(
            &history_bits(&reopened, &done, k),
            want,
            "history of {k} after reopening"
        );
    }
    let report = reopened.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    // Nothing left to do the second time.
    assert_eq!(reopened.compact(&mut |_| {}).unwrap().series, 0);
}

#[test]
fn readers_see_whole_histories_while_compaction_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut runs = Vec::new();
    for i in 0..6 {
        let run = store.create_run(NewRun::default()).unwrap().run_id;
        log_curve(&store, &run, "loss", 40_000, i);
        store.end_run(&run, RunStatus::Finished).unwrap();
        runs.push(run);
    }
    let expected: Vec<_> = runs
        .iter()
        .map(|r| history_bits(&store, r, "loss"))
        .collect();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let reader_store = Store::open(dir.path()).unwrap();
            let mut reads = 0;
            while !stop.load(Ordering::Acquire) || reads == 0 {
                for (run, want) in runs.iter().zip(&expected) {
                    assert_eq!(&history_bits(&reader_store, run, "loss"), want);
                }
                reads += 1;
            }
            reads
        });
        let report = store.compact(&mut |_| {}).unwrap();
        stop.store(true, Ordering::Release);
        assert_eq!(report.series, 6);
        assert!(reader.join().unwrap() > 0);
    });
}

#[test]
fn gc_releases_the_space_of_removed_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let keep = store.create_run(NewRun::default()).unwrap().run_id;
    let drop_run = store.create_run(NewRun::default()).unwrap().run_id;
    log_curve(&store, &keep, "loss", 50_000, 1);
    log_curve(&store, &drop_run, "loss", 200_000, 2);
    let usage_before = store.log_disk_usage().unwrap();
    store.delete_run(&drop_run).unwrap();
    let report = store.gc(None).unwrap();
    assert_eq!(report.removed_runs, vec![drop_run.clone()]);
    assert!(report.pages_released > 0);
    let usage_after = store.log_disk_usage().unwrap();
    assert!(
        usage_after + 200_000 * 32 / 2 < usage_before,
        "{usage_before} -> {usage_after}"
    );
    assert_eq!(history_bits(&store, &keep, "loss").len(), 50_000);
    let check = store.check(false).unwrap();
    assert!(check.is_clean(), "{check}");
}

#[test]
fn gc_removes_deleted_experiments_with_their_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let old = store.create_experiment("old", None, &[]).unwrap();
    let kept = store.create_experiment("kept", None, &[]).unwrap();
    let run = store
        .create_run(NewRun {
            experiment_id: Some(old.clone()),
            ..NewRun::default()
        })
        .unwrap()
        .run_id;
    store.log_artifact_bytes(&run, "a.txt", b"x").unwrap();
    store.log_metric(&run, "loss", 1.0, 1, 1).unwrap();
    store.delete_experiment(&old).unwrap();
    store.delete_experiment("0").unwrap();
    // Listing runs removes nothing: only gc without a list removes experiments.
    assert!(store
        .gc(Some(std::slice::from_ref(&run)))
        .unwrap()
        .removed_experiments
        .is_empty());
    let mut seen = Vec::new();
    let report = store
        .gc_with_progress(None, &mut |p| seen.push((p.done, p.total)))
        .unwrap();
    assert_eq!(report.removed_experiments, vec![old.clone()]);
    assert_eq!(seen.last(), Some(&(1, 1)));
    assert!(matches!(
        store.get_experiment(&old),
        Err(tracklite::Error::NotFound { .. })
    ));
    assert!(store.get_experiment_by_name("old").unwrap().is_none());
    assert!(!dir.path().join("artifacts").join(&old).exists());
    // The Default experiment stays, deleted; the other one is untouched.
    assert_eq!(store.get_experiment("0").unwrap().name, "Default");
    assert_eq!(store.get_experiment(&kept).unwrap().name, "kept");
    // The name is free again.
    store.create_experiment("old", None, &[]).unwrap();
    assert!(store.check(false).unwrap().is_clean());
}
