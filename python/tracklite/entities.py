"""The records tracklite returns: experiments, runs and their parts, and
the model registry's registered models and model versions.

The classes have the names, constructor arguments and attributes of
``mlflow.entities``, so code written against MLflow's objects reads
tracklite's unchanged: ``run.info.run_id``, ``run.data.metrics["loss"]``,
``experiment.tags``, ``dict(run.info)``. They are plain values: changing
one does not change the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "Metric",
    "ModelVersion",
    "ModelVersionTag",
    "PagedList",
    "Param",
    "RegisteredModel",
    "RegisteredModelAlias",
    "RegisteredModelTag",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunStatus",
    "RunTag",
    "ViewType",
]

T = TypeVar("T")


class _Entity:
    """Equality, ``repr`` and ``dict(entity)`` from the names in ``_fields``."""

    _fields: ClassVar[tuple[str, ...]] = ()

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for name in self._fields:
            yield name, getattr(self, name)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"<{type(self).__name__}: {inner}>"


class _KeyValue(_Entity):
    _fields = ("key", "value")

    def __init__(self, key: str, value: str) -> None:
        self.key = key
        self.value = value

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.key, self.value))


class Param(_KeyValue):
    """A run parameter: immutable once logged."""


class RunTag(_KeyValue):
    """A tag of a run."""


class ExperimentTag(_KeyValue):
    """A tag of an experiment."""


class InputTag(_KeyValue):
    """A tag of a dataset input, such as its context (``mlflow.data.context``)."""


class Metric(_Entity):
    """One point of a metric: value, timestamp (ms since the epoch) and step."""

    _fields = ("key", "value", "timestamp", "step")

    def __init__(self, key: str, value: float, timestamp: int, step: int = 0) -> None:
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.step = step

    def __hash__(self) -> int:
        return hash((self.key, self.value, self.timestamp, self.step))

    def to_dictionary(self) -> dict[str, Any]:
        """The point as a dict: key, value, timestamp, step."""
        return dict(self)


class FileInfo(_Entity):
    """An artifact: its path relative to the run's artifact root, whether it
    is a directory, and its size in bytes (None for directories)."""

    _fields = ("path", "is_dir", "file_size")

    def __init__(self, path: str, is_dir: bool, file_size: int | None) -> None:
        self.path = path
        self.is_dir = is_dir
        self.file_size = file_size


class LifecycleStage:
    """Whether an experiment or run is active or (soft-)deleted."""

    ACTIVE = "active"
    DELETED = "deleted"

    @classmethod
    def view_type_allows(cls, view_type: int, stage: str) -> bool:
        """Whether a listing of ``view_type`` includes an entity in ``stage``."""
        return (
            view_type == ViewType.ALL
            or (view_type == ViewType.ACTIVE_ONLY and stage == cls.ACTIVE)
            or (view_type == ViewType.DELETED_ONLY and stage == cls.DELETED)
        )


class ViewType:
    """Which lifecycle stages a search or listing returns."""

    ACTIVE_ONLY, DELETED_ONLY, ALL = 1, 2, 3
    _NAMES: ClassVar[dict[int, str]] = {1: "active_only", 2: "deleted_only", 3: "all"}

    @classmethod
    def from_string(cls, view_str: str) -> int:
        """``"active_only"``, ``"deleted_only"`` or ``"all"`` (any case)."""
        for number, name in cls._NAMES.items():
            if isinstance(view_str, str) and view_str.lower() == name:
                return number
        from .errors import InvalidValueError

        raise InvalidValueError(
            f"invalid view type {view_str!r}: must be one of {list(cls._NAMES.values())}"
        )

    @classmethod
    def to_string(cls, view_type: int) -> str:
        """The name of a view type: ``"active_only"``, ``"deleted_only"`` or ``"all"``."""
        try:
            return cls._NAMES[view_type]
        except (KeyError, TypeError):
            from .errors import InvalidValueError

            raise InvalidValueError(
                f"invalid view type {view_type!r}: must be ViewType.ACTIVE_ONLY (1), "
                "DELETED_ONLY (2) or ALL (3)"
            ) from None


class RunStatus:
    """A run's status. Runs carry it as a string (``run.info.status``);
    these numbers are MLflow's codes for the same names."""

    RUNNING, SCHEDULED, FINISHED, FAILED, KILLED = 1, 2, 3, 4, 5
    _NAMES: ClassVar[dict[int, str]] = {
        1: "RUNNING",
        2: "SCHEDULED",
        3: "FINISHED",
        4: "FAILED",
        5: "KILLED",
    }

    @staticmethod
    def from_string(status_str: str) -> int:
        """MLflow's number for a status name such as ``"FINISHED"``."""
        for number, name in RunStatus._NAMES.items():
            if status_str == name:
                return number
        from .errors import InvalidValueError

        raise InvalidValueError(
            f"invalid run status {status_str!r}: must be one of {list(RunStatus._NAMES.values())}"
        )

    @staticmethod
    def to_string(status: int) -> str:
        """The name of a status number."""
        try:
            return RunStatus._NAMES[status]
        except (KeyError, TypeError):
            from .errors import InvalidValueError

            raise InvalidValueError(
                f"invalid run status {status!r}: must be one of {list(RunStatus._NAMES)}"
            ) from None

    @staticmethod
    def is_terminated(status: int) -> bool:
        """Whether the status (a number) is FINISHED, FAILED or KILLED."""
        return status in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)

    @staticmethod
    def all_status() -> list[int]:
        """Every status number."""
        return list(RunStatus._NAMES)


def _tag_dict(tags: Mapping[str, str] | Iterable[Any] | None) -> dict[str, str]:
    """Tags given as a dict or as objects with ``key`` and ``value``."""
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        return dict(tags)
    items: Iterable[Any] = tags
    return {t.key: t.value for t in items}


class Experiment(_Entity):
    """An experiment: a named group of runs. ``tags`` is a dict."""

    DEFAULT_EXPERIMENT_NAME: ClassVar[str] = "Default"
    _fields = (
        "experiment_id",
        "name",
        "artifact_location",
        "lifecycle_stage",
        "tags",
        "creation_time",
        "last_update_time",
    )

    def __init__(
        self,
        experiment_id: str,
        name: str,
        artifact_location: str,
        lifecycle_stage: str,
        tags: Mapping[str, str] | Iterable[Any] | None = None,
        creation_time: int | None = None,
        last_update_time: int | None = None,
    ) -> None:
        self.experiment_id = experiment_id
        self.name = name
        self.artifact_location = artifact_location
        self.lifecycle_stage = lifecycle_stage
        self.tags = _tag_dict(tags)
        self.creation_time = creation_time
        self.last_update_time = last_update_time

    @classmethod
    def _from_native(cls, d: Mapping[str, Any]) -> Experiment:
        return cls(
            d["experiment_id"],
            d["name"],
            d["artifact_location"],
            d["lifecycle_stage"],
            d["tags"],
            d["creation_time"],
            d["last_update_time"],
        )

    def _repr_html_(self) -> str:
        """The experiment as an HTML table (notebooks show it)."""
        from ._html import experiment_html

        return experiment_html(self)


class RunInfo(_Entity):
    """A run's metadata. ``status`` is a name such as ``"FINISHED"``;
    times are ms since the epoch (``end_time`` is None while running)."""

    _fields = (
        "run_id",
        "run_name",
        "experiment_id",
        "user_id",
        "status",
        "start_time",
        "end_time",
        "lifecycle_stage",
        "artifact_uri",
    )

    def __init__(
        self,
        run_id: str,
        experiment_id: str,
        user_id: str,
        status: str,
        start_time: int,
        end_time: int | None,
        lifecycle_stage: str,
        artifact_uri: str | None = None,
        run_name: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.user_id = user_id
        self.status = status
        self.start_time = start_time
        self.end_time = end_time
        self.lifecycle_stage = lifecycle_stage
        self.artifact_uri = artifact_uri
        self.run_name = run_name

    @property
    def run_uuid(self) -> str:
        """The run id, under its older MLflow name."""
        return self.run_id

    @classmethod
    def _from_native(cls, d: Mapping[str, Any]) -> RunInfo:
        return cls(
            d["run_id"],
            d["experiment_id"],
            d["user_id"],
            d["status"],
            d["start_time"],
            d["end_time"],
            d["lifecycle_stage"],
            d["artifact_uri"],
            d["run_name"],
        )


class RunData(_Entity):
    """A run's params, tags and the latest value of each metric, as dicts."""

    _fields = ("metrics", "params", "tags")

    def __init__(
        self,
        metrics: Iterable[Metric] | None = None,
        params: Iterable[Any] | None = None,
        tags: Iterable[Any] | None = None,
    ) -> None:
        self._metric_objs: list[Metric] = list(metrics or [])
        self.metrics: dict[str, float] = {m.key: m.value for m in self._metric_objs}
        self.params: dict[str, str] = {p.key: p.value for p in (params or [])}
        self.tags: dict[str, str] = _tag_dict(tags)

    def to_dictionary(self) -> dict[str, Any]:
        """The data as a dict of dicts: metrics, params, tags."""
        return {"metrics": self.metrics, "params": self.params, "tags": self.tags}

    @classmethod
    def _from_native(cls, d: Mapping[str, Any]) -> RunData:
        data = cls()
        data._metric_objs = [
            Metric(key, s["value"], s["timestamp"], s["step"]) for key, s in d["metrics"].items()
        ]
        data.metrics = {key: s["value"] for key, s in d["metrics"].items()}
        data.params = dict(d["params"])
        data.tags = dict(d["tags"])
        return data


class Dataset(_Entity):
    """A dataset as a run input: name, digest (a fingerprint of the data),
    where it comes from, and optionally its schema and profile (JSON)."""

    _fields = ("name", "digest", "source_type", "source", "schema", "profile")

    def __init__(
        self,
        name: str,
        digest: str,
        source_type: str,
        source: str,
        schema: str | None = None,
        profile: str | None = None,
    ) -> None:
        self.name = name
        self.digest = digest
        self.source_type = source_type
        self.source = source
        self.schema = schema
        self.profile = profile

    def to_dictionary(self) -> dict[str, Any]:
        """The dataset as a dict, without the fields that are None."""
        return {k: v for k, v in self if v is not None}


class DatasetInput(_Entity):
    """A dataset used by a run, with the input's tags (such as its context)."""

    _fields = ("dataset", "tags")

    def __init__(self, dataset: Dataset, tags: Iterable[InputTag] | None = None) -> None:
        self.dataset = dataset
        self.tags: list[InputTag] = list(tags or [])

    def to_dictionary(self) -> dict[str, Any]:
        """The input as a dict: the dataset's and the tags'."""
        return {
            "dataset": self.dataset.to_dictionary(),
            "tags": [dict(t) for t in self.tags],
        }


class RunInputs(_Entity):
    """What a run consumed: its dataset inputs."""

    _fields = ("dataset_inputs",)

    def __init__(
        self, dataset_inputs: Iterable[DatasetInput] | None = None, model_inputs: Any = None
    ) -> None:
        self.dataset_inputs: list[DatasetInput] = list(dataset_inputs or [])
        self.model_inputs: list[Any] = list(model_inputs or [])

    def to_dictionary(self) -> dict[str, Any]:
        """The inputs as a dict (``dataset_inputs``)."""
        return {"dataset_inputs": [d.to_dictionary() for d in self.dataset_inputs]}

    @classmethod
    def _from_native(cls, inputs: Iterable[Mapping[str, Any]]) -> RunInputs:
        return cls(
            [
                DatasetInput(
                    Dataset(**i["dataset"]),
                    [InputTag(k, v) for k, v in i["tags"].items()],
                )
                for i in inputs
            ]
        )


class Run(_Entity):
    """A run: ``info`` (RunInfo), ``data`` (RunData) and ``inputs`` (RunInputs)."""

    _fields = ("info", "data", "inputs")

    def __init__(
        self,
        run_info: RunInfo,
        run_data: RunData | None,
        run_inputs: RunInputs | None = None,
        run_outputs: Any = None,
    ) -> None:
        self._info = run_info
        self._data = run_data if run_data is not None else RunData()
        self._inputs = run_inputs if run_inputs is not None else RunInputs()
        self._outputs = run_outputs

    @property
    def info(self) -> RunInfo:
        """The run's metadata (:class:`RunInfo`)."""
        return self._info

    @property
    def data(self) -> RunData:
        """The run's params, tags and latest metrics (:class:`RunData`)."""
        return self._data

    @property
    def inputs(self) -> RunInputs:
        """The run's dataset inputs (:class:`RunInputs`)."""
        return self._inputs

    @property
    def outputs(self) -> Any:
        """Always None: tracklite records no logged-model outputs."""
        return self._outputs

    def to_dictionary(self) -> dict[str, Any]:
        """The run as nested dicts: info, data (and inputs when there are any)."""
        out: dict[str, Any] = {"info": dict(self.info), "data": self.data.to_dictionary()}
        if self.inputs.dataset_inputs:
            out["inputs"] = self.inputs.to_dictionary()
        return out

    @classmethod
    def _from_native(cls, d: Mapping[str, Any]) -> Run:
        return cls(
            RunInfo._from_native(d["info"]),
            RunData._from_native(d),
            RunInputs._from_native(d["inputs"]),
        )

    def _repr_html_(self) -> str:
        """The run as HTML (notebooks show it): info, latest metrics,
        params and tags."""
        from ._html import run_html

        return run_html(self)


# The model registry


#: The tag that marks a registered model or version as an MLflow prompt.
PROMPT_TAG = "mlflow.prompt.is_prompt"


class RegisteredModelTag(_KeyValue):
    """A tag of a registered model."""


class ModelVersionTag(_KeyValue):
    """A tag of a model version."""


class RegisteredModelAlias(_Entity):
    """An alias of a registered model and the version it names."""

    _fields = ("alias", "version")

    def __init__(self, alias: str, version: int) -> None:
        self.alias = alias
        self.version = version


class ModelVersion(_Entity):
    """One version of a registered model. ``version`` is an int (1, 2, ...),
    as MLflow's local registry stores return it; ``current_stage`` one of
    ``None``, ``Staging``, ``Production``, ``Archived``; ``tags`` a dict;
    ``aliases`` the aliases naming this version."""

    _fields = (
        "name",
        "version",
        "creation_timestamp",
        "last_updated_timestamp",
        "description",
        "user_id",
        "current_stage",
        "source",
        "run_id",
        "run_link",
        "status",
        "status_message",
        "tags",
        "aliases",
        "model_id",
    )

    def __init__(
        self,
        name: str,
        version: int,
        creation_timestamp: int,
        last_updated_timestamp: int | None = None,
        description: str | None = None,
        user_id: str | None = None,
        current_stage: str | None = None,
        source: str | None = None,
        run_id: str | None = None,
        status: str = "READY",
        status_message: str | None = None,
        tags: Mapping[str, str] | Iterable[Any] | None = None,
        run_link: str | None = None,
        aliases: Iterable[str] | None = None,
        model_id: str | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.creation_timestamp = creation_timestamp
        self.last_updated_timestamp = last_updated_timestamp
        self.description = description
        self.user_id = user_id
        self.current_stage = current_stage
        self.source = source
        self.run_id = run_id
        self.run_link = run_link
        self.status = status
        self.status_message = status_message
        self.tags: dict[str, str] = _tag_dict(tags)
        self.aliases: list[str] = list(aliases or [])
        self.model_id = model_id

    @classmethod
    def _from_native(cls, d: Mapping[str, Any]) -> ModelVersion:
        return cls(
            d["name"],
            d["version"],
            d["creation_timestamp"],
            d["last_updated_timestamp"],
            d["description"],
            d["user_id"],
            d["current_stage"],
            d["source"],
            d["run_id"],
            d["status"],
            d["status_message"],
            d["tags"],
            d["run_link"],
            d["aliases"],
            d["model_id"],
        )


class RegisteredModel(_Entity):
    """A registered model: its ``tags`` and ``aliases`` (alias -> version)
    as dicts, and ``latest_versions``, the newest version in each stage."""

    _fields = (
        "name",
        "creation_timestamp",
        "last_updated_timestamp",
        "description",
        "latest_versions",
        "tags",
        "aliases",
    )

    def __init__(
        self,
        name: str,
        creation_timestamp: int | None = None,
        last_updated_timestamp: int | None = None,
        description: str | None = None,
        latest_versions: Iterable[ModelVersion] | None = None,
        tags: Mapping[str, str] | Iterable[Any] | None = None,
        aliases: Mapping[str, int] | Iterable[RegisteredModelAlias] | None = None,
    ) -> None:
        self.name = name
        self.creation_timestamp = creation_timestamp
        self.last_updated_timestamp = last_updated_timestamp
        self.description = description
        self.latest_versions: list[ModelVersion] = list(latest_versions or [])
        # Every tag, the prompt marker included; ``tags`` leaves it out, as in MLflow.
        self._tags = _tag_dict(tags)
        if isinstance(aliases, Mapping):
            self.aliases: dict[str, int] = dict(aliases)
        else:
            self.aliases = {a.alias: a.version for a in aliases or []}

    @property
    def tags(self) -> dict[str, str]:
        """The model's tags (without MLflow's prompt marker)."""
        return {k: x for k, x in self._tags.items() if k != PROMPT_TAG}

    @classmethod
    def _from_native(cls, d: Mapping[str, Any]) -> RegisteredModel:
        return cls(
            d["name"],
            d["creation_timestamp"],
            d["last_updated_timestamp"],
            d["description"],
            [ModelVersion._from_native(x) for x in d["latest_versions"]],
            d["tags"],
            d["aliases"],
        )


class PagedList(list[T]):
    """A page of results: a list, plus ``token`` for the next page (None
    on the last page). In a notebook, a list of runs or experiments shows
    as a table."""

    def __init__(self, items: Iterable[T], token: str | None = None) -> None:
        super().__init__(items)
        self.token = token

    def to_list(self) -> list[T]:
        """The items as a plain list."""
        return list(self)

    def _repr_html_(self) -> str | None:
        from ._html import list_html

        return list_html(self)
