//! The `tracklite` binary: the program is the library's (see `lib.rs`), so
//! that the Python wheel runs the very same one.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Statuses are 0, 1 or 2.
    ExitCode::from(tracklite_cli::run(std::env::args_os()) as u8)
}
