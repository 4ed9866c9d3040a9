//! Damage to the metric log: flipped bits, zeroed records, broken headers,
//! truncation. Reads skip the damage and never return a wrong point; the
//! store opens; `check` reports what is wrong.

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use common::{value_for, SplitMix};
use tracklite::format::{BLOCK_HEADER_SIZE, PAGE, RECORD_SIZE};
use tracklite::{Error, FormatError, NewRun, RunStatus, Store, LOG_FILE};

/// A store with one run and `keys` series of `points` points each, ended.
fn pristine(dir: &Path, keys: u64, points: i64) -> (PathBuf, String) {
    let path = dir.join("store");
    let store = Store::open(&path).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    let mut w = store.metric_writer(&run_id).unwrap();
    for step in 0..points {
        for k in 0..keys {
            w.log(&format!("k{k}"), value_for(k, step), step, step)
                .unwrap();
        }
    }
    w.close().unwrap();
    store.end_run(&run_id, RunStatus::Finished).unwrap();
    (path, run_id)
}

fn damage(path: &Path, offset: u64, f: impl FnOnce(&mut [u8])) {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path.join(LOG_FILE))
        .unwrap();
    let mut buf = [0u8; RECORD_SIZE];
    file.read_exact_at(&mut buf, offset).unwrap();
    f(&mut buf);
    file.write_all_at(&buf, offset).unwrap();
}

/// Offset of slot `slot` of the block starting at `page`.
fn record_offset(page: u64, slot: u64) -> u64 {
    page * PAGE + BLOCK_HEADER_SIZE as u64 + slot * RECORD_SIZE as u64
}

/// Every point served is a right one and no step comes twice; returns how many.
fn served(store: &Store, run_id: &str, key: u64) -> usize {
    let h = store.metric_history(run_id, &format!("k{key}")).unwrap();
    let mut steps: Vec<i64> = h.iter().map(|p| p.step).collect();
    for p in &h {
        assert_eq!(p.value, value_for(key, p.step), "wrong point served: {p:?}");
        assert_eq!(p.timestamp, p.step, "wrong timestamp served: {p:?}");
    }
    steps.sort_unstable();
    steps.dedup();
    assert_eq!(steps.len(), h.len(), "a step served twice");
    h.len()
}

#[test]
fn random_bit_flips_never_serve_a_wrong_point() {
    let dir = tempfile::tempdir().unwrap();
    let (pristine_path, run_id) = pristine(dir.path(), 3, 20_000);
    let log_len = std::fs::metadata(pristine_path.join(LOG_FILE))
        .unwrap()
        .len();
    let mut rng = SplitMix(7);
    for round in 0..12 {
        let path = dir.path().join(format!("copy{round}"));
        std::fs::create_dir(&path).unwrap();
        for f in ["index.sqlite", LOG_FILE] {
            std::fs::copy(pristine_path.join(f), path.join(f)).unwrap();
        }
        let mut flipped = 0;
        while flipped < 40 {
            let offset = PAGE + rng.below(log_len - PAGE);
            let bit = rng.below(8) as u8;
            damage(&path, offset, |b| b[0] ^= 1 << bit);
            flipped += 1;
        }
        let store = Store::open(&path).unwrap();
        let total: usize = (0..3).map(|k| served(&store, &run_id, k)).sum();
        let report = store.check(false).unwrap();
        assert!(total <= 60_000);
        if total < 60_000 {
            assert!(
                !report.is_clean(),
                "round {round}: points lost but check is clean"
            );
        }
        assert_eq!(report.points as usize, total, "round {round}");
    }
}

#[test]
fn a_zeroed_record_is_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (path, run_id) = pristine(dir.path(), 1, 1_000);
    // The first block of the only series is page 1; zero its slot 10.
    damage(&path, record_offset(1, 10), |b| b.fill(0));
    let store = Store::open(&path).unwrap();
    let h = store.metric_history(&run_id, "k0").unwrap();
    assert_eq!(h.len(), 999);
    assert!(h.iter().all(|p| p.step != 10));
    assert_eq!(served(&store, &run_id, 0), 999);
    let report = store.check(false).unwrap();
    assert_eq!(report.problems.len(), 2, "{report}");
    assert!(
        report.problems[0]
            .message
            .contains("1 damaged records are skipped"),
        "{report}"
    );
    assert!(
        report.problems[1]
            .message
            .contains("the index says 1000 points"),
        "{report}"
    );
}

#[test]
fn a_damaged_block_header_hides_only_that_block() {
    let dir = tempfile::tempdir().unwrap();
    let (path, run_id) = pristine(dir.path(), 1, 1_000);
    // Blocks of one series double: pages 1, 2-3, 4-7, ... Break the second.
    damage(&path, 2 * PAGE + 9, |b| b[0] ^= 0x40);
    let store = Store::open(&path).unwrap();
    let capacity_1 = (PAGE as usize - BLOCK_HEADER_SIZE) / RECORD_SIZE;
    let capacity_2 = (2 * PAGE as usize - BLOCK_HEADER_SIZE) / RECORD_SIZE;
    assert_eq!(served(&store, &run_id, 0), 1_000 - capacity_2);
    let steps: Vec<i64> = store
        .metric_history(&run_id, "k0")
        .unwrap()
        .iter()
        .map(|p| p.step)
        .collect();
    assert_eq!(steps[capacity_1 - 1], capacity_1 as i64 - 1);
    assert_eq!(
        steps[capacity_1],
        (capacity_1 + capacity_2) as i64,
        "the second block is skipped"
    );
    let report = store.check(false).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.place.starts_with("log page 2")
                && p.message.contains("block header is damaged")),
        "{report}"
    );
}

#[test]
fn a_truncated_log_serves_what_is_left_and_grows_again() {
    let dir = tempfile::tempdir().unwrap();
    let (path, run_id) = pristine(dir.path(), 1, 5_000);
    // Blocks at pages 1, 2-3, 4-7, 8-15, 16-31, 32-63: cut at page 24 + 100 bytes.
    let file = OpenOptions::new()
        .write(true)
        .open(path.join(LOG_FILE))
        .unwrap();
    file.set_len(24 * PAGE + 100).unwrap();
    drop(file);
    let store = Store::open(&path).unwrap();
    let left = served(&store, &run_id, 0);
    let before_last = (126 + 254 + 510 + 1022) as usize;
    let whole_records_left = (8 * PAGE as usize + 100 - BLOCK_HEADER_SIZE) / RECORD_SIZE;
    assert_eq!(left, before_last + whole_records_left);
    let report = store.check(false).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("ends past the end of the file")),
        "{report}"
    );
    // The store keeps working: a new run logs and reads back.
    let run2 = store.create_run(NewRun::default()).unwrap().run_id;
    for step in 0..3_000 {
        store
            .log_metric(&run2, "k0", value_for(0, step), step, step)
            .unwrap();
    }
    assert_eq!(served(&store, &run2, 0), 3_000);
}

#[test]
fn a_damaged_file_header_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = pristine(dir.path(), 1, 10);
    damage(&path, 0, |b| b[9] ^= 1);
    match Store::open(&path) {
        Err(Error::Format(FormatError::NotAStore { reason, .. })) => {
            assert!(reason.contains("checksum"), "{reason}")
        }
        other => panic!("expected NotAStore, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn repair_recomputes_summaries_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (path, run_id) = pristine(dir.path(), 1, 100);
    // Damage the last point (step 99), which is the latest value.
    damage(&path, record_offset(1, 99), |b| b[3] ^= 0x10);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.get_run(&run_id).unwrap().metrics["k0"].step,
        99,
        "the index still says so"
    );
    let before = store.check(false).unwrap();
    assert!(!before.is_clean());
    let repaired = store.check(true).unwrap();
    assert!(
        repaired.repaired.iter().any(|r| r.contains("recomputed")),
        "{repaired}"
    );
    let m = store.get_run(&run_id).unwrap().metrics["k0"];
    assert_eq!((m.step, m.count, m.value), (98, 99, value_for(0, 98)));
    let after = store.check(false).unwrap();
    assert!(after.problems.is_empty(), "{after}");
    assert!(after.notes.iter().any(|n| n.contains("torn")), "{after}");
}
