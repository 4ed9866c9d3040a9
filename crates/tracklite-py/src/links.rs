//! `Store.metric_dataset_links`: the datasets that points of a metric
//! history were computed on (kept by an import from an MLflow file store),
//! as `(ordinal, dataset_name, dataset_digest)` tuples, the ordinal being
//! the point's position in `metric_history`.

use pyo3::prelude::*;

use crate::errors::OrRaise;
use crate::store::Store;

#[pymethods]
impl Store {
    fn metric_dataset_links(
        &self,
        py: Python<'_>,
        run_id: String,
        key: String,
    ) -> PyResult<Vec<(u64, String, String)>> {
        let links = py
            .detach(|| self.inner.metric_dataset_links(&run_id, &key))
            .or_raise(py)?;
        Ok(links
            .into_iter()
            .map(|l| (l.ordinal, l.dataset_name, l.dataset_digest))
            .collect())
    }
}
