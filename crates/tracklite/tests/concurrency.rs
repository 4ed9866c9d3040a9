//! Several processes log to one store at once: no lock error, no lost or
//! doubled point, and a reader sees only right points meanwhile.

mod common;

use std::collections::HashSet;

use common::{spawn_child, value_for};
use tracklite::{NewRun, Store};

const STORE_VAR: &str = "TRACKLITE_TEST_CONC_STORE";
const RUN_VAR: &str = "TRACKLITE_TEST_CONC_RUN";
const WRITER_VAR: &str = "TRACKLITE_TEST_CONC_WRITER";
const POINTS: i64 = 100_000;

/// The child: 100,000 points into key "shared" and key "own<writer>" of
/// its run, mixing the fast writer and the store's `log_metric`, plus params.
#[test]
fn concurrency_child_entry() {
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
    let shared = w.series("shared").unwrap();
    let own = format!("own{writer}");
    // Steps of the shared key are offset per writer, so each point is unique.
    let base = writer as i64 * POINTS;
    for i in 0..POINTS {
        if i % 2 == 0 {
            w.append(shared, value_for(writer, base + i), i, base + i)
                .unwrap();
        } else {
            store
                .log_metric(&run_id, "shared", value_for(writer, base + i), i, base + i)
                .unwrap();
        }
        if i % 10 == 0 {
            store
                .log_metric(&run_id, &own, value_for(writer, i), i, i)
                .unwrap();
        }
        if i % 10_000 == 0 {
            store
                .set_tag(&run_id, &format!("progress{writer}"), &i.to_string())
                .unwrap();
        }
    }
    w.close().unwrap();
    store.flush().unwrap();
}

fn check_shared(points: &[tracklite::MetricPoint], writers: &[u64]) -> HashSet<i64> {
    let mut seen = HashSet::new();
    for p in points {
        let writer = (p.step / POINTS) as u64;
        assert!(writers.contains(&writer), "a point of no writer: {p:?}");
        assert_eq!(p.value, value_for(writer, p.step), "wrong value: {p:?}");
        assert!(seen.insert(p.step), "step {} returned twice", p.step);
    }
    seen
}

#[test]
fn four_processes_log_every_point_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    // Writers 0 and 1 share a run; 2 and 3 have their own.
    let shared_run = store.create_run(NewRun::default()).unwrap().run_id;
    let runs = [
        shared_run.clone(),
        shared_run.clone(),
        store.create_run(NewRun::default()).unwrap().run_id,
        store.create_run(NewRun::default()).unwrap().run_id,
    ];
    let children: Vec<_> = runs
        .iter()
        .enumerate()
        .map(|(writer, run)| {
            spawn_child(
                "concurrency_child_entry",
                &[
                    (STORE_VAR, path.to_string_lossy().into_owned()),
                    (RUN_VAR, run.clone()),
                    (WRITER_VAR, writer.to_string()),
                ],
            )
        })
        .collect();
    // Read while they write: every point seen must be a right one.
    let mut reads = 0;
    let mut children = children;
    while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
        check_shared(
            &store.metric_history(&shared_run, "shared").unwrap(),
            &[0, 1],
        );
        store.get_run(&shared_run).unwrap();
        reads += 1;
    }
    for mut c in children {
        let status = c.wait().unwrap();
        assert!(status.success(), "a writer failed: {status:?}");
    }
    assert!(reads > 0);

    let store = Store::open(&path).unwrap();
    let seen = check_shared(
        &store.metric_history(&shared_run, "shared").unwrap(),
        &[0, 1],
    );
    assert_eq!(seen.len(), 2 * POINTS as usize);
    for (writer, run) in runs.iter().enumerate() {
        let own = store.metric_history(run, &format!("own{writer}")).unwrap();
        assert_eq!(own.len(), (POINTS / 10) as usize);
        let mut steps: Vec<i64> = own.iter().map(|p| p.step).collect();
        steps.sort_unstable();
        assert_eq!(steps, (0..POINTS).step_by(10).collect::<Vec<_>>());
        let r = store.get_run(run).unwrap();
        assert_eq!(
            r.metrics[&format!("own{writer}")].count,
            (POINTS / 10) as u64
        );
        assert_eq!(r.tags[&format!("progress{writer}")], "90000");
    }
    for (writer, run) in runs.iter().enumerate().skip(2) {
        let seen = check_shared(
            &store.metric_history(run, "shared").unwrap(),
            &[writer as u64],
        );
        assert_eq!(seen.len(), POINTS as usize);
    }
    let summary = store.get_run(&shared_run).unwrap().metrics["shared"];
    assert_eq!(summary.count, 2 * POINTS as u64);
    assert_eq!(summary.step, 2 * POINTS - 1);
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    // Every writer logged POINTS into "shared" of its run, and a tenth into its own key.
    assert_eq!(report.points, 4 * POINTS as u64 + 4 * (POINTS / 10) as u64);
}
