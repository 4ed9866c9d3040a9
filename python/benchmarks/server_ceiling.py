"""The ceilings the export's speed goals are ratios of (DESIGN.md), measured
against a real MLflow server on PostgreSQL 15 with artifacts proxied to S3
(moto's emulator), all on this machine:

- REST: a plain parallel ``runs/log-batch`` poster, 1,000 points per call,
  bodies made before the clock starts, one keep-alive connection per thread
  and one run per connection, at 1, 2, 4 and 8 connections;
- direct: a bare ``COPY`` of the same rows into the ``metrics`` table (its
  primary key, two indexes and foreign key; nothing else kept in step), in
  text and in binary format, one connection, one transaction.

The export's goals are then: REST ≥ 90% of the best poster figure, direct
mode ≥ 80% of the COPY figure, measured in the same run.

Not run by CI. By default it starts its own services (scripts/services) in a
temporary directory and stops them at the end; ``--server URL --postgres URL``
measure running ones instead (the poster's runs and the copied rows stay there).

Usage: python python/benchmarks/server_ceiling.py [--points N] [--copy-rows N]
           [--connections 1,2,4,8] [--workers N] [--server URL --postgres URL]
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "services"))
import _services  # noqa: E402

BATCH = 1_000  # points per runs/log-batch call: MLflow's limit
KEYS = 10  # metric keys per run; each call carries BATCH // KEYS steps of each


def points(run_id: str, first_call: int, calls: int, t0: int) -> Iterator[tuple]:
    """The rows of ``calls`` log-batch calls of one run, from call ``first_call``:
    (key, value, timestamp, run_id, step, is_nan), each (key, step) once."""
    steps_per_call = BATCH // KEYS
    for call in range(first_call, first_call + calls):
        for i in range(BATCH):
            step = call * steps_per_call + i // KEYS
            yield (f"loss{i % KEYS}", 1.0 / (step + 1), t0 + step, run_id, step, False)


# ---------------------------------------------------------------------------
# REST: runs/log-batch
# ---------------------------------------------------------------------------


def create_runs(server: str, experiment: str, n: int) -> list[str]:
    with requests.Session() as s:
        r = s.post(f"{server}/api/2.0/mlflow/experiments/create", json={"name": experiment})
        r.raise_for_status()
        experiment_id = r.json()["experiment_id"]
        runs = []
        for _ in range(n):
            r = s.post(
                f"{server}/api/2.0/mlflow/runs/create",
                json={"experiment_id": experiment_id, "start_time": int(time.time() * 1000)},
            )
            r.raise_for_status()
            runs.append(r.json()["run"]["info"]["run_id"])
        return runs


def batch_bodies(run_id: str, first_call: int, calls: int, t0: int) -> list[bytes]:
    rows = list(points(run_id, first_call, calls, t0))
    bodies = []
    for c in range(calls):
        metrics = [
            {"key": k, "value": v, "timestamp": ts, "step": step}
            for k, v, ts, _, step, _ in rows[c * BATCH : (c + 1) * BATCH]
        ]
        bodies.append(json.dumps({"run_id": run_id, "metrics": metrics}).encode())
    return bodies


def post_rate(server: str, connections: int, total_points: int) -> tuple[int, float]:
    """Points and seconds of ``total_points`` posted over ``connections``
    threads, each with its own connection and run."""
    calls = max(1, total_points // BATCH // connections)
    runs = create_runs(server, f"ceiling-{uuid.uuid4().hex[:8]}-{connections}", connections)
    t0 = int(time.time() * 1000)
    # Call 0 of each run warms its connection (and the run's latest_metrics
    # rows) before the clock starts; calls 1..calls are timed.
    work = [batch_bodies(run, 0, calls + 1, t0) for run in runs]
    url = f"{server}/api/2.0/mlflow/runs/log-batch"
    headers = {"Content-Type": "application/json"}
    barrier = threading.Barrier(connections + 1)
    errors: list[BaseException] = []

    def poster(bodies: list[bytes]) -> None:
        try:
            with requests.Session() as s:
                s.post(url, data=bodies[0], headers=headers).raise_for_status()
                barrier.wait()
                for body in bodies[1:]:
                    s.post(url, data=body, headers=headers).raise_for_status()
        except BaseException as e:
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=poster, args=(w,)) for w in work]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    return calls * BATCH * connections, seconds


# ---------------------------------------------------------------------------
# Direct: COPY into metrics
# ---------------------------------------------------------------------------


def text_copy(rows: list[tuple]) -> bytes:
    out = io.StringIO()
    for key, value, ts, run_id, step, is_nan in rows:
        out.write(f"{key}\t{value!r}\t{ts}\t{run_id}\t{step}\t{'t' if is_nan else 'f'}\n")
    return out.getvalue().encode()


def binary_copy(rows: list[tuple]) -> bytes:
    out = io.BytesIO()
    out.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0))
    tuple_head = struct.pack(">h", 6)
    for key, value, ts, run_id, step, is_nan in rows:
        k = key.encode()
        r = run_id.encode()
        out.write(tuple_head)
        out.write(struct.pack(">i", len(k)) + k)
        out.write(struct.pack(">id", 8, value))
        out.write(struct.pack(">iq", 8, ts))
        out.write(struct.pack(">i", len(r)) + r)
        out.write(struct.pack(">iq", 8, step))
        out.write(struct.pack(">i?", 1, is_nan))
    out.write(struct.pack(">h", -1))
    return out.getvalue()


def copy_rate(server: str, postgres_url: str, n_rows: int, binary: bool) -> tuple[int, float]:
    import psycopg2

    (run_id,) = create_runs(server, f"ceiling-copy-{uuid.uuid4().hex[:8]}", 1)
    calls = max(1, n_rows // BATCH)
    rows = list(points(run_id, 0, calls, int(time.time() * 1000)))
    data = binary_copy(rows) if binary else text_copy(rows)
    fmt = "(FORMAT binary)" if binary else ""
    sql = f"COPY metrics (key, value, timestamp, run_uuid, step, is_nan) FROM STDIN {fmt}"
    conn = psycopg2.connect(_services.libpq_dsn(postgres_url))
    try:
        with conn.cursor() as cur:
            start = time.perf_counter()
            cur.copy_expert(sql, io.BytesIO(data))
            conn.commit()
            seconds = time.perf_counter() - start
    finally:
        conn.close()
    return len(rows), seconds


# ---------------------------------------------------------------------------
# Services, and the table
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Services:
    """The services ``own_services`` started: the MLflow server's URL, its
    PostgreSQL database (``postgresql+psycopg2://...``, migrated by the
    server), the S3 emulator, and the server's artifact root in its bucket."""

    server: str
    postgres: str
    s3: _services.S3
    artifacts: str


def missing_services() -> list[str]:
    """Why ``own_services`` cannot start here (empty when it can)."""
    return _services.missing("postgres", "s3", "mlflow")


@contextmanager
def own_services(workers: int) -> Iterator[Services]:
    """A PostgreSQL cluster, the S3 emulator and an MLflow server with proxied
    artifacts, in a temporary directory; all three are stopped at the end.
    Raises ``_services.ServiceError`` when they cannot start."""
    reasons = missing_services()
    if reasons:
        raise _services.ServiceError("cannot start the services: " + "; ".join(reasons))
    with tempfile.TemporaryDirectory(prefix="server-ceiling-") as tmp:
        d = Path(tmp)
        try:
            pg = _services.start_postgres(d / "postgres")
            s3 = _services.start_s3(d / "s3")
            artifacts = f"s3://{s3.bucket}/proxied"
            server = _services.start_mlflow_server(
                d / "mlflow",
                backend_store_uri=pg,
                s3=s3,
                artifacts_destination=artifacts,
                workers=workers,
            )
            yield Services(server.url, pg, s3, artifacts)
        finally:
            _services.stop_mlflow_server(d / "mlflow")
            _services.stop_s3(d / "s3")
            _services.stop_postgres(d / "postgres")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=48_000, help="points per poster row")
    parser.add_argument("--copy-rows", type=int, default=200_000, help="rows per COPY row")
    parser.add_argument("--connections", default="1,2,4,8")
    parser.add_argument("--workers", type=int, default=2, help="server workers (own server)")
    parser.add_argument("--server", help="a running MLflow server's URL")
    parser.add_argument("--postgres", help="its PostgreSQL (postgresql+psycopg2://...)")
    args = parser.parse_args()
    if (args.server is None) != (args.postgres is None):
        parser.error("give --server and --postgres together, or neither")
    connections = [int(c) for c in args.connections.split(",")]

    @contextmanager
    def given() -> Iterator[tuple[str, str]]:
        yield args.server, args.postgres

    @contextmanager
    def started() -> Iterator[tuple[str, str]]:
        try:
            with own_services(args.workers) as svc:
                yield svc.server, svc.postgres
        except _services.ServiceError as e:
            sys.exit(str(e))

    services = given() if args.server else started()
    rows: list[tuple[str, int, float]] = []
    with services as (server, postgres_url):
        version = requests.get(f"{server}/version", timeout=10).text.strip()
        print(f"MLflow {version} server at {server}, PostgreSQL {postgres_url.split('@')[-1]}")
        for c in connections:
            n, s = post_rate(server, c, args.points)
            rows.append((f"runs/log-batch, {c} connection{'s' if c > 1 else ''}", n, s))
            print(f"  {rows[-1][0]}: {n / s:,.0f} points/s", flush=True)
        for binary in (False, True):
            n, s = copy_rate(server, postgres_url, args.copy_rows, binary)
            rows.append((f"COPY metrics ({'binary' if binary else 'text'})", n, s))
            print(f"  {rows[-1][0]}: {n / s:,.0f} rows/s", flush=True)

    print()
    print(f"{'what':34s} {'points':>9s} {'seconds':>8s} {'points/s':>10s}")
    for name, n, s in rows:
        print(f"{name:34s} {n:9,d} {s:8.2f} {n / s:10,.0f}")
    rest = max(n / s for name, n, s in rows if name.startswith("runs/"))
    print()
    print(f"REST ceiling (best poster): {rest:,.0f} points/s; export goal ≥ 90%: {0.9 * rest:,.0f}")
    for name, n, s in rows:
        if name.startswith("COPY"):
            print(f"{name}: {n / s:,.0f} rows/s; direct-mode goal ≥ 80%: {0.8 * n / s:,.0f}")


if __name__ == "__main__":
    main()
