//! `log_columns` with more points than a block holds: the blocks the
//! columns fill whole are written in one piece each and registered sealed
//! with their summaries. Points read back exactly and in order, the run's
//! summary counts all of them, later appends continue the series, another
//! open of the store sees everything, and `check` finds the log clean. A
//! writer killed in the middle of arrays loses none it had returned from.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;

use common::{spawn_child, value_for};
use tracklite::{NewRun, Store};

const STORE_VAR: &str = "TRACKLITE_TEST_ARRAY_STORE";
const RUN_VAR: &str = "TRACKLITE_TEST_ARRAY_RUN";
/// Points per call in the crash test: several whole blocks and a remainder.
const CALL_POINTS: i64 = 100_003;

/// Points of the largest block (256 pages of 4 KiB, less the header).
const BLOCK_POINTS: i64 = (256 * 4096 - 64) / 32;

fn open(dir: &Path) -> Store {
    Store::open(dir.join("store")).unwrap()
}

/// Columns of `n` points with steps going down and up, distinct timestamps
/// and values whose bits a careless copy would change.
fn columns(n: i64, first: i64) -> (Vec<i64>, Vec<i64>, Vec<f64>) {
    let steps = (first..first + n)
        .map(|i| (i * 7919) % 5000 - 2500)
        .collect();
    let timestamps = (first..first + n).map(|i| 1_700_000_000_000 + i).collect();
    let values = (first..first + n)
        .map(|i| match i % 1000 {
            0 => f64::NAN,
            1 => -0.0,
            2 => f64::INFINITY,
            _ => (i as f64).sin(),
        })
        .collect();
    (steps, timestamps, values)
}

fn bits(steps: &[i64], timestamps: &[i64], values: &[f64]) -> Vec<(i64, i64, u64)> {
    (0..values.len())
        .map(|i| (steps[i], timestamps[i], values[i].to_bits()))
        .collect()
}

#[test]
fn arrays_larger_than_blocks_round_trip_with_their_summary() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let mut w = store.metric_writer(&run).unwrap();
    // A few points first, so the array starts in a partly filled block;
    // then enough for every block size up to the largest, several of
    // those, and a remainder; then single points after it.
    let (s0, t0, v0) = columns(10, 0);
    w.log_columns("loss", &s0, &t0, &v0).unwrap();
    let big = 5 * BLOCK_POINTS + 12_345;
    let (s1, t1, v1) = columns(big, 10);
    w.log_columns("loss", &s1, &t1, &v1).unwrap();
    let loss = w.series("loss").unwrap();
    w.append(loss, 7.5, 1_800_000_000_000, 9_999).unwrap();
    // A new key whose array is exactly one block of the first size.
    let (s2, t2, v2) = columns(127, 0);
    w.log_columns("one_page", &s2, &t2, &v2).unwrap();
    w.close().unwrap();

    let mut expected = bits(&s0, &t0, &v0);
    expected.extend(bits(&s1, &t1, &v1));
    expected.push((9_999, 1_800_000_000_000, 7.5f64.to_bits()));
    let reopened = open(dir.path());
    for store in [&store, &reopened] {
        let h = store.metric_history_columns(&run, "loss").unwrap();
        assert_eq!(bits(&h.steps, &h.timestamps, &h.values), expected);
        let h = store.metric_history_columns(&run, "one_page").unwrap();
        assert_eq!(
            bits(&h.steps, &h.timestamps, &h.values),
            bits(&s2, &t2, &v2)
        );
        let summary = store.get_run(&run).unwrap().metrics["loss"];
        assert_eq!(summary.count, expected.len() as u64);
        assert_eq!((summary.step, summary.value), (9_999, 7.5));
        assert_eq!(summary.max, f64::INFINITY);
    }
    let report = reopened.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.points, expected.len() as u64 + 127);
}

#[test]
fn arrays_into_a_finished_run_are_refused_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let mut w = store.metric_writer(&run).unwrap();
    w.series("loss").unwrap();
    store.delete_run(&run).unwrap();
    let (s, t, v) = columns(3 * BLOCK_POINTS, 0);
    let err = w.log_columns("loss", &s, &t, &v).unwrap_err();
    assert!(err.to_string().contains(&run), "{err}");
    drop(w);
    assert!(store.metric_history(&run, "loss").unwrap().is_empty());
}

/// The child: logs arrays of `CALL_POINTS` points forever, steps going on
/// from call to call, printing `ack N` once the points up to step N have
/// returned.
#[test]
fn array_child_entry() {
    let (Ok(path), Ok(run_id)) = (std::env::var(STORE_VAR), std::env::var(RUN_VAR)) else {
        return;
    };
    let store = Store::open(path).unwrap();
    let mut w = store.metric_writer(&run_id).unwrap();
    for call in 0i64.. {
        let steps: Vec<i64> = (call * CALL_POINTS..(call + 1) * CALL_POINTS).collect();
        let values: Vec<f64> = steps.iter().map(|&s| value_for(1, s)).collect();
        w.log_array("arr", &values, Some(&steps), None, 5).unwrap();
        println!("ack {}", steps[steps.len() - 1]);
    }
}

#[test]
fn a_writer_killed_between_arrays_loses_no_returned_point() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let run_id = {
        let store = Store::open(&path).unwrap();
        store.create_run(NewRun::default()).unwrap().run_id
    };
    let mut child = spawn_child(
        "array_child_entry",
        &[
            (STORE_VAR, path.to_string_lossy().into_owned()),
            (RUN_VAR, run_id.clone()),
        ],
    );
    let stdout = child.stdout.take().unwrap();
    let mut acked = -1;
    for line in BufReader::new(stdout).lines() {
        if let Some(n) = line.unwrap().strip_prefix("ack ") {
            acked = n.parse().unwrap();
            if acked >= 5 * CALL_POINTS {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL, most likely in the middle of a call
    child.wait().unwrap();
    assert!(acked >= 5 * CALL_POINTS, "the child stopped early");

    let store = Store::open(&path).unwrap();
    let h = store.metric_history_columns(&run_id, "arr").unwrap();
    // Every returned point, then at most a prefix of the call under way:
    // steps 0, 1, 2, … with no gap and no repeat, each with its value.
    assert!(
        h.len() as i64 > acked,
        "{} points, {} returned",
        h.len(),
        acked + 1
    );
    for (i, (&step, &value)) in h.steps.iter().zip(&h.values).enumerate() {
        assert_eq!(step, i as i64, "a gap or a repeat at position {i}");
        assert_eq!(value, value_for(1, step), "wrong value at step {step}");
    }
    assert_eq!(
        store.get_run(&run_id).unwrap().metrics["arr"].count,
        h.len() as u64
    );
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
}
