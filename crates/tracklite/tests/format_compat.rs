//! The store on disk: a fixed set of files whatever the number of runs and
//! keys, refusal of stores written by a newer tracklite and of files that
//! are not tracklite's, migration of an older index on open, and a format
//! document that states the versions the code writes.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use tracklite::format::{LOG_VERSION, SCHEMA_VERSION};
use tracklite::{
    Error, FormatError, Metric, NewRun, RunStatus, Store, ViewType, ARTIFACTS_DIR, INDEX_FILE,
    LOG_FILE,
};

/// The tables of the version-1 index schema with their columns. A later
/// migration may add tables, indexes or columns; taking a store back to
/// version 1 removes whatever is not listed here.
const V1_TABLES: &[(&str, &[&str])] = &[
    ("meta", &["key", "value"]),
    (
        "experiments",
        &[
            "experiment_id",
            "name",
            "artifact_location",
            "lifecycle_stage",
            "creation_time",
            "last_update_time",
        ],
    ),
    ("experiment_tags", &["experiment_id", "key", "value"]),
    (
        "runs",
        &[
            "run_uuid",
            "experiment_id",
            "name",
            "user_id",
            "status",
            "start_time",
            "end_time",
            "lifecycle_stage",
            "artifact_uri",
            "parent_run_id",
            "deleted_time",
        ],
    ),
    ("params", &["run_uuid", "key", "value"]),
    ("tags", &["run_uuid", "key", "value"]),
    (
        "metric_series",
        &[
            "series_id",
            "run_uuid",
            "key",
            "count",
            "last_step",
            "last_timestamp",
            "last_bits",
            "last_value",
            "min_value",
            "max_value",
        ],
    ),
    (
        "metric_blocks",
        &[
            "first_page",
            "series_id",
            "pages",
            "writer_pid",
            "summarized",
            "sealed",
        ],
    ),
];
/// The indexes of the version-1 schema.
const V1_INDEXES: &[&str] = &[
    "runs_by_experiment",
    "metric_blocks_by_series",
    "metric_blocks_open",
];
/// The indexes version 2 adds.
const V2_INDEXES: &[&str] = &[
    "params_by_key",
    "tags_by_key",
    "metric_series_by_key",
    "runs_by_stage",
];

/// The tables versions 6 and later add: taking a store back to version 5
/// drops them.
const AFTER_V5_TABLES: &[&str] = &[
    "metric_dataset_links",
    "registered_models",
    "registered_model_tags",
    "model_versions",
    "model_version_tags",
    "registered_model_aliases",
    "export_targets",
    "export_experiments",
    "export_runs",
    "export_values",
    "export_series",
    "export_artifacts",
    "export_objects",
    "run_counts",
];
/// What version 10 adds besides its table: an index and triggers on `runs`
/// (`DROP` statements); and the version 1 index it replaces.
const V10_RUNS_OBJECTS: &[(&str, &str)] = &[
    ("INDEX", "runs_by_start"),
    ("TRIGGER", "run_counts_on_insert"),
    ("TRIGGER", "run_counts_on_delete"),
    ("TRIGGER", "run_counts_on_move"),
];
const V1_RUNS_INDEX: &str = "CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time)";
/// The metric index as schema 2 to 10 had it: every series, none apart.
const V2_METRIC_INDEX: &str = "DROP INDEX metric_series_nan; DROP INDEX metric_series_by_key;
    CREATE INDEX metric_series_by_key ON metric_series (key, last_value)";

/// Every file under `root`, relative to it, leaving out the artifacts
/// folder and SQLite's transient `-wal` and `-shm` files.
fn store_files(root: &Path) -> BTreeSet<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if rel == Path::new(ARTIFACTS_DIR) {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = rel.to_string_lossy();
                if !(name.ends_with("-wal") || name.ends_with("-shm")) {
                    out.insert(rel);
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

/// A store with one run, a param and some metric points, closed again.
fn make_store(root: &Path) -> String {
    let store = Store::open(root).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    store.log_param(&run, "lr", "0.1").unwrap();
    for step in 0..100 {
        store
            .log_metric(&run, "loss", step as f64, step, step)
            .unwrap();
    }
    store.end_run(&run, RunStatus::Finished).unwrap();
    run
}

fn user_version(index: &Path) -> u32 {
    Connection::open(index)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// A connection that writes the index as tracklite does (page checksums).
fn open_index(index: &Path) -> Connection {
    let vfs = tracklite::format::index_vfs().unwrap();
    Connection::open_with_flags_and_vfs(index, rusqlite::OpenFlags::default(), vfs).unwrap()
}

fn set_user_version(index: &Path, version: u32) {
    open_index(index)
        .pragma_update(None, "user_version", version)
        .unwrap();
}

/// Names of the tables and indexes SQLite holds, without its own.
fn schema_objects(index: &Path) -> BTreeSet<(String, String)> {
    let conn = Connection::open(index).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT type, name FROM sqlite_master
             WHERE type IN ('table', 'index', 'trigger') AND name NOT LIKE 'sqlite_%'",
        )
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

/// The columns of a table, in order.
fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info(\"{table}\")"))
        .unwrap();
    let rows = stmt.query_map([], |r| r.get(1)).unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

/// A schema as a comparable value: every table, index and trigger by (type, name),
/// and every table's columns in order.
struct Schema {
    objects: BTreeSet<(String, String)>,
    columns: Vec<(String, Vec<String>)>,
}

impl Schema {
    fn has_index(&self, name: &str) -> bool {
        self.objects
            .contains(&("index".to_string(), name.to_string()))
    }
}

fn schema(index: &Path) -> Schema {
    let objects = schema_objects(index);
    let conn = Connection::open(index).unwrap();
    let tables = objects
        .iter()
        .filter(|(kind, _)| kind == "table")
        .map(|(_, name)| (name.clone(), columns(&conn, name)))
        .collect();
    Schema {
        objects,
        columns: tables,
    }
}

/// Takes a store's index back to schema version 1, as a tracklite of that
/// version left it: drops every table, index, trigger and column a later migration
/// added.
fn downgrade_to_v1(index: &Path) {
    let conn = open_index(index);
    for (kind, name) in schema_objects(index) {
        let v1 = match kind.as_str() {
            "table" => V1_TABLES.iter().any(|(t, _)| *t == name),
            _ => V1_INDEXES.contains(&name.as_str()),
        };
        if !v1 {
            conn.execute_batch(&format!(
                "DROP {} IF EXISTS \"{name}\"",
                kind.to_uppercase()
            ))
            .unwrap();
        }
    }
    for (table, v1_columns) in V1_TABLES {
        for column in columns(&conn, table) {
            if !v1_columns.contains(&column.as_str()) {
                conn.execute_batch(&format!("ALTER TABLE {table} DROP COLUMN \"{column}\""))
                    .unwrap();
            }
        }
        assert_eq!(&columns(&conn, table), v1_columns, "table {table}");
    }
    conn.execute_batch(V1_RUNS_INDEX).unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
}

/// Rewrites the metric log's header version and its checksum.
fn set_log_version(log: &Path, version: u32) {
    let file = OpenOptions::new().read(true).write(true).open(log).unwrap();
    let mut head = [0u8; 24];
    file.read_exact_at(&mut head, 0).unwrap();
    head[8..12].copy_from_slice(&version.to_le_bytes());
    let crc = crc32c::crc32c(&head[0..20]);
    head[20..24].copy_from_slice(&crc.to_le_bytes());
    file.write_all_at(&head, 0).unwrap();
    file.sync_all().unwrap();
}

fn expect_too_new(
    result: Result<Store, Error>,
    what: &str,
    path: &Path,
    found: u32,
    supported: u32,
) {
    let err = match result {
        Err(e) => e,
        Ok(_) => panic!("a {what} at version {found} was opened"),
    };
    let msg = err.to_string();
    match err {
        Error::Format(FormatError::TooNew {
            what: w,
            path: p,
            found: f,
            supported: s,
        }) => {
            assert_eq!((w, f, s), (what, found, supported));
            assert_eq!(p.canonicalize().unwrap(), path.canonicalize().unwrap());
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    assert!(
        msg.contains(&format!("format version {found}"))
            && msg.contains(&format!("versions up to {supported}"))
            && msg.contains("upgrade tracklite"),
        "{msg}"
    );
}

fn expect_not_a_store(result: Result<Store, Error>, what: &str, path: &Path) -> String {
    let err = match result {
        Err(e) => e,
        Ok(_) => panic!("{} was opened as a store", path.display()),
    };
    let msg = err.to_string();
    match err {
        Error::Format(FormatError::NotAStore {
            what: w, path: p, ..
        }) => {
            assert_eq!(w, what);
            assert_eq!(p.canonicalize().unwrap(), path.canonicalize().unwrap());
        }
        other => panic!("expected NotAStore for the {what}, got {other:?}"),
    }
    assert!(msg.contains(&format!("is not a tracklite {what}")), "{msg}");
    msg
}

#[test]
fn a_store_is_a_fixed_set_of_files_whatever_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root).unwrap();
    assert!(root.join(ARTIFACTS_DIR).is_dir());
    let expected: BTreeSet<PathBuf> = [INDEX_FILE, LOG_FILE].iter().map(PathBuf::from).collect();
    assert_eq!(store_files(&root), expected);
    assert_eq!(
        (INDEX_FILE, LOG_FILE, ARTIFACTS_DIR),
        ("index.sqlite", "metrics.log", "artifacts")
    );

    let first = store.create_run(NewRun::default()).unwrap().run_id;
    store.log_metric(&first, "loss", 1.0, 0, 0).unwrap();
    store.log_param(&first, "p", "1").unwrap();
    let small = store_files(&root);
    assert_eq!(small, expected);

    for r in 0..200 {
        let run = store
            .create_run(NewRun {
                run_name: Some(format!("run-{r}")),
                ..NewRun::default()
            })
            .unwrap()
            .run_id;
        let mut metrics = Vec::new();
        for k in 0..20 {
            for step in 0..5 {
                metrics.push(Metric::new(
                    format!("metric/{k}"),
                    (r * k) as f64,
                    step,
                    step,
                ));
            }
        }
        let params: Vec<(String, String)> = (0..5)
            .map(|p| (format!("param{p}"), r.to_string()))
            .collect();
        store.log_batch(&run, &metrics, &params, &[]).unwrap();
        if r % 2 == 0 {
            store.end_run(&run, RunStatus::Finished).unwrap();
        }
    }
    store.flush().unwrap();
    assert_eq!(store_files(&root), small, "files grew with runs and keys");
    assert_eq!(store.list_runs(&[], ViewType::All).unwrap().len(), 201);
    let runs = store.list_runs(&[], ViewType::All).unwrap();
    let sample = store.get_run(&runs[0].run_id).unwrap();
    assert_eq!(sample.metrics.len(), 20);
    assert_eq!(sample.params.len(), 5);

    drop(store);
    assert_eq!(store_files(&root), small);
    // No per-run folders were made either: artifacts stay empty until used.
    assert_eq!(
        std::fs::read_dir(root.join(ARTIFACTS_DIR)).unwrap().count(),
        0
    );
}

#[test]
fn an_index_from_a_newer_tracklite_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    make_store(&root);
    let index = root.join(INDEX_FILE);
    set_user_version(&index, SCHEMA_VERSION + 1);

    expect_too_new(
        Store::open(&root),
        "index",
        &index,
        SCHEMA_VERSION + 1,
        SCHEMA_VERSION,
    );
    // Refusing it did not touch it.
    assert_eq!(user_version(&index), SCHEMA_VERSION + 1);

    set_user_version(&index, SCHEMA_VERSION);
    Store::open(&root).unwrap();
}

#[test]
fn a_metric_log_from_a_newer_tracklite_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let run = make_store(&root);
    let log = root.join(LOG_FILE);
    let len = std::fs::metadata(&log).unwrap().len();

    set_log_version(&log, LOG_VERSION + 1);
    expect_too_new(
        Store::open(&root),
        "metric log",
        &log,
        LOG_VERSION + 1,
        LOG_VERSION,
    );
    assert_eq!(std::fs::metadata(&log).unwrap().len(), len);

    // The version is inside the checksum: changed without it, the header is damaged.
    let file = OpenOptions::new().write(true).open(&log).unwrap();
    file.write_all_at(&(LOG_VERSION + 7).to_le_bytes(), 8)
        .unwrap();
    let msg = expect_not_a_store(Store::open(&root), "metric log", &log);
    assert!(msg.contains("checksum"), "{msg}");

    set_log_version(&log, LOG_VERSION);
    let store = Store::open(&root).unwrap();
    assert_eq!(store.metric_history(&run, "loss").unwrap().len(), 100);
}

#[test]
fn a_metric_log_of_garbage_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
        .collect();

    // In a new store directory.
    let fresh = dir.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::write(fresh.join(LOG_FILE), &garbage).unwrap();
    let msg = expect_not_a_store(Store::open(&fresh), "metric log", &fresh.join(LOG_FILE));
    assert!(msg.contains("magic number"), "{msg}");
    assert_eq!(
        std::fs::read(fresh.join(LOG_FILE)).unwrap(),
        garbage,
        "the file was changed"
    );

    // In place of an existing store's log.
    let root = dir.path().join("store");
    make_store(&root);
    std::fs::write(root.join(LOG_FILE), &garbage).unwrap();
    expect_not_a_store(Store::open(&root), "metric log", &root.join(LOG_FILE));

    // Short text that is not all zeros.
    std::fs::write(root.join(LOG_FILE), b"hello, world").unwrap();
    expect_not_a_store(Store::open(&root), "metric log", &root.join(LOG_FILE));
}

#[test]
fn an_sqlite_file_with_foreign_tables_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("other-app");
    std::fs::create_dir(&root).unwrap();
    let index = root.join(INDEX_FILE);
    {
        let conn = Connection::open(&index).unwrap();
        conn.execute_batch(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT);
             INSERT INTO accounts (owner) VALUES ('ann'), ('bob');",
        )
        .unwrap();
    }

    let msg = expect_not_a_store(Store::open(&root), "index", &index);
    assert!(msg.contains("no tracklite schema"), "{msg}");

    // The other application's data is untouched and no tracklite table was added.
    let conn = Connection::open(&index).unwrap();
    let owners: Vec<String> = conn
        .prepare("SELECT owner FROM accounts ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(owners, ["ann", "bob"]);
    assert_eq!(
        schema_objects(&index),
        BTreeSet::from([("table".to_string(), "accounts".to_string())])
    );
    assert_eq!(user_version(&index), 0);
}

/// Many applications set `PRAGMA user_version` on their own databases; such
/// a file is still not a tracklite index, and must be refused as one.
#[test]
fn an_sqlite_file_with_foreign_tables_and_a_user_version_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    for version in 1..=SCHEMA_VERSION {
        let root = dir.path().join(format!("other-app-{version}"));
        std::fs::create_dir(&root).unwrap();
        let index = root.join(INDEX_FILE);
        {
            let conn = Connection::open(&index).unwrap();
            conn.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT);")
                .unwrap();
            conn.pragma_update(None, "user_version", version).unwrap();
        }
        match Store::open(&root) {
            Err(Error::Format(FormatError::NotAStore { what: "index", .. })) => {}
            Err(other) => wrong.push(format!("user_version {version}: {other:?}")),
            Ok(_) => wrong.push(format!("user_version {version}: opened as a store")),
        }
        assert_eq!(user_version(&index), version);
        assert_eq!(
            schema_objects(&index),
            BTreeSet::from([("table".to_string(), "accounts".to_string())]),
            "tables were added to another application's database"
        );
    }
    assert!(
        wrong.is_empty(),
        "not refused as NotAStore:\n{}",
        wrong.join("\n")
    );
}

/// Refusing a file must leave it as it was: a rejected open does not switch
/// another application's database to WAL mode.
#[test]
fn refusing_a_foreign_database_leaves_its_journal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("other-app");
    std::fs::create_dir(&root).unwrap();
    let index = root.join(INDEX_FILE);
    {
        let conn = Connection::open(&index).unwrap();
        conn.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT);")
            .unwrap();
    }
    let before = std::fs::read(&index).unwrap();
    assert!(Store::open(&root).is_err());
    let mode: String = Connection::open(&index)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        mode, "delete",
        "the refused database was switched to {mode} mode"
    );
    assert_eq!(
        std::fs::read(&index).unwrap(),
        before,
        "the refused database was rewritten"
    );
}

#[test]
fn an_older_index_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let run = make_store(&root);
    let index = root.join(INDEX_FILE);
    let current = schema(&index);
    for name in V2_INDEXES {
        assert!(current.has_index(name), "a new store lacks index {name}");
    }

    downgrade_to_v1(&index);
    let old = schema(&index);
    assert!(V2_INDEXES.iter().all(|n| !old.has_index(n)));
    assert_eq!(user_version(&index), 1);

    let store = Store::open(&root).unwrap();
    assert_eq!(user_version(&index), SCHEMA_VERSION);
    let migrated = schema(&index);
    for name in V2_INDEXES {
        assert!(
            migrated.has_index(name),
            "the migrated store lacks index {name}"
        );
    }
    assert_eq!(
        migrated.objects, current.objects,
        "the migrated store's tables and indexes are not a new store's"
    );
    assert_eq!(
        migrated.columns, current.columns,
        "the migrated store's columns are not a new store's"
    );

    // Everything the old store held is still there and usable.
    let r = store.get_run(&run).unwrap();
    assert_eq!(r.params["lr"], "0.1");
    assert_eq!(r.metrics["loss"].count, 100);
    assert_eq!(store.metric_history(&run, "loss").unwrap().len(), 100);
    store.log_param(&run, "after", "migration").unwrap();
    store.log_metric(&run, "loss", -1.0, 100, 100).unwrap();
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    drop(store);

    // Opening again does not migrate twice.
    let store = Store::open(&root).unwrap();
    assert_eq!(user_version(&index), SCHEMA_VERSION);
    let r = store.get_run(&run).unwrap();
    assert_eq!(r.params["after"], "migration");
    assert_eq!(r.metrics["loss"].count, 101);
}

#[test]
fn a_version_5_index_gains_the_dataset_links_of_imports() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let run = make_store(&root);
    let index = root.join(INDEX_FILE);
    let current = schema(&index);
    assert!(current
        .objects
        .contains(&("table".into(), "metric_dataset_links".into())));

    // As a tracklite of version 5 left it.
    {
        let conn = open_index(&index);
        for table in AFTER_V5_TABLES {
            conn.execute_batch(&format!("DROP TABLE {table}")).unwrap();
        }
        for (kind, name) in V10_RUNS_OBJECTS {
            conn.execute_batch(&format!("DROP {kind} {name}")).unwrap();
        }
        conn.execute_batch(V1_RUNS_INDEX).unwrap();
        conn.execute_batch(V2_METRIC_INDEX).unwrap();
        conn.pragma_update(None, "user_version", 5).unwrap();
    }
    assert!(schema(&index).objects.len() < current.objects.len());

    let store = Store::open(&root).unwrap();
    assert_eq!(user_version(&index), SCHEMA_VERSION);
    let migrated = schema(&index);
    assert_eq!(migrated.objects, current.objects);
    assert_eq!(migrated.columns, current.columns);
    // The old store's histories have no links; they keep every point.
    assert!(store.metric_dataset_links(&run, "loss").unwrap().is_empty());
    assert_eq!(store.metric_history(&run, "loss").unwrap().len(), 100);
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn a_file_in_place_of_the_store_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-dir");
    std::fs::write(&path, b"data").unwrap();
    match Store::open(&path) {
        Err(e @ Error::NoStore { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("not-a-dir") && msg.contains("not a store directory"),
                "{msg}"
            )
        }
        Err(other) => panic!("expected NoStore, got {other:?}"),
        Ok(_) => panic!("a file was opened as a store"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
}

/// A stored run status, run stage or model status that this tracklite does
/// not know is an error naming the value, never read as a default.
#[test]
fn an_unknown_stored_value_is_an_error_not_a_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let model = store
        .create_logged_model(tracklite::NewLoggedModel::default())
        .unwrap()
        .model_id;
    let index = open_index(&path.join(INDEX_FILE));
    let unknown = |sql: &str, id: &str| {
        index.execute(sql, [id]).unwrap();
    };
    let expect = |result: Result<(), Error>, what: &str, value: &str| match result {
        Err(e @ Error::Format(FormatError::UnknownStoredValue { .. })) => {
            let msg = e.to_string();
            assert!(msg.contains(what) && msg.contains(value), "{msg}");
        }
        other => panic!("expected UnknownStoredValue for {what}, got {other:?}"),
    };

    unknown(
        "UPDATE runs SET status = 'PAUSED' WHERE run_uuid = ?1",
        &run,
    );
    expect(store.get_run(&run).map(|_| ()), "run status", "PAUSED");
    unknown(
        "UPDATE runs SET status = 'RUNNING', lifecycle_stage = 'archived' WHERE run_uuid = ?1",
        &run,
    );
    expect(
        store.get_run_info(&run).map(|_| ()),
        "lifecycle stage",
        "archived",
    );
    expect(store.delete_run(&run), "lifecycle stage", "archived");
    unknown(
        "UPDATE logged_models SET status = 'DONE' WHERE model_id = ?1",
        &model,
    );
    expect(
        store.get_logged_model(&model, false).map(|_| ()),
        "logged model status",
        "DONE",
    );
}

/// `docs/format.md`, whose version statements are checked against the code.
fn format_doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/format.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The format document names the code's versions wherever it states one:
/// the "Current versions" line, the versioning table (one row per index
/// schema version, as `MIGRATIONS` has one entry per version), and the
/// "reads versions up to" messages of both files.
#[test]
fn format_doc_states_the_current_versions() {
    let doc = format_doc();

    let current = doc
        .split("\n\n")
        .find(|p| p.starts_with("Current versions:"))
        .expect("a paragraph starting with \"Current versions:\"");
    for (version, name) in [
        (LOG_VERSION, "LOG_VERSION"),
        (SCHEMA_VERSION, "SCHEMA_VERSION"),
    ] {
        let stated = format!("**{version}** (`tracklite::format::{name}`)");
        assert!(
            current.contains(&stated),
            "the \"Current versions\" paragraph should say {stated}: {current}"
        );
    }

    let versioning = doc
        .split("\n## ")
        .find(|s| s.starts_with("7. Versioning"))
        .expect("a section \"7. Versioning\"");
    let rows: Vec<u32> = versioning
        .lines()
        .filter_map(|line| {
            let first_cell = line.trim().strip_prefix('|')?.split('|').next()?;
            first_cell.trim().parse().ok()
        })
        .collect();
    assert_eq!(
        rows,
        (1..=SCHEMA_VERSION).collect::<Vec<_>>(),
        "the versioning table should have one row per index schema version"
    );

    // Messages wrap across lines in the document: compare with single spaces.
    let flat = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    for (what, version) in [("metric log", LOG_VERSION), ("index", SCHEMA_VERSION)] {
        let message = format!(
            "{what} at PATH has format version N; this tracklite reads versions up to {version},"
        );
        assert!(
            flat.contains(&message),
            "docs/format.md should quote: {message}"
        );
    }
}
