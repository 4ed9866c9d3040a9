//! The metric keys a new run will likely log, made ahead in the commit that
//! creates the run.
//!
//! Why: a sweep creates run after run that log the same metrics. Made on
//! first use, a run's series and their first blocks take a commit of their
//! own between the run's creation and its end: one of the three commits of
//! a run of 5 params and 5 metrics.
//!
//! What: this process remembers, per experiment, the keys that the run it
//! last ended there had logged. A run it then creates there gets those
//! series, with their first blocks written and registered, in its creating
//! commit; the run's first writer in this process takes them over instead
//! of making them. A key the run never logs leaves a series with no point,
//! which every read already treats as absent (`last_bits IS NULL`, as for a
//! writer killed before its first point), and its block is sealed, empty,
//! when the run ends. Blocks made ahead that no writer takes (the run is
//! ended elsewhere, or this process exits) stay open like those of a killed
//! writer, until recovery seals them once this process is gone.

use std::collections::HashMap;

use rusqlite::Connection;

use super::writer::first_blocks;
use super::{lock, Inner};
use crate::error::Result;
use crate::log::format::BlockHeader;
use crate::log::LogFile;
use crate::process;

/// At most this many keys are made ahead for a run (the new series of one
/// shared allocation and mapping).
const MAX_KEYS: usize = 64;
/// At most this many runs hold series made ahead that no writer took yet;
/// making one more forgets the oldest (its blocks stay open, as above).
const MAX_WAITING: usize = 64;

#[derive(Default)]
pub(crate) struct Forecast {
    /// Per experiment, the keys the run this process last ended there logged.
    keys: HashMap<i64, Vec<String>>,
    /// Per run, its series made ahead and not taken yet.
    waiting: HashMap<String, MadeAhead>,
    /// Counts the runs made ahead for, to forget the oldest first.
    made: u64,
}

/// The series made ahead for one run.
pub(crate) struct MadeAhead {
    /// The process generation that made them: a forked child leaves its
    /// parent's blocks alone.
    generation: u64,
    /// The order in which runs were made ahead for.
    order: u64,
    /// The keys and their series ids, in the order of `blocks`.
    pub series: Vec<(String, u64)>,
    /// Their first blocks, written and registered: side by side in each
    /// chunk, one mapping per chunk.
    pub blocks: Vec<Vec<BlockHeader>>,
}

impl Forecast {
    /// The keys to make ahead for a new run of `experiment_id`, if any.
    pub fn keys_for(&self, experiment_id: i64) -> Option<Vec<String>> {
        self.keys
            .get(&experiment_id)
            .filter(|k| !k.is_empty())
            .cloned()
    }

    /// Remembers that a run of `experiment_id` ended having logged `keys`.
    pub fn remember(&mut self, experiment_id: i64, mut keys: Vec<String>) {
        keys.sort_unstable();
        keys.dedup();
        keys.truncate(MAX_KEYS);
        self.keys.insert(experiment_id, keys);
    }

    fn keep(&mut self, run_id: String, series: Vec<(String, u64)>, blocks: Vec<Vec<BlockHeader>>) {
        if self.waiting.len() >= MAX_WAITING {
            let oldest = self
                .waiting
                .iter()
                .min_by_key(|(_, m)| m.order)
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                self.waiting.remove(&id);
            }
        }
        self.made += 1;
        let made = MadeAhead {
            generation: process::generation(),
            order: self.made,
            series,
            blocks,
        };
        self.waiting.insert(run_id, made);
    }

    /// Takes the series made ahead for `run_id` in this process (not in a
    /// parent before a fork).
    pub fn take(&mut self, run_id: &str) -> Option<MadeAhead> {
        self.waiting
            .remove(run_id)
            .filter(|m| m.generation == process::generation())
    }
}

/// What `make` returns from inside the creating transaction.
pub(crate) type Made = (Vec<u64>, Vec<Vec<BlockHeader>>);

/// Makes the series of `keys` for the new run `run_id`, with their first
/// blocks, through `conn` (the creating transaction).
pub(crate) fn make(
    log: &LogFile,
    conn: &Connection,
    run_id: &str,
    keys: &[String],
) -> Result<Made> {
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    first_blocks(log, conn, run_id, &keys)
}

impl Inner {
    /// The keys to make ahead for a new run of `experiment_id`, if any.
    pub(crate) fn keys_ahead(&self, experiment_id: i64) -> Option<Vec<String>> {
        lock(&self.forecast).keys_for(experiment_id)
    }

    /// Keeps what [`make`] made for run `run_id` for its first writer.
    pub(crate) fn keep_made(&self, run_id: &str, keys: Vec<String>, made: Made) {
        let (ids, blocks) = made;
        let series = keys.into_iter().zip(ids).collect();
        lock(&self.forecast).keep(run_id.to_string(), series, blocks);
    }

    /// Takes the series made ahead for `run_id`, if any.
    pub(crate) fn take_made(&self, run_id: &str) -> Option<MadeAhead> {
        lock(&self.forecast).take(run_id)
    }

    /// Remembers the keys a run of `experiment_id` logged, as it ends.
    pub(crate) fn remember_keys(&self, experiment_id: i64, keys: Vec<String>) {
        lock(&self.forecast).remember(experiment_id, keys);
    }
}
