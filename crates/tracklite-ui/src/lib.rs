//! The web viewer of a tracklite store: an HTTP server that serves the
//! store read-only as a JSON API, and the viewer's pages, embedded in the
//! library at build time (no network needed to use it).
//!
//! It binds the loopback interface by default; another address must be
//! allowed explicitly ([`Options::allow_remote`]). Requests whose `Host`
//! header names neither the bound address nor the loopback interface are
//! refused, so a web page cannot reach the viewer through a DNS name it
//! controls. Nothing in the API writes to the store.
//!
//! ```no_run
//! use tracklite_ui::{Options, Server};
//! let server = Server::start(&Options::new("runs"))?;
//! println!("tracklite ui at {}", server.url());
//! let stopper = server.stop_handle(); // for another thread: stopper.stop()
//! server.wait(); // serves until stopped
//! # Ok::<(), tracklite_ui::Error>(())
//! ```

#![warn(missing_docs)]

mod api;
mod assets;
mod error;
mod host;
mod http;
mod json;
mod query;
mod reply;
mod routes;
mod server;

pub use error::Error;
pub use server::{Options, Server, StopHandle, DEFAULT_PORT};
