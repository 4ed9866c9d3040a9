//! A writer killed with SIGKILL loses nothing it had acknowledged, and the
//! store opens and checks clean afterwards.

mod common;

use std::io::{BufRead, BufReader};

use common::{spawn_child, value_for};
use tracklite::{NewRun, RunStatus, Store};

const STORE_VAR: &str = "TRACKLITE_TEST_CRASH_STORE";
const RUN_VAR: &str = "TRACKLITE_TEST_CRASH_RUN";
const WRITER_VAR: &str = "TRACKLITE_TEST_CRASH_WRITER";

/// The child: logs forever into two keys through a writer and one through
/// the store, printing `ack N` after every N-th point returned.
#[test]
fn crash_child_entry() {
    let (Ok(path), Ok(run_id), Ok(writer)) = (
        std::env::var(STORE_VAR),
        std::env::var(RUN_VAR),
        std::env::var(WRITER_VAR),
    ) else {
        return;
    };
    let writer: u64 = writer.parse().unwrap();
    let store = Store::open(path).unwrap();
    let mut w = store.metric_writer(&run_id).unwrap();
    let a = w.series(&format!("a{writer}")).unwrap();
    let b = w.series(&format!("b{writer}")).unwrap();
    let c = format!("c{writer}");
    for step in 0i64.. {
        let v = value_for(writer, step);
        w.append(a, v, 1_000 + step, step).unwrap();
        w.append(b, -v, 2_000 + step, step).unwrap();
        if step % 7 == 0 {
            store
                .log_metric(&run_id, &c, v, 3_000 + step, step)
                .unwrap();
        }
        if step % 500 == 0 {
            store
                .log_param(&run_id, &format!("p{writer}_{step}"), &step.to_string())
                .unwrap();
        }
        // Everything up to and including `step` has returned.
        if step % 97 == 0 {
            println!("ack {step}");
        }
    }
}

/// Kills a child once it acknowledged `at_least` steps; returns the last ack.
fn run_and_kill(path: &str, run_id: &str, writer: u64, at_least: i64) -> i64 {
    let mut child = spawn_child(
        "crash_child_entry",
        &[
            (STORE_VAR, path.to_string()),
            (RUN_VAR, run_id.to_string()),
            (WRITER_VAR, writer.to_string()),
        ],
    );
    let stdout = child.stdout.take().unwrap();
    let mut last = -1;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("ack ") {
            last = n.parse().unwrap();
            if last >= at_least {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(last >= at_least, "the child stopped early: {status:?}");
    last
}

fn assert_series(
    store: &Store,
    run_id: &str,
    key: &str,
    writer: u64,
    sign: f64,
    acked: i64,
    every: i64,
) {
    let h = store.metric_history(run_id, key).unwrap();
    // Every acknowledged point is there, exactly once, with its value.
    let mut steps: Vec<i64> = h.iter().map(|p| p.step).collect();
    steps.sort_unstable();
    steps.dedup();
    assert_eq!(steps.len(), h.len(), "{key}: a point was returned twice");
    for p in &h {
        assert_eq!(p.step % every, 0);
        assert_eq!(
            p.value,
            sign * value_for(writer, p.step),
            "{key}: wrong value at step {}",
            p.step
        );
    }
    let expected = (0..=acked).filter(|s| s % every == 0).count();
    assert!(
        h.len() >= expected,
        "{key}: {} points, {expected} were acknowledged",
        h.len()
    );
    // Nothing beyond what was acknowledged plus what was in flight.
    assert!(
        steps
            .iter()
            .enumerate()
            .all(|(i, &s)| s == i as i64 * every),
        "{key}: a gap"
    );
}

#[test]
fn killed_writers_lose_no_acknowledged_point() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let run_id = {
        let store = Store::open(&path).unwrap();
        store.create_run(NewRun::default()).unwrap().run_id
    };
    let path_s = path.to_string_lossy().into_owned();
    // Kill at different moments: early (small blocks being claimed) and late.
    for (writer, at_least) in [(1u64, 300i64), (2, 5_000), (3, 60_000)] {
        let acked = run_and_kill(&path_s, &run_id, writer, at_least);
        let store = Store::open(&path).unwrap();
        assert_series(
            &store,
            &run_id,
            &format!("a{writer}"),
            writer,
            1.0,
            acked,
            1,
        );
        assert_series(
            &store,
            &run_id,
            &format!("b{writer}"),
            writer,
            -1.0,
            acked,
            1,
        );
        assert_series(
            &store,
            &run_id,
            &format!("c{writer}"),
            writer,
            1.0,
            acked,
            7,
        );
        // Recovery folded the dead writer's points into the summaries.
        let run = store.get_run(&run_id).unwrap();
        let a = store
            .metric_history(&run_id, &format!("a{writer}"))
            .unwrap();
        assert_eq!(run.metrics[&format!("a{writer}")].count, a.len() as u64);
        assert_eq!(
            run.metrics[&format!("a{writer}")].step,
            a.last().unwrap().step
        );
        assert!(run.params.contains_key(&format!("p{writer}_0")));
        let report = store.check(false).unwrap();
        assert!(
            report.is_clean(),
            "after killing writer {writer}:\n{report}"
        );
    }
    // The run goes on after the crashes and ends normally.
    let store = Store::open(&path).unwrap();
    store.log_metric(&run_id, "a1", 7.0, 1, 1_000_000).unwrap();
    store.end_run(&run_id, RunStatus::Finished).unwrap();
    assert_eq!(store.get_run(&run_id).unwrap().metrics["a1"].value, 7.0);
    assert!(store.check(false).unwrap().is_clean());
}
