//! Reads of large stores: search (a filter with a metric order, and the
//! default order), open and run counts, top 100, on the stores of 1,000 to
//! 1,000,000 runs that the benchmark suite's scale group builds and keeps
//! (python/benchmarks/_scale_stores.py: `runs-N-v1` under
//! `$TRACKLITE_BENCH_STORES`, default `tracklite-bench-stores` in the
//! temp folder). Stores not built yet are skipped. Prints the medians of
//! repeated warm calls, wall and CPU time (on a shared machine the CPU time
//! shows the work a call does).
//!
//! `cargo bench -p tracklite --bench scale`; `-- SIZE` for one size only.
//! Build the stores first: `python python/benchmarks/_scale_stores.py 1000
//! 10000 100000 1000000`.

use std::path::PathBuf;

use tracklite::{Store, ViewType};

mod timing;

const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
/// The fill version of the suite's stores (`_scale_stores.FILL_VERSION`).
const FILL_VERSION: u32 = 1;
const FILTER: &str = "metrics.acc > 0.2 and params.model = 'a'";

fn stores_root() -> PathBuf {
    std::env::var_os("TRACKLITE_BENCH_STORES")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("tracklite-bench-stores"))
}

/// Prints the medians of wall and CPU time over the repeated calls of `f`,
/// after one warm-up call, and what the last call found.
fn report(what: &str, f: impl FnMut() -> usize) {
    let t = timing::median(1, f);
    let (ms, cpu, found) = (
        t.wall.as_secs_f64() * 1e3,
        t.cpu.as_secs_f64() * 1e3,
        t.found,
    );
    println!("  {what:<44} {ms:>8.3} ms (cpu {cpu:>7.3} ms) {found:>5} found");
}

fn main() {
    let only: Option<usize> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    for runs in SIZES {
        if only.is_some_and(|n| n != runs) {
            continue;
        }
        let path = stores_root().join(format!("runs-{runs}-v{FILL_VERSION}"));
        if !path.join("FILLED").exists() {
            println!("{runs} runs: no store at {} (skipped)", path.display());
            continue;
        }
        println!("{runs} runs:");
        let store = Store::open(&path).unwrap();
        let exp = store
            .get_experiment_by_name("bench")
            .unwrap()
            .unwrap()
            .experiment_id;
        let ids = [exp.as_str()];
        let search = |filter: &str, order: &[&str]| {
            store
                .search_runs(&ids, filter, ViewType::ActiveOnly, 100, order, None)
                .unwrap()
                .runs
                .len()
        };
        report("search: filter, metrics.acc DESC", || {
            search(FILTER, &["metrics.acc DESC"])
        });
        report("search: default order", || search("", &[]));
        report("search: default order, two experiments", || {
            store
                .search_runs(&["0", &exp], "", ViewType::ActiveOnly, 100, &[], None)
                .unwrap()
                .runs
                .len()
        });
        report("count_runs", || {
            store.count_runs(ViewType::ActiveOnly).unwrap().len()
        });
        report("open", || {
            Store::open(&path).unwrap();
            1
        });
    }
}
