//! The metric log: a memory-mapped, append-only file of checksummed
//! fixed-size records in blocks. See `docs/format.md`.

pub mod compressed;
mod crc;
pub mod file;
pub mod format;
pub mod history;
pub mod reader;
pub mod writer;

pub use file::{LogFile, ReadAt, ALLOCATOR_SLACK_PAGES};
pub use reader::{scan_block, scan_buffer, BlockRef, Stop};
pub use writer::OpenBlock;
