"""The model registry without MLflow: :func:`register_model` and the
registry methods of :class:`tracklite.MlflowClient`, with MLflow's
arguments and rules, returning :mod:`tracklite.entities` records.

Registered models and versions live in the store's index. Versions are
numbered 1, 2, ... (a deleted number is never given again); stages are
``None``, ``Staging``, ``Production`` and ``Archived`` (in any case on the
way in); an alias names one version, ``latest`` and ``v<digits>`` are
reserved. Names that MLflow keeps as prompts are not models here either:
they are reported missing, as MLflow's client does.
"""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _values as v
from .entities import PROMPT_TAG, ModelVersion, PagedList, RegisteredModel
from .errors import AlreadyExistsError, InvalidValueError, NotFoundError

if TYPE_CHECKING:
    from ._native import Store as NativeStore

__all__ = ["RegistryMethods", "register_model"]

_log = logging.getLogger(__name__)

#: MLflow's page sizes and limits of the registry searches.
SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT = 100
SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT = 10_000
#: The logged-model tag listing the versions registered from the model.
MODEL_VERSIONS_TAG = "mlflow.modelVersions"
#: The file that marks a folder as an MLflow model.
MLMODEL_FILE = "MLmodel"


def _version(version: Any) -> int:
    """A version number given as an int or as its digits."""
    if isinstance(version, str):
        try:
            return int(version)
        except ValueError:
            raise InvalidValueError(
                f"invalid model version {version!r}: it must be an integer"
            ) from None
    return v.integer(version, "a model version")


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(f"registered model {name!r} does not exist")


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    return v.str_dict(tags, "tags")


class RegistryMethods:
    """The registry methods of :class:`tracklite.MlflowClient` and
    :class:`tracklite.Store` (a mixin: ``_registry`` is the native store
    they work on)."""

    @property
    def _registry(self) -> NativeStore:
        raise NotImplementedError

    def _raise_if_prompt(self, name: str) -> None:
        """A prompt's name is no model's, as in MLflow's client."""
        if PROMPT_TAG in self._registry.get_registered_model(name)["tags"]:
            raise _not_found(name)

    # Registered models

    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        """Registers a model with no versions; AlreadyExistsError if the
        name is taken."""
        values = _tags(tags)
        if PROMPT_TAG in values:
            raise InvalidValueError("Prompts cannot be registered as models.")
        return RegisteredModel._from_native(
            self._registry.create_registered_model(name, values, description)
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The registered model ``name``, with its latest versions per stage, tags and aliases."""
        model = RegisteredModel._from_native(self._registry.get_registered_model(name))
        if PROMPT_TAG in model._tags:
            raise _not_found(name)
        return model

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Sets (or with None clears) the model's description."""
        self._raise_if_prompt(name)
        return RegisteredModel._from_native(
            self._registry.update_registered_model(name, description)
        )

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Renames a model; its versions, tags and aliases follow."""
        self._raise_if_prompt(name)
        return RegisteredModel._from_native(self._registry.rename_registered_model(name, new_name))

    def delete_registered_model(self, name: str) -> None:
        """Deletes a model with its versions, tags and aliases."""
        self._raise_if_prompt(name)
        self._registry.delete_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of models: filter on ``name`` and ``tags.<key>``; order by
        ``name``, ``creation_timestamp`` or ``last_updated_timestamp``."""
        found, token = self._registry.search_registered_models(
            filter_string or "", max_results, list(order_by or ()), page_token
        )
        return PagedList([RegisteredModel._from_native(d) for d in found], token)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Sets a tag of a registered model (replacing its value)."""
        self._raise_if_prompt(name)
        self._registry.set_registered_model_tag(name, v.key(key, "tag"), v.text(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Deletes a tag of a registered model; NotFoundError if it has none."""
        self._raise_if_prompt(name)
        self._registry.delete_registered_model_tag(name, key)

    # Model versions

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
        model_id: str | None = None,
    ) -> ModelVersion:
        """The model's next version, READY at once (``await_creation_for``
        has nothing to wait for). A ``models:/`` source is resolved to where
        its files are."""
        values = _tags(tags)
        if PROMPT_TAG in values:
            raise InvalidValueError("Prompts cannot be registered as models.")
        return ModelVersion._from_native(
            self._registry.create_model_version(
                name, source, run_id or None, values, run_link, description, model_id
            )
        )

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """Version ``version`` (an int or its digits) of the registered model ``name``."""
        mv = ModelVersion._from_native(self._registry.get_model_version(name, _version(version)))
        if PROMPT_TAG in mv.tags:
            raise _not_found(name)
        return mv

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        """Sets the description of a model version and returns the version."""
        if description is None:
            raise InvalidValueError("Attempting to update model version with no new field values.")
        self._raise_if_prompt(name)
        return ModelVersion._from_native(
            self._registry.update_model_version(name, _version(version), description)
        )

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Deletes a version and the aliases naming it; its number is not
        given again."""
        self._raise_if_prompt(name)
        self._registry.delete_model_version(name, _version(version))

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """Where the version's files are."""
        self._raise_if_prompt(name)
        return self._registry.get_model_version_download_uri(name, _version(version))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of versions: filter on ``name``, ``version_number``,
        ``run_id``, ``source_path`` and ``tags.<key>``; by default the most
        recently changed first."""
        found, token = self._registry.search_model_versions(
            filter_string or "", max_results, list(order_by or ()), page_token
        )
        return PagedList([ModelVersion._from_native(d) for d in found], token)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        """The newest version in each of ``stages`` (every stage by default)."""
        self._raise_if_prompt(name)
        return [
            ModelVersion._from_native(d)
            for d in self._registry.get_latest_versions(name, list(stages or ()))
        ]

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Moves a version to a stage; with ``archive_existing_versions``
        (Staging and Production only) the others in that stage are archived."""
        if not isinstance(stage, str) or not stage.strip():
            raise InvalidValueError("The stage must not be an empty string.")
        self._raise_if_prompt(name)
        return ModelVersion._from_native(
            self._registry.transition_model_version_stage(
                name, _version(version), stage, bool(archive_existing_versions)
            )
        )

    def _version_or_stage(self, name: str, version: int | str | None, stage: str | None) -> int:
        if version and stage:
            raise InvalidValueError("version and stage cannot be set together")
        if not (version or stage):
            raise InvalidValueError("version or stage must be set")
        self._raise_if_prompt(name)
        if version:
            return _version(version)
        latest = self._registry.get_latest_versions(name, [str(stage)])
        if not latest:
            raise NotFoundError(f"Could not find any model version for {stage} stage")
        return latest[0]["version"]

    def set_model_version_tag(
        self,
        name: str,
        version: int | str | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        """Sets a tag of a version (or of the newest version in ``stage``)."""
        number = self._version_or_stage(name, version, stage)
        if value is None:
            raise InvalidValueError("Tag value cannot be None")
        self._registry.set_model_version_tag(name, number, v.key(key, "tag"), v.text(value))

    def delete_model_version_tag(
        self,
        name: str,
        version: int | str | None = None,
        key: str | None = None,
        stage: str | None = None,
    ) -> None:
        """Deletes a tag of a model version; NotFoundError if it has none."""
        number = self._version_or_stage(name, version, stage)
        self._registry.delete_model_version_tag(name, number, v.key(key, "tag"))

    # Aliases

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Points ``alias`` at a version (moving it from any other)."""
        number = _version(version)
        self._raise_if_prompt(name)
        self._registry.set_registered_model_alias(name, alias, number)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Deletes an alias of a registered model."""
        self._raise_if_prompt(name)
        self._registry.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias names (``latest``: the newest version). An
        alias the model does not have is an InvalidValueError, as in MLflow."""
        mv = ModelVersion._from_native(self._registry.get_model_version_by_alias(name, alias))
        if PROMPT_TAG in mv.tags:
            raise _not_found(name)
        return mv


# register_model


def _parse_runs_uri(uri: str) -> tuple[str, str]:
    """(run id, artifact path) of ``runs:/<run_id>/<path>``."""
    rest = uri[len("runs:") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidValueError(
            f"Not a proper runs:/ URI: {uri}. Runs URIs must be of the form "
            "'runs:/<run_id>/run-relative/path/to/artifact'"
        )
    return run_id, path.strip("/")


def _models_uri_parts(uri: str) -> tuple[str, str | None]:
    """(name or model id, version digits or None) of a ``models:/`` URI."""
    rest = uri[len("models:") :].lstrip("/").rstrip("/")
    head, _, tail = rest.partition("/")
    return head, (tail if tail.isdigit() else None)


def _logged_model_of_run(native: NativeStore, run_id: str, artifact_path: str) -> str:
    """The logged model a run's ``runs:/`` URI names when the run has no such
    artifact folder: the one of that name made by the run (the one output at
    the greatest step, when there are several)."""
    experiment_id = native.get_run_info(run_id)["experiment_id"]
    quoted = artifact_path.replace("'", "\\'")
    candidates: list[str] = []
    token = None
    while True:
        page, token = native.search_logged_models(
            [experiment_id],
            f"source_run_id = '{run_id}' AND name = '{quoted}'",
            page_token=token,
        )
        candidates += [m["model_id"] for m in page]
        if not token:
            break
    if not candidates:
        raise NotFoundError(
            f"Unable to find a logged_model with artifact_path {artifact_path} under run {run_id}"
        )
    if len(candidates) == 1:
        return candidates[0]
    steps = {o["model_id"]: o["step"] for o in native.run_outputs(run_id)}
    if not all(c in steps for c in candidates):
        raise InvalidValueError(
            f"Multiple logged models found for run {run_id}. Cannot determine which model to "
            "register. Please use `models:/<model_id>` instead."
        )
    return max(candidates, key=lambda c: steps[c])


def _has_mlmodel(native: NativeStore, run_id: str, artifact_path: str) -> bool:
    try:
        files = native.list_artifacts(run_id, artifact_path or None)
    except NotFoundError:
        return False
    target = posixpath.join(artifact_path, MLMODEL_FILE) if artifact_path else MLMODEL_FILE
    return any(f["path"] == target and not f["is_dir"] for f in files)


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Registers the model at ``model_uri`` as a new version of the
    registered model ``name`` (created when missing), in the current store.

    ``model_uri`` is ``runs:/<run_id>/<path>`` (the run's artifact folder
    when it holds an MLmodel, else the logged model of that name the run
    made), ``models:/<model_id>``, ``models:/<name>/<version>`` (or
    another ``models:/`` form), or a path. The version records the run and
    the logged model it came from, and the logged model the version, as
    MLflow's ``register_model`` does."""
    from .client import MlflowClient

    client = MlflowClient()
    native = client.store._native
    try:
        client.create_registered_model(name)
    except AlreadyExistsError:
        pass

    run_id: str | None = None
    model_id: str | None = None
    source = model_uri
    if model_uri.startswith("runs:"):
        run_id, artifact_path = _parse_runs_uri(model_uri)
        if _has_mlmodel(native, run_id, artifact_path):
            root = native.get_run_info(run_id)["artifact_uri"]
            source = posixpath.join(root, artifact_path) if artifact_path else root
        else:
            model_id = _logged_model_of_run(native, run_id, artifact_path)
            source = f"models:/{model_id}"
            _log.warning(
                "Run with id %s has no artifacts at artifact path %r, registering model based "
                "on %s instead",
                run_id,
                artifact_path,
                source,
            )
    elif model_uri.startswith("models:"):
        head, version = _models_uri_parts(model_uri)
        if version is not None:
            model_id = native.get_model_version(head, int(version))["model_id"]
        elif "@" not in head and head.startswith("m-"):
            model_id = head

    mv = client.create_model_version(
        name, source, run_id, tags, await_creation_for=await_registration_for, model_id=model_id
    )
    if model_id:
        _record_version(native, model_id, mv)
    return mv


def _record_version(native: NativeStore, model_id: str, mv: ModelVersion) -> None:
    """Appends the version to the logged model's ``mlflow.modelVersions`` tag."""
    try:
        model = native.get_logged_model(model_id)
    except NotFoundError:
        _log.warning(
            "Unable to update logged model tags for model ID %r: the logged model does not "
            "exist. No model version link will be recorded on the logged model.",
            model_id,
        )
        return
    listed: list[Any] = []
    if existing := model["tags"].get(MODEL_VERSIONS_TAG):
        listed = json.loads(existing)
    listed.append({"name": mv.name, "version": mv.version})
    native.set_logged_model_tags(model_id, {MODEL_VERSIONS_TAG: json.dumps(listed)})
