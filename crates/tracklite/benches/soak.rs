//! A randomised soak: writer processes log into one store while the parent
//! kills them at random (SIGKILL) and starts new ones, and compacts, runs
//! gc and checks the store as they go. At the end every point a writer had
//! been told was logged must be there, once, with its value, and no value
//! read may be wrong.
//!
//! `cargo bench -p tracklite --bench soak -- --seconds 600 [--writers 4]
//! [--rate 50000]` (points per second per writer, which bounds the disk
//! the store takes: 32 bytes a point) prints the figures: faults injected, points acknowledged, points found,
//! points lost (must be 0), wrong values served (must be 0).
//!
//! Every point's value is a function of its key and step, so any value read
//! can be checked. A writer appends to its ledger, after each logging call
//! returns, the highest step of each series acknowledged so far: the points
//! acknowledged are steps 0..=that step.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tracklite::{Metric, NewRun, RunStatus, Store, ViewType};

const ROLE_VAR: &str = "TRACKLITE_SOAK_ROLE";
const STORE_VAR: &str = "TRACKLITE_SOAK_STORE";
const LEDGER_VAR: &str = "TRACKLITE_SOAK_LEDGER";
const SEED_VAR: &str = "TRACKLITE_SOAK_SEED";
const RATE_VAR: &str = "TRACKLITE_SOAK_RATE";
const KEYS: u64 = 4;
const POINTS_PER_CALL: i64 = 250;

fn value_of(key: u64, step: i64) -> f64 {
    step as f64 * 0.5 + key as f64 * 1e6
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A writer process: runs after runs, points by the writer's fast path and
/// by batches, each acknowledgement written to the ledger.
fn writer(store: &Path, ledger: &Path, seed: u64, rate: u64) -> ! {
    let store = Store::open(store).expect("the writer opens the store");
    let mut ledger = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ledger)
        .expect("the ledger opens");
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut written = 0u64;
    loop {
        let run = store.create_run(NewRun::default()).unwrap().run_id;
        let mut w = store.metric_writer(&run).unwrap();
        let mut next = [0i64; KEYS as usize];
        for _ in 0..rng.below(200) + 20 {
            let key = rng.below(KEYS);
            let name = format!("k{key}");
            let from = next[key as usize];
            let to = from + POINTS_PER_CALL;
            if rng.below(2) == 0 {
                for step in from..to {
                    w.log(&name, value_of(key, step), step, step).unwrap();
                }
            } else {
                let batch: Vec<Metric> = (from..to)
                    .map(|step| Metric {
                        key: name.clone(),
                        value: value_of(key, step),
                        timestamp: step,
                        step,
                    })
                    .collect();
                store.log_batch(&run, &batch, &[], &[]).unwrap();
            }
            next[key as usize] = to;
            // Acknowledged: steps 0..to of this series.
            writeln!(ledger, "{run} {key} {}", to - 1).unwrap();
            // Pacing to the rate, so that the store's size stays bounded.
            written += POINTS_PER_CALL as u64;
            let due = Duration::from_secs_f64(written as f64 / rate as f64);
            if let Some(ahead) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(ahead);
            }
        }
        w.close().unwrap();
        store.end_run(&run, RunStatus::Finished).unwrap();
    }
}

fn spawn_writer(store: &Path, dir: &Path, n: u64, rate: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env(RATE_VAR, rate.to_string())
        .env(ROLE_VAR, "writer")
        .env(STORE_VAR, store)
        .env(LEDGER_VAR, dir.join(format!("ledger-{n}")))
        .env(SEED_VAR, n.to_string())
        .spawn()
        .expect("a writer starts")
}

#[derive(Default)]
struct Figures {
    kills: u64,
    compactions: u64,
    gcs: u64,
    checks: u64,
    check_problems: u64,
    acknowledged: u64,
    found: u64,
    lost: u64,
    duplicated: u64,
    wrong: u64,
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::var(ROLE_VAR).as_deref() == Ok("writer") {
        let store = PathBuf::from(std::env::var_os(STORE_VAR).unwrap());
        let ledger = PathBuf::from(std::env::var_os(LEDGER_VAR).unwrap());
        let seed = std::env::var(SEED_VAR).unwrap().parse().unwrap();
        let rate = std::env::var(RATE_VAR).unwrap().parse().unwrap();
        writer(&store, &ledger, seed, rate);
    }
    let args: Vec<String> = std::env::args().collect();
    let seconds = arg(&args, "--seconds", 60);
    let writers = arg(&args, "--writers", 4);
    let rate = arg(&args, "--rate", 50_000).max(1);
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store");
    let store = Store::open(&store_path).unwrap();
    let mut rng = Rng(0x5eed);
    let mut figures = Figures::default();
    let mut spawned = 0;
    let mut children: Vec<Child> = (0..writers)
        .map(|_| {
            spawned += 1;
            spawn_writer(&store_path, dir.path(), spawned, rate)
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut next_maintenance = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        // Pacing only: the faults land wherever the writers happen to be.
        std::thread::sleep(Duration::from_millis(50 + rng.below(450)));
        let victim = rng.below(children.len() as u64) as usize;
        children[victim].kill().unwrap();
        children[victim].wait().unwrap();
        figures.kills += 1;
        spawned += 1;
        children[victim] = spawn_writer(&store_path, dir.path(), spawned, rate);
        if Instant::now() >= next_maintenance {
            next_maintenance = Instant::now() + Duration::from_secs(5);
            store.compact(&mut |_| {}).unwrap();
            figures.compactions += 1;
            let doomed = store.create_run(NewRun::default()).unwrap().run_id;
            store.log_metric(&doomed, "gone", 1.0, 1, 1).unwrap();
            store.delete_run(&doomed).unwrap();
            store.gc(Some(&[doomed])).unwrap();
            figures.gcs += 1;
            let report = store.check(false).unwrap();
            figures.checks += 1;
            figures.check_problems += report.problems.len() as u64;
            for p in report.problems.iter().take(3) {
                eprintln!("check during the soak: {}: {}", p.place, p.message);
            }
        }
    }
    for mut child in children {
        child.kill().unwrap();
        child.wait().unwrap();
        figures.kills += 1;
    }
    drop(store);
    verify(&store_path, dir.path(), spawned, &mut figures);
    println!(
        "soak: {seconds} s, {writers} writers ({spawned} started) at up to {rate} points/s each\n\
         faults injected: {} SIGKILLs of writers, {} compactions, {} gc passes, {} checks ({} problems)\n\
         points acknowledged: {}\npoints found: {}\npoints lost: {}\n\
         points found twice: {}\nwrong values served: {}",
        figures.kills,
        figures.compactions,
        figures.gcs,
        figures.checks,
        figures.check_problems,
        figures.acknowledged,
        figures.found,
        figures.lost,
        figures.duplicated,
        figures.wrong
    );
    let ok = figures.lost == 0
        && figures.wrong == 0
        && figures.duplicated == 0
        && figures.check_problems == 0;
    std::process::exit(if ok { 0 } else { 1 });
}

/// Reopens the store as a new process would and checks every ledger.
fn verify(store_path: &Path, dir: &Path, spawned: u64, figures: &mut Figures) {
    let store = Store::open(store_path).unwrap();
    let mut acked: HashMap<(String, u64), i64> = HashMap::new();
    for n in 1..=spawned {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("ledger-{n}"))) else {
            continue;
        };
        for line in text.lines() {
            let mut parts = line.split(' ');
            let (Some(run), Some(key), Some(step)) = (parts.next(), parts.next(), parts.next())
            else {
                continue; // a line cut by the kill
            };
            let (Ok(key), Ok(step)) = (key.parse::<u64>(), step.parse::<i64>()) else {
                continue;
            };
            let max = acked.entry((run.to_string(), key)).or_insert(-1);
            *max = (*max).max(step);
        }
    }
    figures.acknowledged = acked.values().map(|&m| (m + 1) as u64).sum();
    let runs = store
        .search_runs(&["0"], "", ViewType::All, 50_000, &[], None)
        .unwrap();
    for run in &runs.runs {
        for key in 0..KEYS {
            let Ok(history) = store.metric_history(&run.info.run_id, &format!("k{key}")) else {
                continue;
            };
            let mut seen = std::collections::HashSet::new();
            for p in &history {
                figures.found += 1;
                if p.value.to_bits() != value_of(key, p.step).to_bits() {
                    figures.wrong += 1;
                }
                if !seen.insert(p.step) {
                    figures.duplicated += 1;
                }
            }
            if let Some(&max) = acked.get(&(run.info.run_id.clone(), key)) {
                figures.lost += (0..=max).filter(|s| !seen.contains(s)).count() as u64;
            }
        }
    }
}
