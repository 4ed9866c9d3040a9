//! The metric log file: creation, the shared page allocator, growth, block
//! mappings for writers and positioned reads for readers.
//!
//! Readers go through [`ReadAt`], the narrow interface that fault tests
//! replace to inject short reads and I/O errors. They copy the bytes they
//! read (positioned reads) and never hold a reference into a mapping: a
//! block may still be appended to by another process, and bytes that change
//! under a Rust reference are undefined behaviour. Shared mappings are made
//! raw ([`MmapRaw`]) and only written through raw pointers or atomics.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::{MmapOptions, MmapRaw};

use super::format::{self, FileHeader, LOG_VERSION, NEXT_PAGE_OFFSET, PAGE};
use crate::error::{Error, FormatError, Result};

/// Positioned reads of the log: all that readers and checks need.
pub trait ReadAt {
    /// Reads up to `buf.len()` bytes at `offset`; fewer only at the end of the file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

/// The metric log of one store, opened by one process.
pub struct LogFile {
    path: PathBuf,
    file: File,
    /// Page 0, mapped shared: every process allocates from the same counter.
    /// Raw, because other processes change it: it is only reached through
    /// [`LogFile::next_page`], an atomic. None when opened read-only.
    header: Option<MmapRaw>,
    /// The file length this process last saw; lengths only grow.
    known_len: AtomicU64,
    /// The file's device and inode, to notice it deleted or replaced.
    identity: (u64, u64),
}

/// Growth step: the file doubles up to this, then grows by this much.
const MAX_GROWTH: u64 = 64 << 20;

/// How far past the end of the file the allocator may legitimately be:
/// allocations under way in other processes (each at most a block) and a
/// file length lost at a power loss. Beyond this (16 GiB) the counter is
/// taken as damaged rather than grown into.
pub const ALLOCATOR_SLACK_PAGES: u64 = 1 << 22;

// The allocator is an `AtomicU64` inside page 0, which is mapped at a page
// boundary: its offset must suit the atomic's alignment, and it must fit.
const _: () = assert!(NEXT_PAGE_OFFSET.is_multiple_of(align_of::<AtomicU64>()));
const _: () = assert!(NEXT_PAGE_OFFSET + size_of::<AtomicU64>() <= PAGE as usize);

impl LogFile {
    /// Opens the log at `path`, creating and initialising it when missing.
    pub fn open(path: &Path) -> Result<LogFile> {
        let io_err = |e| Error::io(path, e);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err)?;
        // Creation is serialised by an exclusive lock, so two processes
        // opening a new store at once write one header.
        file.lock().map_err(io_err)?;
        let init = Self::initialise(path, &file);
        file.unlock().map_err(io_err)?;
        init?;
        // Page 0 is only ever written through the atomic counter, or by
        // `initialise` before any process maps the file (under the lock).
        let header = MmapOptions::new()
            .len(PAGE as usize)
            .map_raw(&file)
            .map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        Ok(LogFile {
            path: path.to_path_buf(),
            identity: identity(&file, path)?,
            file,
            header: Some(header),
            known_len: AtomicU64::new(len),
        })
    }

    /// Opens an existing log for reading only: nothing is created, mapped
    /// for writing or written. Every write is a [`Error::ReadOnly`] error.
    pub fn open_read_only(path: &Path) -> Result<LogFile> {
        let io_err = |e| Error::io(path, e);
        let file = File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        let mut head = [0u8; 24];
        let read = file.read_at(&mut head, 0).map_err(io_err)?;
        Self::check_header(path, &head[..read], len)?;
        Ok(LogFile {
            path: path.to_path_buf(),
            identity: identity(&file, path)?,
            file,
            header: None,
            known_len: AtomicU64::new(len),
        })
    }

    /// A [`Error::LogReplaced`] error when the file at the log's path is no
    /// longer the one this process opened (deleted, or another file put in
    /// its place): writes into the open one would be lost.
    pub fn ensure_still_in_place(&self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(&self.path) {
            Ok(meta) if (meta.dev(), meta.ino()) == self.identity => Ok(()),
            Ok(_) => Err(Error::LogReplaced {
                path: self.path.clone(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::LogReplaced {
                path: self.path.clone(),
            }),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }

    fn read_only(&self) -> Error {
        Error::ReadOnly {
            path: self.path.clone(),
            reason: "the store is open read-only".into(),
        }
    }

    fn initialise(path: &Path, file: &File) -> Result<()> {
        let io_err = |e| Error::io(path, e);
        let len = file.metadata().map_err(io_err)?.len();
        let mut head = [0u8; 24];
        let read = file.read_at(&mut head, 0).map_err(io_err)?;
        if len == 0 || (read < head.len() && head.iter().all(|&b| b == 0)) {
            file.set_len(PAGE).map_err(io_err)?;
            file.write_all_at(&format::encode_file_header(), 0)
                .map_err(io_err)?;
            file.write_all_at(&1u64.to_le_bytes(), NEXT_PAGE_OFFSET as u64)
                .map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
            return Ok(());
        }
        Self::check_header(path, &head[..read], len)
    }

    /// Refuses a file that is not a metric log this tracklite reads.
    fn check_header(path: &Path, head: &[u8], len: u64) -> Result<()> {
        match format::decode_file_header(head) {
            FileHeader::Valid { version } if version > LOG_VERSION => Err(FormatError::TooNew {
                what: "metric log",
                path: path.to_path_buf(),
                found: version,
                supported: LOG_VERSION,
            }
            .into()),
            FileHeader::Valid { .. } if len < PAGE => Err(FormatError::NotAStore {
                what: "metric log",
                path: path.to_path_buf(),
                reason: format!("it is {len} bytes long, shorter than its header page"),
            }
            .into()),
            FileHeader::Valid { .. } => Ok(()),
            FileHeader::NotALog(reason) => Err(FormatError::NotAStore {
                what: "metric log",
                path: path.to_path_buf(),
                reason: reason.to_string(),
            }
            .into()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The shared allocator; None when the log is open read-only.
    fn next_page(&self) -> Option<&AtomicU64> {
        let header = self.header.as_ref()?;
        debug_assert!(header.len() >= PAGE as usize);
        let counter = header
            .as_mut_ptr()
            .wrapping_add(NEXT_PAGE_OFFSET)
            .cast::<u64>();
        // SAFETY: the mapping is one page long and starts on a page boundary,
        // so `counter` is in bounds and aligned for an AtomicU64 (both
        // asserted at compile time above). It stays valid for as long as
        // `self`, which owns the mapping. No Rust reference to these bytes
        // exists other than this atomic, and every process that maps the
        // file reaches them only through this function, atomically; the one
        // plain write (`initialise`) happens before any process maps the
        // file, ordered by the file lock.
        Some(unsafe { AtomicU64::from_ptr(counter) })
    }

    /// The first page no block has been allocated at yet.
    pub fn allocated_pages(&self) -> u64 {
        match self.next_page() {
            Some(counter) => counter.load(Ordering::Acquire),
            None => {
                let mut bytes = [0u8; 8];
                match self.read_at(&mut bytes, NEXT_PAGE_OFFSET as u64) {
                    Ok(8) => u64::from_le_bytes(bytes),
                    // Unreadable: every page of the file may hold blocks.
                    _ => self.known_len.load(Ordering::Acquire) / PAGE,
                }
            }
        }
    }

    /// Sets the allocator to `page`: only `check --repair` does, with no
    /// other process writing.
    pub fn set_allocated_pages(&self, page: u64) -> Result<()> {
        let Some(counter) = self.next_page() else {
            return Err(self.read_only());
        };
        counter.store(page, Ordering::Release);
        Ok(())
    }

    /// Makes sure the allocator is past `page`: after a power loss the
    /// counter may lag behind blocks the index knows of.
    pub fn reserve_through(&self, page: u64) {
        if let Some(counter) = self.next_page() {
            counter.fetch_max(page, Ordering::AcqRel);
        }
    }

    /// Allocates `pages` contiguous pages for a new block and returns the
    /// first. Safe to call from any number of processes at once.
    pub fn allocate(&self, pages: u32) -> Result<u64> {
        let Some(counter) = self.next_page() else {
            return Err(self.read_only());
        };
        let first = counter.fetch_add(pages as u64, Ordering::AcqRel).max(1);
        let known_pages = self.known_len.load(Ordering::Acquire) / PAGE;
        let damaged = |reason: String| -> Error {
            FormatError::AllocatorDamaged {
                path: self.path.clone(),
                value: first,
                reason,
            }
            .into()
        };
        if first > known_pages.saturating_add(ALLOCATOR_SLACK_PAGES) {
            return Err(damaged(format!(
                "far past the end of the file ({known_pages} pages)"
            )));
        }
        let end = first
            .checked_add(pages as u64)
            .and_then(|end| end.checked_mul(PAGE))
            .ok_or_else(|| damaged("past the largest offset a file can have".into()))?;
        if end > self.known_len.load(Ordering::Acquire) {
            self.grow_to(end)?;
        }
        Ok(first)
    }

    fn grow_to(&self, end: u64) -> Result<()> {
        let io_err = |e| Error::io(&self.path, e);
        self.file.lock().map_err(io_err)?;
        let grown = (|| {
            let len = self.file.metadata()?.len();
            if len < end {
                let step = len.clamp(PAGE, MAX_GROWTH);
                let target = end.max(len + step).div_ceil(PAGE) * PAGE;
                self.file.set_len(target)?;
                return Ok(target);
            }
            Ok(len)
        })();
        self.file.unlock().map_err(io_err)?;
        let len = grown.map_err(io_err)?;
        self.known_len.fetch_max(len, Ordering::AcqRel);
        Ok(())
    }

    /// Maps `count` blocks of `pages` pages each, side by side from
    /// `first_page`, with one mapping that they share (one system call for
    /// a run's first metrics rather than one per key).
    pub fn map_blocks(&self, first_page: u64, pages: u32, count: usize) -> Result<Vec<BlockMap>> {
        let offset = first_page * PAGE;
        let len = pages as usize * PAGE as usize;
        // The format's page is 4 KiB; the OS page may be larger, so map from
        // the OS page boundary below the first block.
        let os_page = os_page_size();
        let start = offset / os_page * os_page;
        let skip = (offset - start) as usize;
        // The region was allocated to this writer alone by the shared
        // allocator, and the file is at least this long (`allocate`).
        let map = MmapOptions::new()
            .offset(start)
            .len(skip + len * count)
            .map_raw(&self.file)
            .map_err(|e| Error::io(&self.path, e))?;
        // Map every page of the blocks in one call rather than one fault per
        // page as points arrive. Best effort: older kernels refuse it, and
        // other systems have no such advice (the pages then fault in one by
        // one as points arrive).
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::PopulateWrite);
        let map = Arc::new(map);
        Ok((0..count)
            .map(|i| BlockMap {
                map: Arc::clone(&map),
                skip: skip + i * len,
                len,
            })
            .collect())
    }

    /// Writes a whole block with positioned writes: compaction's path, which
    /// writes each block once, in full, before the index points to it.
    pub fn write_block(&self, bytes: &[u8], first_page: u64) -> Result<()> {
        self.file
            .write_all_at(bytes, first_page * PAGE)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Gives the disk space of pages no block uses back to the file system,
    /// leaving a hole that reads as zeros; the file keeps its length. Where
    /// holes cannot be punched, the pages are overwritten with zeros
    /// instead, so that no stale block is ever mistaken for a live one.
    pub fn release(&self, first_page: u64, pages: u64) -> Result<()> {
        match self.punch_hole(first_page, pages) {
            Ok(()) => return Ok(()),
            Err(e) if !zeros_may_replace_hole(&e) => return Err(Error::io(&self.path, e)),
            Err(_) => {}
        }
        let zeros = vec![0u8; PAGE as usize];
        for p in first_page..first_page + pages {
            self.file
                .write_all_at(&zeros, p * PAGE)
                .map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Deallocates the pages, keeping the file's length (Linux `fallocate`).
    #[cfg(target_os = "linux")]
    fn punch_hole(&self, first_page: u64, pages: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain system call on a file descriptor this struct owns
        // and keeps open for the call; it takes no pointers.
        let r = unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                (first_page * PAGE) as libc::off_t,
                (pages * PAGE) as libc::off_t,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Deallocates the pages, keeping the file's length (macOS
    /// `fcntl(F_PUNCHHOLE)`; the range is whole 4 KiB pages, as it asks).
    #[cfg(target_vendor = "apple")]
    fn punch_hole(&self, first_page: u64, pages: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let hole = libc::fpunchhole_t {
            fp_flags: 0,
            reserved: 0,
            fp_offset: (first_page * PAGE) as libc::off_t,
            fp_length: (pages * PAGE) as libc::off_t,
        };
        // SAFETY: a system call on a file descriptor this struct owns and
        // keeps open for the call; F_PUNCHHOLE takes a pointer to an
        // `fpunchhole_t`, which `hole` is, alive until the call returns and
        // only read by it.
        let r = unsafe {
            libc::fcntl(
                self.file.as_raw_fd(),
                libc::F_PUNCHHOLE,
                std::ptr::from_ref(&hole),
            )
        };
        if r == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Other systems have no hole punching: `release` zeroes the pages.
    #[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
    fn punch_hole(&self, _first_page: u64, _pages: u64) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// Disk space the file uses, in bytes (holes excluded).
    pub fn allocated_bytes(&self) -> Result<u64> {
        use std::os::unix::fs::MetadataExt;
        let meta = self.file.metadata().map_err(|e| Error::io(&self.path, e))?;
        Ok(meta.blocks() * 512)
    }

    /// Current length of the file.
    pub fn len(&self) -> Result<u64> {
        Ok(self
            .file
            .metadata()
            .map_err(|e| Error::io(&self.path, e))?
            .len())
    }

    /// Writes everything logged so far, by any process, to stable storage.
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }
}

impl ReadAt for LogFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

/// The device and inode of an open file.
fn identity(file: &File, path: &Path) -> Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    Ok((meta.dev(), meta.ino()))
}

fn os_page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        PAGE
    }
}

/// Whether `release` may write zeros where punching a hole failed with
/// `err`. On Linux only when the file system cannot punch holes; any other
/// error is reported. Elsewhere always: hole punching is best effort there
/// (macOS refuses it on some file systems with errors that vary), and a
/// real I/O failure then fails the writes of zeros too.
fn zeros_may_replace_hole(err: &io::Error) -> bool {
    if cfg!(target_os = "linux") {
        err.raw_os_error() == Some(libc::EOPNOTSUPP)
    } else {
        true
    }
}

/// A block mapped for writing by the one writer that owns it. Written
/// through raw pointers only: no Rust reference to the shared bytes is ever
/// made, by the writer or (since they copy) by readers in this process.
pub struct BlockMap {
    /// Shared by the blocks mapped together; unmapped with the last.
    map: Arc<MmapRaw>,
    skip: usize,
    len: usize,
}

impl BlockMap {
    /// Copies `bytes` into the block at byte `at` of the block.
    ///
    /// # Panics
    /// When the bytes do not fit in the block.
    #[inline]
    pub fn write(&mut self, at: usize, bytes: &[u8]) {
        assert!(
            at <= self.len && bytes.len() <= self.len - at,
            "a write of {} bytes at {at} overruns a block of {} bytes",
            bytes.len(),
            self.len
        );
        // SAFETY: the destination lies inside the mapping (asserted above;
        // `skip + len` is at most the mapping's length) and stays mapped
        // while `self` lives (it holds the mapping). The block's pages were
        // handed to this writer alone by the shared allocator (`allocate`,
        // whose counter never hands a page out twice); blocks sharing a
        // mapping cover disjoint byte ranges of it, and `&mut self` makes
        // this the only write to this block in this process, so no other
        // thread or process writes these bytes. Readers
        // copy them with positioned reads and hold no reference into any
        // mapping, so nothing in this process aliases them. `bytes` is a
        // caller's buffer, never this mapping, so the two do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.as_mut_ptr().add(self.skip + at),
                bytes.len(),
            );
        }
    }
}
