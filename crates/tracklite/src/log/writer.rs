//! A writer's open block: the only place points are written.

use super::file::{BlockMap, LogFile};
use super::format::{self, BlockHeader, BLOCK_HEADER_SIZE, PAGE, RECORD_SIZE};
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
    /// Makes a block of `pages` pages at `first_page`, just allocated to
    /// this writer alone, for `series_id`.
    pub fn create(log: &LogFile, series_id: u64, first_page: u64, pages: u32) -> Result<OpenBlock> {
        Ok(Self::create_many(log, &[series_id], first_page, pages)?
            .pop()
            .expect("one block"))
    }

    /// Makes one block of `pages` pages for each of `series_ids`, side by
    /// side from `first_page` (a range just allocated to this writer
    /// alone), with one positioned write and one mapping for all of them.
    pub fn create_many(
        log: &LogFile,
        series_ids: &[u64],
        first_page: u64,
        pages: u32,
    ) -> Result<Vec<OpenBlock>> {
        let headers = Self::write_new(log, series_ids, first_page, pages)?;
        Self::map_new(log, headers)
    }

    /// Writes one new block of `pages` pages for each of `series_ids`,
    /// side by side from `first_page`, and returns their headers: the
    /// first half of [`OpenBlock::create_many`], which a run's creation
    /// does for the series it makes ahead (`store/forecast.rs`).
    pub fn write_new(
        log: &LogFile,
        series_ids: &[u64],
        first_page: u64,
        pages: u32,
    ) -> Result<Vec<BlockHeader>> {
        let block_len = pages as usize * PAGE as usize;
        let created_ms = crate::entities::now_ms();
        let headers: Vec<BlockHeader> = series_ids
            .iter()
            .enumerate()
            .map(|(i, &series_id)| BlockHeader {
                series_id,
                first_page: first_page + (i as u64) * pages as u64,
                pages,
                writer_pid: std::process::id(),
                created_ms,
            })
            .collect();
        // The blocks, zeroed and stamped, go to the file with one positioned
        // write before they are mapped: the page cache then holds their
        // pages already, and the writes through the mapping do not each take
        // a page fault that allocates and zeroes a page (several times the
        // cost on ext4).
        let mut image = vec![0u8; block_len * headers.len()];
        for (i, header) in headers.iter().enumerate() {
            let encoded = header.encode();
            image[i * block_len..i * block_len + encoded.len()].copy_from_slice(&encoded);
        }
        log.write_block(&image, first_page)?;
        Ok(headers)
    }

    /// Maps blocks that [`OpenBlock::write_new`] wrote (side by side, of
    /// one size, none written to since) with one mapping, for appending.
    pub fn map_new(log: &LogFile, headers: Vec<BlockHeader>) -> Result<Vec<OpenBlock>> {
        let Some(first) = headers.first() else {
            return Ok(Vec::new());
        };
        let pages = first.pages;
        let maps = log.map_blocks(first.first_page, pages, headers.len())?;
        Ok(maps
            .into_iter()
            .zip(headers)
            .map(|(map, header)| OpenBlock {
                map,
                seed: header.record_seed(),
                capacity: format::capacity(pages) as u32,
                header,
                next_slot: 0,
                folded: 0,
                pending: SeriesSummary::default(),
            })
            .collect())
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
