//! A VFS shim that checksums the index's pages: all of tracklite's FFI with
//! SQLite's file layer lives here, behind a small safe API.
//!
//! It wraps the default VFS. For the main database file and its WAL, and
//! only when page 1 says the database keeps [`RESERVE`] reserved bytes per
//! page (see `pages.rs` for the format):
//!
//! - every full-page write is sealed: a copy of the page with its checksum
//!   in the last 8 bytes is written (SQLite's own buffer is left alone);
//! - every full-page read (a page of the database file, a page image of a
//!   WAL frame, a page the memory map serves) is verified; a page whose
//!   checksum does not match fails the read with `SQLITE_IOERR_DATA`, which
//!   the crate maps to `IndexErrorKind::Corrupt` naming the page.
//!
//! A WAL frame's header carries SQLite's cumulative checksum over the page
//! image, computed before the image reaches the VFS. So when a page is
//! sealed on its way into the WAL, the shim holds back the frame header
//! SQLite writes first, and writes header and sealed image together with the
//! frame checksum recomputed over the sealed image, continuing the chain
//! that is on disk (SQLite's recovery, checkpoint and checksum rewrite all
//! read the chain from disk). SQLite's WAL recovery scan (whole frames) is
//! not verified here: the WAL's own checksums cover it.

use std::cell::RefCell;
use std::ffi::{c_int, c_void, CStr};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use rusqlite::{ffi, Connection, OpenFlags};

use super::pages::{self, RESERVE, WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE};
use super::schema;
use super::wal_frames::{self, Chain, FrameQueue};
use crate::error::{Error, IndexError, IndexErrorKind, Result};

/// The name the shim is registered under (not the default VFS).
const VFS_NAME: &CStr = c"tracklite-checksum";

/// File control (ours): writes into a `c_int` the reserve page 1 gave, or
/// -1 while the database is empty.
const FCNTL_RESERVE_SEEN: c_int = 0x746c_6b00;
/// File control (ours): seal every full-page write from now on, whatever
/// page 1 says; for a connection that has just made the reserve 8.
const FCNTL_SEAL_WRITES: c_int = 0x746c_6b01;

/// What page 1 says, as far as a connection has seen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reserve {
    /// The database has no page yet.
    Empty,
    /// Page 1 says this many reserved bytes per page.
    Bytes(u8),
}

/// Makes page checksums ready on a connection just opened, before anything
/// is written, when the schema it opens for (`target`) has them: a new,
/// empty index asks for the reserved bytes, so that its first page has
/// them; an index without them (reserve 0, written by an older tracklite)
/// is rewritten once with `VACUUM`.
///
/// The `VACUUM` is an ordinary write transaction in WAL mode: it waits for
/// the write lock, readers in other processes keep reading their snapshot,
/// and they (and their later transactions, which read the new page 1) see
/// the checksums once it commits. Two processes that open an old store at
/// once may both rewrite it; the second rewrite is harmless.
pub(crate) fn prepare(conn: &Connection, path: &Path, target: u32) -> Result<()> {
    if target < schema::PAGE_CHECKSUMS_VERSION {
        return Ok(());
    }
    match reserve_seen(conn)? {
        Reserve::Empty => want_checksums(conn)?,
        Reserve::Bytes(RESERVE) => {}
        Reserve::Bytes(0) => {
            want_checksums(conn)?;
            conn.execute_batch("VACUUM")?;
            let now = reserve_seen(conn)?;
            if now != Reserve::Bytes(RESERVE) {
                return Err(unsupported(
                    path,
                    &format!("after VACUUM page 1 says {now:?}"),
                ));
            }
        }
        Reserve::Bytes(n) => {
            return Err(unsupported(
                path,
                &format!("its pages keep {n} reserved bytes"),
            ))
        }
    }
    Ok(())
}

fn unsupported(path: &Path, why: &str) -> Error {
    Error::Index(IndexError::new(
        IndexErrorKind::Unsupported,
        format!(
            "the index at {} cannot be given page checksums: {why}",
            path.display()
        ),
    ))
}

/// Opens a connection to the database at `path` through the checksum VFS.
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags_and_vfs(path, OpenFlags::default(), name()?)
}

/// Registers the VFS (once per process) and returns its name.
pub(crate) fn name() -> rusqlite::Result<&'static str> {
    let rc = *REGISTERED.get_or_init(|| {
        // Before SQLite initialises (registering a VFS initialises it).
        super::page_cache::install();
        // SAFETY: `register` is called once per process (inside OnceLock);
        // it only reads the default VFS and registers a leaked, never-freed
        // copy of it.
        unsafe { register() }
    });
    if rc != ffi::SQLITE_OK {
        return Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None));
    }
    Ok(VFS_NAME.to_str().expect("the VFS name is ASCII"))
}

/// The reserve the main database's page 1 gave this connection.
pub(crate) fn reserve_seen(conn: &Connection) -> rusqlite::Result<Reserve> {
    let mut value: c_int = -2;
    file_control(conn, FCNTL_RESERVE_SEEN, &mut value)?;
    Ok(match value {
        -1 => Reserve::Empty,
        n => Reserve::Bytes(u8::try_from(n).unwrap_or(u8::MAX)),
    })
}

/// Asks for [`RESERVE`] bytes per page (taken by a new database when it is
/// made, and by an existing one at its next `VACUUM`), and seals every
/// page this connection writes from now on.
pub(crate) fn want_checksums(conn: &Connection) -> rusqlite::Result<()> {
    let mut reserve = c_int::from(RESERVE);
    file_control(conn, ffi::SQLITE_FCNTL_RESERVE_BYTES, &mut reserve)?;
    let mut unused: c_int = 0;
    file_control(conn, FCNTL_SEAL_WRITES, &mut unused)
}

/// Where the last damaged page this thread read was, as words for an error
/// message; taken, so that it is reported once.
pub(crate) fn take_damage() -> Option<String> {
    DAMAGE.with(|d| d.borrow_mut().take())
}

fn file_control(conn: &Connection, op: c_int, arg: &mut c_int) -> rusqlite::Result<()> {
    // SAFETY: the handle is a live connection (borrowed for the call); "main"
    // is a NUL-terminated string; `arg` is a valid c_int for the duration of
    // the call, which is what both our file controls and
    // SQLITE_FCNTL_RESERVE_BYTES take.
    let rc = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            op,
            (arg as *mut c_int).cast::<c_void>(),
        )
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None))
    }
}

thread_local! {
    static DAMAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn record_damage(what: String) {
    DAMAGE.with(|d| *d.borrow_mut() = Some(what));
}

static REGISTERED: OnceLock<c_int> = OnceLock::new();
/// The default VFS that the shim wraps, once registered.
static BASE: OnceLock<BaseVfs> = OnceLock::new();

struct BaseVfs(*mut ffi::sqlite3_vfs);
// SAFETY: a registered sqlite3_vfs is immutable and lives for the whole
// process; SQLite itself shares it between threads.
unsafe impl Send for BaseVfs {}
// SAFETY: as above: only read, from any thread.
unsafe impl Sync for BaseVfs {}

/// Where the wrapped file starts inside our file object.
const REAL_OFFSET: usize = std::mem::size_of::<CkFile>().next_multiple_of(16);

/// Our file object. SQLite allocates `szOsFile` bytes for it; the wrapped
/// VFS's file object follows at [`REAL_OFFSET`].
#[repr(C)]
struct CkFile {
    base: ffi::sqlite3_file,
    /// None (null) for files that are only passed through.
    state: *mut FileState,
}

/// What a database file and its WAL share: page 1's layout as last seen.
struct Shared {
    path: PathBuf,
    /// 0 until known.
    page_size: AtomicU32,
    /// u32::MAX until known.
    reserve: AtomicU32,
    forced: AtomicBool,
    /// How many times this connection released the WAL's write lock: frames
    /// still queued from before a release belong to a transaction that was
    /// rolled back, and are dropped, never written (see `write_queue`).
    write_epoch: AtomicU64,
}

impl Shared {
    fn learn(&self, page1: &[u8]) {
        if let Some((size, reserve)) = pages::header_layout(page1) {
            self.page_size.store(size, Ordering::Relaxed);
            self.reserve.store(u32::from(reserve), Ordering::Relaxed);
        }
    }

    fn learn_page_size(&self, size: u32) {
        if (512..=65536).contains(&size) && size.is_power_of_two() {
            self.page_size.store(size, Ordering::Relaxed);
        }
    }

    /// The page size, when pages are checksummed and verified.
    fn verifying(&self) -> Option<usize> {
        let size = self.page_size.load(Ordering::Relaxed) as usize;
        (size != 0 && self.reserve.load(Ordering::Relaxed) == u32::from(RESERVE)).then_some(size)
    }

    /// The page size, when written pages are sealed.
    fn sealing(&self) -> Option<usize> {
        let size = self.page_size.load(Ordering::Relaxed) as usize;
        let on = self.reserve.load(Ordering::Relaxed) == u32::from(RESERVE)
            || self.forced.load(Ordering::Relaxed);
        (size != 0 && on).then_some(size)
    }
}

enum Kind {
    Db,
    Wal,
}

struct FileState {
    kind: Kind,
    shared: Arc<Shared>,
    /// A WAL frame header held back until its page image comes: (offset, bytes).
    held: Option<(i64, [u8; WAL_FRAME_HEADER_SIZE])>,
    /// The frame this handle wrote last, unless a frame header or page
    /// image was written since without going through the chain.
    chain: Option<Chain>,
    /// Frames of the transaction being written, not in the file yet.
    queue: FrameQueue,
}

/// Registers the shim over the default VFS.
///
/// # Safety
/// Call once (it leaks one small struct); SQLite must be usable.
unsafe fn register() -> c_int {
    // SAFETY: a null name asks for the default VFS; SQLite initialises
    // itself first.
    let base = unsafe { ffi::sqlite3_vfs_find(ptr::null()) };
    if base.is_null() {
        return ffi::SQLITE_ERROR;
    }
    // SAFETY: `base` is a registered VFS, valid for the process's life.
    let base_ref = unsafe { &*base };
    let mut ours = ffi::sqlite3_vfs {
        szOsFile: (REAL_OFFSET + base_ref.szOsFile as usize) as c_int,
        pNext: ptr::null_mut(),
        zName: VFS_NAME.as_ptr(),
        xOpen: Some(ck_open),
        // Every other method is the default VFS's own, which reads nothing
        // of the struct but `pAppData` (copied) and `mxPathname` (copied).
        ..*base_ref
    };
    ours.pAppData = base_ref.pAppData;
    if BASE.set(BaseVfs(base)).is_err() {
        return ffi::SQLITE_MISUSE;
    }
    let ours = Box::into_raw(Box::new(ours));
    // SAFETY: `ours` is a valid VFS that is never freed; 0 = not default.
    unsafe { ffi::sqlite3_vfs_register(ours, 0) }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(ck_close),
    xRead: Some(ck_read),
    xWrite: Some(ck_write),
    xTruncate: Some(ck_truncate),
    xSync: Some(ck_sync),
    xFileSize: Some(ck_file_size),
    xLock: Some(ck_lock),
    xUnlock: Some(ck_unlock),
    xCheckReservedLock: Some(ck_check_reserved_lock),
    xFileControl: Some(ck_file_control),
    xSectorSize: Some(ck_sector_size),
    xDeviceCharacteristics: Some(ck_device_characteristics),
    xShmMap: Some(ck_shm_map),
    xShmLock: Some(ck_shm_lock),
    xShmBarrier: Some(ck_shm_barrier),
    xShmUnmap: Some(ck_shm_unmap),
    xFetch: Some(ck_fetch),
    xUnfetch: Some(ck_unfetch),
};

/// The wrapped file inside ours.
///
/// # Safety
/// `f` is a file object of `szOsFile` bytes that `ck_open` filled.
unsafe fn real(f: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    // SAFETY: the allocation is REAL_OFFSET + the base's size (szOsFile).
    unsafe { f.cast::<u8>().add(REAL_OFFSET).cast() }
}

/// The wrapped file's methods.
///
/// # Safety
/// As for [`real`], and the wrapped file was opened successfully.
unsafe fn methods<'a>(f: *mut ffi::sqlite3_file) -> &'a ffi::sqlite3_io_methods {
    // SAFETY: an opened file has non-null methods that live as long as it.
    unsafe { &*(*real(f)).pMethods }
}

/// Our state of a checksummed file; None for a passed-through one.
///
/// # Safety
/// As for [`real`]; SQLite calls one file's methods from one thread at a
/// time, so the returned borrow is unique while the method runs.
unsafe fn state<'a>(f: *mut ffi::sqlite3_file) -> Option<&'a mut FileState> {
    // SAFETY: `state` is null or the Box that `ck_open` leaked.
    unsafe { (*f.cast::<CkFile>()).state.as_mut() }
}

unsafe extern "C" fn ck_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let Some(base) = BASE.get() else {
        return ffi::SQLITE_MISUSE;
    };
    // SAFETY: SQLite gave us `szOsFile` bytes at `file`; the wrapped file
    // lies inside them. Until it is opened our methods must be null.
    let rc = unsafe {
        let ck = file.cast::<CkFile>();
        (*ck).base.pMethods = ptr::null();
        (*ck).state = ptr::null_mut();
        match (*base.0).xOpen {
            Some(open) => open(base.0, name, real(file), flags, out_flags),
            None => ffi::SQLITE_MISUSE,
        }
    };
    // SAFETY: as above; the wrapped file's methods are null when its open
    // failed, in which case ours stay null too.
    unsafe {
        if (*real(file)).pMethods.is_null() {
            return rc;
        }
        (*file).pMethods = &METHODS;
    }
    if rc != ffi::SQLITE_OK || name.is_null() {
        return rc;
    }
    let kind = if flags & ffi::SQLITE_OPEN_MAIN_DB != 0 {
        Kind::Db
    } else if flags & ffi::SQLITE_OPEN_WAL != 0 {
        Kind::Wal
    } else {
        return rc;
    };
    let shared = match kind {
        Kind::Db => {
            // SAFETY: `name` is the NUL-terminated path SQLite opens.
            let path = unsafe { CStr::from_ptr(name) }.to_string_lossy();
            Arc::new(Shared {
                path: PathBuf::from(path.as_ref()),
                page_size: AtomicU32::new(0),
                reserve: AtomicU32::new(u32::MAX),
                forced: AtomicBool::new(false),
                write_epoch: AtomicU64::new(0),
            })
        }
        // SAFETY: for a WAL's name SQLite returns its main database's file
        // object, which the same connection opened through this VFS (its
        // methods are ours, checked before the cast) and closes after the WAL.
        Kind::Wal => match unsafe { partner(name) } {
            Some(shared) => shared,
            None => return rc,
        },
    };
    let state = Box::new(FileState {
        kind,
        shared,
        held: None,
        chain: None,
        queue: FrameQueue::default(),
    });
    // SAFETY: `file` is ours (see above); `ck_close` frees the box.
    unsafe { (*file.cast::<CkFile>()).state = Box::into_raw(state) };
    rc
}

/// The shared state of the main database whose WAL is named `name`.
///
/// # Safety
/// `name` is a WAL file name SQLite passed to xOpen.
unsafe fn partner(name: ffi::sqlite3_filename) -> Option<Arc<Shared>> {
    // SAFETY: see the caller.
    let db = unsafe { ffi::sqlite3_database_file_object(name) };
    // SAFETY: a file object whose methods are ours is a CkFile.
    unsafe {
        if db.is_null() || !ptr::eq((*db).pMethods, &METHODS) {
            return None;
        }
        state(db).map(|s| Arc::clone(&s.shared))
    }
}

/// Verifies a page just read; records and returns the damage.
fn verify_read(state: &FileState, page: &[u8], offset: i64, file: *mut ffi::sqlite3_file) -> c_int {
    if pages::verify(page) {
        return ffi::SQLITE_OK;
    }
    let size = page.len() as i64;
    let what = match state.kind {
        Kind::Db => format!(
            "page {} of {} does not match its checksum",
            offset / size + 1,
            state.shared.path.display()
        ),
        Kind::Wal => {
            let frame =
                (offset - WAL_HEADER_SIZE as i64) / (size + WAL_FRAME_HEADER_SIZE as i64) + 1;
            let mut head = [0u8; WAL_FRAME_HEADER_SIZE];
            // SAFETY: `file` is an open WAL of ours; `head` is writable.
            let read = unsafe { read_real(file, &mut head, offset - WAL_FRAME_HEADER_SIZE as i64) };
            let page_number = if read {
                pages::be32(&head).to_string()
            } else {
                "?".into()
            };
            format!(
                "page {page_number} in frame {frame} of {}-wal does not match its checksum",
                state.shared.path.display()
            )
        }
    };
    record_damage(what);
    ffi::SQLITE_IOERR_DATA
}

/// Reads `buf.len()` bytes of the wrapped file; true when all were read.
///
/// # Safety
/// `f` is an open file of ours.
unsafe fn read_real(f: *mut ffi::sqlite3_file, buf: &mut [u8], offset: i64) -> bool {
    // SAFETY: see the caller; `buf` is writable for its length.
    unsafe {
        let read = methods(f).xRead.expect("every file reads");
        read(real(f), buf.as_mut_ptr().cast(), buf.len() as c_int, offset) == ffi::SQLITE_OK
    }
}

/// Writes `buf` to the wrapped file.
///
/// # Safety
/// `f` is an open file of ours.
unsafe fn write_real(f: *mut ffi::sqlite3_file, buf: &[u8], offset: i64) -> c_int {
    // SAFETY: see the caller; `buf` is readable for its length.
    unsafe {
        let write = methods(f).xWrite.expect("every file writes");
        write(real(f), buf.as_ptr().cast(), buf.len() as c_int, offset)
    }
}

fn frame_size(page_size: usize) -> i64 {
    (WAL_FRAME_HEADER_SIZE + page_size) as i64
}

/// True when `offset` starts a frame header in a WAL of `page_size` pages.
fn is_frame_header(offset: i64, page_size: usize) -> bool {
    offset >= WAL_HEADER_SIZE as i64
        && (offset - WAL_HEADER_SIZE as i64) % frame_size(page_size) == 0
}

/// Writes the queued frames out, then a held-back frame header as SQLite
/// gave it; such a header (SQLite rewriting the checksums of frames already
/// written) breaks this handle's chain.
///
/// # Safety
/// `f` is an open file of ours whose state is `st`.
unsafe fn settle(f: *mut ffi::sqlite3_file, st: &mut FileState) -> c_int {
    // SAFETY: see the caller.
    let rc = unsafe { write_queue(f, st) };
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match st.held.take() {
        Some((offset, head)) => {
            st.chain = None;
            // SAFETY: see the caller.
            unsafe { write_real(f, &head, offset) }
        }
        None => ffi::SQLITE_OK,
    }
}

/// Writes the queued frames with one positioned write.
///
/// # Safety
/// `f` is an open file of ours whose state is `st`.
unsafe fn write_queue(f: *mut ffi::sqlite3_file, st: &mut FileState) -> c_int {
    match st.queue.drain() {
        // Frames queued before this connection last released the write
        // lock never saw their commit frame (a commit writes the queue out
        // first): their transaction was rolled back, and another writer
        // may have written its own frames where they would go.
        Some((_, _, epoch)) if epoch != st.shared.write_epoch.load(Ordering::SeqCst) => {
            st.chain = None;
            ffi::SQLITE_OK
        }
        Some((at, bytes, _)) => {
            // SQLite's own file layer writes at most 128 KiB per call.
            for (i, chunk) in bytes.chunks(wal_frames::WRITE_LIMIT).enumerate() {
                let offset = at + (i * wal_frames::WRITE_LIMIT) as i64;
                // SAFETY: see the caller.
                let rc = unsafe { write_real(f, chunk, offset) };
                if rc != ffi::SQLITE_OK {
                    st.chain = None;
                    return rc;
                }
            }
            ffi::SQLITE_OK
        }
        None => ffi::SQLITE_OK,
    }
}

/// Settles a WAL before any method but a write; nothing for other files.
///
/// # Safety
/// `f` is an open file of ours.
unsafe fn before_other(f: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: see the caller.
    unsafe {
        match state(f) {
            Some(st) if matches!(st.kind, Kind::Wal) => settle(f, st),
            _ => ffi::SQLITE_OK,
        }
    }
}

unsafe extern "C" fn ck_close(f: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes an open file of ours once; the box is ours.
    unsafe {
        let settled = before_other(f);
        let rc = (methods(f).xClose.expect("every file closes"))(real(f));
        let ck = f.cast::<CkFile>();
        if !(*ck).state.is_null() {
            drop(Box::from_raw((*ck).state));
            (*ck).state = ptr::null_mut();
        }
        if settled != ffi::SQLITE_OK {
            settled
        } else {
            rc
        }
    }
}

unsafe extern "C" fn ck_read(
    f: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite passes an open file of ours and `amount` writable bytes.
    unsafe {
        let settled = before_other(f);
        if settled != ffi::SQLITE_OK {
            return settled;
        }
        let rc = (methods(f).xRead.expect("every file reads"))(real(f), buf, amount, offset);
        let Some(st) = state(f) else { return rc };
        if rc != ffi::SQLITE_OK || amount <= 0 {
            return rc;
        }
        let data = std::slice::from_raw_parts(buf.cast::<u8>(), amount as usize);
        match st.kind {
            Kind::Db => {
                if offset == 0 {
                    st.shared.learn(data);
                }
                match st.shared.verifying() {
                    Some(size) if data.len() == size && offset % size as i64 == 0 => {
                        verify_read(st, data, offset, f)
                    }
                    _ => rc,
                }
            }
            Kind::Wal => {
                // Only a page-1 image in the WAL starts like a database.
                if data.starts_with(pages::HEADER_MAGIC) {
                    st.shared.learn(data);
                }
                let size = st.shared.page_size.load(Ordering::Relaxed) as usize;
                if size == 0
                    || data.len() != size
                    || !is_frame_header(offset - WAL_FRAME_HEADER_SIZE as i64, size)
                {
                    return rc;
                }
                match st.shared.verifying() {
                    Some(_) => verify_read(st, data, offset, f),
                    None => rc,
                }
            }
        }
    }
}

unsafe extern "C" fn ck_write(
    f: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite passes an open file of ours and `amount` readable bytes.
    unsafe {
        let Some(st) = state(f) else {
            return (methods(f).xWrite.expect("every file writes"))(real(f), buf, amount, offset);
        };
        let data = std::slice::from_raw_parts(buf.cast::<u8>(), amount.max(0) as usize);
        match st.kind {
            Kind::Db => write_db(f, st, data, offset),
            Kind::Wal => write_wal(f, st, data, offset),
        }
    }
}

/// # Safety
/// `f` is an open database file of ours whose state is `st`.
unsafe fn write_db(
    f: *mut ffi::sqlite3_file,
    st: &mut FileState,
    data: &[u8],
    offset: i64,
) -> c_int {
    if offset == 0 {
        st.shared.learn(data);
    }
    match st.shared.sealing() {
        Some(size) if data.len() == size && offset % size as i64 == 0 => {
            let mut page = data.to_vec();
            pages::seal(&mut page);
            // SAFETY: see the caller.
            unsafe { write_real(f, &page, offset) }
        }
        // SAFETY: see the caller.
        _ => unsafe { write_real(f, data, offset) },
    }
}

/// # Safety
/// `f` is an open WAL of ours whose state is `st`.
unsafe fn write_wal(
    f: *mut ffi::sqlite3_file,
    st: &mut FileState,
    data: &[u8],
    offset: i64,
) -> c_int {
    if offset == 0 && data.len() >= WAL_HEADER_SIZE {
        // The WAL header names the page size before any frame is written.
        st.shared.learn_page_size(pages::be32(&data[8..]));
    }
    // Only a page-1 image starts like a database; it may turn checksums on
    // before the frame it is in is written.
    if data.starts_with(pages::HEADER_MAGIC) {
        st.shared.learn(data);
    }
    let size = st.shared.page_size.load(Ordering::Relaxed) as usize;
    // Every frame header is held back, sealing or not, so that a frame's
    // checksum always covers the image as written.
    if size != 0 && data.len() == WAL_FRAME_HEADER_SIZE && is_frame_header(offset, size) {
        // A header held before has no page image coming: it goes to the
        // file as it is, after the frames queued before it.
        if st.held.is_some() {
            // SAFETY: see the caller.
            let rc = unsafe { settle(f, st) };
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        let mut head = [0u8; WAL_FRAME_HEADER_SIZE];
        head.copy_from_slice(data);
        st.held = Some((offset, head));
        return ffi::SQLITE_OK;
    }
    let frame_offset = offset - WAL_FRAME_HEADER_SIZE as i64;
    if size == 0 || data.len() != size || !is_frame_header(frame_offset, size) {
        // SAFETY: see the caller.
        let rc = unsafe { settle(f, st) };
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        // SAFETY: see the caller.
        return unsafe { write_real(f, data, offset) };
    }
    let sealing = st.shared.sealing().is_some();
    match st.held.take() {
        Some((held_at, head)) if held_at == frame_offset => {
            let mut frame = Vec::with_capacity(WAL_FRAME_HEADER_SIZE + size);
            frame.extend_from_slice(&head);
            frame.extend_from_slice(data);
            if sealing {
                pages::seal(&mut frame[WAL_FRAME_HEADER_SIZE..]);
            }
            // SAFETY: see the caller.
            let Some((seed, big)) = (unsafe { chain_seed(f, st, frame_offset, &head) }) else {
                st.chain = None;
                return ffi::SQLITE_IOERR_READ;
            };
            let s = pages::wal_checksum(big, &frame[..8], seed);
            let s = pages::wal_checksum(big, &frame[WAL_FRAME_HEADER_SIZE..], s);
            let at = pages::WAL_FRAME_CHECKSUM_OFFSET;
            frame[at..at + 4].copy_from_slice(&s.0.to_be_bytes());
            frame[at + 4..at + 8].copy_from_slice(&s.1.to_be_bytes());
            // The frames of a transaction are queued and written together
            // when its commit frame comes (or anything else is done with
            // the file): one write per commit rather than one per page.
            // Nobody reads them before: other connections read only frames
            // of committed transactions, and this one settles the queue
            // before any read.
            let epoch = st.shared.write_epoch.load(Ordering::SeqCst);
            if !st.queue.push(frame_offset, &frame, epoch) {
                // SAFETY: see the caller.
                let rc = unsafe { write_queue(f, st) };
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                st.queue.push(frame_offset, &frame, epoch);
            }
            st.chain = Some(Chain {
                offset: frame_offset,
                sum: s,
                big_endian: big,
                salt: wal_frames::salt(&head),
            });
            let commit = pages::be32(&head[pages::WAL_FRAME_COMMIT_OFFSET..]) != 0;
            if commit || st.queue.is_full() {
                // SAFETY: see the caller.
                unsafe { write_queue(f, st) }
            } else {
                ffi::SQLITE_OK
            }
        }
        other => {
            st.held = other;
            // SAFETY: see the caller.
            let rc = unsafe { settle(f, st) };
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            // A page image written again within a transaction: SQLite
            // rewrites the frame checksums from disk before it commits.
            st.chain = None;
            if sealing {
                let mut page = data.to_vec();
                pages::seal(&mut page);
                // SAFETY: see the caller.
                unsafe { write_real(f, &page, offset) }
            } else {
                // SAFETY: see the caller.
                unsafe { write_real(f, data, offset) }
            }
        }
    }
}

/// The cumulative checksum the frame at `frame_offset` (header `head`)
/// continues, and the word order: from the frame this handle wrote last
/// when the new one follows it in the same WAL generation, else from disk.
///
/// # Safety
/// `f` is an open WAL of ours whose state is `st`.
unsafe fn chain_seed(
    f: *mut ffi::sqlite3_file,
    st: &mut FileState,
    frame_offset: i64,
    head: &[u8; WAL_FRAME_HEADER_SIZE],
) -> Option<((u32, u32), bool)> {
    let size = st.shared.page_size.load(Ordering::Relaxed) as usize;
    if let Some(seed) = st
        .chain
        .and_then(|c| c.seed_for(frame_offset, frame_size(size), head))
    {
        return Some(seed);
    }
    // The chain is read from the file: whatever is queued goes there first.
    // SAFETY: see the caller.
    if unsafe { write_queue(f, st) } != ffi::SQLITE_OK {
        return None;
    }
    let mut header = [0u8; WAL_HEADER_SIZE];
    // SAFETY: see the caller.
    if !unsafe { read_real(f, &mut header, 0) } {
        return None;
    }
    let big = pages::wal_big_endian([header[0], header[1], header[2], header[3]])?;
    let sum = if frame_offset == WAL_HEADER_SIZE as i64 {
        let at = pages::WAL_HEADER_CHECKSUM_OFFSET;
        [
            header[at],
            header[at + 1],
            header[at + 2],
            header[at + 3],
            header[at + 4],
            header[at + 5],
            header[at + 6],
            header[at + 7],
        ]
    } else {
        let mut sum = [0u8; 8];
        let at = frame_offset - frame_size(size) + pages::WAL_FRAME_CHECKSUM_OFFSET as i64;
        // SAFETY: see the caller.
        if !unsafe { read_real(f, &mut sum, at) } {
            return None;
        }
        sum
    };
    Some(((pages::be32(&sum), pages::be32(&sum[4..])), big))
}

unsafe extern "C" fn ck_truncate(f: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: SQLite passes an open file of ours.
    unsafe {
        let settled = before_other(f);
        if settled != ffi::SQLITE_OK {
            return settled;
        }
        (methods(f).xTruncate.expect("every file truncates"))(real(f), size)
    }
}

unsafe extern "C" fn ck_sync(f: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: SQLite passes an open file of ours.
    unsafe {
        let settled = before_other(f);
        if settled != ffi::SQLITE_OK {
            return settled;
        }
        (methods(f).xSync.expect("every file syncs"))(real(f), flags)
    }
}

unsafe extern "C" fn ck_file_size(f: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    // SAFETY: SQLite passes an open file of ours and a writable size.
    unsafe {
        let settled = before_other(f);
        if settled != ffi::SQLITE_OK {
            return settled;
        }
        (methods(f).xFileSize.expect("every file has a size"))(real(f), size)
    }
}

unsafe extern "C" fn ck_lock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: SQLite passes an open file of ours.
    unsafe { (methods(f).xLock.expect("every file locks"))(real(f), level) }
}

unsafe extern "C" fn ck_unlock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: SQLite passes an open file of ours.
    unsafe { (methods(f).xUnlock.expect("every file unlocks"))(real(f), level) }
}

unsafe extern "C" fn ck_check_reserved_lock(f: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: SQLite passes an open file of ours and a writable int.
    unsafe { (methods(f).xCheckReservedLock.expect("every file locks"))(real(f), out) }
}

unsafe extern "C" fn ck_file_control(
    f: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: SQLite passes an open file of ours; for our own operations
    // `arg` is the c_int that `file_control` above passes.
    unsafe {
        if let Some(st) = state(f) {
            if matches!(st.kind, Kind::Db) {
                match op {
                    FCNTL_RESERVE_SEEN => {
                        let r = st.shared.reserve.load(Ordering::Relaxed);
                        *arg.cast::<c_int>() = if r == u32::MAX { -1 } else { r as c_int };
                        return ffi::SQLITE_OK;
                    }
                    FCNTL_SEAL_WRITES => {
                        st.shared.forced.store(true, Ordering::Relaxed);
                        return ffi::SQLITE_OK;
                    }
                    _ => {}
                }
            }
        }
        let settled = before_other(f);
        if settled != ffi::SQLITE_OK {
            return settled;
        }
        (methods(f)
            .xFileControl
            .expect("every file has file controls"))(real(f), op, arg)
    }
}

unsafe extern "C" fn ck_sector_size(f: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite passes an open file of ours.
    unsafe { methods(f).xSectorSize.map_or(4096, |m| m(real(f))) }
}

unsafe extern "C" fn ck_device_characteristics(f: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite passes an open file of ours.
    unsafe { methods(f).xDeviceCharacteristics.map_or(0, |m| m(real(f))) }
}

unsafe extern "C" fn ck_shm_map(
    f: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: SQLite passes an open file of ours and a writable pointer.
    unsafe {
        match methods(f).xShmMap {
            Some(m) => m(real(f), page, size, extend, out),
            None => ffi::SQLITE_IOERR_SHMMAP,
        }
    }
}

unsafe extern "C" fn ck_shm_lock(
    f: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: SQLite passes an open file of ours.
    unsafe {
        // The WAL's write lock is the shared-memory lock at offset 0.
        if offset == 0 && flags & ffi::SQLITE_SHM_UNLOCK != 0 {
            if let Some(st) = state(f) {
                st.shared.write_epoch.fetch_add(1, Ordering::SeqCst);
            }
        }
        match methods(f).xShmLock {
            Some(m) => m(real(f), offset, n, flags),
            None => ffi::SQLITE_IOERR_SHMLOCK,
        }
    }
}

unsafe extern "C" fn ck_shm_barrier(f: *mut ffi::sqlite3_file) {
    // SAFETY: SQLite passes an open file of ours.
    unsafe {
        if let Some(m) = methods(f).xShmBarrier {
            m(real(f));
        }
    }
}

unsafe extern "C" fn ck_shm_unmap(f: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    // SAFETY: SQLite passes an open file of ours.
    unsafe {
        methods(f)
            .xShmUnmap
            .map_or(ffi::SQLITE_OK, |m| m(real(f), delete))
    }
}

/// A page served from the memory map is verified like a page read; one
/// that does not verify is handed back, so that SQLite reads it with
/// xRead, which reports the damage.
unsafe extern "C" fn ck_fetch(
    f: *mut ffi::sqlite3_file,
    offset: i64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: SQLite passes an open file of ours and a writable pointer; a
    // fetched pointer is valid for `amount` bytes until it is unfetched.
    unsafe {
        *out = ptr::null_mut();
        let Some(fetch) = methods(f).xFetch else {
            return ffi::SQLITE_OK;
        };
        let rc = fetch(real(f), offset, amount, out);
        if rc != ffi::SQLITE_OK || (*out).is_null() || amount <= 0 {
            return rc;
        }
        let Some(st) = state(f) else { return rc };
        let data = std::slice::from_raw_parts((*out).cast::<u8>(), amount as usize);
        if offset == 0 {
            st.shared.learn(data);
        }
        if let Some(size) = st.shared.verifying() {
            if data.len() == size && !pages::verify(data) {
                let page = *out;
                *out = ptr::null_mut();
                if let Some(unfetch) = methods(f).xUnfetch {
                    return unfetch(real(f), offset, page);
                }
            }
        }
        rc
    }
}

unsafe extern "C" fn ck_unfetch(
    f: *mut ffi::sqlite3_file,
    offset: i64,
    page: *mut c_void,
) -> c_int {
    // SAFETY: SQLite passes an open file of ours and a pointer it fetched.
    unsafe {
        methods(f)
            .xUnfetch
            .map_or(ffi::SQLITE_OK, |m| m(real(f), offset, page))
    }
}

/// The extended result code of a page that does not match its checksum.
pub(crate) const DAMAGED_PAGE: c_int = ffi::SQLITE_IOERR_DATA;
