//! Engine figures that criterion cannot measure, each against its target:
//! several writer processes logging into one store at once, bytes per point
//! on disk, a writer's resident memory over 100 million points, and the
//! end-to-end rates of history reads, run creation and opening a store.
//! Prints one table of medians.
//!
//! `cargo bench -p tracklite --bench engine_report` (about two minutes on
//! two cores); `-- --quick` for a smoke run at a smaller scale, `-- --only
//! bc` for some figures only.
//!
//! Child writers are this binary again, started with [`ROLE_VAR`] set.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tracklite::{Downsample, MetricWriter, NewRun, SeriesHandle, Store, LOG_FILE};

/// Set in a child process: `writer` (one of the concurrent writers) or
/// `rss` (the resident-memory run).
const ROLE_VAR: &str = "TRACKLITE_BENCH_ROLE";
const STORE_VAR: &str = "TRACKLITE_BENCH_STORE";
const RUN_VAR: &str = "TRACKLITE_BENCH_RUN";
const WRITER_VAR: &str = "TRACKLITE_BENCH_WRITER";
const POINTS_VAR: &str = "TRACKLITE_BENCH_POINTS";

/// Every writer spreads its points round-robin over this many metric keys.
const SERIES: u64 = 4;
/// Timestamp of step 0.
const T0: i64 = 1_700_000_000_000;
/// Points between two looks at a writer's resident memory.
const SAMPLE_EVERY: u64 = 1 << 20;
/// A writer's resident memory counts as flat when it never grows by more
/// than this: it maps at most one block (1 MiB) per series at a time.
const FLAT_BOUND_KIB: u64 = 16 << 10;
const PARAMS_PER_RUN: usize = 10;
const TAGS_PER_RUN: usize = 10;

/// How much work each figure does.
struct Scale {
    reps: usize,
    concurrent_writers: u64,
    points_per_writer: u64,
    single_points: u64,
    rss_points: u64,
    rss_reps: usize,
    history_points: u64,
    history_reads: usize,
    runs_per_rep: usize,
    open_runs: usize,
    opens: usize,
}

const FULL: Scale = Scale {
    reps: 5,
    concurrent_writers: 4,
    points_per_writer: 10_000_000,
    single_points: 10_000_000,
    rss_points: 100_000_000,
    rss_reps: 1,
    history_points: 1_000_000,
    history_reads: 11,
    runs_per_rep: 2_000,
    open_runs: 10_000,
    opens: 21,
};

const QUICK: Scale = Scale {
    reps: 3,
    concurrent_writers: 4,
    points_per_writer: 1_000_000,
    single_points: 2_000_000,
    rss_points: 10_000_000,
    rss_reps: 1,
    history_points: 1_000_000,
    history_reads: 5,
    runs_per_rep: 300,
    open_runs: 1_000,
    opens: 5,
};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BenchResult<()> {
    match std::env::var(ROLE_VAR).as_deref() {
        Ok("writer") => return writer_child(),
        Ok("rss") => return rss_child(),
        _ => {}
    }
    // `cargo bench` passes `--bench`; only `--quick` means anything here.
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let scale = if quick { &QUICK } else { &FULL };
    // `--only bd` measures figures (b) and (d) only.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map_or("abcdefg", String::as_str);
    let wanted = |figure: char| only.contains(figure);
    println!(
        "tracklite engine report{}: {} cores, load average {}",
        if quick { " (--quick)" } else { "" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut rows = Vec::new();
    if wanted('a') {
        rows.push(concurrent_writers(scale)?);
    }
    if wanted('b') || wanted('c') {
        rows.extend(single_writer(scale)?);
    }
    if wanted('d') {
        rows.push(resident_memory(scale)?);
    }
    if wanted('e') {
        rows.extend(history_reads(scale)?);
    }
    if wanted('f') {
        rows.push(run_creation(scale)?);
    }
    if wanted('g') {
        rows.push(store_open(scale)?);
    }
    print_table(&rows);
    Ok(())
}

// ---------------------------------------------------------------------------
// The figures

/// (a) Several writer processes append into one run of one store at once.
fn concurrent_writers(scale: &Scale) -> BenchResult<Row> {
    let writers = scale.concurrent_writers;
    let per_writer = scale.points_per_writer;
    let total = writers * per_writer;
    let mut rates = Vec::new();
    let mut with_exit = Vec::new();
    let mut usages = Vec::new();
    for rep in 0..scale.reps {
        let (dir, store) = temp_store()?;
        let run_id = store.create_run(NewRun::default())?.run_id;
        let mut children = (0..writers)
            .map(|w| start_child("writer", store.path(), &run_id, w, per_writer))
            .collect::<BenchResult<Vec<_>>>()?;
        for c in &mut children {
            c.expect_line("ready")?;
        }
        // Every child is open and waiting on its stdin: start them together.
        let start = Instant::now();
        for c in &mut children {
            c.signal_go()?;
        }
        let mut used = Usage::default();
        for c in &mut children {
            used = used + Usage::parse(&c.expect_line("done")?)?;
        }
        let appended = start.elapsed();
        for c in children {
            c.wait()?;
        }
        let exited = start.elapsed();
        let read = count_points(&store, &run_id, writers, per_writer)?;
        if read != total {
            return Err(format!("read back {read} points, {total} were logged").into());
        }
        rates.push(total as f64 / appended.as_secs_f64());
        with_exit.push(total as f64 / exited.as_secs_f64());
        eprintln!(
            "  (a) rep {rep}: {:.1} M points/s until the last append, {:.1} M/s until the last exit; {read} points read back; children {}",
            rates[rep] / 1e6,
            with_exit[rep] / 1e6,
            used.per_point(total)
        );
        usages.push(used.per_point(total));
        drop(store);
        dir.close()?;
    }
    Ok(Row::new(
        "(a) 4 writer processes, one store",
        format!(
            "{writers} procs x {}, {SERIES} keys each",
            millions(per_writer)
        ),
        Target::AtLeast(10e6),
        Measured::rate(rates, "points/s"),
    )
    .note(format!(
        "counting until every child has exited (blocks sealed): median {}; children's CPU per rep: {}",
        fmt_rate(median(&with_exit), "points/s"),
        usages.join(" | ")
    )))
}

/// (b) One writer appending through series handles; (c) the disk space the
/// log then takes per point.
fn single_writer(scale: &Scale) -> BenchResult<Vec<Row>> {
    let points = scale.single_points;
    let mut rates = Vec::new();
    let mut bytes_per_point = Vec::new();
    let mut usages = Vec::new();
    for _ in 0..scale.reps {
        let (dir, store) = temp_store()?;
        let run_id = store.create_run(NewRun::default())?.run_id;
        let mut writer = store.metric_writer(&run_id)?;
        let handles = series_handles(&mut writer, "m")?;
        let before = Usage::now();
        let start = Instant::now();
        append_points(&mut writer, &handles, points, 0.0, |_| {})?;
        rates.push(points as f64 / start.elapsed().as_secs_f64());
        usages.push((Usage::now() - before).per_point(points));
        drop(writer); // seals the blocks, without the sync that close() adds
        bytes_per_point.push(allocated_bytes(&store)? as f64 / points as f64);
        drop(store);
        dir.close()?;
    }
    Ok(vec![
        Row::new(
            "(b) single writer, series handles",
            format!("{} over {SERIES} keys", millions(points)),
            Target::AtLeast(20e6),
            Measured::rate(rates, "points/s"),
        )
        .note(format!("CPU per rep: {}", usages.join(" | "))),
        Row::new(
            "(c) live log bytes per point",
            format!("st_blocks*512 / {}", millions(points)),
            Target::AtMost(32.0),
            Measured::new(bytes_per_point, 3, "B/point"),
        ),
    ])
}

/// (d) A writer's resident memory while it logs many points, in a fresh
/// process so that nothing else this binary did is counted.
fn resident_memory(scale: &Scale) -> BenchResult<Row> {
    let mut starts = Vec::new();
    let mut maxes = Vec::new();
    let mut ends = Vec::new();
    let mut growth = Vec::new();
    let mut notes = Vec::new();
    for _ in 0..scale.rss_reps {
        let (dir, store) = temp_store()?;
        let run_id = store.create_run(NewRun::default())?.run_id;
        let mut child = start_child("rss", store.path(), &run_id, 0, scale.rss_points)?;
        child.expect_line("ready")?;
        child.signal_go()?;
        let line = child.expect_line("rss")?;
        child.wait()?;
        // rss <start> <max> <end> <after drop> <VmHWM> <samples> <secs> (KiB)
        let f: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        starts.push(f[0]);
        maxes.push(f[1]);
        ends.push(f[2]);
        growth.push(f[1] - f[0]);
        notes.push(format!(
            "{} samples; after the writer's drop {} MiB; VmHWM {} MiB; {:.1} M points/s",
            f[5],
            mib(f[3]),
            mib(f[4]),
            scale.rss_points as f64 / f[6] / 1e6
        ));
        drop(store);
        dir.close()?;
    }
    Ok(Row::new(
        "(d) writer VmRSS start/max/end",
        format!(
            "{} over {SERIES} keys, sample/{}",
            millions(scale.rss_points),
            millions(SAMPLE_EVERY)
        ),
        Target::Flat(FLAT_BOUND_KIB as f64),
        Measured {
            values: growth,
            shown: format!(
                "{} / {} / {} MiB",
                mib(median(&starts)),
                mib(median(&maxes)),
                mib(median(&ends))
            ),
            unit: "",
            decimals: 0,
        },
    )
    .note(notes.join("; ")))
}

/// (e) Reading back one key's full history, as rows and as columns, and
/// downsampled for a chart 1,000 pixels wide (what the viewer reads).
fn history_reads(scale: &Scale) -> BenchResult<Vec<Row>> {
    let points = scale.history_points;
    let (dir, store) = temp_store()?;
    let run_id = store.create_run(NewRun::default())?.run_id;
    {
        let mut writer = store.metric_writer(&run_id)?;
        let loss = writer.series("loss")?;
        append_points(&mut writer, &[loss], points, 0.0, |_| {})?;
    }
    let mut rows_ms = Vec::new();
    let mut cols_ms = Vec::new();
    let mut chart_ms = Vec::new();
    let chart = Downsample {
        buckets: 1_000,
        ..Downsample::default()
    };
    for _ in 0..scale.history_reads {
        let start = Instant::now();
        let h = store.metric_history(&run_id, "loss")?;
        rows_ms.push(ms(start.elapsed()));
        let start = Instant::now();
        let c = store.metric_history_columns(&run_id, "loss")?;
        cols_ms.push(ms(start.elapsed()));
        let start = Instant::now();
        let d = store.metric_history_downsampled(&run_id, "loss", &chart)?;
        chart_ms.push(ms(start.elapsed()));
        if h.len() as u64 != points || c.len() as u64 != points || d.count != points {
            return Err(
                format!("history of {} / {} / {} points", h.len(), c.len(), d.count).into(),
            );
        }
    }
    drop(store);
    dir.close()?;
    let workload = format!("{} points, warm cache", millions(points));
    Ok(vec![
        Row::new(
            "(e) history read, metric_history",
            workload.clone(),
            Target::AtMost(10.0),
            Measured::new(rows_ms, 2, "ms"),
        ),
        Row::new(
            "(e) history read, ..._columns",
            workload.clone(),
            Target::AtMost(10.0),
            Measured::new(cols_ms, 2, "ms"),
        ),
        // A chart of the whole series is to draw within 200 ms of asking;
        // the read takes at most a quarter of that.
        Row::new(
            "(e) history read, downsampled to 1,000 buckets",
            workload,
            Target::AtMost(50.0),
            Measured::new(chart_ms, 2, "ms"),
        ),
    ])
}

/// (f) Creating runs with params and tags, one call each.
fn run_creation(scale: &Scale) -> BenchResult<Row> {
    let (params, tags) = params_and_tags();
    let mut rates = Vec::new();
    for _ in 0..scale.reps {
        let (dir, store) = temp_store()?;
        let start = Instant::now();
        for _ in 0..scale.runs_per_rep {
            // One transaction: the run with its params and tags.
            store.create_run(NewRun {
                params: params.clone(),
                tags: tags.clone(),
                ..NewRun::default()
            })?;
        }
        rates.push(scale.runs_per_rep as f64 / start.elapsed().as_secs_f64());
        drop(store);
        dir.close()?;
    }
    Ok(Row::new(
        "(f) create run + 10 params + 10 tags",
        format!("{} runs per rep", scale.runs_per_rep),
        Target::AtLeast(5_000.0),
        Measured::rate(rates, "runs/s"),
    ))
}

/// (g) Opening a store that holds many runs, each with params, tags and a
/// metric.
fn store_open(scale: &Scale) -> BenchResult<Row> {
    let (params, tags) = params_and_tags();
    let (dir, store) = temp_store()?;
    for _ in 0..scale.open_runs {
        let run_id = store.create_run(NewRun::default())?.run_id;
        store.log_params_and_tags(&run_id, &params, &tags)?;
        let mut writer = store.metric_writer(&run_id)?;
        let loss = writer.series("loss")?;
        append_points(&mut writer, &[loss], 10, 0.0, |_| {})?;
    }
    let path = store.path().to_path_buf();
    drop(store);
    let mut open_ms = Vec::new();
    for _ in 0..scale.opens {
        let start = Instant::now();
        let store = Store::open(&path)?;
        open_ms.push(ms(start.elapsed()));
        drop(store);
    }
    dir.close()?;
    Ok(Row::new(
        "(g) Store::open",
        format!("{} runs, 10 points each", scale.open_runs),
        Target::AtMost(20.0),
        Measured::new(open_ms, 2, "ms"),
    ))
}

// ---------------------------------------------------------------------------
// Child processes

/// A child writer: opens the store, makes its series, says `ready`, waits
/// for the go line on stdin, appends, says `done <user s> <sys s> <faults>`.
fn writer_child() -> BenchResult<()> {
    let (store, run_id, id, points) = child_setup()?;
    let mut writer = store.metric_writer(&run_id)?;
    let handles = series_handles(&mut writer, &format!("w{id}/m"))?;
    wait_for_go()?;
    let before = Usage::now();
    append_points(&mut writer, &handles, points, id as f64, |_| {})?;
    let used = Usage::now() - before;
    println!("done {} {} {}", used.user, used.sys, used.faults);
    std::io::stdout().flush()?;
    // Seals the blocks; the parent reads the points back afterwards.
    drop(writer);
    Ok(())
}

/// The resident-memory child: samples VmRSS every [`SAMPLE_EVERY`] points
/// and reports `rss <start> <max> <end> <after drop> <VmHWM> <samples>
/// <seconds>`, sizes in KiB.
fn rss_child() -> BenchResult<()> {
    let (store, run_id, _, points) = child_setup()?;
    let mut writer = store.metric_writer(&run_id)?;
    let handles = series_handles(&mut writer, "m")?;
    wait_for_go()?;
    let start_kib = proc_status_kib("VmRSS")?;
    let mut max_kib = start_kib;
    let mut samples = 1u64;
    let start = Instant::now();
    append_points(&mut writer, &handles, points, 0.0, |_| {
        if let Ok(kib) = proc_status_kib("VmRSS") {
            max_kib = max_kib.max(kib);
            samples += 1;
        }
    })?;
    let secs = start.elapsed().as_secs_f64();
    let end_kib = proc_status_kib("VmRSS")?;
    max_kib = max_kib.max(end_kib);
    drop(writer);
    let dropped_kib = proc_status_kib("VmRSS")?;
    let hwm_kib = proc_status_kib("VmHWM")?;
    println!("rss {start_kib} {max_kib} {end_kib} {dropped_kib} {hwm_kib} {samples} {secs}");
    Ok(())
}

fn child_setup() -> BenchResult<(Store, String, u64, u64)> {
    let var = |name: &str| std::env::var(name).map_err(|e| format!("{name}: {e}"));
    let store = Store::open(var(STORE_VAR)?)?;
    Ok((
        store,
        var(RUN_VAR)?,
        var(WRITER_VAR)?.parse()?,
        var(POINTS_VAR)?.parse()?,
    ))
}

/// Says `ready` and blocks until the parent writes the go line.
fn wait_for_go() -> BenchResult<()> {
    println!("ready");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(())
}

/// A child process, its stdin (the start signal) and its stdout lines.
struct ChildProc {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

fn start_child(
    role: &str,
    store: &Path,
    run_id: &str,
    id: u64,
    points: u64,
) -> BenchResult<ChildProc> {
    let mut child = Command::new(std::env::current_exe()?)
        .env(ROLE_VAR, role)
        .env(STORE_VAR, store)
        .env(RUN_VAR, run_id)
        .env(WRITER_VAR, id.to_string())
        .env(POINTS_VAR, points.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    Ok(ChildProc {
        stdin: child.stdin.take(),
        stdout: BufReader::new(child.stdout.take().ok_or("no child stdout")?),
        child,
    })
}

impl ChildProc {
    /// The child's next line, which must start with `word`.
    fn expect_line(&mut self, word: &str) -> BenchResult<String> {
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        if !line.starts_with(word) {
            return Err(format!("child said {line:?}, expected {word:?}").into());
        }
        Ok(line.trim_end().to_string())
    }

    fn signal_go(&mut self) -> BenchResult<()> {
        let mut stdin = self.stdin.take().ok_or("start signal sent twice")?;
        stdin.write_all(b"go\n")?;
        Ok(())
    }

    fn wait(mut self) -> BenchResult<()> {
        let status = self.child.wait()?;
        if !status.success() {
            return Err(format!("child writer failed: {status}").into());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Shared helpers

fn temp_store() -> BenchResult<(TempDir, Store)> {
    let dir = tempfile::Builder::new()
        .prefix("tracklite-bench-")
        .tempdir()?;
    let store = Store::open(dir.path().join("store"))?;
    Ok((dir, store))
}

fn series_handles(writer: &mut MetricWriter, prefix: &str) -> BenchResult<Vec<SeriesHandle>> {
    (0..SERIES)
        .map(|k| Ok(writer.series(&format!("{prefix}{k}"))?))
        .collect()
}

/// Appends `points` points round-robin over `handles`: step `s` of each key
/// has value `s / 2 + salt`. Calls `every_chunk` after each
/// [`SAMPLE_EVERY`] points.
#[inline(never)]
fn append_points(
    writer: &mut MetricWriter,
    handles: &[SeriesHandle],
    points: u64,
    salt: f64,
    mut every_chunk: impl FnMut(u64),
) -> BenchResult<()> {
    let n = handles.len() as u64;
    let mut i = 0;
    while i < points {
        let end = (i + SAMPLE_EVERY).min(points);
        for j in i..end {
            let step = (j / n) as i64;
            let handle = handles[(j % n) as usize];
            writer.append(handle, step as f64 * 0.5 + salt, T0 + step, step)?;
        }
        every_chunk(end);
        i = end;
    }
    Ok(())
}

/// Reads back every key the concurrent writers logged and checks each
/// point; returns the number of points.
fn count_points(store: &Store, run_id: &str, writers: u64, per_writer: u64) -> BenchResult<u64> {
    let mut total = 0;
    for w in 0..writers {
        for k in 0..SERIES {
            let key = format!("w{w}/m{k}");
            let c = store.metric_history_columns(run_id, &key)?;
            let expected = per_writer / SERIES + u64::from(k < per_writer % SERIES);
            if c.len() as u64 != expected {
                return Err(format!("{key}: {} points, expected {expected}", c.len()).into());
            }
            for (s, (&step, &value)) in c.steps.iter().zip(&c.values).enumerate() {
                if step != s as i64 || value != step as f64 * 0.5 + w as f64 {
                    return Err(format!("{key}: point {s} is ({step}, {value})").into());
                }
            }
            total += c.len() as u64;
        }
    }
    Ok(total)
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

fn allocated_bytes(store: &Store) -> BenchResult<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata(store.path().join(LOG_FILE))?.blocks() * 512)
}

/// A field of /proc/self/status, in KiB.
fn proc_status_kib(field: &str) -> BenchResult<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
        .ok_or_else(|| format!("no {field} in /proc/self/status"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or("empty status line")?
        .parse()?)
}

/// CPU time and page faults (minor and major) of this process.
#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    user: f64,
    sys: f64,
    faults: i64,
}

impl Usage {
    fn now() -> Usage {
        // SAFETY: `rusage` holds only integers and timevals of integers, for
        // which all-zero bytes are a valid value.
        let mut r: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage only writes into the struct it is given.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut r) };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        Usage {
            user: secs(r.ru_utime),
            sys: secs(r.ru_stime),
            faults: r.ru_minflt + r.ru_majflt,
        }
    }

    /// Reads `done <user> <sys> <faults>`.
    fn parse(line: &str) -> BenchResult<Usage> {
        let f: Vec<&str> = line.split_whitespace().skip(1).collect();
        if f.len() != 3 {
            return Err(format!("unexpected child line {line:?}").into());
        }
        Ok(Usage {
            user: f[0].parse()?,
            sys: f[1].parse()?,
            faults: f[2].parse()?,
        })
    }

    fn per_point(self, points: u64) -> String {
        let pages = (points as f64 * 32.0 / 4096.0).max(1.0);
        format!(
            "user {:.0} + sys {:.0} ns/point, {:.2} faults per 4 KiB",
            self.user / points as f64 * 1e9,
            self.sys / points as f64 * 1e9,
            self.faults as f64 / pages
        )
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(self, o: Usage) -> Usage {
        Usage {
            user: self.user + o.user,
            sys: self.sys + o.sys,
            faults: self.faults + o.faults,
        }
    }
}

impl std::ops::Sub for Usage {
    type Output = Usage;
    fn sub(self, o: Usage) -> Usage {
        Usage {
            user: self.user - o.user,
            sys: self.sys - o.sys,
            faults: self.faults - o.faults,
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(kib: f64) -> String {
    format!("{:.1}", kib / 1024.0)
}

fn millions(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else {
        n.to_string()
    }
}

fn fmt_rate(v: f64, unit: &str) -> String {
    if v >= 1e6 {
        format!("{:.2} M {unit}", v / 1e6)
    } else {
        format!("{v:.0} {unit}")
    }
}

// ---------------------------------------------------------------------------
// The table

enum Target {
    AtLeast(f64),
    AtMost(f64),
    /// Growth of the measured value (KiB) at most this.
    Flat(f64),
}

struct Measured {
    values: Vec<f64>,
    /// How the median is shown, with its unit.
    shown: String,
    unit: &'static str,
    decimals: usize,
}

impl Measured {
    fn new(values: Vec<f64>, decimals: usize, unit: &'static str) -> Measured {
        let shown = format!("{:.*} {unit}", decimals, median(&values));
        Measured {
            values,
            shown,
            unit,
            decimals,
        }
    }

    fn rate(values: Vec<f64>, unit: &'static str) -> Measured {
        let shown = fmt_rate(median(&values), unit);
        Measured {
            values,
            shown,
            unit,
            decimals: 0,
        }
    }
}

struct Row {
    figure: &'static str,
    workload: String,
    target: Target,
    measured: Measured,
    note: Option<String>,
}

impl Row {
    fn new(figure: &'static str, workload: String, target: Target, measured: Measured) -> Row {
        Row {
            figure,
            workload,
            target,
            measured,
            note: None,
        }
    }

    fn note(mut self, note: String) -> Row {
        self.note = Some(note);
        self
    }

    fn target_text(&self) -> String {
        let unit = self.measured.unit;
        match self.target {
            Target::AtLeast(t) => format!(">= {}", fmt_rate(t, unit)),
            Target::AtMost(t) => format!("<= {t} {unit}"),
            Target::Flat(kib) => format!("flat (+<= {} MiB)", mib(kib)),
        }
    }

    fn met(&self) -> bool {
        let m = median(&self.measured.values);
        match self.target {
            Target::AtLeast(t) => m >= t,
            Target::AtMost(t) | Target::Flat(t) => m <= t,
        }
    }

    fn spread(&self) -> String {
        let v = &self.measured.values;
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        match self.target {
            Target::Flat(_) => format!("n={}, growth {} MiB", v.len(), mib(hi)),
            Target::AtLeast(_) if self.measured.unit.ends_with("/s") && lo >= 1e6 => {
                format!("n={}, {:.2}..{:.2} M", v.len(), lo / 1e6, hi / 1e6)
            }
            _ => format!(
                "n={}, {:.*}..{:.*}",
                v.len(),
                self.measured.decimals,
                lo,
                self.measured.decimals,
                hi
            ),
        }
    }
}

fn print_table(rows: &[Row]) {
    let header = ["figure", "workload", "target", "median", "spread", "result"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.to_string(),
                r.workload.clone(),
                r.target_text(),
                r.measured.shown.clone(),
                r.spread(),
                if r.met() { "met" } else { "NOT MET" }.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let padded: Vec<String> = cols
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    println!();
    line(&header.map(String::from));
    line(&widths.map(|w| "-".repeat(w)));
    for row in &cells {
        line(row);
    }
    println!();
    for r in rows.iter().filter(|r| r.note.is_some()) {
        println!("{}: {}", r.figure, r.note.as_deref().unwrap_or_default());
    }
}
