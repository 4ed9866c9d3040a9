//! The SQLite metadata index: experiments, runs, params, tags, the metric
//! summaries and block map, logged models and the model registry. WAL
//! mode, so that several processes read and write at once; every write
//! transaction starts IMMEDIATE, so that a busy database is waited for
//! rather than failed.

pub(crate) mod checksum_vfs;
pub(crate) mod datasets;
pub mod experiments;
mod export_journal;
pub(crate) mod links;
pub(crate) mod load;
pub mod logged_models;
mod metrics;
pub mod model_versions;
mod page_cache;
pub mod pages;
pub mod pending;
pub mod registered_models;
pub mod runs;
pub mod schema;
mod stored;
mod wal_frames;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::{Error, FormatError, IndexError, IndexErrorKind, Result};

pub use metrics::{
    block_at, blocks_overlap, end_of_blocks_in, free_pages, load_summary as metrics_summary,
    record_progress, register_block, register_blocks, register_compressed, series_id_in,
    unsealed_blocks_in, BlockRow,
};

/// How long a writer waits for another process's transaction to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

/// Prepared statements a connection keeps. Creating, filling and ending one
/// run uses a few dozen distinct statements; with rusqlite's default of 16
/// the cache evicted them in turn and each was parsed again on every run.
/// Searches keep theirs too (one per filter and order shape), so there is
/// room for a few hundred of those besides.
const STATEMENT_CACHE: usize = 512;

/// The index of one store, as one process's connection.
pub struct Index {
    conn: Connection,
    path: PathBuf,
    /// Opened read-only: write transactions are refused.
    read_only: bool,
    /// Opened read-only as immutable, because no process had the index
    /// open (see [`Index::open_read_only`]).
    immutable: bool,
}

impl Index {
    /// Opens the index, creating or migrating its schema as needed.
    pub fn open(path: &Path) -> Result<Index> {
        Self::open_at_version(path, schema::SCHEMA_VERSION)
    }

    /// Opens the index for reading only: no file is created or written
    /// (not even SQLite's `-shm` file, when it is missing), so this works on
    /// a full disk, read-only media and without write permission. An index
    /// at an older schema version is refused: it needs one writable open
    /// to be migrated.
    pub fn open_read_only(path: &Path) -> Result<Index> {
        if !path.is_file() {
            return Err(Error::io(
                path,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        // In WAL mode SQLite reads through the -wal and -shm files, which
        // exist while any process has the index open. When they do, they
        // are used as they are (nothing is created). When they do not, no
        // process has the index open and its whole content is in the file:
        // it is read as immutable, since SQLite would otherwise create them.
        // A writer that opens the store later is noticed (its -wal appears)
        // and the connection is reopened the first way before the next use.
        let immutable = !wal_files_exist(path);
        let conn = open_read_only_connection(path, immutable)?;
        identify(&conn, path)?;
        let index = Index {
            conn,
            path: path.to_path_buf(),
            read_only: true,
            immutable,
        };
        let found = index.version()?;
        if found > schema::SCHEMA_VERSION {
            return Err(index.too_new(found));
        }
        if found < schema::SCHEMA_VERSION {
            return Err(Error::ReadOnly {
                path: path.to_path_buf(),
                reason: format!(
                    "the index is at schema version {found} and must be migrated to version {} \
                     by one writable open before it can be opened read-only",
                    schema::SCHEMA_VERSION
                ),
            });
        }
        Ok(index)
    }

    /// Opens the index and migrates it to `target` at most: tests use this to
    /// make stores as an older version wrote them.
    pub fn open_at_version(path: &Path, target: u32) -> Result<Index> {
        Self::open_writable(path, target).map_err(|e| explain_read_only(path, e))
    }

    fn open_writable(path: &Path, target: u32) -> Result<Index> {
        // Through the page-checksum VFS (checksum_vfs.rs).
        let conn = checksum_vfs::open(path)?;
        set_up_connection(&conn)?;
        // Identify the file before changing anything in it: another
        // application's database is refused untouched.
        identify(&conn, path)?;
        // Small pages for a new index: a run's commit touches a page in each
        // of several indexes, and the WAL writes whole pages. (Only takes
        // effect before the first table is made.)
        conn.execute_batch("PRAGMA page_size = 1024;")?;
        // Page checksums (checksum_vfs.rs): a new index gets their reserved
        // bytes before its first page; an old one is rewritten with them.
        checksum_vfs::prepare(&conn, path, target)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Index(IndexError::new(
                IndexErrorKind::Unsupported,
                format!(
                    "the index at {} could not be put in WAL mode (it is in {mode} mode)",
                    path.display()
                ),
            )));
        }
        // NORMAL in WAL mode: a commit survives a killed process; `flush`
        // checkpoints for power-loss durability.
        // A 64 MiB page cache and memory-mapped reads keep searches over
        // large stores in memory. A checkpoint runs in the committing
        // writer and syncs the database twice; at every 64 MiB of WAL
        // (65,536 pages of 1 KiB) rather than every 8 MiB it no longer
        // doubles the wall time of creating runs (measured: 340 → 275 µs of
        // CPU per run, and half the waiting), and the hot pages a run
        // touches are copied back once per checkpoint, not eight times.
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;
             PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456;
             PRAGMA wal_autocheckpoint = 65536;",
        )?;
        let mut index = Index {
            conn,
            path: path.to_path_buf(),
            read_only: false,
            immutable: false,
        };
        index.migrate(target)?;
        Ok(index)
    }

    /// The schema version the store is at.
    pub fn version(&self) -> Result<u32> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self, target: u32) -> Result<()> {
        let found = self.version()?;
        if found > schema::SCHEMA_VERSION {
            return Err(self.too_new(found));
        }
        if found >= target {
            return Ok(());
        }
        let path = self.path.clone();
        let tx = self.write()?;
        // Another process may have migrated while this one waited for the lock.
        let found: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > schema::SCHEMA_VERSION {
            return Err(Self::too_new_at(&path, found));
        }
        identify(&tx, &path)?;
        for version in found..target {
            tx.execute_batch(schema::MIGRATIONS[version as usize])?;
            if version == 0 {
                initial_rows(&tx)?;
            }
        }
        tx.pragma_update(None, "user_version", target)?;
        tx.commit()?;
        Ok(())
    }

    fn too_new(&self, found: u32) -> Error {
        Self::too_new_at(&self.path, found)
    }

    fn too_new_at(path: &Path, found: u32) -> Error {
        FormatError::TooNew {
            what: "index",
            path: path.to_path_buf(),
            found,
            supported: schema::SCHEMA_VERSION,
        }
        .into()
    }

    /// For an index read as immutable: reopens it the usual read-only way
    /// once a writer has opened the store (its -wal and -shm files exist),
    /// so that what that writer changes is read consistently.
    pub fn follow_writers(&mut self) -> Result<()> {
        if self.immutable && wal_files_exist(&self.path) {
            self.conn = open_read_only_connection(&self.path, false)?;
            self.immutable = false;
        }
        Ok(())
    }

    /// Starts a write transaction, waiting for other writers.
    pub fn write(&mut self) -> Result<Transaction<'_>> {
        if self.read_only {
            return Err(Error::ReadOnly {
                path: self.path.clone(),
                reason: "the store is open read-only".into(),
            });
        }
        let path = &self.path;
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| explain_read_only(path, e.into()))
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` with every commit it makes synced to disk (the WAL is
    /// fsynced at commit), which makes those commits and all before them
    /// durable against power loss, for one fsync instead of a checkpoint's
    /// two and its copying.
    pub fn durably<T>(&mut self, f: impl FnOnce(&mut Index) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("PRAGMA synchronous = FULL")?;
        let out = f(self);
        let reset = self.conn.execute_batch("PRAGMA synchronous = NORMAL");
        let out = out?;
        reset?;
        Ok(out)
    }

    /// Writes the WAL back into the database file and syncs it.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// SQLite's own consistency check; an empty list when all is well.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut problems = Vec::new();
        for row in rows {
            let row = row?;
            if row != "ok" {
                problems.push(row);
            }
        }
        Ok(problems)
    }
}

/// True when the index's -wal and -shm files exist: some process has it
/// open (or had, and was killed).
fn wal_files_exist(path: &Path) -> bool {
    ["-wal", "-shm"].iter().all(|suffix| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        Path::new(&p).exists()
    })
}

/// A read-only connection; `immutable` tells SQLite that nobody changes
/// the file meanwhile, so that it needs no -wal or -shm file.
fn open_read_only_connection(path: &Path, immutable: bool) -> Result<Connection> {
    let uri = format!(
        "file:{}?mode=ro{}",
        uri_path(path),
        if immutable { "&immutable=1" } else { "" }
    );
    // Through the page-checksum VFS too: damaged pages are errors here as well.
    let conn = Connection::open_with_flags_and_vfs(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        checksum_vfs::name()?,
    )?;
    set_up_connection(&conn)?;
    conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456;")?;
    Ok(conn)
}

/// A path as the path part of an SQLite `file:` URI: `%`, `?` and `#`
/// escaped.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// A writable open that SQLite refused as read-only: when the cause is the
/// index's `-shm` file (left read-only, such as by an open made without
/// write permission), the error names it and says what to do.
fn explain_read_only(path: &Path, e: Error) -> Error {
    let Error::Index(index) = &e else {
        return e;
    };
    if index.kind() != IndexErrorKind::ReadOnly && index.kind() != IndexErrorKind::CannotOpen {
        return e;
    }
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    let shm = PathBuf::from(shm);
    let writable = |p: &Path| std::fs::OpenOptions::new().write(true).open(p).map(|_| ());
    match writable(&shm) {
        Err(err) if shm.exists() && writable(path).is_ok() => Error::ReadOnly {
            path: shm.clone(),
            reason: format!(
                "SQLite's shared-memory file of the index cannot be written ({err}) while the \
                 index itself can: make it writable again, or delete it when no process has the \
                 store open ({e})"
            ),
        },
        _ => e,
    }
}

/// Accepts a new, empty database or a tracklite index; anything else is
/// NotAStore. A newer schema is refused by the caller.
fn identify(conn: &Connection, path: &Path) -> Result<()> {
    let not_a_store = |reason: &str| -> Error {
        FormatError::NotAStore {
            what: "index",
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
        .into()
    };
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(|e| match e.sqlite_error_code() {
            // Not a database at all: another kind of file.
            Some(rusqlite::ErrorCode::NotADatabase) => {
                not_a_store(&format!("it cannot be read as an SQLite database ({e})"))
            }
            // A database that cannot be read or written here (permissions,
            // a full disk): the cause, as it is.
            _ => Error::from(e),
        })?;
    if tables == 0 {
        return Ok(());
    }
    let has_meta: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
        [],
        |r| r.get(0),
    )?;
    let format: Option<String> = if has_meta {
        conn.query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
            r.get(0)
        })
        .optional()?
    } else {
        None
    };
    if format.as_deref() == Some("tracklite") {
        Ok(())
    } else {
        Err(not_a_store("it is an SQLite database with tables but no tracklite schema (another application's database?)"))
    }
}

/// Rows every new store starts with: the format marker and the Default experiment.
fn initial_rows(tx: &Transaction<'_>) -> Result<()> {
    let now = crate::entities::now_ms();
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('format', 'tracklite'), ('created', ?1)",
        [now.to_string()],
    )?;
    tx.execute(
        "INSERT INTO experiments (experiment_id, name, creation_time, last_update_time)
         VALUES (0, 'Default', ?1, ?1)",
        [now],
    )?;
    Ok(())
}

/// What every index connection gets before its first statement.
///
/// The query planner stability guarantee keeps a cached statement's plan
/// whatever values are bound to it. Without it, SQLite marks a statement
/// whose `column = ?` term it weighed as a filter for re-preparing at every
/// new binding of a text value, so the run-info and open-block reads of
/// every run creation were parsed and planned again each time (~10% of a
/// run's creation). No plan here depends on a bound value: the store keeps
/// no planner statistics and writes its literals (`sealed = 0`) inline.
fn set_up_connection(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}
