//! Speed of the direct mode against a bare binary COPY of the same rows,
//! measured in the same run on the same database (the goal: direct mode
//! ≥ 80% of the bare COPY). Ignored by default: it needs a database that
//! `mlflow db upgrade` made, named by `TRACKLITE_BENCH_PG`
//! (`scripts/bench-direct.sh` starts one and runs this).
//!
//! `TRACKLITE_BENCH_RUNS` × `TRACKLITE_BENCH_POINTS` points (default
//! 20 × 10,000), `TRACKLITE_BENCH_ROUNDS` rounds (default 3); each round
//! empties the tables written, exports a fresh store, then copies its rows
//! into a scratch copy of `metrics` (same columns, indexes and foreign key).
//! The medians are printed.

use std::time::Instant;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, NoTls};
use tracklite::{Metric, NewRun, Store};
use tracklite_export::{export_direct, DirectOptions};

/// A run's id and its points: (value, timestamp, step).
type RunRows = (String, Vec<(f64, i64, i64)>);

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A store with `runs` runs of `points` points of one key each.
fn make_store(dir: &std::path::Path, runs: usize, points: usize) -> Store {
    let store = Store::open(dir).unwrap();
    let experiment = store.experiment_id_for("bench-direct").unwrap();
    for r in 0..runs {
        let run = store
            .create_run(NewRun {
                experiment_id: Some(experiment.clone()),
                run_name: Some(format!("run-{r}")),
                ..NewRun::default()
            })
            .unwrap();
        let all: Vec<Metric> = (0..points)
            .map(|i| {
                Metric::new(
                    "loss",
                    1.0 / (i as f64 + 1.0),
                    1_700_000_000_000 + i as i64,
                    i as i64,
                )
            })
            .collect();
        for batch in all.chunks(1000) {
            store.log_batch(&run.run_id, batch, &[], &[]).unwrap();
        }
    }
    store.flush().unwrap();
    store
}

/// The store's rows as `metrics` holds them: (key, value, timestamp, run, step, is_nan).
fn rows_of(store: &Store) -> Vec<RunRows> {
    let mut out = Vec::new();
    for e in store.list_experiments(tracklite::ViewType::All).unwrap() {
        for info in store
            .list_runs(&[&e.experiment_id], tracklite::ViewType::All)
            .unwrap()
        {
            let c = store.metric_history_columns(&info.run_id, "loss").unwrap();
            let points = (0..c.values.len())
                .map(|i| (c.values[i], c.timestamps[i], c.steps[i]))
                .collect();
            out.push((info.run_id, points));
        }
    }
    out
}

/// Seconds to COPY `rows` into `bench_metrics`, one transaction per run
/// (as the direct mode writes them).
fn bare_copy(client: &mut Client, rows: &[RunRows]) -> f64 {
    client
        .batch_execute(
            "DROP TABLE IF EXISTS bench_metrics; \
             CREATE TABLE bench_metrics (LIKE metrics INCLUDING ALL); \
             ALTER TABLE bench_metrics ADD FOREIGN KEY (run_uuid) REFERENCES runs (run_uuid);",
        )
        .unwrap();
    let types = [
        Type::VARCHAR,
        Type::FLOAT8,
        Type::INT8,
        Type::VARCHAR,
        Type::INT8,
        Type::BOOL,
    ];
    let started = Instant::now();
    for (run, points) in rows {
        let mut tx = client.transaction().unwrap();
        let sink = tx
            .copy_in(
                "COPY bench_metrics (key, value, timestamp, run_uuid, step, is_nan) \
                 FROM STDIN (FORMAT binary)",
            )
            .unwrap();
        let mut w = BinaryCopyInWriter::new(sink, &types);
        for (value, timestamp, step) in points {
            w.write(&[&"loss", value, timestamp, run, step, &false])
                .unwrap();
        }
        w.finish().unwrap();
        tx.commit().unwrap();
    }
    started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "needs TRACKLITE_BENCH_PG (see scripts/bench-direct.sh)"]
fn direct_mode_against_a_bare_copy() {
    let Ok(url) = std::env::var("TRACKLITE_BENCH_PG") else {
        eprintln!("TRACKLITE_BENCH_PG is not set: nothing measured");
        return;
    };
    let runs = env_or("TRACKLITE_BENCH_RUNS", 20);
    let points = env_or("TRACKLITE_BENCH_POINTS", 10_000);
    let rounds = env_or("TRACKLITE_BENCH_ROUNDS", 3).max(1);
    let total = (runs * points) as f64;
    let libpq = url.replacen("postgresql+psycopg2://", "postgresql://", 1);
    let mut client = Client::connect(&libpq, NoTls).unwrap();
    let (mut direct, mut bare) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        client
            .batch_execute(
                "DROP TABLE IF EXISTS bench_metrics; \
                 TRUNCATE metrics, latest_metrics, params, tags, inputs, input_tags, runs CASCADE;",
            )
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = make_store(dir.path(), runs, points);
        let rows = rows_of(&store);
        let started = Instant::now();
        let summary = export_direct(
            &store,
            &DirectOptions::new(url.clone(), "s3://bench/unused"),
            &|_| {},
        )
        .unwrap();
        let d = started.elapsed().as_secs_f64();
        assert!(summary.export.ok(), "{:?}", summary.export.failures);
        assert_eq!(summary.export.points as f64, total);
        let b = bare_copy(&mut client, &rows);
        eprintln!(
            "round {round}: direct {:.0} points/s ({d:.2} s), bare COPY {:.0} points/s ({b:.2} s), \
             ratio {:.2}",
            total / d,
            total / b,
            b / d
        );
        direct.push(d);
        bare.push(b);
    }
    let (d, b) = (median(direct), median(bare));
    println!(
        "direct mode: {runs} runs x {points} points, median of {rounds}: direct {:.0} points/s, \
         bare binary COPY {:.0} points/s, ratio {:.2} (goal >= 0.80)",
        total / d,
        total / b,
        b / d
    );
}
