//! Reading blocks of the metric log.

use super::compressed;
use super::file::ReadAt;
use super::format::{self, BlockHeader, Slot, BLOCK_HEADER_SIZE, PAGE, RECORD_SIZE};

/// Bytes read per call: large enough to stream, small enough to stay in cache.
const CHUNK: usize = 64 << 10;

/// What scanning one block found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockScan {
    /// The header is there, intact, and names the expected series and place.
    pub header_ok: bool,
    /// Valid points delivered.
    pub points: u64,
    /// Slots holding damaged or torn records, skipped.
    pub invalid: u64,
    /// Slot index one past the last valid point.
    pub end: u32,
    /// True when the last non-empty slot was invalid: a torn tail.
    pub torn_tail: bool,
    /// The file ended inside the block.
    pub truncated: bool,
}

/// Which block to scan: its series, place and size, as the index has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    pub series_id: u64,
    pub first_page: u64,
    pub pages: u32,
}

/// Where to stop scanning a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// At the first slot that is not a valid point: for catching up with a
    /// block another process may still be writing.
    AtFirstGap,
    /// Skip damaged slots and stop only where the written data ends.
    AtEnd,
}

/// Walks record slots in order, keeping what is needed to tell the end of
/// the data, damage and a torn tail apart across chunk boundaries.
struct RecordScanner {
    seed: u32,
    slot: u32,
    stop: Stop,
    pending_empty: bool,
    scan: BlockScan,
}

impl RecordScanner {
    fn new(seed: u32, from: u32, stop: Stop) -> Self {
        RecordScanner {
            seed,
            slot: from,
            stop,
            pending_empty: false,
            scan: BlockScan {
                header_ok: true,
                end: from,
                ..BlockScan::default()
            },
        }
    }

    /// Feeds consecutive whole records; `false` once the data has ended.
    #[inline]
    fn feed(&mut self, records: &[u8], on_point: &mut impl FnMut(i64, i64, f64)) -> bool {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: the CPU supports SSE 4.2, checked just above.
            return unsafe { self.feed_sse42(records, on_point) };
        }
        self.feed_with(records, on_point, super::crc::record_crc)
    }

    /// [`RecordScanner::feed`] compiled for SSE 4.2, with the checksum's
    /// instructions inlined into the loop (a call per record cost 10% of
    /// a history read).
    ///
    /// # Safety
    /// The CPU must support SSE 4.2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse4.2")]
    unsafe fn feed_sse42(
        &mut self,
        records: &[u8],
        on_point: &mut impl FnMut(i64, i64, f64),
    ) -> bool {
        self.feed_with(records, on_point, |seed, body| {
            // SAFETY: this function runs only where SSE 4.2 is supported.
            unsafe { super::crc::record_crc_sse42(seed, body) }
        })
    }

    #[inline(always)]
    fn feed_with(
        &mut self,
        records: &[u8],
        on_point: &mut impl FnMut(i64, i64, f64),
        record_crc: impl Fn(u32, &[u8; 28]) -> u32 + Copy,
    ) -> bool {
        for rec in records.chunks_exact(RECORD_SIZE) {
            match format::decode_record_with(self.seed, self.slot, rec, record_crc) {
                Slot::Point {
                    step,
                    timestamp,
                    value,
                } => {
                    if self.pending_empty {
                        self.scan.invalid += 1;
                        self.pending_empty = false;
                    }
                    on_point(step, timestamp, value);
                    self.scan.points += 1;
                    self.scan.end = self.slot + 1;
                    self.scan.torn_tail = false;
                }
                Slot::Empty if self.pending_empty || self.stop == Stop::AtFirstGap => return false,
                Slot::Empty => self.pending_empty = true,
                Slot::Invalid if self.stop == Stop::AtFirstGap => return false,
                Slot::Invalid => {
                    if self.pending_empty {
                        self.scan.invalid += 1;
                        self.pending_empty = false;
                    }
                    self.scan.invalid += 1;
                    self.scan.torn_tail = true;
                    self.scan.end = self.slot + 1;
                }
            }
            self.slot += 1;
        }
        true
    }

    fn finish(mut self) -> BlockScan {
        if self.scan.torn_tail {
            // The last written slot was damaged: count it as a torn tail,
            // not as damage in the middle of the data.
            self.scan.invalid -= 1;
        }
        self.scan
    }
}

/// The raw block header in `head` if it is intact and is `block`'s; the
/// error value says whether it may be a compressed block instead.
fn raw_header(head: &[u8], block: BlockRef) -> Result<BlockHeader, bool> {
    match BlockHeader::decode(head) {
        Some(h)
            if h.series_id == block.series_id
                && h.first_page == block.first_page
                && h.pages == block.pages =>
        {
            Ok(h)
        }
        Some(_) => Err(false),
        None => Err(true),
    }
}

/// Scans `block` from slot `from`, calling
/// `on_point(step, timestamp, value)` for each valid point, in order.
///
/// Damaged slots are skipped, never delivered. The data ends at two
/// consecutive empty slots (one zeroed record in the middle is damage).
pub fn scan_block<R: ReadAt + ?Sized>(
    io: &R,
    buf: &mut [u8],
    block: BlockRef,
    from: u32,
    stop: Stop,
    mut on_point: impl FnMut(i64, i64, f64),
) -> std::io::Result<BlockScan> {
    assert!(buf.len() >= BLOCK_HEADER_SIZE && buf.len().is_multiple_of(RECORD_SIZE));
    let base = block.first_page * PAGE;
    let n = io.read_at(&mut buf[..BLOCK_HEADER_SIZE], base)?;
    let header = match raw_header(&buf[..n], block) {
        Ok(h) => h,
        Err(true) => return scan_compressed(io, base, &buf[..n], block, from, on_point),
        Err(false) => return Ok(not_found(from)),
    };
    let capacity = format::capacity(block.pages) as u32;
    let mut scanner = RecordScanner::new(header.record_seed(), from, stop);
    while scanner.slot < capacity {
        let want = ((capacity - scanner.slot) as usize * RECORD_SIZE).min(buf.len());
        let offset = base + BLOCK_HEADER_SIZE as u64 + scanner.slot as u64 * RECORD_SIZE as u64;
        let got = io.read_at(&mut buf[..want], offset)?;
        let whole = got / RECORD_SIZE * RECORD_SIZE;
        if !scanner.feed(&buf[..whole], &mut on_point) {
            break;
        }
        if whole < want {
            scanner.scan.truncated = true;
            break;
        }
    }
    Ok(scanner.finish())
}

/// The scan of a block whose header is missing or names another block.
fn not_found(from: u32) -> BlockScan {
    BlockScan {
        end: from,
        ..BlockScan::default()
    }
}

/// Scans a compressed block, which starts at byte `base` of `io`: all its
/// points or none, when it is damaged.
fn scan_compressed<R: ReadAt + ?Sized>(
    io: &R,
    base: u64,
    head: &[u8],
    block: BlockRef,
    from: u32,
    mut on_point: impl FnMut(i64, i64, f64),
) -> std::io::Result<BlockScan> {
    let BlockRef {
        series_id,
        first_page,
        pages,
    } = block;
    let mut scan = BlockScan {
        end: from,
        ..BlockScan::default()
    };
    let Some(h) = compressed::ZHeader::decode(head) else {
        return Ok(scan);
    };
    if h.series_id != series_id || h.first_page != first_page || h.pages != pages {
        return Ok(scan);
    }
    scan.header_ok = true;
    let mut payload = vec![0u8; h.payload_len as usize];
    let got = io.read_at(&mut payload, base + compressed::HEADER_SIZE as u64)?;
    if got < payload.len() {
        scan.truncated = true;
        scan.invalid = h.points as u64;
        return Ok(scan);
    }
    let mut index = 0u32;
    let decoded = compressed::decode(&h, &payload, |s, t, v| {
        if index >= from {
            on_point(s, t, v);
        }
        index += 1;
    });
    match decoded {
        Some(()) => {
            scan.points = h.points.saturating_sub(from) as u64;
            scan.end = h.points.max(from);
        }
        None => scan.invalid = h.points as u64,
    }
    Ok(scan)
}

/// A reusable read buffer for [`scan_block`].
pub fn scan_buffer() -> Vec<u8> {
    vec![0u8; CHUNK]
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::io;

    use super::*;
    use crate::log::format::{encode_record, BlockHeader};

    const REF: BlockRef = BlockRef {
        series_id: 5,
        first_page: 1,
        pages: 4,
    };

    /// An in-memory log that can fail or cut reads short after some calls.
    struct FaultyLog {
        bytes: Vec<u8>,
        calls: Cell<u32>,
        fail_after: Option<u32>,
        short_after: Option<u32>,
    }

    impl ReadAt for FaultyLog {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let call = self.calls.get();
            self.calls.set(call + 1);
            if self.fail_after.is_some_and(|n| call >= n) {
                return Err(io::Error::other("injected I/O error"));
            }
            let start = (offset as usize).min(self.bytes.len());
            let mut n = buf.len().min(self.bytes.len() - start);
            if self.short_after.is_some_and(|c| call >= c) {
                n = n.min(100); // not a whole number of records
            }
            buf[..n].copy_from_slice(&self.bytes[start..start + n]);
            Ok(n)
        }
    }

    /// A 4-page block of series 5 at page 1 holding `points` points.
    fn block(points: u32) -> FaultyLog {
        let h = BlockHeader {
            series_id: 5,
            first_page: 1,
            pages: 4,
            writer_pid: 1,
            created_ms: 0,
        };
        let mut bytes = vec![0u8; 5 * PAGE as usize];
        let base = PAGE as usize;
        bytes[base..base + BLOCK_HEADER_SIZE].copy_from_slice(&h.encode());
        for slot in 0..points {
            let at = base + BLOCK_HEADER_SIZE + slot as usize * RECORD_SIZE;
            let r = encode_record(h.record_seed(), slot, slot as i64, 0, slot as f64 * 2.0);
            bytes[at..at + RECORD_SIZE].copy_from_slice(&r);
        }
        FaultyLog {
            bytes,
            calls: Cell::new(0),
            fail_after: None,
            short_after: None,
        }
    }

    fn scan(log: &FaultyLog, out: &mut Vec<(i64, f64)>) -> io::Result<BlockScan> {
        let mut buf = vec![0u8; 4096];
        scan_block(log, &mut buf, REF, 0, Stop::AtEnd, |s, _, v| {
            out.push((s, v))
        })
    }

    #[test]
    fn reads_every_point_in_chunks() {
        let log = block(300);
        let mut out = Vec::new();
        let s = scan(&log, &mut out).unwrap();
        assert_eq!(
            (s.points, s.invalid, s.end, s.torn_tail),
            (300, 0, 300, false)
        );
        assert!(out.iter().all(|&(s, v)| v == s as f64 * 2.0));
    }

    #[test]
    fn an_io_error_is_returned_not_hidden() {
        let mut log = block(300);
        log.fail_after = Some(2);
        let err = scan(&log, &mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "injected I/O error");
    }

    #[test]
    fn a_short_read_serves_only_whole_valid_records() {
        let mut log = block(300);
        log.short_after = Some(1);
        let mut out = Vec::new();
        let s = scan(&log, &mut out).unwrap();
        assert!(s.truncated);
        assert_eq!(out.len(), 3, "100 bytes hold 3 whole records");
        assert!(out.iter().all(|&(s, v)| v == s as f64 * 2.0));
    }

    #[test]
    fn catching_up_stops_at_the_first_gap() {
        let mut log = block(50);
        let at = PAGE as usize + BLOCK_HEADER_SIZE + 20 * RECORD_SIZE;
        log.bytes[at] ^= 1;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 4096];
        let s = scan_block(&log, &mut buf, REF, 0, Stop::AtFirstGap, |s, _, v| {
            out.push((s, v))
        })
        .unwrap();
        assert_eq!((s.points, s.end), (20, 20));
        let mut rest = Vec::new();
        let s = scan_block(&log, &mut buf, REF, 0, Stop::AtEnd, |s, _, v| {
            rest.push((s, v))
        })
        .unwrap();
        assert_eq!((s.points, s.invalid, s.end), (49, 1, 50));
    }

    #[test]
    fn a_block_of_another_series_is_not_read() {
        let log = block(10);
        let mut buf = vec![0u8; 4096];
        let s = scan_block(
            &log,
            &mut buf,
            BlockRef {
                series_id: 6,
                ..REF
            },
            0,
            Stop::AtEnd,
            |_, _, _| panic!("served"),
        )
        .unwrap();
        assert!(!s.header_ok);
    }
}
