"""``TrackliteRegistryStore``: MLflow's model-registry store interface over
a tracklite store, the one the tracking URI names (registry URIs default
to the tracking URI, so ``tracklite:./runs`` serves both).

Registered models, their versions, stages, tags and aliases are kept in
the store's index, with the rules of MLflow's SQL registry: a new version
is one more than the greatest the model ever had, ``archive_existing_versions``
only with Staging and Production, ``latest`` and ``v<digits>`` reserved as
aliases, a missing alias ``INVALID_PARAMETER_VALUE``. Prompts, which MLflow
keeps as tagged registered models, work through MLflow's own prompt methods
on top of these. Deliberate differences: versions read back from
searches and a registered model's ``latest_versions`` carry their aliases
(the SQL store leaves them empty there), a version keeps the logged model
it was made from (``model_id``), and a field named twice in order_by is
INVALID_PARAMETER_VALUE (the SQL store's error has no code). Webhooks are
not kept: their lists are empty, their other methods raise an
``MlflowException`` (``NOT_IMPLEMENTED``) naming the method."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mlflow.entities.model_registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)
from mlflow.entities.model_registry.model_version_stages import (
    DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS,
    get_canonical_stage,
)
from mlflow.exceptions import MlflowException
from mlflow.prompt.registry_utils import handle_resource_already_exist_error, has_prompt_tag
from mlflow.protos import databricks_pb2
from mlflow.store.artifact.utils.models import _parse_model_uri
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
)
from mlflow.store.model_registry.abstract_store import AbstractStore
from mlflow.utils.search_utils import SearchUtils
from mlflow.utils.validation import _validate_model_name, _validate_model_version

from .. import _native
from .. import _values as v
from ..errors import AlreadyExistsError, NotFoundError
from . import _unsupported
from ._errors import invalid, translated
from ._uri import local_uri, store_path

if TYPE_CHECKING:
    from .._native import ModelVersionDict, RegisteredModelDict

#: Methods of MLflow's registry interface whose bodies are right for a
#: tracklite registry: they are built on the methods it implements
#: (prompts are registered models and versions with tags; a copy is a new
#: version whose source is ``models:/<name>/<version>``).
INHERITED = frozenset(
    {
        "copy_model_version",
        "create_prompt",
        "create_prompt_version",
        "delete_prompt",
        "delete_prompt_alias",
        "delete_prompt_tag",
        "delete_prompt_version",
        "delete_prompt_version_tag",
        "get_prompt",
        "get_prompt_version",
        "get_prompt_version_by_alias",
        "link_prompt_version_to_model",
        "link_prompt_version_to_run",
        "link_prompts_to_trace",
        "search_prompt_versions",
        "search_prompts",
        "set_prompt_alias",
        "set_prompt_tag",
        "set_prompt_version_tag",
    }
)


def _registry_error(name: str) -> MlflowException:
    return MlflowException(
        f"{name}: not supported by the tracklite model registry, which keeps registered "
        "models, model versions, stages, tags, aliases and prompts. Use a database-backed "
        "MLflow registry for this feature (--registry-store-uri sqlite:///registry.db).",
        error_code=databricks_pb2.NOT_IMPLEMENTED,
    )


def model_version(d: ModelVersionDict) -> ModelVersion:
    return ModelVersion(
        name=d["name"],
        version=d["version"],  # type: ignore[arg-type]  # an int, as MLflow's SQL store gives it
        creation_timestamp=d["creation_timestamp"],
        last_updated_timestamp=d["last_updated_timestamp"],
        description=d["description"],
        user_id=d["user_id"],
        current_stage=d["current_stage"],
        source=d["source"],
        run_id=d["run_id"],
        status=d["status"],
        status_message=d["status_message"],
        tags=[ModelVersionTag(k, x) for k, x in d["tags"].items()],
        run_link=d["run_link"],
        aliases=list(d["aliases"]),
        model_id=d["model_id"],
    )


def registered_model(d: RegisteredModelDict) -> RegisteredModel:
    return RegisteredModel(
        name=d["name"],
        creation_timestamp=d["creation_timestamp"],
        last_updated_timestamp=d["last_updated_timestamp"],
        description=d["description"],
        latest_versions=[model_version(x) for x in d["latest_versions"]],
        tags=[RegisteredModelTag(k, x) for k, x in d["tags"].items()],
        aliases=[RegisteredModelAlias(a, x) for a, x in d["aliases"].items()],
    )


def _tags(tags: Any, what: str) -> dict[str, str]:
    """Tags given as MLflow tag objects (a list, as MLflow's client passes
    them) or as a dict."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return v.str_dict(tags, what)
    return dict(v.pair(t, what) for t in tags)


def _version(version: Any) -> int:
    """A version number as MLflow takes it (an int, or its digits)."""
    return int(_validate_model_version(version))


def _max_results(max_results: Any, default: int, threshold: int) -> int:
    if max_results is None:
        return default
    if not isinstance(max_results, int) or isinstance(max_results, bool) or max_results < 1:
        raise invalid(
            f"Invalid value for max_results: it must be a positive integer, got {max_results!r}"
        )
    if max_results > threshold:
        raise invalid(
            f"Invalid value for request parameter max_results: it must be at most {threshold}, "
            f"got {max_results}"
        )
    return max_results


class TrackliteRegistryStore(AbstractStore):
    """MLflow's model registry kept in a tracklite store folder.

    MLflow builds it from a registry URI (``tracklite:./runs``, by default
    the tracking URI; with ``TRACKLITE_SERVE_FILE_URIS=1`` also ``file:``
    URIs). ``tracking_uri`` is where ``models:/m-<id>`` sources are looked
    up when the logged model is not in this store."""

    if TYPE_CHECKING:
        # The webhook methods: _unsupported.install, at the end of this
        # file, gives each a body raising NOT_IMPLEMENTED.
        create_webhook: Callable[..., Any]
        get_webhook: Callable[..., Any]
        update_webhook: Callable[..., Any]
        delete_webhook: Callable[..., Any]
        test_webhook: Callable[..., Any]

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None) -> None:
        super().__init__(store_uri, tracking_uri)  # type: ignore[no-untyped-call]  # MLflow's
        self._store_uri = store_uri or ""
        self._tracking_uri = tracking_uri
        self._native = self._open(store_path(self._store_uri))

    @staticmethod
    @translated
    def _open(path: str) -> _native.Store:
        return _native.Store(path)

    @property
    def store_uri(self) -> str:
        return self._store_uri

    @property
    def path(self) -> str:
        """The store's folder."""
        return self._native.path

    def __repr__(self) -> str:
        return f"TrackliteRegistryStore({self._store_uri!r})"

    # Registered models

    @translated
    def create_registered_model(
        self,
        name: str,
        tags: Any = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        values = _tags(tags, "registered model tag")
        try:
            return registered_model(self._native.create_registered_model(name, values, description))
        except AlreadyExistsError:
            existing = self._native.get_registered_model(name)
            # A prompt and a model may not share a name: MLflow's message says which is which.
            handle_resource_already_exist_error(
                name, bool(has_prompt_tag(existing["tags"])), bool(has_prompt_tag(values))
            )
            raise

    @translated
    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        return registered_model(self._native.update_registered_model(name, description))

    @translated
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return registered_model(self._native.rename_registered_model(name, new_name))

    @translated
    def delete_registered_model(self, name: str) -> None:
        self._native.delete_registered_model(name)

    @translated
    def get_registered_model(self, name: str) -> RegisteredModel:
        return registered_model(self._native.get_registered_model(name))

    @translated
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: Iterable[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        found, token = self._native.search_registered_models(
            filter_string or "",
            _max_results(
                max_results,
                SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
                SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
            ),
            list(order_by or ()),
            page_token or None,
        )
        return PagedList([registered_model(d) for d in found], token)

    @translated
    def get_latest_versions(
        self, name: str, stages: Iterable[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version of each stage asked for (every stage when
        none is), by ascending version."""
        canonical = [get_canonical_stage(s) for s in stages or ()]
        return [model_version(d) for d in self._native.get_latest_versions(name, canonical)]

    @translated
    def set_registered_model_tag(self, name: str, tag: Any) -> None:
        key, value = v.pair(tag, "registered model tag")
        self._native.set_registered_model_tag(name, key, value)

    @translated
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._native.delete_registered_model_tag(name, key)

    # Model versions

    @translated
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Any = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """The model's next version. A ``models:/`` source is resolved to
        where its files are: a logged model's artifact location (and its
        run, when none is given) for ``models:/m-<id>``, or the named
        version's download URI (``models:/<name>/<version>``, ``@alias``,
        ``/<stage>``, ``/latest``)."""
        # The name is checked before the source is resolved, as MLflow does.
        _validate_model_name(name)
        values = _tags(tags, "model version tag")
        storage_location = None
        if urllib.parse.urlparse(source).scheme == "models":
            try:
                parsed = _parse_model_uri(source)
                if parsed.model_id is not None:
                    storage_location, source_run_id = self._logged_model(parsed.model_id)
                    run_id = run_id or source_run_id
                else:
                    storage_location = self._download_uri(
                        self._native.model_version_for_uri(source)
                    )
            except Exception as e:
                raise MlflowException(
                    f"Unable to fetch model from model URI source artifact location "
                    f"'{source}'. Error: {e}"
                ) from e
        if not run_id and model_id:
            run_id = self._logged_model(model_id)[1]
        d = self._native.create_model_version(
            name,
            source,
            run_id or None,
            values,
            run_link,
            description,
            model_id,
            None,  # user_id: MLflow's registry stores record none either
            storage_location,
        )
        return model_version(d)

    def _logged_model(self, model_id: str) -> tuple[str, str | None]:
        """(artifact location URI, source run id) of a logged model: in this
        store, else in the tracking store (when that is another)."""
        try:
            d = self._native.get_logged_model(model_id)
            return local_uri(d["artifact_location"]), d["source_run_id"]
        except NotFoundError:
            if not self._tracking_uri or self._is_this_store(self._tracking_uri):
                raise
        from mlflow.tracking.client import MlflowClient

        model = MlflowClient(tracking_uri=self._tracking_uri).get_logged_model(model_id)
        return model.artifact_location, model.source_run_id

    def _is_this_store(self, uri: str) -> bool:
        try:
            return store_path(uri) == self.path
        except MlflowException:
            return False

    @staticmethod
    def _download_uri(d: ModelVersionDict) -> str:
        return d["storage_location"] or d["source"]

    def _await_model_version_creation(self, mv: ModelVersion, await_creation_for: int) -> None:
        """Returns at once: a version is READY when its creation returns."""

    @translated
    def update_model_version(
        self, name: str, version: Any, description: str | None = None
    ) -> ModelVersion:
        return model_version(
            self._native.update_model_version(name, _version(version), description)
        )

    @translated
    def transition_model_version_stage(
        self, name: str, version: Any, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        canonical = get_canonical_stage(stage)
        if archive_existing_versions and canonical not in DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS:
            # As MLflow's registry stores: an MlflowException with no code of its own.
            raise MlflowException(
                f"Model version transition cannot archive existing model versions because "
                f"'{stage}' is not an Active stage. Valid stages are "
                f"{DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS}"
            )
        d = self._native.transition_model_version_stage(
            name, _version(version), canonical, bool(archive_existing_versions)
        )
        return model_version(d)

    @translated
    def delete_model_version(self, name: str, version: Any) -> None:
        self._native.delete_model_version(name, _version(version))

    @translated
    def get_model_version(self, name: str, version: Any) -> ModelVersion:
        return model_version(self._native.get_model_version(name, _version(version)))

    @translated
    def get_model_version_download_uri(self, name: str, version: Any) -> str:
        return self._download_uri(self._native.get_model_version(name, _version(version)))

    @translated
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: Iterable[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        found, token = self._native.search_model_versions(
            filter_string or "",
            _max_results(
                max_results,
                SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
                SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
            ),
            list(order_by or ()),
            page_token or None,
        )
        return PagedList([model_version(d) for d in found], token)

    @translated
    def set_model_version_tag(self, name: str, version: Any, tag: Any) -> None:
        key, value = v.pair(tag, "model version tag")
        self._native.set_model_version_tag(name, _version(version), key, value)

    @translated
    def delete_model_version_tag(self, name: str, version: Any, key: str) -> None:
        self._native.delete_model_version_tag(name, _version(version), key)

    # Aliases

    @translated
    def set_registered_model_alias(self, name: str, alias: str, version: Any) -> None:
        self._native.set_registered_model_alias(name, alias, _version(version))

    @translated
    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._native.delete_registered_model_alias(name, alias)

    @translated
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version the alias names; ``latest`` (any case) is the newest
        version. An alias the model lacks is ``INVALID_PARAMETER_VALUE``."""
        return model_version(self._native.get_model_version_by_alias(name, alias))

    # Webhooks are not kept: their lists are empty (MLflow's UI lists them
    # on its Settings page, and its webhook delivery lists those of an event
    # after every registry change); the other webhook methods raise.

    def list_webhooks(
        self, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Any]:
        """No webhook: the registry keeps none."""
        _check_webhook_page(max_results, page_token)
        return PagedList([], None)

    def list_webhooks_by_event(
        self, event: Any, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Any]:
        """No webhook of the event: the registry keeps none."""
        _check_webhook_page(max_results, page_token)
        return PagedList([], None)


#: The largest page of a webhook list, as in MLflow's SQL registry.
WEBHOOKS_MAX_RESULTS = 1000


def _check_webhook_page(max_results: int | None, page_token: str | None) -> None:
    """A webhook list's page as MLflow's SQL registry accepts it: at most
    WEBHOOKS_MAX_RESULTS (None or 0 is its default, 100) and an offset token."""
    if max_results and not 1 <= max_results <= WEBHOOKS_MAX_RESULTS:
        raise invalid(
            f"Invalid value {max_results} for max_results of a webhook list: "
            f"it must be between 1 and {WEBHOOKS_MAX_RESULTS}"
        )
    SearchUtils.parse_start_offset_from_page_token(page_token)


_unsupported.install(TrackliteRegistryStore, AbstractStore, INHERITED, _registry_error)
