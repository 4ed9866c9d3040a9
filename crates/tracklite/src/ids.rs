//! Ids of new runs and logged models.
//!
//! A new id is a UUID of version 7 (RFC 9562): 48 bits of Unix time in
//! milliseconds, then random bits, written as 32 lowercase hex digits like
//! the uuid4 ids MLflow makes (nothing reads a version out of a run id).
//! Ids made one after another sort one after another, so a new run's rows
//! in the tables keyed by run id first (`runs`, `params`, `tags`,
//! `metric_series`) go in at one edge of each B-tree, on pages already in
//! the cache, rather than on a random leaf of each: with random ids,
//! creating a run in a store of a million runs read, and later wrote back,
//! a scattered page per table.

use uuid::Uuid;

/// The low 62 bits of a version 7 UUID: random (`rand_b`).
const RANDOM_BITS: u128 = (1 << 62) - 1;

/// A new, time-ordered id.
pub(crate) struct NewId {
    /// The UUID, for `simple()` (32 hex digits) formatting.
    pub uuid: Uuid,
    /// Random bits of the id, for a generated name ([`crate::names`]).
    pub random: u128,
}

/// Makes a new id: later calls in this process give larger ids, even
/// within one millisecond.
pub(crate) fn new_id() -> NewId {
    let uuid = Uuid::now_v7();
    NewId {
        uuid,
        random: uuid.as_u128() & RANDOM_BITS,
    }
}

#[cfg(test)]
mod tests {
    use super::new_id;

    #[test]
    fn ids_made_in_turn_sort_in_turn() {
        let ids: Vec<String> = (0..1000)
            .map(|_| new_id().uuid.simple().to_string())
            .collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
        }
        assert!(ids.iter().all(|id| id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))));
    }

    #[test]
    fn names_come_from_random_bits() {
        let names: std::collections::HashSet<String> = (0..50)
            .map(|_| crate::names::run_name(new_id().random))
            .collect();
        assert!(names.len() > 40, "{names:?}");
    }
}
