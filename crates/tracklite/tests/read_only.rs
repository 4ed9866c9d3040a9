//! Read-only opens: everything readable is served, nothing is created or
//! written, every change is refused with a ReadOnly error; and they work
//! where a writable open cannot, on a full disk with a live writer.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tracklite::{Error, NewRun, RunStatus, Store, ViewType};

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// A closed store with one finished run: params, tags, metrics, an artifact.
fn finished_store(path: &Path) -> String {
    let store = Store::open(path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    store.log_param(&run, "lr", "0.1").unwrap();
    store.set_tag(&run, "team", "vision").unwrap();
    for step in 0..1000 {
        store
            .log_metric(&run, "loss", 1.0 / (step + 1) as f64, step, step)
            .unwrap();
    }
    store
        .log_artifact_bytes(&run, "notes.txt", b"hello")
        .unwrap();
    store.end_run(&run, RunStatus::Finished).unwrap();
    run
}

fn assert_read_only<T: std::fmt::Debug>(result: tracklite::Result<T>, what: &str) {
    match result {
        Err(e @ Error::ReadOnly { .. }) => {
            assert!(e.to_string().contains("read-only"), "{what}: {e}")
        }
        other => panic!("{what}: expected a ReadOnly error, got {other:?}"),
    }
}

#[test]
fn a_read_only_open_serves_everything_and_changes_no_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let run = finished_store(&path);
    let before = snapshot(&path);

    let store = Store::open_read_only(&path).unwrap();
    assert!(store.is_read_only());
    let got = store.get_run(&run).unwrap();
    assert_eq!(got.params["lr"], "0.1");
    assert_eq!(got.tags["team"], "vision");
    assert_eq!(got.metrics["loss"].count, 1000);
    assert_eq!(store.metric_history(&run, "loss").unwrap().len(), 1000);
    let page = store
        .search_runs(
            &["0"],
            "metrics.loss < 0.01",
            ViewType::ActiveOnly,
            10,
            &[],
            None,
        )
        .unwrap();
    assert_eq!(page.runs.len(), 1);
    assert_eq!(store.read_artifact(&run, "notes.txt").unwrap(), b"hello");
    assert!(store.check(false).unwrap().is_clean());

    assert_read_only(store.create_run(NewRun::default()), "create_run");
    assert_read_only(store.log_metric(&run, "loss", 0.0, 1, 1), "log_metric");
    assert_read_only(store.log_param(&run, "epochs", "3"), "log_param");
    assert_read_only(store.set_tag(&run, "k", "v"), "set_tag");
    assert_read_only(
        store.log_artifact_bytes(&run, "x.txt", b"x"),
        "log_artifact_bytes",
    );
    assert_read_only(
        store.create_experiment("new", None, &[]),
        "create_experiment",
    );
    assert_read_only(store.delete_run(&run), "delete_run");
    assert_read_only(store.gc(None), "gc");
    assert_read_only(store.check(true), "check --repair");
    store.flush().unwrap();
    drop(store);

    // Not one byte changed, and no file (no -shm, no -wal) was made.
    assert_eq!(snapshot(&path), before);
}

#[test]
fn a_read_only_open_of_a_missing_store_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere");
    assert!(matches!(
        Store::open_read_only(&path),
        Err(Error::NoStore { .. })
    ));
    assert!(!path.exists());
}

/// A store on a tiny file system of its own (tmpfs), filled to the last
/// byte while a writer has it open: a writable open fails, a read-only one
/// serves every point. Needs root (mount); skipped with a message otherwise.
#[test]
fn a_full_disk_with_a_live_writer_still_opens_read_only() {
    common::on_small_disk("4m", full_disk_case);
}

fn full_disk_case(mnt: &Path) {
    let path = mnt.join("store");
    let writer_store = Store::open(&path).unwrap();
    let run = writer_store.create_run(NewRun::default()).unwrap().run_id;
    let mut writer = writer_store.metric_writer(&run).unwrap();
    for step in 0..10_000 {
        writer.log("loss", step as f64, step, step).unwrap();
    }
    writer.flush().unwrap();
    // Fill the disk to the last byte.
    common::fill_disk(mnt);

    let store = Store::open_read_only(&path).unwrap();
    assert_eq!(store.metric_history(&run, "loss").unwrap().len(), 10_000);
    assert_eq!(store.get_run(&run).unwrap().info.run_id, run);
    assert!(store.check(false).unwrap().problems.is_empty());
    drop(store);
    drop(writer);
    drop(writer_store);
}
