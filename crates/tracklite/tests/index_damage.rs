//! Damage to the index (`index.sqlite` and its WAL): a changed byte is an
//! error naming the page, never a wrong value, and `check` reports it as it
//! reports damage to the metric log.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use tracklite::{Error, IndexErrorKind, NewRun, Store, INDEX_FILE};

const PAGE_SIZE: u64 = 1024;
const NEEDLE: &str = "needle-value-0123456789";

/// A closed store with one run tagged `note` = [`NEEDLE`].
fn tagged_store(dir: &Path) -> (PathBuf, String) {
    let path = dir.join("store");
    let store = Store::open(&path).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    store.set_tag(&run_id, "note", NEEDLE).unwrap();
    drop(store);
    (path, run_id)
}

/// Every offset of `needle` in the file at `path`.
fn find_all(path: &Path, needle: &[u8]) -> Vec<u64> {
    let bytes = std::fs::read(path).unwrap();
    bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i as u64)
        .collect()
}

/// Flips one byte of the file at `path`, at `offset`, into another letter.
fn flip(path: &Path, offset: u64) {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8; 1];
    file.read_exact_at(&mut b, offset).unwrap();
    b[0] ^= 0x20; // 'e' -> 'E': still a valid string, just another one
    file.write_all_at(&b, offset).unwrap();
}

/// The error is Corrupt and names one of `places` (such as "page 7 ").
fn expect_corrupt<T: std::fmt::Debug>(result: tracklite::Result<T>, places: &[String]) -> String {
    match result {
        Err(Error::Index(e)) => {
            assert_eq!(e.kind(), IndexErrorKind::Corrupt, "{e}");
            assert!(
                places.iter().any(|p| e.message().contains(p.as_str())),
                "the error names the page ({places:?}): {e}"
            );
            e.message().to_string()
        }
        other => panic!("expected a Corrupt index error, got {other:?}"),
    }
}

#[test]
fn a_changed_byte_in_a_tag_value_is_an_error_and_check_names_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let (path, run_id) = tagged_store(dir.path());
    let index = path.join(INDEX_FILE);
    let at = find_all(&index, NEEDLE.as_bytes());
    assert!(
        !at.is_empty(),
        "the tag value is in the closed store's index"
    );
    // The value is in the tags table and in its index: damage both.
    let pages: Vec<u64> = at.iter().map(|a| a / PAGE_SIZE + 1).collect();
    for a in &at {
        flip(&index, a + 1);
    }

    let store = Store::open(&path).unwrap();
    let places: Vec<String> = pages.iter().map(|p| format!("page {p} ")).collect();
    expect_corrupt(store.get_run(&run_id), &places);

    let report = store.check(false).unwrap();
    assert!(!report.is_clean(), "{report}");
    for page in &pages {
        let named = report
            .problems
            .iter()
            .any(|p| p.place == format!("{INDEX_FILE} page {page}"));
        assert!(named, "check names damaged page {page}: {report}");
    }
    assert!(
        report.notes.iter().any(|n| n.contains("backup")),
        "check says how to get out: {report}"
    );
    // Repair cannot rebuild the page, and says so rather than failing.
    let repaired = store.check(true).unwrap();
    assert!(!repaired.is_clean(), "{repaired}");
}

#[test]
fn an_intact_store_checks_clean_with_every_page_read() {
    let dir = tempfile::tempdir().unwrap();
    let (path, run_id) = tagged_store(dir.path());
    let store = Store::open(&path).unwrap();
    assert_eq!(store.get_run(&run_id).unwrap().tags["note"], NEEDLE);
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
}

/// Remakes the index at `index` as tracklite 0.1 (schema 6) wrote it: no
/// reserved bytes per page. Copies every table through a plain connection.
/// The tables of a version 6 index (versions 1 to 6 add them and are never
/// changed); later versions' tables are left out of the old copy.
const V6_TABLES: &[&str] = &[
    "meta",
    "experiments",
    "experiment_tags",
    "runs",
    "params",
    "tags",
    "metric_series",
    "metric_blocks",
    "datasets",
    "inputs",
    "input_tags",
    "freed_pages",
    "logged_models",
    "logged_model_tags",
    "logged_model_params",
    "logged_model_metrics",
    "run_model_outputs",
    "run_model_inputs",
    "metric_dataset_links",
];

/// What later versions add to version 6's tables (version 10: an index and
/// triggers on `runs`; version 11: the partial metric indexes), left out of
/// the old copy; version 10 dropped this version 1 index and version 11
/// replaced the version 2 metric index, which the old copy gets back.
const LATER_OBJECTS: &[&str] = &[
    "runs_by_start",
    "run_counts_on_insert",
    "run_counts_on_delete",
    "run_counts_on_move",
    "metric_series_by_key",
    "metric_series_nan",
];
const V1_RUNS_INDEX: &str = "CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time)";
/// The metric index as schema 2 to 10 had it.
const V2_METRIC_INDEX: &str =
    "CREATE INDEX metric_series_by_key ON metric_series (key, last_value)";

fn make_old(index: &Path) {
    let old = index.with_extension("old");
    {
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch("PRAGMA page_size = 1024; PRAGMA journal_mode = WAL;")
            .unwrap();
        conn.execute("ATTACH ?1 AS cur", [index.to_str().unwrap()])
            .unwrap();
        let objects: Vec<(String, String, String)> = {
            let mut stmt = conn
                .prepare(
                    "SELECT type, name, sql FROM cur.sqlite_master
                     WHERE sql IS NOT NULL AND tbl_name IN (SELECT value FROM json_each(?1))
                         AND name NOT IN (SELECT value FROM json_each(?2))
                     ORDER BY type = 'index', rowid",
                )
                .unwrap();
            let old_tables = serde_json::to_string(V6_TABLES).unwrap();
            let later = serde_json::to_string(LATER_OBJECTS).unwrap();
            let rows = stmt
                .query_map([old_tables, later], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .unwrap();
            rows.map(|r| r.unwrap()).collect()
        };
        for (kind, name, sql) in &objects {
            conn.execute_batch(sql).unwrap();
            if kind == "table" {
                conn.execute_batch(&format!(
                    "INSERT INTO main.\"{name}\" SELECT * FROM cur.\"{name}\""
                ))
                .unwrap();
            }
        }
        conn.execute_batch(V1_RUNS_INDEX).unwrap();
        conn.execute_batch(V2_METRIC_INDEX).unwrap();
        conn.execute_batch(
            "DETACH cur; DELETE FROM meta WHERE key = 'page_checksums';
             PRAGMA user_version = 6;",
        )
        .unwrap();
        let reserve: u8 = std::fs::read(&old).unwrap()[20];
        assert_eq!(reserve, 0, "an old index keeps no reserved bytes");
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = index.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
    std::fs::rename(&old, index).unwrap();
}

#[test]
fn an_old_store_is_migrated_and_then_detects_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (path, run_id) = tagged_store(dir.path());
    let index = path.join(INDEX_FILE);
    make_old(&index);
    assert_eq!(std::fs::read(&index).unwrap()[20], 0);

    // Opening migrates: every page gets its checksum; nothing is lost.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.get_run(&run_id).unwrap().tags["note"], NEEDLE);
    assert!(store.check(false).unwrap().is_clean());
    drop(store);
    assert_eq!(
        std::fs::read(&index).unwrap()[20],
        8,
        "reserve after migration"
    );
    let conn = Connection::open(&index).unwrap();
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, tracklite::format::SCHEMA_VERSION);
    drop(conn);

    let at = find_all(&index, NEEDLE.as_bytes());
    let pages: Vec<u64> = at.iter().map(|a| a / PAGE_SIZE + 1).collect();
    for a in &at {
        flip(&index, a + 2);
    }
    let store = Store::open(&path).unwrap();
    let places: Vec<String> = pages.iter().map(|p| format!("page {p} ")).collect();
    expect_corrupt(store.get_run(&run_id), &places);
    let report = store.check(false).unwrap();
    for page in &pages {
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.place == format!("{INDEX_FILE} page {page}")),
            "{report}"
        );
    }
}

#[test]
fn a_damaged_page_image_in_the_wal_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    // One store stays open, so that its WAL is neither checkpointed nor
    // recovered: the tag's page is read from its WAL frame.
    let keeper = Store::open(&path).unwrap();
    let run_id = keeper.create_run(NewRun::default()).unwrap().run_id;
    keeper.set_tag(&run_id, "note", NEEDLE).unwrap();
    let wal = path.join(format!("{INDEX_FILE}-wal"));
    let at = find_all(&wal, NEEDLE.as_bytes());
    assert!(!at.is_empty(), "the tag value is in the WAL");
    // Damage every frame that holds the value (the tags table's page and
    // its index's): whichever a reader uses is damaged.
    for a in &at {
        flip(&wal, a + 1);
    }
    let frames: Vec<String> = at
        .iter()
        .map(|a| format!("frame {} ", (a - 32) / (24 + PAGE_SIZE) + 1))
        .collect();

    let reader = Store::open(&path).unwrap();
    let message = match reader.get_run(&run_id) {
        Err(Error::Index(e)) => {
            assert_eq!(e.kind(), IndexErrorKind::Corrupt, "{e}");
            e.message().to_string()
        }
        other => panic!("expected a Corrupt index error, got {other:?}"),
    };
    assert!(
        frames.iter().any(|f| message.contains(f.as_str())),
        "{message}"
    );
    assert!(message.contains("-wal"), "{message}");
    drop(reader);
    drop(keeper);
}

#[test]
fn a_killed_writer_leaves_a_wal_that_verifies() {
    // A child process writes and is killed without closing: its WAL is
    // recovered by the next open, and every page image in it verifies.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    drop(store);
    // SAFETY: the child only calls the store and exits abruptly (no
    // unwinding, no atexit handlers: the WAL is left as a kill leaves it).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let store = Store::open(&path).unwrap();
        for i in 0..200 {
            store
                .set_tag(&run_id, &format!("k{i}"), &format!("{NEEDLE}-{i}"))
                .unwrap();
        }
        // SAFETY: ends the child at once, as SIGKILL would.
        unsafe { libc::_exit(0) };
    }
    wait_for(pid);
    let wal = path.join(format!("{INDEX_FILE}-wal"));
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the WAL is left"
    );
    let store = Store::open(&path).unwrap();
    let run = store.get_run(&run_id).unwrap();
    assert_eq!(run.tags["k199"], format!("{NEEDLE}-199"));
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
}

fn wait_for(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is writable.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid);
    assert_eq!(status, 0, "the child wrote and exited");
}
