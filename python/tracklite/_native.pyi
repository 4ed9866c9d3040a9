"""Type stubs of the private native module. The public API is the package
``tracklite``; this module is its engine, and may change between versions.

Plain Python values cross the boundary: dicts, lists, tuples, str, int,
float, and numpy arrays for metric columns. Errors are raised as the
classes of ``tracklite.errors`` (imported by name), never as panics.
"""

from collections.abc import Sequence
from typing import Any, TypedDict, final

import numpy as np
import numpy.typing as npt

__all__ = ["RunWriter", "Store", "Syncer", "Viewer", "__version__", "metric_objects", "run_cli"]

__version__: str

class ExperimentDict(TypedDict):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str  # "active" | "deleted"
    creation_time: int
    last_update_time: int
    tags: dict[str, str]

class RunInfoDict(TypedDict):
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str  # RUNNING | SCHEDULED | FINISHED | FAILED | KILLED
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str

class MetricSummaryDict(TypedDict):
    value: float
    timestamp: int
    step: int
    min: float
    max: float
    count: int

class DatasetDict(TypedDict):
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None

class DatasetInputDict(TypedDict):
    dataset: DatasetDict
    tags: dict[str, str]

class RunDict(TypedDict):
    info: RunInfoDict
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, MetricSummaryDict]
    inputs: list[DatasetInputDict]

class FileInfoDict(TypedDict):
    path: str
    is_dir: bool
    file_size: int | None

# (key, value, timestamp_ms, step)
MetricTuple = tuple[str, float, int, int]

class ModelMetricDict(TypedDict):
    model_id: str
    key: str
    value: float  # exact: NaN and +-inf included
    timestamp: int
    step: int
    run_id: str | None
    dataset_name: str | None
    dataset_digest: str | None

# What log_model_metrics takes: model_id, key and value are required;
# timestamp defaults to now (ms), step to 0, the others to None.
class ModelMetricInputDict(TypedDict, total=False):
    model_id: str
    key: str
    value: float
    timestamp: int
    step: int
    run_id: str | None
    dataset_name: str | None
    dataset_digest: str | None

class LoggedModelDict(TypedDict):
    model_id: str  # "m-" and 32 hex digits
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    model_type: str | None
    source_run_id: str | None
    status: str  # PENDING | READY | FAILED
    lifecycle_stage: str  # "active" | "deleted"
    tags: dict[str, str]
    params: dict[str, str]
    metrics: list[ModelMetricDict]  # every point, in the order logged

class LoggedModelOutputDict(TypedDict):
    model_id: str
    step: int

# MLflow's order_by dicts: field_name is required ("name", "creation_timestamp",
# "last_updated_timestamp", "metrics.<key>", ...); ascending defaults to True;
# the dataset fields only go with a metric.
class OrderByDict(TypedDict, total=False):
    field_name: str
    ascending: bool
    dataset_name: str | None
    dataset_digest: str | None

# MLflow's dataset filters of search_logged_models: dataset_name is required.
class DatasetFilterDict(TypedDict, total=False):
    dataset_name: str
    dataset_digest: str | None

class ModelVersionDict(TypedDict):
    name: str
    version: int  # 1, 2, ...; a deleted version's number is never given again
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None
    user_id: str | None
    current_stage: str  # None | Staging | Production | Archived
    source: str
    storage_location: str | None  # where the files are, when the source was resolved
    run_id: str | None
    run_link: str | None
    model_id: str | None
    status: str  # READY
    status_message: str | None
    tags: dict[str, str]
    aliases: list[str]  # sorted

class RegisteredModelDict(TypedDict):
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None
    latest_versions: list[ModelVersionDict]  # the newest of each stage, by version
    tags: dict[str, str]
    aliases: dict[str, int]  # alias -> version

@final
class Store:
    """An open store directory (created when missing). Thread-safe; after
    ``os.fork()`` the child reopens its own handles on first use."""

    def __new__(cls, path: str, read_only: bool = False) -> Store: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def path(self) -> str: ...
    @property
    def artifact_root(self) -> str: ...

    # Experiments
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str: ...
    def get_experiment(self, experiment_id: str) -> ExperimentDict: ...
    def get_experiment_by_name(self, name: str) -> ExperimentDict | None: ...
    def experiment_id_for(self, name: str) -> str: ...
    def list_experiments(self, view: str = "active") -> list[ExperimentDict]: ...
    def search_experiments(
        self,
        view: str = "active",
        filter: str = "",
        max_results: int = 1000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> tuple[list[ExperimentDict], str | None]: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    # Runs
    def create_run(
        self,
        experiment_id: str = "0",
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
        start_time: int | None = None,
        user_id: str | None = None,
        parent_run_id: str | None = None,
        params: dict[str, str] | None = None,
    ) -> RunInfoDict: ...
    def get_run(self, run_id: str) -> RunDict: ...
    def get_run_info(self, run_id: str) -> RunInfoDict: ...
    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfoDict: ...
    def end_run(self, run_id: str, status: str = "FINISHED") -> RunInfoDict: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str = "",
        view: str = "active",
        max_results: int = 1000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> tuple[list[RunDict], str | None]: ...

    # Params, tags, metrics
    def log_param(self, run_id: str, key: str, value: str) -> None: ...
    def set_tag(self, run_id: str, key: str, value: str) -> None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricTuple] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> None: ...
    def log_batch_entities(
        self, run_id: str, metrics: Sequence[Any], params: Sequence[Any], tags: Sequence[Any]
    ) -> bool:
        """Logs MLflow ``Metric``/``Param``/``RunTag`` objects (lists or
        tuples of them) and returns True when every one is plain (str keys
        and param values, float or int values, int or None steps and
        timestamps, no model id); else logs nothing and returns False."""
        ...
    def log_metric(
        self, run_id: str, key: str, value: float, timestamp: int | None = None, step: int = 0
    ) -> None: ...
    def log_inputs(self, run_id: str, inputs: Sequence[DatasetInputDict]) -> None: ...
    def metric_history(
        self, run_id: str, key: str
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """(steps, timestamps, values), in the order logged."""
        ...
    def metric_dataset_links(self, run_id: str, key: str) -> list[tuple[int, str, str]]:
        """(ordinal, dataset_name, dataset_digest) of the points of a
        history that name the dataset they were computed on (kept by an
        import from an MLflow file store), by ordinal: the point's position
        in ``metric_history``. Usually empty."""
        ...
    def writer(self, run_id: str) -> RunWriter: ...

    # Artifacts
    def artifact_dir(self, run_id: str) -> str: ...
    def log_artifact(
        self, run_id: str, local_path: str, artifact_path: str | None = None
    ) -> None: ...
    def log_artifacts(
        self, run_id: str, local_dir: str, artifact_path: str | None = None
    ) -> None: ...
    def log_artifact_bytes(self, run_id: str, artifact_file: str, data: bytes) -> None: ...
    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfoDict]: ...
    def read_artifact(self, run_id: str, path: str) -> bytes: ...
    def download_artifacts(self, run_id: str, path: str | None, dest_dir: str) -> str: ...

    # Maintenance
    def flush(self) -> None: ...
    def check(self, repair: bool = False) -> dict[str, Any]: ...
    def gc(self, run_ids: Sequence[str] | None = None) -> dict[str, Any]: ...
    def compact(self) -> dict[str, Any]: ...
    def import_mlruns(self, path: str) -> dict[str, Any]: ...

    # Export to an MLflow tracking server; summaries as JSON text.
    def export(
        self,
        to: str,
        experiments: Sequence[str] = ...,
        runs: Sequence[str] = ...,
        dry_run: bool = False,
        connections: int = 4,
    ) -> str: ...
    def start_sync(
        self,
        to: str,
        interval: float = 5.0,
        experiments: Sequence[str] = ...,
        runs: Sequence[str] = ...,
        connections: int = 4,
    ) -> Syncer: ...

    # Logged models (MLflow 3). Deleted models are left out of
    # get_logged_model (unless allow_deleted) and of searches.
    def create_logged_model(
        self,
        experiment_id: str = "0",
        name: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        model_type: str | None = None,
    ) -> LoggedModelDict:
        """A new PENDING model; the name defaults to a generated one."""
        ...
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModelDict: ...
    def delete_logged_model(self, model_id: str) -> None: ...
    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModelDict:
        """status: PENDING, READY or FAILED."""
        ...
    def set_logged_model_tags(self, model_id: str, tags: dict[str, str]) -> None: ...
    def delete_logged_model_tag(self, model_id: str, key: str) -> None: ...
    def log_logged_model_params(self, model_id: str, params: dict[str, str]) -> None: ...
    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter: str = "",
        datasets: Sequence[DatasetFilterDict] = (),
        max_results: int = 100,
        order_by: Sequence[str | OrderByDict] = (),
        page_token: str | None = None,
    ) -> tuple[list[LoggedModelDict], str | None]:
        """order_by clauses are "field [ASC|DESC]" strings or MLflow's dicts."""
        ...
    def log_outputs(
        self, run_id: str, models: Sequence[LoggedModelOutputDict | tuple[str, int]]
    ) -> None: ...
    def run_outputs(self, run_id: str) -> list[LoggedModelOutputDict]: ...
    def log_model_inputs(self, run_id: str, model_ids: Sequence[str]) -> None: ...
    def run_model_inputs(self, run_id: str) -> list[str]: ...
    def log_model_metrics(self, metrics: Sequence[ModelMetricInputDict]) -> None:
        """At most 1000 points per call, all or nothing."""
        ...
    def record_logged_model(self, run_id: str, model_json: str) -> None:
        """Appends a model's description (a JSON object) to the run's
        ``mlflow.log-model.history`` tag, atomically."""
        ...

    # The model registry (MLflow's). Stages are MLflow's names, in any case
    # on the way in; prompts (models tagged mlflow.prompt.is_prompt) are left
    # out of searches unless the filter asks for them.
    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModelDict: ...
    def get_registered_model(self, name: str) -> RegisteredModelDict: ...
    def update_registered_model(
        self, name: str, description: str | None = None
    ) -> RegisteredModelDict: ...
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModelDict: ...
    def delete_registered_model(self, name: str) -> None: ...
    def set_registered_model_tag(self, name: str, key: str, value: str) -> None: ...
    def delete_registered_model_tag(self, name: str, key: str) -> None: ...
    def search_registered_models(
        self,
        filter: str = "",
        max_results: int = 100,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModelDict], str | None]:
        """max_results: 1 to 1000."""
        ...
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        model_id: str | None = None,
        user_id: str | None = None,
        storage_location: str | None = None,
    ) -> ModelVersionDict:
        """The model's next version. A ``models:/`` source without a
        storage_location is resolved (``models:/m-<id>``: the logged model's
        artifact location, run and id; ``models:/<name>/<version>``: that
        version's download URI)."""
        ...
    def get_model_version(self, name: str, version: int) -> ModelVersionDict: ...
    def update_model_version(
        self, name: str, version: int, description: str | None = None
    ) -> ModelVersionDict: ...
    def transition_model_version_stage(
        self, name: str, version: int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersionDict:
        """archive_existing_versions only with Staging or Production."""
        ...
    def delete_model_version(self, name: str, version: int) -> None: ...
    def get_model_version_download_uri(self, name: str, version: int) -> str: ...
    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None: ...
    def delete_model_version_tag(self, name: str, version: int, key: str) -> None: ...
    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None: ...
    def delete_registered_model_alias(self, name: str, alias: str) -> None: ...
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersionDict:
        """``latest`` (any case) is the newest version; an alias the model
        does not have raises InvalidValueError."""
        ...
    def get_latest_versions(self, name: str, stages: Sequence[str] = ()) -> list[ModelVersionDict]:
        """The newest version of each of ``stages`` (every stage when
        empty) that has one, by ascending version."""
        ...
    def model_version_for_uri(self, uri: str) -> ModelVersionDict:
        """The version ``models:/<name>/<version|stage|latest>`` or
        ``models:/<name>@<alias>`` names."""
        ...
    def search_model_versions(
        self,
        filter: str = "",
        max_results: int = 10000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> tuple[list[ModelVersionDict], str | None]:
        """max_results: 1 to 200,000; default order: last updated first,
        then name, then newest version."""
        ...
    def model_versions_of_run(self, run_id: str) -> list[tuple[str, int]]:
        """(name, version) of the versions made from the run or kept under
        its artifacts."""
        ...

@final
class Syncer:
    """A background export thread (``Store.start_sync``)."""

    @property
    def running(self) -> bool: ...
    def progress(self) -> str: ...
    def stop(self) -> str: ...

@final
class Viewer:
    """The web viewer serving a store read-only from threads of this
    process (``tracklite.show``)."""

    def __new__(
        cls, path: str, host: str = "127.0.0.1", port: int = 0, allow_remote: bool = False
    ) -> Viewer: ...
    @property
    def url(self) -> str: ...
    @property
    def running(self) -> bool: ...
    def stop(self) -> None: ...

@final
class RunWriter:
    """The fast path for one run's metrics. Thread-safe. Timestamps default
    to now (ms), steps to 0. Points are durable against the process being
    killed once a call returns."""

    @property
    def run_id(self) -> str: ...
    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None: ...
    def log_metrics(
        self, metrics: dict[str, float], step: int | None = None, timestamp: int | None = None
    ) -> None: ...
    def log_metric_array(
        self,
        key: str,
        values: npt.ArrayLike,
        steps: npt.ArrayLike | None = None,
        timestamps: npt.ArrayLike | None = None,
    ) -> None:
        """Steps default to 0..n, timestamps to now."""
        ...
    def flush(self) -> None: ...
    def end_run(self, status: str = "FINISHED") -> dict[str, Any] | None: ...
    def close(self) -> None: ...

def metric_objects(
    cls: type[Any],
    key: str,
    steps: npt.NDArray[np.int64],
    timestamps: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
) -> list[Any]:
    """The objects ``cls(key, value, timestamp, step)`` of a history's
    columns (MLflow's ``Metric``), made without running ``__init__`` for
    each when ``cls`` keeps its fields as plain attributes."""
    ...

def run_cli(argv: list[str]) -> int:
    """Runs the ``tracklite`` command-line program with ``argv`` (the
    program's name first) on the process's file descriptors 1 and 2, and
    returns its exit status."""
    ...
