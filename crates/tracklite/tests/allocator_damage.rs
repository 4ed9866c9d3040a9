//! The metric log's page allocator lives in the log's header page, outside
//! any checksum. A damaged value never makes a block overwrite another or
//! the header: garbage is a clear error until `check --repair` rebuilds
//! it, and a value fallen behind the index's blocks is moved past them.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use tracklite::{Error, FormatError, NewRun, RunStatus, Store, LOG_FILE};

/// The allocator's offset in the header page (docs/format.md).
const ALLOCATOR_OFFSET: u64 = 64;

fn write_allocator(store_dir: &Path, value: u64) {
    let log = OpenOptions::new()
        .write(true)
        .open(store_dir.join(LOG_FILE))
        .unwrap();
    log.write_all_at(&value.to_le_bytes(), ALLOCATOR_OFFSET)
        .unwrap();
}

fn header(store_dir: &Path) -> Vec<u8> {
    std::fs::read(store_dir.join(LOG_FILE)).unwrap()[..64].to_vec()
}

/// A store with one finished run of 20,000 points in several blocks.
fn store_with_points(path: &Path) -> String {
    let store = Store::open(path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let mut w = store.metric_writer(&run).unwrap();
    for step in 0..20_000 {
        w.log("loss", step as f64, step, step).unwrap();
    }
    w.close().unwrap();
    store.end_run(&run, RunStatus::Finished).unwrap();
    run
}

fn assert_history(store: &Store, run: &str) {
    let history = store.metric_history(run, "loss").unwrap();
    assert_eq!(history.len(), 20_000);
    assert!(history.iter().enumerate().all(|(i, p)| p.value == i as f64));
}

#[test]
fn a_garbage_allocator_is_an_error_until_repaired_and_never_overwrites() {
    for garbage in [u64::MAX - 3, 1 << 40] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let run = store_with_points(&path);
        let head = header(&path);
        write_allocator(&path, garbage);

        let store = Store::open(&path).unwrap();
        let run2 = store.create_run(NewRun::default()).unwrap().run_id;
        match store.log_metric(&run2, "x", 1.0, 1, 0) {
            Err(e @ Error::Format(FormatError::AllocatorDamaged { .. })) => {
                assert!(e.to_string().contains("check --repair"), "{e}")
            }
            other => panic!("{garbage}: expected AllocatorDamaged, got {other:?}"),
        }
        assert_eq!(header(&path), head, "{garbage}: the header was overwritten");
        assert_history(&store, &run);

        let report = store.check(false).unwrap();
        assert!(
            report.problems.iter().any(|p| p.place == "log header"),
            "{garbage}: {report}"
        );
        let repaired = store.check(true).unwrap();
        assert!(!repaired.repaired.is_empty(), "{repaired}");
        assert!(store.check(false).unwrap().is_clean());

        store.log_metric(&run2, "x", 1.0, 1, 0).unwrap();
        assert_eq!(store.metric_history(&run2, "x").unwrap().len(), 1);
        assert_history(&store, &run);
        drop(store);
        assert_history(&Store::open(&path).unwrap(), &run);
    }
}

#[test]
fn an_allocator_fallen_behind_the_index_never_overwrites_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let run = store_with_points(&path);
    let store = Store::open(&path).unwrap();
    // Damaged while the store is open: the next block would land on page 1.
    write_allocator(&path, 1);
    let run2 = store.create_run(NewRun::default()).unwrap().run_id;
    let mut w = store.metric_writer(&run2).unwrap();
    for step in 0..20_000 {
        w.log("loss", step as f64, step, step).unwrap();
    }
    w.close().unwrap();
    assert_history(&store, &run);
    assert_history(&store, &run2);
    assert!(store.check(false).unwrap().is_clean());
}
