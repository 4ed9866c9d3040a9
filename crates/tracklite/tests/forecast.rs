//! A run created where this process last ended a run gets that run's
//! metric series made ahead, in its creating commit (`store/forecast.rs`):
//! its writer uses them instead of making its own, a key it never logs
//! stays invisible, and every block made ahead is sealed in the end.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use common::spawn_child;
use rusqlite::{Connection, OpenFlags};
use tracklite::{NewRun, RunStatus, Store, ViewType, INDEX_FILE};

const STORE_VAR: &str = "TRACKLITE_TEST_FORECAST_STORE";

/// The index, read beside the store.
fn index(root: &Path) -> Connection {
    let vfs = tracklite::format::index_vfs().unwrap();
    Connection::open_with_flags_and_vfs(
        root.join(INDEX_FILE),
        OpenFlags::SQLITE_OPEN_READ_ONLY,
        vfs,
    )
    .unwrap()
}

/// (series, blocks, unsealed blocks) of run `run_id`, from the index.
fn made(root: &Path, run_id: &str) -> (i64, i64, i64) {
    let conn = index(root);
    let count = |sql: &str| -> i64 { conn.query_row(sql, [run_id], |r| r.get(0)).unwrap() };
    (
        count("SELECT count(*) FROM metric_series WHERE run_uuid = ?1"),
        count(
            "SELECT count(*) FROM metric_blocks b JOIN metric_series s USING (series_id)
             WHERE s.run_uuid = ?1",
        ),
        count(
            "SELECT count(*) FROM metric_blocks b JOIN metric_series s USING (series_id)
             WHERE s.run_uuid = ?1 AND b.sealed = 0",
        ),
    )
}

fn new_run(store: &Store, experiment_id: &str) -> String {
    store
        .create_run(NewRun {
            experiment_id: Some(experiment_id.to_string()),
            ..NewRun::default()
        })
        .unwrap()
        .run_id
}

/// A run that logs `keys` once each through a writer and ends.
fn logged_run(store: &Store, experiment_id: &str, keys: &[&str], value: f64) -> String {
    let run_id = new_run(store, experiment_id);
    let mut writer = store.metric_writer(&run_id).unwrap();
    for handle in writer.series_many(keys).unwrap() {
        writer.append(handle, value, 1_000, 0).unwrap();
    }
    writer.end_run(RunStatus::Finished).unwrap();
    run_id
}

fn search_ids(store: &Store, experiment_id: &str, filter: &str, order: &[&str]) -> Vec<String> {
    let page = store
        .search_runs(
            &[experiment_id],
            filter,
            ViewType::ActiveOnly,
            100,
            order,
            None,
        )
        .unwrap();
    page.runs.into_iter().map(|r| r.info.run_id).collect()
}

#[test]
fn a_sweep_run_takes_the_series_made_ahead_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root).unwrap();
    let exp = store.create_experiment("sweep", None, &[]).unwrap();

    // The first run makes its series as it logs them.
    let first = logged_run(&store, &exp, &["acc", "loss"], 0.5);
    assert_eq!(made(&root, &first), (2, 2, 0));

    // The next one has them from its creation, one block each, before any
    // writer: and its writer adds no block of its own.
    let second = new_run(&store, &exp);
    assert_eq!(made(&root, &second), (2, 2, 2));
    let mut writer = store.metric_writer(&second).unwrap();
    for handle in writer.series_many(&["acc", "loss"]).unwrap() {
        writer.append(handle, 0.75, 2_000, 1).unwrap();
    }
    assert_eq!(made(&root, &second), (2, 2, 2));
    writer.end_run(RunStatus::Finished).unwrap();
    assert_eq!(made(&root, &second), (2, 2, 0));

    let run = store.get_run(&second).unwrap();
    assert_eq!(run.metrics.len(), 2);
    assert_eq!(run.metrics["acc"].value, 0.75);
    assert_eq!(run.metrics["loss"].step, 1);
    assert_eq!(store.metric_history(&second, "acc").unwrap().len(), 1);
    assert!(store.check(false).unwrap().is_clean());
}

#[test]
fn a_key_made_ahead_and_never_logged_stays_invisible() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root).unwrap();
    let exp = store.create_experiment("sweep", None, &[]).unwrap();
    let first = logged_run(&store, &exp, &["acc", "loss"], 0.5);

    let second = new_run(&store, &exp);
    // Before anything is logged: no metric, and no search sees one.
    assert!(store.get_run(&second).unwrap().metrics.is_empty());
    assert_eq!(
        search_ids(&store, &exp, "metrics.loss != 7", &[]),
        vec![first.clone()]
    );
    assert_eq!(
        search_ids(&store, &exp, "metrics.loss > -1e9", &[]),
        vec![first.clone()]
    );
    // Ordered by the metric, the run without it comes last.
    assert_eq!(
        search_ids(&store, &exp, "", &["metrics.loss DESC"]),
        vec![first.clone(), second.clone()]
    );

    // It logs only "acc": "loss" stays absent, its empty block sealed.
    let mut writer = store.metric_writer(&second).unwrap();
    let acc = writer.series("acc").unwrap();
    writer.append(acc, 0.9, 3_000, 0).unwrap();
    writer.end_run(RunStatus::Finished).unwrap();
    let run = store.get_run(&second).unwrap();
    assert_eq!(run.metrics.keys().collect::<Vec<_>>(), vec!["acc"]);
    assert!(store.metric_history(&second, "loss").unwrap().is_empty());
    assert_eq!(made(&root, &second), (2, 2, 0));
    assert_eq!(
        search_ids(&store, &exp, "metrics.loss != 7", &[]),
        vec![first.clone()]
    );

    // Compaction rewrites the ended runs' blocks, the empty one too.
    store.compact(&mut |_| {}).unwrap();
    let run = store.get_run(&second).unwrap();
    assert_eq!(run.metrics.keys().collect::<Vec<_>>(), vec!["acc"]);
    assert_eq!(run.metrics["acc"].value, 0.9);
    assert!(store.metric_history(&second, "loss").unwrap().is_empty());
    assert_eq!(store.metric_history(&first, "loss").unwrap().len(), 1);
    assert_eq!(
        search_ids(&store, &exp, "metrics.loss != 7", &[]),
        vec![first]
    );
    assert!(store.check(false).unwrap().is_clean());

    // The run after that gets only what the last one logged.
    let third = new_run(&store, &exp);
    assert_eq!(made(&root, &third).0, 1);
    assert!(store.check(false).unwrap().is_clean());
}

#[test]
fn series_are_made_ahead_only_in_the_experiment_that_logged_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root).unwrap();
    let exp = store.create_experiment("sweep", None, &[]).unwrap();
    let other = store.create_experiment("other", None, &[]).unwrap();
    logged_run(&store, &exp, &["acc"], 0.5);

    let elsewhere = new_run(&store, &other);
    assert_eq!(made(&root, &elsewhere), (0, 0, 0));
    // Nor in another process (a store opened anew knows no keys).
    drop(store);
    let store = Store::open(&root).unwrap();
    let fresh = new_run(&store, &exp);
    assert_eq!(made(&root, &fresh), (0, 0, 0));
}

#[test]
fn a_run_ended_without_a_writer_seals_what_was_made_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root).unwrap();
    let exp = store.create_experiment("sweep", None, &[]).unwrap();
    logged_run(&store, &exp, &["acc", "loss", "f1"], 0.5);

    let quiet = new_run(&store, &exp);
    assert_eq!(made(&root, &quiet), (3, 3, 3));
    store.end_run(&quiet, RunStatus::Finished).unwrap();
    assert_eq!(made(&root, &quiet), (3, 3, 0));
    let run = store.get_run(&quiet).unwrap();
    assert_eq!(run.info.status, RunStatus::Finished);
    assert!(run.metrics.is_empty());
    assert!(store.check(false).unwrap().is_clean());
}

/// The child: ends a run that logged "acc", creates the next (its series
/// made ahead), prints its id, and waits to be killed.
#[test]
fn forecast_child_entry() {
    let Ok(path) = std::env::var(STORE_VAR) else {
        return;
    };
    let store = Store::open(path).unwrap();
    let exp = store.create_experiment("sweep", None, &[]).unwrap();
    logged_run(&store, &exp, &["acc"], 0.5);
    let next = new_run(&store, &exp);
    // The harness may have begun the line ("test ... "): a marker, then.
    println!("made-ahead-run={next}");
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::park();
    }
}

#[test]
fn blocks_made_ahead_by_a_killed_process_are_sealed_by_recovery() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let mut child = spawn_child(
        "forecast_child_entry",
        &[(STORE_VAR, root.to_string_lossy().into_owned())],
    );
    let stdout = child.stdout.take().unwrap();
    let run_id = BufReader::new(stdout)
        .lines()
        .map(|l| l.unwrap())
        .find_map(|l| l.split_once("made-ahead-run=").map(|(_, id)| id.to_owned()))
        .expect("the child names its run");
    assert_eq!(made(&root, &run_id), (1, 1, 1));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // Opening finds the dead writer's empty block and seals it.
    let store = Store::open(&root).unwrap();
    assert_eq!(made(&root, &run_id), (1, 1, 0));
    let run = store.get_run(&run_id).unwrap();
    assert_eq!(run.info.status, RunStatus::Running);
    assert!(run.metrics.is_empty());
    assert!(store.check(false).unwrap().is_clean());
}

/// When the series cannot be made ahead (here the disk has no room for
/// their blocks), the run is created without them, and its writer makes
/// them once there is room. Runs on a small tmpfs of its own (root, for
/// mount); skipped otherwise.
#[test]
fn a_run_is_created_when_its_series_cannot_be_made_ahead() {
    let _serial = common::serial();
    common::on_small_disk("8m", made_ahead_on_a_full_disk);
}

fn made_ahead_on_a_full_disk(mnt: &Path) {
    let root = mnt.join("store");
    let store = Store::open(&root).unwrap();
    let exp = store.create_experiment("sweep", None, &[]).unwrap();
    // 64 keys: their first blocks take 256 KiB of the log.
    let keys: Vec<String> = (0..64).map(|i| format!("m{i:02}")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    logged_run(&store, &exp, &key_refs, 0.5);
    // Checkpointed: the next commit reuses the WAL file's space.
    store.flush().unwrap();

    // Fill the disk, then free 64 KiB: room for the creating commit's
    // frames, none for the blocks.
    let filler = common::fill_disk(mnt);
    let len = std::fs::metadata(&filler).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(len - (64 << 10))
        .unwrap();

    let run_id = new_run(&store, &exp);
    assert_eq!(made(&root, &run_id), (0, 0, 0));
    assert_eq!(
        store.get_run(&run_id).unwrap().info.status,
        RunStatus::Running
    );

    // Room again: the writer makes its series as it logs.
    std::fs::remove_file(&filler).unwrap();
    let mut writer = store.metric_writer(&run_id).unwrap();
    let m = writer.series("m00").unwrap();
    writer.append(m, 1.5, 1_000, 0).unwrap();
    writer.end_run(RunStatus::Finished).unwrap();
    assert_eq!(made(&root, &run_id), (1, 1, 0));
    assert_eq!(store.get_run(&run_id).unwrap().metrics["m00"].value, 1.5);
    assert!(store.check(false).unwrap().is_clean());
}
