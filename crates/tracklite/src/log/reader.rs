//! Reading blocks of the metric log.

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

/// Where to stop scanning a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// At the first slot that is not a valid point: for catching up with a
    /// block another process may still be writing.
    AtFirstGap,
    /// Skip damaged slots and stop only where the written data ends.
    AtEnd,
}

/// Scans block `(first_page, pages)` of `series_id` from slot `from`, calling
/// `on_point(step, timestamp, value)` for each valid point, in order.
///
/// Damaged slots are skipped, never delivered. The data ends at two
/// consecutive empty slots (one zeroed record in the middle is damage).
pub fn scan_block<R: ReadAt + ?Sized>(
    io: &R,
    buf: &mut [u8],
    series_id: u64,
    first_page: u64,
    pages: u32,
    from: u32,
    stop: Stop,
    mut on_point: impl FnMut(i64, i64, f64),
) -> std::io::Result<BlockScan> {
    assert!(buf.len() >= BLOCK_HEADER_SIZE && buf.len() % RECORD_SIZE == 0);
    let mut scan = BlockScan { end: from, ..BlockScan::default() };
    let base = first_page * PAGE;
    let n = io.read_at(&mut buf[..BLOCK_HEADER_SIZE], base)?;
    let expected = |h: &BlockHeader| h.series_id == series_id && h.first_page == first_page && h.pages == pages;
    let header = match BlockHeader::decode(&buf[..n]) {
        Some(h) if expected(&h) => h,
        _ => return Ok(scan),
    };
    scan.header_ok = true;
    let seed = header.record_seed();
    let capacity = format::capacity(pages) as u32;
    let mut slot = from;
    let mut pending_empty = false;
    'chunks: while slot < capacity {
        let want = ((capacity - slot) as usize * RECORD_SIZE).min(buf.len());
        let offset = base + BLOCK_HEADER_SIZE as u64 + slot as u64 * RECORD_SIZE as u64;
        let got = io.read_at(&mut buf[..want], offset)?;
        let whole = got / RECORD_SIZE;
        for rec in buf[..whole * RECORD_SIZE].chunks_exact(RECORD_SIZE) {
            match format::decode_record(seed, slot, rec) {
                Slot::Point { step, timestamp, value } => {
                    if pending_empty {
                        scan.invalid += 1;
                        pending_empty = false;
                    }
                    on_point(step, timestamp, value);
                    scan.points += 1;
                    scan.end = slot + 1;
                    scan.torn_tail = false;
                }
                Slot::Empty if pending_empty => break 'chunks,
                Slot::Empty if stop == Stop::AtFirstGap => break 'chunks,
                Slot::Empty => pending_empty = true,
                Slot::Invalid if stop == Stop::AtFirstGap => break 'chunks,
                Slot::Invalid => {
                    if pending_empty {
                        scan.invalid += 1;
                        pending_empty = false;
                    }
                    scan.invalid += 1;
                    scan.torn_tail = true;
                    scan.end = slot + 1;
                }
            }
            slot += 1;
        }
        if whole * RECORD_SIZE < want {
            scan.truncated = true;
            break;
        }
    }
    if scan.torn_tail {
        // The last written slot was damaged: count it as a torn tail, not as
        // damage in the middle of the data.
        scan.invalid -= 1;
    }
    Ok(scan)
}

/// A reusable read buffer for [`scan_block`].
pub fn scan_buffer() -> Vec<u8> {
    vec![0u8; CHUNK]
}
