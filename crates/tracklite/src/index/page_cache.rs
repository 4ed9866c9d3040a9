//! A thin layer over SQLite's own page cache that makes committing cheap
//! in a long-lived connection with a large cache.
//!
//! Why: when a B-tree page split reorders sibling pages, SQLite moves one
//! page for a moment to the number of the lock-byte page (1 GiB over the
//! page size, page 1,048,577 with 1 KiB pages). Its page cache remembers
//! the largest page number it has held and never lowers it on a move, so at
//! the end of every write transaction that split a page it truncates the
//! cache at the database's size by walking every hash bucket and every
//! cached page: the cost of the commit grows with the cache, that is with
//! the store (a quarter of run creation's time at 100,000 runs).
//!
//! What: this layer forwards every call to SQLite's page cache and keeps,
//! per cache, the largest page number held apart from that passing move.
//! A truncation that can drop nothing (no page at or past the limit) is not
//! forwarded; any other is. Pages are never kept, freed or moved here.

use std::ffi::{c_int, c_uint, c_void};
use std::sync::OnceLock;

use rusqlite::ffi;

/// SQLite's lock-byte offset (`PENDING_BYTE`); this build never moves it.
const PENDING_BYTE: c_uint = 0x4000_0000;

/// SQLite's own page cache, wrapped.
struct Base(ffi::sqlite3_pcache_methods2);

// SAFETY: the methods table holds function pointers and SQLite's `pArg`,
// which SQLite itself shares between threads.
unsafe impl Send for Base {}
// SAFETY: as for Send; the table is never written after it is stored.
unsafe impl Sync for Base {}

static BASE: OnceLock<Base> = OnceLock::new();

/// One cache: SQLite's, and what is known of the page numbers in it.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    /// The page number that page splits borrow for a moment.
    borrowed: c_uint,
    /// A page currently sits at `borrowed`.
    holds_borrowed: bool,
    /// No page other than one at `borrowed` has a larger number than this.
    max_key: c_uint,
}

fn base() -> &'static ffi::sqlite3_pcache_methods2 {
    &BASE.get().expect("installed before any cache is made").0
}

/// Installs the layer, once per process, before SQLite is first used.
/// Returns false (and changes nothing) when SQLite was already initialised,
/// or configuring it failed: the plain page cache is then used.
pub(crate) fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        // SAFETY: GETPCACHE2 fills the struct it is given; PCACHE2 copies
        // the struct it is given. Both fail harmlessly (SQLITE_MISUSE) once
        // SQLite is initialised.
        unsafe {
            let mut methods: ffi::sqlite3_pcache_methods2 = std::mem::zeroed();
            let got = ffi::sqlite3_config(
                ffi::SQLITE_CONFIG_GETPCACHE2,
                &mut methods as *mut ffi::sqlite3_pcache_methods2,
            );
            if got != ffi::SQLITE_OK || methods.xCreate.is_none() {
                return false;
            }
            if BASE.set(Base(methods)).is_err() {
                return false;
            }
            let ours = ffi::sqlite3_pcache_methods2 {
                iVersion: 1,
                pArg: std::ptr::null_mut(),
                xInit: Some(init),
                xShutdown: Some(shutdown),
                xCreate: Some(create),
                xCachesize: Some(cachesize),
                xPagecount: Some(pagecount),
                xFetch: Some(fetch),
                xUnpin: Some(unpin),
                xRekey: Some(rekey),
                xTruncate: Some(truncate),
                xDestroy: Some(destroy),
                xShrink: Some(shrink),
            };
            ffi::sqlite3_config(
                ffi::SQLITE_CONFIG_PCACHE2,
                &ours as *const ffi::sqlite3_pcache_methods2,
            ) == ffi::SQLITE_OK
        }
    })
}

/// # Safety
/// `p` is a cache this layer made.
unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    // SAFETY: SQLite hands back the pointer `create` returned, and calls a
    // cache's methods under its own mutex, one at a time.
    unsafe { &mut *(p as *mut Cache) }
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    let b = base();
    // SAFETY: SQLite's own method with its own argument.
    b.xInit.map_or(ffi::SQLITE_OK, |f| unsafe { f(b.pArg) })
}

unsafe extern "C" fn shutdown(_: *mut c_void) {
    let b = base();
    if let Some(f) = b.xShutdown {
        // SAFETY: as in `init`.
        unsafe { f(b.pArg) }
    }
}

unsafe extern "C" fn create(
    sz_page: c_int,
    sz_extra: c_int,
    purgeable: c_int,
) -> *mut ffi::sqlite3_pcache {
    let Some(f) = base().xCreate else {
        return std::ptr::null_mut();
    };
    // SAFETY: SQLite's own method, with SQLite's arguments.
    let inner = unsafe { f(sz_page, sz_extra, purgeable) };
    if inner.is_null() {
        return inner;
    }
    let borrowed = PENDING_BYTE / (sz_page.max(1) as c_uint) + 1;
    Box::into_raw(Box::new(Cache {
        inner,
        borrowed,
        holds_borrowed: false,
        max_key: 0,
    })) as *mut ffi::sqlite3_pcache
}

unsafe extern "C" fn cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    // SAFETY: `p` is ours; the method is SQLite's.
    unsafe {
        let c = cache(p);
        if let Some(f) = base().xCachesize {
            f(c.inner, n)
        }
    }
}

unsafe extern "C" fn pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    // SAFETY: as in `cachesize`.
    unsafe { base().xPagecount.map_or(0, |f| f(cache(p).inner)) }
}

unsafe extern "C" fn fetch(
    p: *mut ffi::sqlite3_pcache,
    key: c_uint,
    create: c_int,
) -> *mut ffi::sqlite3_pcache_page {
    // SAFETY: as in `cachesize`.
    unsafe {
        let c = cache(p);
        let Some(f) = base().xFetch else {
            return std::ptr::null_mut();
        };
        let page = f(c.inner, key, create);
        if !page.is_null() {
            note(c, key);
        }
        page
    }
}

/// Records that a page now sits at `key`.
fn note(c: &mut Cache, key: c_uint) {
    if key == c.borrowed {
        c.holds_borrowed = true;
    } else {
        c.max_key = c.max_key.max(key);
    }
}

unsafe extern "C" fn unpin(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    discard: c_int,
) {
    // SAFETY: as in `cachesize`; `page` is SQLite's.
    unsafe {
        if let Some(f) = base().xUnpin {
            f(cache(p).inner, page, discard)
        }
    }
}

unsafe extern "C" fn rekey(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    // SAFETY: as in `unpin`.
    unsafe {
        let c = cache(p);
        if let Some(f) = base().xRekey {
            f(c.inner, page, old, new)
        }
        if old == c.borrowed {
            c.holds_borrowed = false;
        }
        note(c, new);
    }
}

unsafe extern "C" fn truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    // SAFETY: as in `cachesize`.
    unsafe {
        let c = cache(p);
        let borrowed_dropped = c.holds_borrowed && c.borrowed >= limit;
        if c.max_key < limit && !borrowed_dropped {
            // Nothing at or past `limit`: SQLite's cache would walk every
            // bucket to drop nothing.
            return;
        }
        if let Some(f) = base().xTruncate {
            f(c.inner, limit)
        }
        c.max_key = c.max_key.min(limit.saturating_sub(1));
        if borrowed_dropped {
            c.holds_borrowed = false;
        }
    }
}

unsafe extern "C" fn destroy(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: `p` came from `Box::into_raw` in `create`; SQLite destroys a
    // cache once and uses it no more.
    unsafe {
        let c = Box::from_raw(p as *mut Cache);
        if let Some(f) = base().xDestroy {
            f(c.inner)
        }
    }
}

unsafe extern "C" fn shrink(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: as in `cachesize`.
    unsafe {
        if let Some(f) = base().xShrink {
            f(cache(p).inner)
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    /// Rows with random keys split pages out of order (the moves through
    /// the borrowed page number); a transaction that grew the file and is
    /// rolled back must still have its pages dropped from the cache, and a
    /// committed one keep them, as with SQLite's own cache.
    #[test]
    fn truncation_still_drops_what_a_rollback_leaves() {
        // Opening through the VFS installs the layer first.
        let vfs = crate::index::checksum_vfs::name().expect("the VFS");
        assert!(super::install(), "installed before SQLite was used");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("t.sqlite");
        let mut conn = rusqlite::Connection::open_with_flags_and_vfs(
            &path,
            rusqlite::OpenFlags::default(),
            vfs,
        )
        .expect("opens");
        conn.execute_batch(
            "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL;
             PRAGMA cache_size = -65536;
             CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB);",
        )
        .expect("schema");
        let key = |i: u64| format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for round in 0..20u64 {
            let tx = conn.transaction().expect("a transaction");
            for i in round * 500..(round + 1) * 500 {
                tx.execute("INSERT INTO t VALUES (?1, zeroblob(100))", params![key(i)])
                    .expect("insert");
            }
            tx.commit().expect("commit");
        }
        let pages = |c: &rusqlite::Connection| -> i64 {
            c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap()
        };
        let before = pages(&conn);
        {
            let tx = conn.transaction().expect("a transaction");
            for i in 100_000..103_000u64 {
                tx.execute("INSERT INTO t VALUES (?1, zeroblob(100))", params![key(i)])
                    .expect("insert");
            }
            assert!(
                pages(&tx) > before,
                "the rolled-back transaction grew the file"
            );
            tx.rollback().expect("rollback");
        }
        assert_eq!(pages(&conn), before);
        let count: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 10_000);
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        // The cache's pages past the end were dropped: growing again reads
        // and writes fresh pages, and the result checks clean.
        for i in 200_000..202_000u64 {
            conn.execute("INSERT INTO t VALUES (?1, zeroblob(100))", params![key(i)])
                .expect("insert");
        }
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}
