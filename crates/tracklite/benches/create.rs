//! Run creation as a sweep does it, against the size of the store: each run
//! is created with 5 params, gets 5 metrics through a metric writer, and is
//! ended (FINISHED) by that writer: two commits, the run's series being
//! made ahead in its creating commit (the process ended a run of the same
//! experiment with these keys just before). Measured on an empty
//! store and on stores already holding many runs, with the default
//! durability (every acknowledged write survives a killed process) and with
//! power-loss durability.
//!
//! `cargo bench -p tracklite --bench create` (a few minutes on two cores;
//! `TRACKLITE_BENCH_SIZES=0,100000,1000000` picks the store sizes; a
//! million-run store takes ~25 GB and several minutes to fill). The stores
//! are filled through the same calls, untimed.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tracklite::{Durability, NewRun, RunStatus, Store};

/// Store sizes measured when `TRACKLITE_BENCH_SIZES` is not set.
const DEFAULT_SIZES: &[usize] = &[0, 10_000, 100_000];
const METRIC_KEYS: [&str; 5] = ["acc", "loss", "f1", "precision", "recall"];

/// Creates, fills and ends one run, as the Python suite's "create" group.
fn one_run(store: &Store, experiment_id: &str, i: usize) {
    let params = vec![
        ("lr".to_string(), "0.001".to_string()),
        ("model".to_string(), ["a", "b"][i % 2].to_string()),
        ("seed".to_string(), i.to_string()),
        ("epochs".to_string(), "10".to_string()),
        ("opt".to_string(), "adam".to_string()),
    ];
    // The params are logged with the run's creation, in its commit.
    let run = store
        .create_run(NewRun {
            experiment_id: Some(experiment_id.to_string()),
            run_name: Some(format!("run-{i}")),
            params,
            ..NewRun::default()
        })
        .expect("a run");
    let mut writer = store.metric_writer(&run.run_id).expect("a writer");
    let value = (i % 97) as f64 / 97.0;
    let now = tracklite::now_ms();
    for handle in writer.series_many(&METRIC_KEYS).expect("the series") {
        writer.append(handle, value, now, 0).expect("a metric");
    }
    // Seals the writer's blocks and ends the run in one commit, as
    // Python's `RunHandle.end` does.
    writer.end_run(RunStatus::Finished).expect("the run ends");
}

fn sizes() -> Vec<usize> {
    match std::env::var("TRACKLITE_BENCH_SIZES") {
        Ok(s) => s
            .split(',')
            .map(|n| n.trim().parse().expect("TRACKLITE_BENCH_SIZES: numbers"))
            .collect(),
        Err(_) => DEFAULT_SIZES.to_vec(),
    }
}

/// A store of `runs` finished runs at `path`, with its experiment's id.
fn filled(path: &Path, runs: usize) -> String {
    let store = Store::open(path).expect("the store opens");
    let experiment_id = store
        .create_experiment("bench", None, &[])
        .expect("experiment");
    for i in 0..runs {
        one_run(&store, &experiment_id, i);
    }
    store.flush().expect("flush");
    experiment_id
}

fn create(c: &mut Criterion) {
    let mut group = c.benchmark_group("create_run_5_params_5_metrics_end");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for size in sizes() {
        let dir = tempfile::Builder::new()
            .prefix("tracklite-bench-")
            .tempdir()
            .expect("a temporary directory");
        let path = dir.path().join("store");
        let experiment_id = filled(&path, size);
        // Both durabilities on the one store (a copy of a million-run store
        // would take tens of GB): the runs the first row adds are a small
        // fraction of the store.
        let store = Store::open(&path).expect("the store opens");
        let mut next = size;
        for (name, durability) in [
            ("process", Durability::Process),
            ("power_loss", Durability::PowerLoss),
        ] {
            store.set_durability(durability);
            group.bench_with_input(BenchmarkId::new(name, size), &size, |b, _| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        one_run(&store, &experiment_id, next);
                        next += 1;
                    }
                    start.elapsed()
                })
            });
        }
        drop(store);
        dir.close().expect("the stores are removed");
    }
    group.finish();
}

criterion_group!(benches, create);
criterion_main!(benches);
