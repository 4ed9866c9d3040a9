//! The native module `tracklite._native`: pyo3 bindings of the tracklite
//! store. Plain Python values cross the boundary (dicts, lists, tuples,
//! str, int, float, bytes) and numpy arrays for metric columns; errors are
//! raised as the classes of `tracklite.errors`. `_native.pyi` describes
//! this module exactly.

mod cli;
mod columns;
mod convert;
mod entities;
mod errors;
mod export;
mod import;
mod links;
mod models;
mod registry;
mod store;
mod viewer;
mod writer;

use pyo3::prelude::*;

#[pymodule]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::cli::run_cli;
    #[pymodule_export]
    use crate::entities::metric_objects;
    #[pymodule_export]
    use crate::export::Syncer;
    #[pymodule_export]
    use crate::store::Store;
    #[pymodule_export]
    use crate::viewer::Viewer;
    #[pymodule_export]
    use crate::writer::RunWriter;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
