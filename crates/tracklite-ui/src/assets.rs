//! The viewer's pages, embedded at build time from `assets/` (build.rs).

/// One embedded file.
pub(crate) struct Asset {
    /// Its path under `assets/`, '/'-separated.
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The asset at `path`, if embedded.
pub(crate) fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}
