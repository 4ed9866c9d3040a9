//! `run_cli`: the `tracklite` command-line program (the `tracklite-cli`
//! library), run inside the Python process, so that the wheel's `tracklite`
//! script and `python -m tracklite` are the very same program as the Rust
//! binary.

use pyo3::prelude::*;

/// Runs the `tracklite` program with `argv` (the program's name first),
/// printing to the process's standard output and error (file descriptors
/// 1 and 2, not `sys.stdout`), and returns its exit status. The GIL is
/// released while it runs. Signals are the caller's: `python -m tracklite`
/// restores the default SIGINT action first, so that Ctrl-C stops the
/// program as it stops the binary (`export --watch` catches SIGINT and
/// SIGTERM itself, for a clean stop).
#[pyfunction]
pub fn run_cli(py: Python<'_>, argv: Vec<std::ffi::OsString>) -> i32 {
    py.detach(|| tracklite_cli::run(argv))
}
