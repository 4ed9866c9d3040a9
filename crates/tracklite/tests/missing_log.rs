//! A store whose metric log was deleted, or replaced by a new empty one
//! (an index copied without its log), is refused with an error naming the
//! file, instead of opening with empty histories for runs that have points.

use tracklite::{Error, NewRun, RunStatus, Store, LOG_FILE};

fn store_with_points(path: &std::path::Path) -> String {
    let store = Store::open(path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    for step in 0..5000 {
        store
            .log_metric(&run, "loss", step as f64, step, step)
            .unwrap();
    }
    store.end_run(&run, RunStatus::Finished).unwrap();
    run
}

fn assert_log_missing(result: tracklite::Result<Store>, state: &str) {
    match result {
        Err(e @ Error::LogMissing { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(LOG_FILE) && msg.contains(state), "{msg}");
        }
        Err(other) => panic!("expected LogMissing ({state}), got {other:?}"),
        Ok(_) => panic!("a store without its log was opened"),
    }
}

#[test]
fn a_deleted_log_is_refused_and_not_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    store_with_points(&path);
    std::fs::remove_file(path.join(LOG_FILE)).unwrap();
    assert_log_missing(Store::open(&path), "is missing");
    assert_log_missing(Store::open_read_only(&path), "is missing");
    assert!(!path.join(LOG_FILE).exists(), "the open made a new log");
}

#[test]
fn a_log_replaced_by_a_new_empty_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let run = store_with_points(&path);
    // An empty store's log, copied over this one.
    let other = dir.path().join("other");
    drop(Store::open(&other).unwrap());
    std::fs::copy(other.join(LOG_FILE), path.join(LOG_FILE)).unwrap();
    assert_log_missing(Store::open(&path), "is new and empty");
    // With the real log back, every point is there.
    drop(dir);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let run2 = store_with_points(&path);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.metric_history(&run2, "loss").unwrap().len(), 5000);
    assert_ne!(run, run2);
}

/// A log deleted, or replaced by another file, under an open writer: the
/// writer stops acknowledging points at its next block, flush or summary.
#[test]
fn a_log_deleted_or_replaced_under_a_writer_fails_its_next_flush() {
    for replace in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let store = Store::open(&path).unwrap();
        let run = store.create_run(NewRun::default()).unwrap().run_id;
        let mut w = store.metric_writer(&run).unwrap();
        w.log("loss", 1.0, 1, 0).unwrap();
        w.flush().unwrap();
        std::fs::remove_file(path.join(LOG_FILE)).unwrap();
        if replace {
            std::fs::write(path.join(LOG_FILE), b"another file").unwrap();
        }
        let expect_replaced = |r: tracklite::Result<()>, what: &str| match r {
            Err(e @ Error::LogReplaced { .. }) => {
                assert!(e.to_string().contains(LOG_FILE), "{what}: {e}")
            }
            other => panic!("{what}: expected LogReplaced, got {other:?}"),
        };
        expect_replaced(w.flush(), "flush");
        // Points that would fill new blocks are refused too.
        let mut refused = None;
        for step in 1..200_000 {
            if let Err(e) = w.log("loss", step as f64, step, step) {
                refused = Some(e);
                break;
            }
        }
        expect_replaced(refused.map_or(Ok(()), Err), "logging");
        expect_replaced(
            store.log_metric(&run, "other", 1.0, 1, 0),
            "Store::log_metric",
        );
    }
}
