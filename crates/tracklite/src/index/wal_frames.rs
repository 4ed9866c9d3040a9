//! What a WAL handle of the checksum shim (`checksum_vfs.rs`) keeps between
//! frame writes: the checksum chain it continues, and the frames of the
//! transaction being written, which go to the file in one write.

use super::pages::WAL_FRAME_HEADER_SIZE;

/// Bytes 8..16 of a frame header: the salts of the WAL generation the
/// frame belongs to (a WAL restart draws new ones).
const SALT_OFFSET: usize = 8;

/// Queued frames are written out once they reach this size, so that a
/// transaction of many pages (a vacuum, a large import) does not hold them
/// all in memory.
const QUEUE_LIMIT: usize = 1 << 16;

/// The most bytes handed to the file layer below in one write: SQLite's
/// unix file layer writes at most 128 KiB per call (it reports a longer
/// write as a full disk).
pub(crate) const WRITE_LIMIT: usize = 1 << 16;

/// The cumulative checksum of the last frame this handle wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chain {
    /// Where that frame starts.
    pub offset: i64,
    /// Its cumulative checksum.
    pub sum: (u32, u32),
    /// The WAL's word order.
    pub big_endian: bool,
    /// The salts of its WAL generation.
    pub salt: [u8; 8],
}

impl Chain {
    /// The seed of a frame at `offset`, of `frame_size` bytes, whose header
    /// is `head`: this chain's checksum when the frame comes right after
    /// the chain's frame in the same WAL generation. Another writer's
    /// frames after ours would have moved the frame's offset, and a
    /// restart changes the salts, so the chain on disk is then ours; None
    /// otherwise (the caller reads the chain from disk).
    pub fn seed_for(
        &self,
        offset: i64,
        frame_size: i64,
        head: &[u8; WAL_FRAME_HEADER_SIZE],
    ) -> Option<((u32, u32), bool)> {
        (self.offset + frame_size == offset && self.salt == salt(head))
            .then_some((self.sum, self.big_endian))
    }
}

/// The salts a frame header carries.
pub(crate) fn salt(head: &[u8; WAL_FRAME_HEADER_SIZE]) -> [u8; 8] {
    let mut salt = [0u8; 8];
    salt.copy_from_slice(&head[SALT_OFFSET..SALT_OFFSET + 8]);
    salt
}

/// Whole frames, side by side, not yet written to the file.
#[derive(Debug, Default)]
pub(crate) struct FrameQueue {
    at: i64,
    bytes: Vec<u8>,
    /// The connection's write-lock epoch when the first frame was queued.
    epoch: u64,
}

impl FrameQueue {
    /// Queues `frame` at `offset`, written under write-lock `epoch`, when
    /// it continues the queue (or the queue is empty); false, leaving the
    /// queue alone, when the caller must write the queue out first.
    pub fn push(&mut self, offset: i64, frame: &[u8], epoch: u64) -> bool {
        if self.bytes.is_empty() {
            self.at = offset;
            self.epoch = epoch;
        } else if self.at + self.bytes.len() as i64 != offset || self.epoch != epoch {
            return false;
        }
        self.bytes.extend_from_slice(frame);
        true
    }

    /// True when the queue is large enough to be written out now.
    pub fn is_full(&self) -> bool {
        self.bytes.len() >= QUEUE_LIMIT
    }

    /// The queued bytes, where they go and the epoch they were queued
    /// under, when any; the queue is then empty.
    pub fn drain(&mut self) -> Option<(i64, Vec<u8>, u64)> {
        if self.bytes.is_empty() {
            return None;
        }
        let capacity = self.bytes.capacity();
        let bytes = std::mem::replace(&mut self.bytes, Vec::with_capacity(capacity));
        Some((self.at, bytes, self.epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(salt: [u8; 8]) -> [u8; WAL_FRAME_HEADER_SIZE] {
        let mut h = [0u8; WAL_FRAME_HEADER_SIZE];
        h[SALT_OFFSET..SALT_OFFSET + 8].copy_from_slice(&salt);
        h
    }

    #[test]
    fn a_chain_seeds_only_the_next_frame_of_its_generation() {
        let chain = Chain {
            offset: 32,
            sum: (7, 9),
            big_endian: true,
            salt: [1; 8],
        };
        assert_eq!(
            chain.seed_for(32 + 1048, 1048, &head([1; 8])),
            Some(((7, 9), true))
        );
        // Another writer's frames came in between.
        assert_eq!(chain.seed_for(32 + 2 * 1048, 1048, &head([1; 8])), None);
        // The WAL restarted and was written up to the same place.
        assert_eq!(chain.seed_for(32 + 1048, 1048, &head([2; 8])), None);
    }

    /// A transaction that spilled frames and was rolled back leaves nothing
    /// that is written later over frames another connection committed in
    /// their place meanwhile. (SQLite's rollback reads pages back, which
    /// writes the queue out while the write lock is held; the write-lock
    /// epoch guards the paths where nothing does.)
    #[test]
    fn frames_of_a_rolled_back_transaction_are_never_written() {
        use rusqlite::{params, Connection, OpenFlags};
        let vfs = crate::index::checksum_vfs::name().expect("the VFS");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("q.sqlite");
        let open = || {
            let c = Connection::open_with_flags_and_vfs(&path, OpenFlags::default(), vfs)
                .expect("opens");
            c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            c
        };
        let mut first = open();
        first
            .execute_batch(
                "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL;
                 CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB);
                 INSERT INTO t VALUES (0, zeroblob(100));",
            )
            .expect("schema");
        // A tiny cache makes the big transaction spill pages to the WAL
        // before it ends.
        first.execute_batch("PRAGMA cache_size = 10").unwrap();
        {
            let tx = first.transaction().unwrap();
            // A few pages' worth: the spilled frames stay in the queue.
            for k in 1..40 {
                tx.execute("INSERT INTO t VALUES (?1, zeroblob(500))", params![k])
                    .unwrap();
            }
            tx.rollback().unwrap();
        }
        let second = open();
        for k in 5_000..5_200 {
            second
                .execute("INSERT INTO t VALUES (?1, zeroblob(300))", params![k])
                .unwrap();
        }
        // The first connection reads and writes again: anything it still
        // held would reach the file now.
        let n: i64 = first
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 201);
        first
            .execute("INSERT INTO t VALUES (9999, zeroblob(10))", [])
            .unwrap();
        drop(first);
        drop(second);
        let check = open();
        let ok: String = check
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let n: i64 = check
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 202);
    }

    #[test]
    fn the_queue_takes_only_contiguous_frames() {
        let mut q = FrameQueue::default();
        assert!(q.drain().is_none());
        assert!(q.push(100, &[1; 10], 7));
        assert!(q.push(110, &[2; 5], 7));
        assert!(!q.push(200, &[3; 5], 7), "a gap is refused");
        assert!(!q.push(115, &[3; 5], 8), "so is another epoch");
        assert!(!q.is_full());
        let (at, bytes, epoch) = q.drain().unwrap();
        assert_eq!((at, epoch), (100, 7));
        assert_eq!(bytes, [[1u8; 10].as_slice(), &[2; 5]].concat());
        assert!(q.drain().is_none());
        assert!(q.push(200, &[3; 5], 8), "an empty queue starts anywhere");
        assert!(q.push(205, &vec![0; QUEUE_LIMIT], 8));
        assert!(q.is_full());
    }
}
