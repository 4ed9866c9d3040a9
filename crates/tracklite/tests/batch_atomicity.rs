//! `log_batch` on a full disk: the batch fails as a whole, no point of it
//! is visible, and a retry once there is room writes every point once.
//! Runs on a small tmpfs of its own (root, for mount); skipped otherwise.

use std::io::Write;
use std::path::Path;
use std::process::Command;

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
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small-disk");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&mnt)
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: mounting a small tmpfs needs root ({mounted:?})");
        return;
    }
    let result = std::panic::catch_unwind(|| full_disk_batches(&mnt));
    assert!(Command::new("umount").arg(&mnt).status().unwrap().success());
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
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
    let filler = mnt.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![7u8; 64 << 10];
    while file.write(&chunk).is_ok_and(|n| n > 0) {}
    while file.write(&[7u8]).is_ok_and(|n| n == 1) {}
    drop(file);

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
