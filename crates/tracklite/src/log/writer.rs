//! A writer's open block: the only place points are written.

use super::file::{BlockMap, LogFile};
use super::format::{self, BlockHeader, BLOCK_HEADER_SIZE, RECORD_SIZE};
use crate::error::Result;
use crate::summary::SeriesSummary;

/// A block owned by one writer, mapped shared: a point is in the page
/// cache, and so survives the writer being killed, once `append` returns.
pub struct OpenBlock {
    map: BlockMap,
    pub header: BlockHeader,
    seed: u32,
    capacity: u32,
    next_slot: u32,
    /// Slots this writer knows the index has summarised.
    pub folded: u32,
    /// Summary of the points written since `folded`, so that folding them
    /// into the index needs no second read of the block.
    pub pending: SeriesSummary,
}

impl OpenBlock {
    /// Allocates, maps and stamps a new block for `series_id`.
    /// Makes a block of `pages` pages at `first_page`, just allocated to
    /// this writer alone.
    pub fn create(log: &LogFile, series_id: u64, first_page: u64, pages: u32) -> Result<OpenBlock> {
        // Zero the block with one positioned write before mapping it: the
        // page cache then holds its pages already, and the writes through
        // the mapping do not each take a page fault that allocates and
        // zeroes a page (several times the cost on ext4).
        log.write_zeros(first_page, pages)?;
        let mut map = log.map_block(first_page, pages)?;
        let header = BlockHeader {
            series_id,
            first_page,
            pages,
            writer_pid: std::process::id(),
            created_ms: crate::entities::now_ms(),
        };
        map.write(0, &header.encode());
        Ok(OpenBlock {
            map,
            seed: header.record_seed(),
            capacity: format::capacity(pages) as u32,
            header,
            next_slot: 0,
            folded: 0,
            pending: SeriesSummary::default(),
        })
    }

    /// Appends one point; `false` when the block is full.
    #[inline]
    pub fn append(&mut self, step: i64, timestamp: i64, value: f64) -> bool {
        if self.next_slot == self.capacity {
            return false;
        }
        let slot = self.next_slot;
        let record = format::encode_record(self.seed, slot, step, timestamp, value);
        let at = BLOCK_HEADER_SIZE + slot as usize * RECORD_SIZE;
        self.map.write(at, &record);
        self.next_slot = slot + 1;
        self.pending.add(step, timestamp, value);
        true
    }

    /// Points the block still has room for.
    pub fn room(&self) -> u32 {
        self.capacity - self.next_slot
    }

    /// Slots written so far.
    pub fn written(&self) -> u32 {
        self.next_slot
    }
}
