//! `ui`: serves the store to a browser until Ctrl-C or SIGTERM.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracklite_ui::{Options, Server};

use crate::store_uri::Location;

pub fn run(
    location: &Location,
    host: &str,
    port: u16,
    allow_remote: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let options = Options {
        host: host.to_string(),
        port,
        allow_remote,
        ..Options::new(&location.path)
    };
    // Signals are taken before the server starts: a Ctrl-C from then on
    // stops it cleanly.
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let server = match Server::start(&options) {
        Ok(server) => server,
        Err(tracklite_ui::Error::Store(e @ tracklite::Error::NoStore { .. })) => {
            return Err(crate::no_store(e, location));
        }
        Err(e) => return Err(e.into()),
    };
    if options.is_remote() {
        eprintln!(
            "warning: serving {} on {host}, beyond this machine: anyone who can reach \
             that address can read every run, metric and artifact (the viewer has no \
             authentication)",
            location.path.display()
        );
    }
    writeln!(out, "tracklite ui: {} (Ctrl-C to stop)", server.url())?;
    out.flush()?;
    if let Some(signal) = signals.forever().next() {
        eprintln!(
            "{}: stopping the viewer",
            if signal == SIGINT {
                "interrupted"
            } else {
                "terminated"
            }
        );
    }
    server.stop();
    Ok(ExitCode::SUCCESS)
}
