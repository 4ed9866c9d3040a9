"""Store URIs: the one parser (``tracklite._uri``) as the fluent functions
use it (plain paths, ``tracklite:`` and ``file:`` URIs, no MLflow file
store) and as the MLflow plugin uses it (one scheme, absolute folders,
MLflow's errors)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracklite import _tracking
from tracklite._uri import store_folder
from tracklite.errors import InvalidValueError


@pytest.mark.parametrize(
    ("uri", "folder"),
    [
        ("runs", "runs"),
        ("./runs", "./runs"),
        ("/data/runs", "/data/runs"),
        ("C:\\runs", "C:\\runs"),  # a drive letter, not a scheme
        ("~/runs", "~/runs"),  # as written: the caller expands or not
        ("tracklite:./runs", "./runs"),
        ("tracklite:runs", "runs"),
        ("tracklite:/abs/runs", "/abs/runs"),
        ("tracklite:///abs/runs", "/abs/runs"),
        ("TRACKLITE:///abs/runs", "/abs/runs"),
        ("tracklite://localhost/abs/runs", "/abs/runs"),
        ("tracklite:///abs/my%20runs", "/abs/my runs"),
        ("file:///abs/runs", "/abs/runs"),
        ("file:./runs", "./runs"),
    ],
)
def test_folders_of_uris(uri: str, folder: str):
    assert store_folder(uri) == folder
    assert _tracking.store_path(uri) == folder


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://localhost:5000", "not a tracklite store"),
        ("databricks", "not a tracklite store"),
        ("sqlite:///mlflow.db", "not a tracklite store"),
        ("tracklite://host/path", "names the host 'host'"),
        ("tracklite:///abs/runs?x=1", "no query or fragment"),
        ("tracklite:runs#top", "no query or fragment"),
        ("tracklite:", "names no folder"),
        ("tracklite://localhost", "names no folder"),
        ("", "names no folder"),
        ("tracklite://[broken/runs", "not a valid URI"),
    ],
)
def test_what_is_refused(uri: str, message: str):
    with pytest.raises(InvalidValueError, match=message):
        store_folder(uri)


def test_schemes_and_plain_paths_are_the_callers_choice():
    assert store_folder("tracklite:./runs", ("tracklite",), plain_paths=False) == "./runs"
    for uri in ("runs", "/data/runs", "file:///data/runs", "databricks"):
        with pytest.raises(InvalidValueError, match="not a tracklite: URI"):
            store_folder(uri, ("tracklite",), plain_paths=False)
    assert store_folder("file:///data/runs", ("file",), plain_paths=False) == "/data/runs"
    with pytest.raises(InvalidValueError, match="not a file: URI"):
        store_folder("tracklite:./runs", ("file",), plain_paths=False)


def test_the_fluent_functions_leave_mlflow_file_stores_alone(tmp_path: Path):
    mlruns = tmp_path / "mlruns"
    (mlruns / "0").mkdir(parents=True)
    (mlruns / "0" / "meta.yaml").write_text("name: Default\n")
    for uri in (str(mlruns), mlruns.as_uri(), f"tracklite:{mlruns}"):
        with pytest.raises(InvalidValueError, match="MLflow file store"):
            _tracking.store_path(uri)
    assert store_folder(mlruns.as_uri()) == str(mlruns)  # the parser itself does not look


def test_the_parser_needs_no_mlflow():
    code = (
        "import sys, tracklite, tracklite._uri, tracklite._tracking; "
        "assert 'mlflow' not in sys.modules, 'mlflow imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------
# The MLflow plugin: one scheme, absolute folders, MLflow's errors
# ---------------------------------------------------------------------------


@pytest.fixture
def plugin_uri():
    pytest.importorskip("mlflow")
    from tracklite.mlflow_plugin import _uri

    return _uri


def test_the_plugin_takes_tracklite_uris(plugin_uri, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert plugin_uri.store_path("tracklite:./runs") == str(tmp_path / "runs")
    assert plugin_uri.store_path("tracklite:runs") == str(tmp_path / "runs")
    assert plugin_uri.store_path("tracklite:///abs/a/../runs") == "/abs/runs"
    assert plugin_uri.store_path("tracklite://localhost/abs/runs") == "/abs/runs"
    home = os.path.expanduser("~")
    assert plugin_uri.store_path("tracklite:~/runs") == os.path.join(home, "runs")


def test_the_plugin_takes_file_uris_when_asked(plugin_uri, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mlruns = tmp_path / "mlruns"
    assert plugin_uri.store_path(mlruns.as_uri(), scheme="file") == str(mlruns)
    assert plugin_uri.store_path("file:./mlruns", scheme="file") == str(mlruns)
    # Unlike the fluent functions, the plugin opens MLflow file stores'
    # folders (file_uris places its store beside them).
    (mlruns / "0").mkdir(parents=True)
    (mlruns / "0" / "meta.yaml").write_text("name: Default\n")
    assert plugin_uri.store_path(mlruns.as_uri(), scheme="file") == str(mlruns)


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [
        ("./runs", "tracklite"),  # no plain paths
        ("file:///abs/runs", "tracklite"),
        ("tracklite:///abs/runs", "file"),
        ("tracklite://host/runs", "tracklite"),
        ("tracklite:///abs/runs?x=1", "tracklite"),
        ("tracklite:", "tracklite"),
    ],
)
def test_the_plugin_refuses_with_mlflow_errors(plugin_uri, uri: str, scheme: str):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as info:
        plugin_uri.store_path(uri, scheme=scheme)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert isinstance(info.value.__cause__, InvalidValueError)
