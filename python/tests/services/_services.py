"""Real services on loopback, for tests and benchmarks: a throwaway PostgreSQL
15 cluster, moto's S3 emulator and ``mlflow server``, started and stopped by
the shell scripts in ``scripts/services`` (which see for the details: ports,
logs, pid files, process groups).

Each ``start_*`` function takes a directory of its own (logs and pid files
stay there) and raises :class:`ServiceError`, with the end of the service's
log, when the service does not come up; each ``stop_*`` function is safe to
call whatever happened before, and stops exactly the processes its start
began.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "scripts" / "services"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

# MLflow 3.17's alembic head: the schema revision an MLflow 3.17 server makes.
MLFLOW_317_ALEMBIC_HEAD = "dc11669786a5"

# A start's whole budget (the scripts poll with their own deadline inside it).
_SCRIPT_TIMEOUT = 300


class ServiceError(RuntimeError):
    """A service did not start or stop; the message holds the script's output."""


def _bin_dir() -> Path:
    """The running interpreter's scripts directory (the venv's ``bin``)."""
    return Path(sys.executable).parent


def _which(tool: str) -> str | None:
    candidate = _bin_dir() / tool
    if candidate.exists():
        return str(candidate)
    return shutil.which(tool)


def _script_env() -> dict[str, str]:
    env = dict(os.environ)
    # The scripts put this environment's bin first on PATH, so that they run
    # the same mlflow and moto_server as the tests' interpreter.
    env["TRACKLITE_VENV"] = sys.prefix
    env["PATH"] = f"{_bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(script: str, *args: str | Path) -> str:
    command = ["bash", str(SCRIPTS / script), *map(str, args)]
    try:
        done = subprocess.run(
            command,
            env=_script_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_SCRIPT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise ServiceError(f"{' '.join(command)} took more than {_SCRIPT_TIMEOUT}s") from e
    if done.returncode != 0:
        raise ServiceError(
            f"{' '.join(command)} failed with status {done.returncode}:\n{done.stderr.strip()}"
        )
    return done.stdout.strip()


def missing(*needs: str) -> list[str]:
    """What is missing for the named services ("postgres", "s3", "mlflow"),
    each as a sentence saying how to get it; empty when nothing is."""
    reasons = []
    if "postgres" in needs:
        if not (PG_BIN / "postgres").exists():
            reasons.append(f"no PostgreSQL 15 binaries in {PG_BIN} (apt-get install postgresql-15)")
        if os.geteuid() != 0:
            reasons.append("not root: the PostgreSQL cluster is started as the postgres user")
        if not shutil.which("setpriv"):
            reasons.append("setpriv not found (util-linux)")
        if not _importable("psycopg2"):
            reasons.append("psycopg2 not importable (pip install psycopg2-binary)")
    if "s3" in needs:
        if not _which("moto_server"):
            reasons.append("moto_server not found (pip install 'moto[server]')")
        if not _importable("boto3"):
            reasons.append("boto3 not importable (pip install boto3)")
    if "mlflow" in needs and not _which("mlflow"):
        reasons.append("mlflow not found (pip install mlflow)")
    if needs and not shutil.which("curl"):
        reasons.append("curl not found (apt-get install curl)")
    return reasons


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------


def start_postgres(directory: Path, *, fast: bool = False) -> str:
    """Starts a cluster; returns the URL of its database ``mlflow``
    (``postgresql+psycopg2://postgres@127.0.0.1:PORT/mlflow``)."""
    return _run("postgres.sh", "start", directory, *(["--fast"] if fast else []))


def create_database(directory: Path, name: str) -> str:
    """Makes another database in the cluster of ``directory``; returns its URL."""
    return _run("postgres.sh", "createdb", directory, name)


def stop_postgres(directory: Path) -> None:
    _run("postgres.sh", "stop", directory)


def libpq_dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy URL, for psycopg2.connect:
    ``postgresql+psycopg2://...`` becomes ``postgresql://...``."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return f"postgresql://{rest}"


# ---------------------------------------------------------------------------
# S3 emulator
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class S3:
    """moto's S3 server and its bucket."""

    endpoint: str
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str
    directory: Path

    def env(self) -> dict[str, str]:
        """The variables MLflow and boto3 read to reach the emulator."""
        return {
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self) -> Any:
        """A boto3 S3 client of the emulator."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket under ``prefix``, sorted."""
        pages = self.client().get_paginator("list_objects_v2")
        found = []
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(found)


def start_s3(directory: Path, bucket: str = "tracklite-test") -> S3:
    """Starts the emulator and creates ``bucket``."""
    _run("s3.sh", "start", directory, bucket)
    values = {}
    for line in (directory / "s3.env").read_text().splitlines():
        key, _, value = line.partition("=")
        values[key] = value
    return S3(
        endpoint=values["MLFLOW_S3_ENDPOINT_URL"],
        bucket=values["S3_BUCKET"],
        access_key_id=values["AWS_ACCESS_KEY_ID"],
        secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
        region=values["AWS_DEFAULT_REGION"],
        directory=directory,
    )


def stop_s3(directory: Path) -> None:
    _run("s3.sh", "stop", directory)


# ---------------------------------------------------------------------------
# MLflow server
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MlflowServer:
    """An ``mlflow server``: its URL, what it stores into, and its directory
    (``mlflow-server.log`` is there)."""

    url: str
    backend_store_uri: str
    # "s3://bucket/prefix" behind the server's proxy (clients see
    # mlflow-artifacts: URIs), or the default artifact root clients write to.
    artifacts: str
    proxied: bool
    directory: Path

    def __str__(self) -> str:
        return self.url

    @property
    def log(self) -> Path:
        return self.directory / "mlflow-server.log"


def start_mlflow_server(
    directory: Path,
    *,
    backend_store_uri: str,
    s3: S3,
    artifacts_destination: str | None = None,
    default_artifact_root: str | None = None,
    workers: int = 2,
    port: int | None = None,
) -> MlflowServer:
    """Starts ``mlflow server`` on ``backend_store_uri``, with the emulator's
    variables: proxied artifacts to ``artifacts_destination``, or none and
    clients writing to ``default_artifact_root`` themselves (give one)."""
    if (artifacts_destination is None) == (default_artifact_root is None):
        raise ValueError("give artifacts_destination or default_artifact_root, one of them")
    if artifacts_destination is not None:
        artifacts = ["--artifacts-destination", artifacts_destination]
    else:
        artifacts = ["--default-artifact-root", str(default_artifact_root)]
    url = _run(
        "mlflow-server.sh",
        "start",
        directory,
        "--backend",
        backend_store_uri,
        *artifacts,
        "--s3",
        s3.directory,
        "--workers",
        str(workers),
        *(["--port", str(port)] if port is not None else []),
    )
    return MlflowServer(
        url=url,
        backend_store_uri=backend_store_uri,
        artifacts=artifacts[1],
        proxied=artifacts_destination is not None,
        directory=directory,
    )


def stop_mlflow_server(directory: Path) -> None:
    _run("mlflow-server.sh", "stop", directory)


def kill_mlflow_server(directory: Path) -> None:
    """Kills the server and its workers at once (SIGKILL): a crash."""
    _run("mlflow-server.sh", "kill", directory)


def tracklite_cli() -> Path:
    """The release build of the ``tracklite`` command (``CARGO_TARGET_DIR``
    or the checkout's ``target``); the test is skipped when it is missing."""
    import pytest

    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    binary = target / "release" / "tracklite"
    if not binary.exists():
        pytest.skip(f"{binary} is missing: cargo build --release -p tracklite-cli")
    return binary
