"""MLflow on a tracklite store: a tracking-store plugin for MLflow 3.

Using MLflow with a tracklite store
===================================

Installing tracklite registers a tracking store for the URI scheme
``tracklite`` with MLflow (entry-point group ``mlflow.tracking_store``).
Unchanged MLflow code then logs into a tracklite store folder::

    import mlflow

    mlflow.set_tracking_uri("tracklite:./runs")   # or tracklite:///abs/path
    with mlflow.start_run():
        mlflow.log_param("lr", 0.01)
        mlflow.log_metric("loss", 0.5, step=1)

or, without touching the code, ``MLFLOW_TRACKING_URI=tracklite:./runs``.
URIs: ``tracklite:./runs`` and ``tracklite:runs`` are relative to the
current directory; ``tracklite:///abs/path`` is absolute. The folder is
made on first use.

What works as with MLflow's own stores: the fluent API and
``MlflowClient`` (experiments, runs, params, tags, metrics, metric history
with paging, ``search_runs`` and ``search_experiments`` with MLflow's
filter language, order_by and page tokens, nested runs, datasets as run
inputs), async logging (``MLFLOW_ENABLE_ASYNC_LOGGING=true``), autologging
(for example ``mlflow.sklearn.autolog()``), artifacts (``log_artifact``,
``log_model``, ``load_model("runs:/<id>/model")``,
``download_artifacts``), and ``mlflow server`` / ``mlflow ui``::

    mlflow server --backend-store-uri tracklite:./runs --host 127.0.0.1 --port 5000

Artifacts live in the store folder (``artifacts/<experiment>/<run>/``),
given to MLflow as ``file://`` URIs: MLflow reads and writes them with its
local artifact repository. A server therefore serves runs' artifacts from
its own disk, and clients on other machines cannot write them; keep such
clients on the machine of the store.

Logged models (MLflow 3's ``log_model``) use the store's logged models.
Features a tracklite store does not keep (tracing, GenAI evaluation
datasets, scorers, label schemas, review queues, the AI gateway, MCP
servers, webhooks) are read as empty, as MLflow's SQL store reads them when
it holds none: ``search_traces`` finds no trace, ``query_trace_metrics``
computes its metric over no traces (a count of 0), the lists and searches
of datasets, scorers, queues, gateway endpoints and MCP servers are empty,
with MLflow's checks of filters, page tokens and ``max_results`` (see
``_empty_reads``). So every default page of MLflow's UI loads. Their writes
(and reads of one item by id) raise an ``MlflowException`` with the error
code ``NOT_IMPLEMENTED``; nothing answers None.

The model registry
------------------

The store also keeps MLflow's model registry: for ``tracklite:`` registry
URIs (MLflow's default registry URI is the tracking URI) the plugin
registers a registry store (entry-point group
``mlflow.model_registry_store``) over the same store folder. Registered
models, versions, stages, tags and aliases follow MLflow's SQL registry::

    mlflow.sklearn.log_model(clf, name="model", registered_model_name="iris")
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("iris", "champion", 1)
    model = mlflow.pyfunc.load_model("models:/iris@champion")   # or /1, /latest, /Production

``mlflow.register_model``, ``MlflowClient``'s registry methods, ``models:/``
URIs, prompts (``mlflow.genai.register_prompt``, ``load_prompt``, prompt
aliases, ``search_prompts``) and the UI's model pages work as with MLflow's
own stores; there are no webhooks (their lists are empty, creating one
raises an ``MlflowException`` with ``NOT_IMPLEMENTED``).
A registry elsewhere is still possible: ``mlflow server --backend-store-uri
tracklite:./runs --registry-store-uri sqlite:///registry.db``.

Serving existing ``file:`` code from tracklite
----------------------------------------------

Code and notebooks that use MLflow's file store (``file:./mlruns``, or no
tracking URI at all when ``./mlruns`` holds runs, which MLflow then opens
as ``file:///.../mlruns``) can move to tracklite without a change: set
``TRACKLITE_SERVE_FILE_URIS=1``. The plugin, which also registers for the
scheme ``file``, then opens ``file:///proj/mlruns`` as the tracklite store
``/proj/mlruns.tracklite`` beside it. The first open imports the folder's
experiments, runs (metrics, params, tags, datasets) and logged models, and
copies their artifacts, into that store; later opens use the store as it
is. The ``mlruns`` folder is only read, never modified. Without the
variable, ``file:`` URIs go to MLflow's own file store exactly as before
(see :mod:`tracklite.mlflow_plugin.file_uris`). A ``file:`` registry URI
follows the same opt-in: with it, the model registry of that tracklite
store; without it, MLflow's own file registry. Plain paths without a
scheme (``mlflow.set_tracking_uri("./mlruns")``) stay with MLflow's file
store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# MLflow imports this package while it loads its plugins, so nothing here
# imports MLflow at module level: the store and its MLflow imports load on
# first use.
from .file_uris import ENV as SERVE_FILE_URIS_ENV

if TYPE_CHECKING:
    from ._store import TrackliteStore

__all__ = [
    "SERVE_FILE_URIS_ENV",
    "TrackliteStore",
    "file_registry_store",
    "file_store",
    "tracklite_registry_store",
    "tracklite_store",
]


def tracklite_store(store_uri: str, artifact_uri: str | None = None, **_: Any) -> TrackliteStore:
    """The store builder MLflow calls for ``tracklite:`` URIs."""
    from ._store import TrackliteStore

    return TrackliteStore(store_uri, artifact_uri)


def tracklite_registry_store(store_uri: str, tracking_uri: str | None = None, **_: Any) -> Any:
    """The model-registry store builder MLflow calls for ``tracklite:``
    URIs: the registry kept in the store (see ``_registry``)."""
    from ._registry import TrackliteRegistryStore

    return TrackliteRegistryStore(store_uri, tracking_uri)


def file_store(store_uri: str, artifact_uri: str | None = None, **kwargs: Any) -> Any:
    """The store builder MLflow calls for ``file:`` URIs: MLflow's own file
    store unless ``TRACKLITE_SERVE_FILE_URIS`` is set."""
    from .file_uris import file_store as build

    return build(store_uri, artifact_uri, **kwargs)


def file_registry_store(store_uri: str, tracking_uri: str | None = None, **kwargs: Any) -> Any:
    """The model-registry store builder MLflow calls for ``file:`` URIs:
    MLflow's own file registry unless ``TRACKLITE_SERVE_FILE_URIS`` is set."""
    from .file_uris import file_registry_store as build

    return build(store_uri, tracking_uri, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "TrackliteStore":
        from ._store import TrackliteStore

        return TrackliteStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
