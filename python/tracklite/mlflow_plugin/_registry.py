"""A model-registry store for ``tracklite:`` URIs that holds no registered
models.

MLflow takes the registry URI from the tracking URI unless told
otherwise, and its UI asks the registry about every run it shows (the
model versions made from the run). A tracklite store keeps no registry,
so this store answers those questions truthfully (no registered models,
no model versions: searches return empty pages and lookups
``RESOURCE_DOES_NOT_EXIST``) and refuses every change with an
``MlflowException`` (``NOT_IMPLEMENTED``) that says how to use a registry:
``mlflow server --registry-store-uri sqlite:///registry.db`` or
``mlflow.set_registry_uri(...)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.abstract_store import AbstractStore

from . import _unsupported


def _registry_error(name: str) -> MlflowException:
    return MlflowException(
        f"The model registry ({name}): not kept by a tracklite store. Use another "
        "registry with a tracklite tracking store: `mlflow server --registry-store-uri "
        "sqlite:///registry.db ...`, or mlflow.set_registry_uri('sqlite:///registry.db').",
        error_code=databricks_pb2.NOT_IMPLEMENTED,
    )


def _absent(what: str) -> MlflowException:
    return MlflowException(
        f"{what} does not exist: a tracklite store keeps no registered models",
        error_code=databricks_pb2.RESOURCE_DOES_NOT_EXIST,
    )


class TrackliteRegistryStore(AbstractStore):
    """The empty model registry of a ``tracklite:`` URI."""

    if TYPE_CHECKING:
        # The changes it refuses: _unsupported.install, below, gives each of
        # these abstract methods of MLflow's interface a raising body.
        create_registered_model: Callable[..., Any]
        update_registered_model: Callable[..., Any]
        rename_registered_model: Callable[..., Any]
        delete_registered_model: Callable[..., Any]
        set_registered_model_tag: Callable[..., Any]
        delete_registered_model_tag: Callable[..., Any]
        set_registered_model_alias: Callable[..., Any]
        delete_registered_model_alias: Callable[..., Any]
        create_model_version: Callable[..., Any]
        update_model_version: Callable[..., Any]
        transition_model_version_stage: Callable[..., Any]
        delete_model_version: Callable[..., Any]
        set_model_version_tag: Callable[..., Any]
        delete_model_version_tag: Callable[..., Any]

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None) -> None:
        super().__init__(store_uri, tracking_uri)  # type: ignore[no-untyped-call]  # MLflow's

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Any = None,
        page_token: str | None = None,
    ) -> PagedList[Any]:
        return PagedList([], None)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Any = None,
        page_token: str | None = None,
    ) -> PagedList[Any]:
        return PagedList([], None)

    def get_registered_model(self, name: str) -> Any:
        raise _absent(f"registered model {name!r}")

    def get_latest_versions(self, name: str, stages: Any = None) -> Any:
        raise _absent(f"registered model {name!r}")

    def get_model_version(self, name: str, version: Any) -> Any:
        raise _absent(f"model version {name!r} {version}")

    def get_model_version_by_alias(self, name: str, alias: str) -> Any:
        raise _absent(f"registered model {name!r}")

    def get_model_version_download_uri(self, name: str, version: Any) -> Any:
        raise _absent(f"model version {name!r} {version}")


_unsupported.install(
    TrackliteRegistryStore, AbstractStore, frozenset(), lambda name: _registry_error(name)
)
