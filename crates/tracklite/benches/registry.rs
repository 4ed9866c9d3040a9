//! Model registry speed, native: registering a version, setting an alias,
//! reading a version by alias, and `search_model_versions` over a registry
//! of 10,000 versions (100 models of 100 versions, each version with 3
//! tags and a run id) — all of them in one page with MLflow's default
//! order, and filtered ones. Prints the median of repeated warm calls.
//!
//! `cargo bench -p tracklite --bench registry`

use std::time::{Duration, Instant};

use tracklite::{NewModelVersion, Store};

const MODELS: usize = 100;
const VERSIONS_PER_MODEL: usize = 100;
const REPEATS: usize = 25;
const CALLS: usize = 2_000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

fn new_version(name: &str, i: usize) -> NewModelVersion {
    NewModelVersion {
        name: name.into(),
        source: format!("models:/m-{i:032x}"),
        run_id: Some(format!("{i:032x}")),
        tags: vec![
            (
                "stage_gate".into(),
                ["pending", "approved", "rejected"][i % 3].into(),
            ),
            ("owner".into(), format!("team-{}", i % 7)),
            ("dataset".into(), "iris".into()),
        ],
        storage_location: Some(format!("/artifacts/{i}")),
        ..NewModelVersion::default()
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();

    // Per-call costs on a small registry.
    store.create_registered_model("calls", &[], None).unwrap();
    let mut register = Vec::new();
    for i in 0..CALLS {
        register.push(timed(|| store.create_model_version(new_version("calls", i)).unwrap()).0);
    }
    let mut alias = Vec::new();
    for i in 0..CALLS {
        let v = (i % 100 + 1) as i64;
        alias.push(
            timed(|| {
                store
                    .set_registered_model_alias("calls", "champion", v)
                    .unwrap()
            })
            .0,
        );
    }
    let mut by_alias = Vec::new();
    for _ in 0..CALLS {
        by_alias.push(
            timed(|| {
                store
                    .get_model_version_by_alias("calls", "champion")
                    .unwrap()
            })
            .0,
        );
    }
    for (what, times) in [
        ("create_model_version", register),
        ("set_registered_model_alias", alias),
        ("get_model_version_by_alias", by_alias),
    ] {
        let m = median(times);
        println!(
            "{what}: median {:.1} µs ({:.0} calls/s)",
            m.as_secs_f64() * 1e6,
            1.0 / m.as_secs_f64()
        );
    }

    // A registry of 10,000 versions.
    store.delete_registered_model("calls").unwrap();
    let started = Instant::now();
    for m in 0..MODELS {
        let name = format!("model-{m:03}");
        store.create_registered_model(&name, &[], None).unwrap();
        for v in 0..VERSIONS_PER_MODEL {
            store
                .create_model_version(new_version(&name, m * VERSIONS_PER_MODEL + v))
                .unwrap();
        }
    }
    println!(
        "built {} versions in {:.1} s",
        MODELS * VERSIONS_PER_MODEL,
        started.elapsed().as_secs_f64()
    );
    let searches: [(&str, &str, usize); 4] = [
        ("all 10,000 versions, default order", "", 10_000),
        ("one model's versions", "name = 'model-042'", 10_000),
        ("tag filter, top 100", "tags.stage_gate = 'approved'", 100),
        (
            "LIKE on name and run id IN, top 1,000",
            "name LIKE 'model-0%' AND run_id IN ('00000000000000000000000000000001', '00000000000000000000000000000002')",
            1_000,
        ),
    ];
    for (what, filter, max) in searches {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..REPEATS {
            let (t, page) = timed(|| store.search_model_versions(filter, max, &[], None).unwrap());
            found = page.versions.len();
            times.push(t);
        }
        println!(
            "search_model_versions, {what}: median {:.2} ms ({found} versions)",
            median(times).as_secs_f64() * 1e3
        );
    }
    let mut times = Vec::new();
    for _ in 0..REPEATS {
        times.push(timed(|| store.search_registered_models("", 100, &[], None).unwrap()).0);
    }
    println!(
        "search_registered_models, top 100 of {MODELS}: median {:.2} ms",
        median(times).as_secs_f64() * 1e3
    );
}
