"""Session fixtures with real services on loopback (see ``_services.py`` and
``scripts/services``): a PostgreSQL 15 cluster, moto's S3 emulator, and two
``mlflow server`` processes on them:

- ``mlflow_server_pg_s3``: on PostgreSQL (database ``mlflow``), artifacts
  proxied by the server to ``s3://BUCKET/proxied`` (``mlflow-artifacts:``);
- ``mlflow_server_direct_s3``: on PostgreSQL (database ``mlflow_direct``),
  no proxy, artifact root ``s3://BUCKET/direct`` that clients write to
  themselves (with the ``s3_env`` fixture's variables).

Each starts once, when a test first asks for it, and stops at the end of the
session; their logs stay under pytest's base temporary directory
(``services/``). A missing binary or module skips the tests that need it,
naming it; a service that is there but fails to start is an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import _services
import pytest
from _services import S3, MlflowServer


@pytest.fixture(autouse=True)
def _mlflow_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's client sends no telemetry and logs synchronously."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")


def _require(*needs: str) -> None:
    reasons = _services.missing(*needs)
    if reasons:
        pytest.skip("service tests skipped: " + "; ".join(reasons))


@pytest.fixture(scope="session")
def services_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the services keep their logs and pid files."""
    return tmp_path_factory.mktemp("services", numbered=False)


@pytest.fixture(scope="session")
def postgres_dir(services_dir: Path) -> Iterator[Path]:
    """The running cluster's directory (for ``_services.create_database``)."""
    _require("postgres")
    directory = services_dir / "postgres"
    try:
        _services.start_postgres(directory)
        yield directory
    finally:
        _services.stop_postgres(directory)


@pytest.fixture(scope="session")
def postgres_url(postgres_dir: Path) -> str:
    """``postgresql+psycopg2://postgres@127.0.0.1:PORT/mlflow`` (trust auth)."""
    return (postgres_dir / "postgres.url").read_text().strip()


@pytest.fixture(scope="session")
def s3(services_dir: Path) -> Iterator[S3]:
    """moto's S3 server with one bucket: endpoint, bucket and credentials."""
    _require("s3")
    directory = services_dir / "s3"
    try:
        yield _services.start_s3(directory)
    finally:
        _services.stop_s3(directory)


@pytest.fixture
def s3_env(s3: S3, monkeypatch: pytest.MonkeyPatch) -> S3:
    """The emulator's endpoint and credentials in this test's environment, for
    clients that write to ``s3://`` themselves (MLflow, boto3)."""
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    return s3


@pytest.fixture(scope="session")
def mlflow_server_pg_s3(services_dir: Path, postgres_url: str, s3: S3) -> Iterator[MlflowServer]:
    """An MLflow server on PostgreSQL, proxying artifacts to the emulator."""
    _require("mlflow")
    directory = services_dir / "mlflow-pg-s3"
    try:
        yield _services.start_mlflow_server(
            directory,
            backend_store_uri=postgres_url,
            s3=s3,
            artifacts_destination=f"s3://{s3.bucket}/proxied",
        )
    finally:
        _services.stop_mlflow_server(directory)


@pytest.fixture(scope="session")
def mlflow_server_direct_s3(
    services_dir: Path, postgres_dir: Path, s3: S3
) -> Iterator[MlflowServer]:
    """An MLflow server on PostgreSQL whose clients put artifacts straight
    into the emulator's bucket (``s3://`` artifact URIs)."""
    _require("mlflow")
    directory = services_dir / "mlflow-direct-s3"
    backend = _services.create_database(postgres_dir, "mlflow_direct")
    try:
        yield _services.start_mlflow_server(
            directory,
            backend_store_uri=backend,
            s3=s3,
            default_artifact_root=f"s3://{s3.bucket}/direct",
            workers=1,
        )
    finally:
        _services.stop_mlflow_server(directory)
