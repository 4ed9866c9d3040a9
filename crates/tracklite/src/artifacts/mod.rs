//! The artifact engine shared by the store and by import: atomic file
//! writes with the names of unfinished writes ([`files`]), made relative to
//! open directory handles ([`dir`]), the temporary files interrupted writes
//! leave behind ([`leftovers`]), and the local directories behind artifact
//! locations ([`uri`]).

pub(crate) mod dir;
pub(crate) mod files;
pub(crate) mod leftovers;
pub(crate) mod uri;
