//! `log_batch` on a full disk: the batch fails as a whole, no point of it
//! is visible, and a retry once there is room writes every point once.
//! Runs on a small tmpfs of its own (root, for mount); skipped otherwise.
//! And a process killed during a batch: what was written of that batch is
//! its first points, in the batch's order, as documented.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;

use tracklite::{Metric, NewRun, Store};

fn batch(round: i64) -> Vec<Metric> {
    (0..1000)
        .map(|i| Metric {
            key: format!("k{}", i % 10),
            value: (round * 1000 + i) as f64,
            timestamp: 1_700_000_000_000 + i,
            step: round * 1000 + i,
        })
        .collect()
}

#[test]
fn a_batch_that_meets_a_full_disk_writes_nothing_and_a_retry_writes_once() {
    let _serial = common::serial();
    common::on_small_disk("8m", full_disk_batches);
}

fn full_disk_batches(mnt: &Path) {
    let store = Store::open(mnt.join("store")).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    // One point per key first: each series has an open block with room for
    // some points but not for many batches, so a later batch needs new
    // blocks part way through its points.
    let first: Vec<Metric> = (0..10)
        .map(|k| Metric {
            key: format!("k{k}"),
            value: -1.0,
            timestamp: 1,
            step: -1,
        })
        .collect();
    store.log_batch(&run, &first, &[], &[]).unwrap();
    // Fill the disk to the last byte.
    let filler = common::fill_disk(mnt);

    // Batches until one fails for want of room (the open blocks may take
    // a few first).
    let mut written_rounds = 0;
    let failed_round = loop {
        match store.log_batch(&run, &batch(written_rounds), &[], &[]) {
            Ok(()) => written_rounds += 1,
            Err(e) => {
                eprintln!("round {written_rounds} failed as expected: {e}");
                break written_rounds;
            }
        }
        assert!(written_rounds < 1000, "the disk never filled");
    };
    let visible = |store: &Store| -> usize {
        (0..10)
            .map(|k| {
                store
                    .metric_history(&run, &format!("k{k}"))
                    .map_or(0, |h| h.len())
            })
            .sum()
    };
    // Nothing of the failed batch is visible.
    assert!(written_rounds > 0, "no batch fitted in the open blocks");
    assert_eq!(visible(&store), 10 + written_rounds as usize * 1000);

    // Room again: the retry writes the batch, each point once.
    std::fs::remove_file(&filler).unwrap();
    store
        .log_batch(&run, &batch(failed_round), &[], &[])
        .unwrap();
    assert_eq!(visible(&store), 10 + (written_rounds as usize + 1) * 1000);
    for k in 0..10 {
        let history = store.metric_history(&run, &format!("k{k}")).unwrap();
        let mut steps: Vec<i64> = history.iter().map(|p| p.step).collect();
        let n = steps.len();
        steps.dedup();
        assert_eq!(steps.len(), n, "k{k} holds a point twice");
    }
}

const STORE_VAR: &str = "TRACKLITE_TEST_BATCH_STORE";
const RUN_VAR: &str = "TRACKLITE_TEST_BATCH_RUN";
const BATCH: i64 = 1000;

/// Point `i` of batch `n`: key `k{i % 10}`, step `n * BATCH + i`.
fn point(n: i64, i: i64) -> Metric {
    Metric {
        key: format!("k{}", i % 10),
        value: (n * BATCH + i) as f64,
        timestamp: 1_700_000_000_000 + i,
        step: n * BATCH + i,
    }
}

/// The child: batches forever, printing `ack N` once batch N returned.
#[test]
fn batch_child_entry() {
    let (Ok(path), Ok(run)) = (std::env::var(STORE_VAR), std::env::var(RUN_VAR)) else {
        return;
    };
    let store = Store::open(path).unwrap();
    let first = std::env::var("TRACKLITE_TEST_BATCH_FROM")
        .unwrap()
        .parse::<i64>()
        .unwrap();
    for n in first.. {
        let batch: Vec<Metric> = (0..BATCH).map(|i| point(n, i)).collect();
        store.log_batch(&run, &batch, &[], &[]).unwrap();
        println!("ack {n}");
    }
}

#[test]
fn a_batch_cut_by_a_kill_leaves_its_first_points_only() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let run = Store::open(&path)
        .unwrap()
        .create_run(NewRun::default())
        .unwrap()
        .run_id;
    let mut next = 0i64;
    for kill in 0..5 {
        let mut child = common::spawn_child(
            "batch_child_entry",
            &[
                (STORE_VAR, path.to_string_lossy().into_owned()),
                (RUN_VAR, run.clone()),
                ("TRACKLITE_TEST_BATCH_FROM", next.to_string()),
            ],
        );
        let stdout = child.stdout.take().unwrap();
        let mut acked = next - 1;
        for line in BufReader::new(stdout).lines() {
            if let Some(n) = line.unwrap().strip_prefix("ack ") {
                acked = n.parse().unwrap();
                if acked >= next + 20 + kill {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL, wherever the child is
        child.wait().unwrap();
        // The child went on past the last ack read: the next one starts
        // after every batch written so far.
        let store = Store::open(&path).unwrap();
        let last = (0..10)
            .filter_map(|k| store.metric_history(&run, &format!("k{k}")).ok())
            .flatten()
            .map(|p| p.step / BATCH)
            .max()
            .unwrap_or(0);
        assert!(last >= acked);
        next = last + 1;
    }
    let store = Store::open(&path).unwrap();
    let mut present = std::collections::HashSet::new();
    for k in 0..10 {
        for p in store.metric_history(&run, &format!("k{k}")).unwrap() {
            assert_eq!(p.value, p.step as f64, "a wrong value");
            assert!(present.insert(p.step), "step {} twice", p.step);
        }
    }
    let batches = present.iter().map(|s| s / BATCH).max().unwrap_or(0);
    for n in 0..=batches {
        let written: Vec<bool> = (0..BATCH)
            .map(|i| present.contains(&(n * BATCH + i)))
            .collect();
        let count = written.iter().filter(|&&w| w).count();
        assert!(
            written[..count].iter().all(|&w| w),
            "batch {n}: {count} points written, not its first {count}"
        );
    }
}
