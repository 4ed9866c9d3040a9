"""Exception classes, messages and MLflow error codes."""

from __future__ import annotations

import pytest

import tracklite
import tracklite as mlflow
from tracklite import errors
from tracklite.exceptions import MlflowException

ERRORS = [
    (errors.InvalidValueError, ValueError, "INVALID_PARAMETER_VALUE"),
    (errors.InvalidFilterError, ValueError, "INVALID_PARAMETER_VALUE"),
    (errors.ParamChangedError, ValueError, "INVALID_PARAMETER_VALUE"),
    (errors.NotFoundError, LookupError, "RESOURCE_DOES_NOT_EXIST"),
    (errors.AlreadyExistsError, Exception, "RESOURCE_ALREADY_EXISTS"),
    (errors.InvalidStateError, Exception, "INVALID_STATE"),
    (errors.RunDeletedError, errors.InvalidStateError, "INVALID_PARAMETER_VALUE"),
    (errors.FormatError, Exception, "INTERNAL_ERROR"),
    (errors.StoreIOError, OSError, "INTERNAL_ERROR"),
]


@pytest.mark.parametrize(("cls", "builtin", "code"), ERRORS)
def test_hierarchy_and_codes(cls, builtin, code):
    assert issubclass(cls, errors.TrackliteError) and issubclass(cls, builtin)
    assert cls.error_code == code
    e = cls("what went wrong")
    assert e.message == "what went wrong" and str(e) == "what went wrong"
    assert getattr(tracklite, cls.__name__) is cls


def test_mlflow_exception_is_the_base():
    assert MlflowException is errors.TrackliteError is tracklite.MlflowException
    assert tracklite.exceptions.NotFoundError is errors.NotFoundError
    with pytest.raises(MlflowException):
        mlflow.get_run("f" * 32)


def test_unknown_run():
    run_id = "f" * 32
    with pytest.raises(tracklite.NotFoundError) as e:
        mlflow.get_run(run_id)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert run_id in str(e.value)
    with pytest.raises(LookupError):
        mlflow.MlflowClient().set_terminated(run_id)


def test_duplicate_experiment():
    mlflow.create_experiment("twice")
    with pytest.raises(tracklite.AlreadyExistsError, match="twice") as e:
        mlflow.create_experiment("twice")
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_params_are_immutable_and_the_message_says_why():
    with mlflow.start_run():
        mlflow.log_param("lr", 0.1)
        mlflow.log_param("lr", "0.1")  # the same value again is fine
        with pytest.raises(tracklite.ParamChangedError) as e:
            mlflow.log_param("lr", 0.2)
    assert "lr" in str(e.value) and "0.1" in str(e.value) and "0.2" in str(e.value)
    assert isinstance(e.value, ValueError)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    ("call", "limit"),
    [
        (lambda: mlflow.log_metric("k" * 251, 1.0), "250"),
        (lambda: mlflow.log_param("k" * 251, 1), "250"),
        (lambda: mlflow.log_param("p", "v" * 6001), "6000"),
        (lambda: mlflow.set_tag("t", "v" * 8001), "8000"),
        (lambda: mlflow.set_experiment_tag("t", "v" * 20001), "20000"),
        (lambda: mlflow.create_experiment("n" * 501), "500"),
    ],
)
def test_mlflow_value_limits_are_enforced_not_truncated(call, limit):
    with pytest.raises(tracklite.InvalidValueError, match=limit):
        call()


@pytest.mark.parametrize("key", ["../escape", "/abs", "a//b", "bad\nkey", ""])
def test_bad_keys(key):
    with mlflow.start_run():
        with pytest.raises(tracklite.InvalidValueError):
            mlflow.log_metric(key, 1.0)
        with pytest.raises(tracklite.InvalidValueError):
            mlflow.log_param(key, 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"value": "high"}, "number"),
        ({"value": None}, "number"),
        ({"value": [1.0]}, "number"),
        ({"value": 1.0, "step": float("nan")}, "step"),
        ({"value": 1.0, "step": 1.5}, "step"),
        ({"value": 1.0, "step": "3"}, "step"),
        ({"value": 1.0, "timestamp": "now"}, "timestamp"),
    ],
)
def test_bad_metric_values_raise_mlflow_exceptions(kwargs, match):
    with mlflow.start_run() as run:
        with pytest.raises(MlflowException, match=match) as e:
            mlflow.log_metric("m", **kwargs)
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"
        with pytest.raises(MlflowException, match=match):
            mlflow.MlflowClient().log_metric(run.info.run_id, "m", **kwargs)
    assert mlflow.get_run(run.info.run_id).data.metrics == {}


def test_non_str_metric_keys_and_non_dicts():
    with mlflow.start_run():
        with pytest.raises(tracklite.InvalidValueError, match="str"):
            mlflow.log_metric(7, 1.0)
        with pytest.raises(tracklite.InvalidValueError, match="str"):
            mlflow.log_metrics({7: 1.0})
        with pytest.raises(tracklite.InvalidValueError, match="dict"):
            mlflow.log_metrics([("a", 1.0)])
        with pytest.raises(tracklite.InvalidValueError, match="dict"):
            mlflow.log_params(["a"])


def test_native_run_refuses_bad_types_with_type_errors(store):
    with store.start_run() as run:
        with pytest.raises(TypeError):
            run.log_metric("m", 1.0, float("nan"))
        with pytest.raises(TypeError):
            run.log_metric("m", "x")
        with pytest.raises(TypeError):
            run.log_metrics({"m": "x"})


def test_logging_to_a_deleted_run():
    with mlflow.start_run() as run:
        pass
    mlflow.delete_run(run.info.run_id)
    with pytest.raises(tracklite.RunDeletedError, match="deleted") as e:
        mlflow.log_metric("m", 1.0, run_id=run.info.run_id)
    assert isinstance(e.value, tracklite.InvalidStateError)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_ended_native_run_refuses_more_points(store):
    run = store.start_run()
    run.end()
    assert run.ended and run.info.status == "FINISHED"
    with pytest.raises(tracklite.InvalidStateError, match="closed"):
        run.log_metric("m", 1.0)
    run.end("FAILED")  # ending again does nothing
    assert store.get_run(run.run_id).info.status == "FINISHED"


def test_state_errors_of_the_fluent_api():
    with mlflow.start_run():
        with pytest.raises(tracklite.InvalidStateError, match="already active"):
            mlflow.start_run()
    with pytest.raises(tracklite.InvalidValueError):
        mlflow.end_run(status="SUCCEEDED")
    with pytest.raises(tracklite.InvalidValueError, match="experiment_id"):
        mlflow.start_run(experiment_id=["0"])
    with pytest.raises(tracklite.InvalidValueError, match="description"):
        mlflow.start_run(description="a", tags={"mlflow.note.content": "b"})
    assert mlflow.active_run() is None


def test_invalid_view_type_and_status_codes():
    from tracklite.entities import RunStatus, ViewType

    with pytest.raises(tracklite.InvalidValueError):
        mlflow.search_runs(run_view_type=7)
    with pytest.raises(tracklite.InvalidValueError):
        ViewType.from_string("some")
    with pytest.raises(tracklite.InvalidValueError):
        RunStatus.to_string(9)
    assert ViewType.from_string("ACTIVE_ONLY") == ViewType.ACTIVE_ONLY
    assert RunStatus.from_string("KILLED") == RunStatus.KILLED
    assert RunStatus.is_terminated(RunStatus.FAILED) and not RunStatus.is_terminated(1)


def test_store_path_that_is_a_file(tmp_path):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    with pytest.raises(tracklite.TrackliteError, match="not a store directory"):
        tracklite.Store(f)


def test_bad_datasets():
    with mlflow.start_run():
        with pytest.raises(tracklite.InvalidValueError, match="digest"):
            mlflow.log_input({"name": "d", "source_type": "local", "source": "x"})
        with pytest.raises(tracklite.InvalidValueError, match="length"):
            mlflow.log_inputs([{"name": "d"}], contexts=[], tags_list=[])
