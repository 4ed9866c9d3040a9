//! `Viewer`: the web viewer (`tracklite-ui`) serving a store from threads
//! of this process, for `tracklite.show()`. The interpreter is never held
//! while requests are answered: the server's threads are Rust's own.

use std::sync::Mutex;

use pyo3::prelude::*;
use tracklite_ui::{Options, Server};

use crate::errors::{raise, to_py, Kind};

/// A running viewer (see `tracklite.show`).
#[pyclass(frozen, module = "tracklite._native")]
pub struct Viewer {
    url: String,
    server: Mutex<Option<Server>>,
}

#[pymethods]
impl Viewer {
    /// Starts serving the store at `path` read-only; returns once the port
    /// is bound.
    #[new]
    #[pyo3(signature = (path, host = "127.0.0.1".to_string(), port = 0, allow_remote = false))]
    fn new(
        py: Python<'_>,
        path: std::path::PathBuf,
        host: String,
        port: u16,
        allow_remote: bool,
    ) -> PyResult<Viewer> {
        let options = Options {
            host,
            port,
            allow_remote,
            ..Options::new(path)
        };
        let server = py.detach(|| Server::start(&options)).map_err(|e| match e {
            tracklite_ui::Error::Store(e) => to_py(py, e),
            e @ tracklite_ui::Error::RemoteNotAllowed { .. } => {
                raise(py, Kind::InvalidValue, e.to_string())
            }
            e => raise(py, Kind::Base, e.to_string()),
        })?;
        Ok(Viewer {
            url: server.url().to_string(),
            server: Mutex::new(Some(server)),
        })
    }

    /// The address to open, such as `http://127.0.0.1:5080/`.
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// Whether it still serves.
    #[getter]
    fn running(&self) -> bool {
        self.server.lock().unwrap().is_some()
    }

    /// Stops serving and releases the port; nothing when already stopped.
    fn stop(&self, py: Python<'_>) {
        let server = self.server.lock().unwrap().take();
        if let Some(server) = server {
            py.detach(|| server.stop());
        }
    }
}
