//! Search speed against its targets: a two-clause filter with an order_by,
//! top 100, over stores of 10,000 and 100,000 runs (each with 20 params,
//! 10 metrics and 5 tags), and experiment searches over 10,000
//! experiments. Prints the median of repeated warm queries.
//!
//! `cargo bench -p tracklite --bench search`; `-- --quick` for 10,000 runs
//! only. The stores are built once (the 100,000-run one takes minutes) and
//! kept under the target directory for later runs; delete
//! `target/tmp/search-bench` to rebuild them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tracklite::{NewRun, Store, ViewType};

mod timing;
use timing::{median, Timing};

const PARAMS: usize = 20;
const METRICS: usize = 10;
const TAGS: usize = 5;
/// Distinct values of each param: `params.pN = 'v1'` matches one run in ten.
const PARAM_VALUES: u64 = 10;
/// Bump when the generated data changes, so that old stores are rebuilt.
const DATA_VERSION: u32 = 1;
/// Runs per store instance while building: each instance's writers are
/// sealed when it is dropped.
const BUILD_CHUNK: usize = 2_000;

/// A small deterministic generator (splitmix64).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(seed: u64) -> f64 {
    (mix(seed) >> 11) as f64 / (1u64 << 53) as f64
}

fn bench_root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("search-bench")
}

/// Opens the store at `dir`, building it first when it is missing or was
/// built by an older version of this bench.
fn prepared(dir: &Path, build: impl FnOnce(&Path)) -> Store {
    let marker = dir.join("bench-complete");
    let want = format!("{DATA_VERSION}");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(want.as_str()) {
        if dir.exists() {
            std::fs::remove_dir_all(dir).unwrap();
        }
        let started = Instant::now();
        build(dir);
        std::fs::write(&marker, &want).unwrap();
        println!(
            "  built {} in {:.1} s",
            dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Store::open(dir.join("store")).unwrap()
}

fn build_runs(dir: &Path, runs: usize) {
    let path = dir.join("store");
    let mut done = 0;
    let experiment = Store::open(&path)
        .unwrap()
        .create_experiment("bench", None, &[])
        .unwrap();
    let keys: Vec<String> = (0..METRICS).map(|m| format!("m{m}")).collect();
    while done < runs {
        let store = Store::open(&path).unwrap();
        let end = (done + BUILD_CHUNK).min(runs);
        for i in done..end {
            let seed = i as u64 * 1_000;
            let run = store
                .create_run(NewRun {
                    experiment_id: Some(experiment.clone()),
                    start_time: Some(1_700_000_000_000 + i as i64 * 1_000),
                    ..NewRun::default()
                })
                .unwrap();
            let params: Vec<(String, String)> = (0..PARAMS)
                .map(|p| {
                    let v = mix(seed + p as u64) % PARAM_VALUES;
                    (format!("p{p}"), format!("v{v}"))
                })
                .collect();
            let tags: Vec<(String, String)> = (0..TAGS)
                .map(|t| {
                    let v = mix(seed + 100 + t as u64) % 20;
                    (format!("t{t}"), format!("team-{v}"))
                })
                .collect();
            store
                .log_params_and_tags(&run.run_id, &params, &tags)
                .unwrap();
            let mut writer = store.metric_writer(&run.run_id).unwrap();
            for (m, key) in keys.iter().enumerate() {
                let value = unit(seed + 200 + m as u64);
                writer.log(key, value, 1_700_000_000_000, 0).unwrap();
            }
            // Dropping seals the writer's blocks without a sync per run.
            drop(writer);
        }
        done = end;
        store.flush().unwrap();
        eprint!("\r  building: {done}/{runs} runs");
    }
    eprintln!();
}

fn build_experiments(dir: &Path, n: usize) {
    let store = Store::open(dir.join("store")).unwrap();
    for i in 0..n {
        let tags = vec![
            (
                "team".to_string(),
                ["cv", "nlp", "rl", "audio"][i % 4].to_string(),
            ),
            ("owner".to_string(), format!("user-{}", i % 97)),
        ];
        store
            .create_experiment(&format!("exp-{i:05}"), None, &tags)
            .unwrap();
    }
}

fn report(what: &str, t: Timing, target_ms: Option<f64>) {
    let ms = t.wall.as_secs_f64() * 1e3;
    let cpu = t.cpu.as_secs_f64() * 1e3;
    let verdict = match target_ms {
        Some(target) if ms <= target => format!("target ≤ {target} ms: met"),
        Some(target) => format!("target ≤ {target} ms: MISSED"),
        None => "(no target)".to_string(),
    };
    println!(
        "  {what:<66} {ms:>7.2} ms (cpu {cpu:>6.2} ms) {:>4} found  {verdict}",
        t.found
    );
}

fn run_searches(runs: usize, target_ms: f64) {
    let store = prepared(&bench_root().join(format!("runs-{runs}")), |d| {
        build_runs(d, runs)
    });
    let experiment = store
        .get_experiment_by_name("bench")
        .unwrap()
        .unwrap()
        .experiment_id;
    let ids = [experiment.as_str()];
    println!("{runs} runs × ({PARAMS} params, {METRICS} metrics, {TAGS} tags):");
    let search = |filter: &str, order: &[&str], token: Option<&str>| {
        store
            .search_runs(&ids, filter, ViewType::ActiveOnly, 100, order, token)
            .unwrap()
    };
    let filter = "params.p3 = 'v1' AND metrics.m2 > 0.5";
    let order = ["metrics.m0 DESC"];
    report(
        &format!("{filter}, order_by {}, top 100", order[0]),
        median(2, || search(filter, &order, None).runs.len()),
        Some(target_ms),
    );
    let second = search(filter, &order, None).next_page_token;
    report(
        "  the same, second page",
        median(2, || search(filter, &order, second.as_deref()).runs.len()),
        None,
    );
    // Half the runs match: the top 100 are among the metric's first few
    // hundred, where a search that finds every match first reads them all.
    report(
        "metrics.m2 > 0.5 AND params.p3 != 'v1', order_by metrics.m0 DESC, top 100",
        median(2, || {
            search(
                "metrics.m2 > 0.5 AND params.p3 != 'v1'",
                &["metrics.m0 DESC"],
                None,
            )
            .runs
            .len()
        }),
        None,
    );
    report(
        "no filter, default order, top 100",
        median(2, || search("", &[], None).runs.len()),
        None,
    );
    report(
        "no filter, order_by metrics.m0 DESC, top 100",
        median(2, || search("", &["metrics.m0 DESC"], None).runs.len()),
        None,
    );
    report(
        "tags.t1 LIKE 'team-1%' AND params.p7 != 'v3', order_by params.p5",
        median(2, || {
            search(
                "tags.t1 LIKE 'team-1%' AND params.p7 != 'v3'",
                &["params.p5"],
                None,
            )
            .runs
            .len()
        }),
        None,
    );
    report(
        "metrics.m4 < 0.001, order_by metrics.m4, top 100",
        median(2, || {
            search("metrics.m4 < 0.001", &["metrics.m4"], None)
                .runs
                .len()
        }),
        None,
    );
}

fn experiment_searches(n: usize) {
    let store = prepared(&bench_root().join(format!("experiments-{n}")), |d| {
        build_experiments(d, n)
    });
    println!("{n} experiments (2 tags each):");
    let search = |filter: &str, order: &[&str]| {
        store
            .search_experiments(ViewType::ActiveOnly, filter, 100, order, None)
            .unwrap()
            .experiments
            .len()
    };
    report(
        "no filter, default order (creation_time DESC), top 100",
        median(2, || search("", &[])),
        Some(20.0),
    );
    report(
        "name LIKE 'exp-01%' AND tags.team = 'cv', order_by name",
        median(2, || {
            search("name LIKE 'exp-01%' AND tags.team = 'cv'", &["name"])
        }),
        Some(20.0),
    );
    report(
        "tags.owner = 'user-5', order_by last_update_time DESC",
        median(2, || {
            search("tags.owner = 'user-5'", &["last_update_time DESC"])
        }),
        Some(20.0),
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    run_searches(10_000, 20.0);
    if !quick {
        run_searches(100_000, 200.0);
    }
    experiment_searches(10_000);
}
