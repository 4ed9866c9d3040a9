//! Criterion benchmarks of the engine's hot paths: appending points
//! (through a series handle, through `Store::log_metric`, and a million
//! points in one `log_columns` call into a new key), reading one
//! key's history of a million points (whole, and downsampled for a chart
//! of 1,000 pixels), creating a run with params and tags,
//! and opening a store that holds 10,000 runs.
//!
//! `cargo bench -p tracklite --bench engine` (a few minutes on two cores).
//! Stores live in temporary directories and are deleted as soon as a
//! benchmark is done with them; setup is never timed.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use tempfile::TempDir;
use tracklite::{Downsample, NewRun, Store};

/// Timestamp of step 0.
const T0: i64 = 1_700_000_000_000;
const HISTORY_POINTS: u64 = 1_000_000;
const ARRAY_POINTS: u64 = 1_000_000;
const STORE_RUNS: usize = 10_000;
const PARAMS_PER_RUN: usize = 10;
const TAGS_PER_RUN: usize = 10;

/// A new store in a temporary directory, and an active run in it.
fn store_with_run() -> (TempDir, Store, String) {
    let dir = tempfile::Builder::new()
        .prefix("tracklite-bench-")
        .tempdir()
        .expect("a temporary directory");
    let store = Store::open(dir.path().join("store")).expect("the store opens");
    let run_id = store.create_run(NewRun::default()).expect("a run").run_id;
    (dir, store, run_id)
}

/// Key-value pairs, as `log_params_and_tags` takes them.
type Pairs = Vec<(String, String)>;

fn params_and_tags() -> (Pairs, Pairs) {
    let params = (0..PARAMS_PER_RUN)
        .map(|i| (format!("param_{i}"), format!("value {i}")))
        .collect();
    let tags = (0..TAGS_PER_RUN)
        .map(|i| (format!("tag_{i}"), format!("tag value {i}")))
        .collect();
    (params, tags)
}

/// Appends of one writer. Each sample logs into a fresh store, deleted
/// afterwards, so that the disk holds one sample's points at a time.
fn appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    group
        .throughput(Throughput::Elements(1))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    group.bench_function("writer_handle", |b| {
        b.iter_custom(|iters| {
            let (dir, store, run_id) = store_with_run();
            let mut writer = store.metric_writer(&run_id).expect("a writer");
            let loss = writer.series("loss").expect("a series");
            let start = Instant::now();
            for i in 0..iters as i64 {
                writer
                    .append(loss, black_box(i as f64 * 0.5), T0 + i, i)
                    .expect("append");
            }
            let elapsed = start.elapsed();
            drop(writer);
            drop(store);
            dir.close().expect("the store is removed");
            elapsed
        })
    });

    group.bench_function("store_log_metric", |b| {
        b.iter_custom(|iters| {
            let (dir, store, run_id) = store_with_run();
            let start = Instant::now();
            for i in 0..iters as i64 {
                store
                    .log_metric(&run_id, "loss", black_box(i as f64 * 0.5), T0 + i, i)
                    .expect("log_metric");
            }
            let elapsed = start.elapsed();
            drop(store);
            dir.close().expect("the store is removed");
            elapsed
        })
    });
    group.finish();
}

/// A million points in one `log_columns` call, into a new key each time
/// (as a new metric would be): the blocks of the series are all claimed
/// during the call. One store serves every sample, so the log file is
/// already large, as in a long session; the columns are built beforehand.
fn log_array(c: &mut Criterion) {
    let (dir, store, run_id) = store_with_run();
    let steps: Vec<i64> = (0..ARRAY_POINTS as i64).collect();
    let timestamps: Vec<i64> = steps.iter().map(|s| T0 + s).collect();
    let values: Vec<f64> = steps.iter().map(|&s| s as f64 * 0.5).collect();
    let mut writer = store.metric_writer(&run_id).expect("a writer");
    let mut key = 0u64;
    let mut group = c.benchmark_group("log_array_1M");
    group
        .throughput(Throughput::Elements(ARRAY_POINTS))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("log_columns_new_key", |b| {
        b.iter_custom(|iters| {
            timed_each(iters, || {
                key += 1;
                writer
                    .log_columns(&format!("m{key}"), &steps, &timestamps, &values)
                    .expect("log_columns")
            })
        })
    });
    group.finish();
    drop(writer);
    drop(store);
    dir.close().expect("the store is removed");
}

/// Runs `f` `iters` times and adds up the time of the calls alone, without
/// dropping their results.
fn timed_each<T>(iters: u64, mut f: impl FnMut() -> T) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let out = black_box(f());
        total += start.elapsed();
        drop(out);
    }
    total
}

/// Reading back all points of one key.
fn history(c: &mut Criterion) {
    let (dir, store, run_id) = store_with_run();
    {
        let mut writer = store.metric_writer(&run_id).expect("a writer");
        let loss = writer.series("loss").expect("a series");
        for i in 0..HISTORY_POINTS as i64 {
            writer
                .append(loss, i as f64 * 0.5, T0 + i, i)
                .expect("append");
        }
    }
    let mut group = c.benchmark_group("history_1M");
    group
        .throughput(Throughput::Elements(HISTORY_POINTS))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    // Only the call is timed; each result is dropped before the next call,
    // so the allocator hands the same memory back, as in a reading loop.
    group.bench_function("metric_history", |b| {
        b.iter_custom(|iters| {
            timed_each(iters, || {
                store.metric_history(&run_id, "loss").expect("history")
            })
        })
    });
    group.bench_function("metric_history_columns", |b| {
        b.iter_custom(|iters| {
            timed_each(iters, || {
                store
                    .metric_history_columns(&run_id, "loss")
                    .expect("history")
            })
        })
    });
    // What a chart of the whole series reads: 1,000 buckets (one per
    // pixel), M4-style, from two passes over the log.
    group.bench_function("downsampled_1000_buckets", |b| {
        let how = Downsample {
            buckets: 1_000,
            ..Downsample::default()
        };
        b.iter_custom(|iters| {
            timed_each(iters, || {
                store
                    .metric_history_downsampled(&run_id, "loss", &how)
                    .expect("history")
            })
        })
    });
    group.finish();
    drop(store);
    dir.close().expect("the store is removed");
}

/// Creating a run, then logging its params and tags in one call. The runs
/// accumulate in one store over the samples.
fn create_run(c: &mut Criterion) {
    let (dir, store, _) = store_with_run();
    let (params, tags) = params_and_tags();
    let mut group = c.benchmark_group("run");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("create_10_params_10_tags", |b| {
        b.iter(|| {
            // One transaction: the run with its params and tags.
            store
                .create_run(NewRun {
                    params: params.clone(),
                    tags: tags.clone(),
                    ..NewRun::default()
                })
                .expect("a run")
        })
    });
    group.finish();
    drop(store);
    dir.close().expect("the store is removed");
}

/// Opening a store of 10,000 runs, each with params, tags and a metric.
fn open(c: &mut Criterion) {
    let (dir, store, _) = store_with_run();
    let (params, tags) = params_and_tags();
    for _ in 0..STORE_RUNS {
        let run_id = store.create_run(NewRun::default()).expect("a run").run_id;
        store
            .log_params_and_tags(&run_id, &params, &tags)
            .expect("params and tags");
        let mut writer = store.metric_writer(&run_id).expect("a writer");
        let loss = writer.series("loss").expect("a series");
        for i in 0..10 {
            writer.append(loss, i as f64, T0 + i, i).expect("append");
        }
        // Dropping seals the block without the sync that close() adds.
    }
    let path = store.path().to_path_buf();
    drop(store);
    let mut group = c.benchmark_group("open");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("store_10k_runs", |b| {
        b.iter_with_large_drop(|| Store::open(&path).expect("the store opens"))
    });
    group.finish();
    dir.close().expect("the store is removed");
}

criterion_group!(benches, appends, log_array, history, create_run, open);
criterion_main!(benches);
