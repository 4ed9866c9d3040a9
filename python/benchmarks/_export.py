"""The export group: ``tracklite export`` against the ceilings its speed goals
are ratios of (DESIGN.md), measured in the same run against one MLflow
server (2 workers) on a PostgreSQL 15 cluster with artifacts proxied to
moto's S3 emulator, all started here and stopped at the end:

- REST: ``tracklite export --to`` of a store of 4 runs × 10 keys × 5,000
  steps, next to a plain parallel ``runs/log-batch`` poster sending as many
  points over as many connections (``server_ceiling.post_rate``); goal:
  the export ≥ 90% of the poster. mlflow-export-import's ``export_run`` +
  ``import_run`` of runs of the same shape, from an MLflow sqlite store, is
  measured on the same server (with fewer points: it is slower);
- direct: ``tracklite export --postgres URL --artifacts s3://...`` of a store
  of the same shape into the server's database and artifact root, next to
  a bare binary ``COPY`` of as many rows into ``metrics``; goal ≥ 80%;
- runs/s: ``tracklite export --to``, and direct, of 100 small runs (3 params
  and 10 keys × 10 steps each), where the per-run work counts, not the points.

Every repetition exports new stores (a second export of one store sends
nothing); the poster and the export it is compared with run one after the
other in each repetition. Without PostgreSQL, moto, MLflow's server or the
release CLI, the rows are skipped and say why.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import export_rate
import requests
import server_ceiling
from _common import (
    BARE_COPY,
    EXPORT_CLI,
    EXPORT_CONNECTIONS,
    EXPORT_DIRECT,
    EXPORT_IMPORT,
    EXPORT_POINTS,
    EXPORT_REST,
    EXPORT_RUNS,
    EXPORT_SMALL,
    EXPORT_SMALL_DIRECT,
    EXPORT_SMALL_RUNS,
    EXPORT_STEPS,
    POSTER,
    Row,
    count,
    fmt,
    log,
)
from _plan import Plan
from _stores import Workspace
from server_ceiling import _services

KEYS = export_rate.KEYS
SMALL_STEPS = 10
SERVER_WORKERS = 2


@dataclass(frozen=True)
class Sizes:
    """What one repetition exports, in one mode."""

    runs: int  # runs of the REST and direct stores (KEYS series each)
    steps: int  # points per series
    small_runs: int  # runs of the runs/s store
    copy_runs: int  # runs mlflow-export-import copies (same shape)
    copy_steps: int

    @property
    def points(self) -> int:
        return self.runs * KEYS * self.steps


SIZES = {
    "full": Sizes(EXPORT_RUNS, EXPORT_STEPS, EXPORT_SMALL_RUNS, 2, 2_000),
    "quick": Sizes(EXPORT_RUNS, 2_000, 50, 1, 2_000),
    # 4,000 points: the poster sends 1,000 per call on each of 4 connections.
    "smoke": Sizes(1, 400, 3, 1, 100),
}

#: The rows, in the report's order: (workload, kind, unit).
ROWS = (
    (EXPORT_REST, POSTER, "points/s"),
    (EXPORT_REST, EXPORT_CLI, "points/s"),
    (EXPORT_REST, EXPORT_IMPORT, "points/s"),
    (EXPORT_DIRECT, BARE_COPY, "points/s"),
    (EXPORT_DIRECT, EXPORT_CLI, "points/s"),
    (EXPORT_SMALL, EXPORT_CLI, "runs/s"),
    (EXPORT_SMALL_DIRECT, EXPORT_CLI, "runs/s"),
)


def _skipped(why: str) -> list[Row]:
    return [Row(workload, kind, None, unit, f"skipped: {why}") for workload, kind, unit in ROWS]


class _Samples:
    """Each row's (amount, seconds) per repetition, or why it has none."""

    def __init__(self) -> None:
        self.taken: dict[tuple[str, str], list[tuple[int, float]]] = {}
        self.failed: dict[tuple[str, str], str] = {}

    def take(
        self, workload: str, kind: str, measure: Callable[..., tuple[int, float]], *args: Any
    ) -> None:
        """One sample: ``measure(*args)``, or why it failed (then no more are
        taken: the row says why, and the other rows are still measured)."""
        if (workload, kind) in self.failed:
            return
        try:
            n, s = measure(*args)
        except Exception as e:
            why = " ".join(str(e).split()) or type(e).__name__
            self.failed[(workload, kind)] = f"failed: {why[:400]}"
            log(f"    {kind}, {workload}: {self.failed[(workload, kind)]}")
            return
        self.taken.setdefault((workload, kind), []).append((n, s))
        log(f"    {kind}, {workload}: {n:,} in {s:.2f} s = {fmt(n / s)}/s")

    def size(self, workload: str, kind: str) -> int:
        """What one repetition measured (the same in every repetition)."""
        return self.taken[(workload, kind)][0][0]

    def rate(self, workload: str, kind: str) -> float | None:
        samples = self.taken.get((workload, kind))
        return statistics.median(n / s for n, s in samples) if samples else None


def _export_import(
    server: str, db: Path, ids: list[str], tmp: Path, points: int
) -> tuple[int, float]:
    # It prints a few lines per run: kept out of the suite's output.
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        return points, export_rate.export_import_copy(server, db, ids, tmp)


def _small_runs(tool: Path, store: Path, server: str, runs: int) -> tuple[int, float]:
    return runs, export_rate.rest_export_runs(tool, store, server, EXPORT_CONNECTIONS, runs)


def _small_runs_direct(
    tool: Path, store: Path, svc: server_ceiling.Services, runs: int
) -> tuple[int, float]:
    _, seconds = export_rate.direct_export(tool, store, svc, runs * KEYS * SMALL_STEPS)
    return runs, seconds


def _share(out: _Samples, workload: str, kind: str, base: str) -> str:
    """The row's median as a share of the ``base`` row's, and the range of
    the shares of the repetitions (each measured right after its base)."""
    part, whole = out.rate(workload, kind), out.rate(workload, base)
    if part is None or whole is None:
        return ""
    text = f"; {part / whole:.0%} of the {base}"
    pairs = zip(out.taken[(workload, kind)], out.taken[(workload, base)])
    shares = sorted((n / s) / (bn / bs) for (n, s), (bn, bs) in pairs)
    if len(shares) > 1:
        text += f" (repetitions: {shares[0]:.0%} to {shares[-1]:.0%})"
    return text


def _measure(
    ws: Workspace, plan: Plan, sizes: Sizes, tool: Path, svc: server_ceiling.Services
) -> tuple[_Samples, dict[tuple[str, str], str]]:
    """Every repetition against the running services; the samples, and the
    rows that cannot be measured here with why."""
    tmp = ws.root / "export"
    tmp.mkdir(exist_ok=True)
    out = _Samples()
    absent: dict[tuple[str, str], str] = {}
    direct = export_rate.direct_supported(tool)
    if not direct:
        why = "this tracklite CLI has no direct mode (`export --postgres`)"
        absent |= {
            (EXPORT_DIRECT, BARE_COPY): why,
            (EXPORT_DIRECT, EXPORT_CLI): why,
            (EXPORT_SMALL_DIRECT, EXPORT_CLI): why,
        }
    source = None
    # The smoke run (the suite's own test) installs nothing; a measuring run
    # installs MLflow's export tool when missing, to put its row beside ours.
    if export_rate.have_export_import(install=plan.mode != "smoke"):
        source = export_rate.export_import_source(sizes.copy_runs, sizes.copy_steps, tmp)
    else:
        absent[(EXPORT_REST, EXPORT_IMPORT)] = (
            "mlflow-export-import is not installed "
            "(pip install --no-deps mlflow-export-import==1.2.0 tabulate shortuuid)"
        )
    points, c = sizes.points, EXPORT_CONNECTIONS

    def store(name: str, runs: int, steps: int) -> Path:
        path = tmp / f"{name}-{uuid.uuid4().hex[:8]}"
        export_rate.make_store(path, path.name, runs, steps)
        return path

    for rep in range(plan.reps):
        log(f"  export: repetition {rep + 1}/{plan.reps}")
        out.take(EXPORT_REST, POSTER, server_ceiling.post_rate, svc.server, c, points)
        rest = store("rest", sizes.runs, sizes.steps)
        rest_export = export_rate.rest_export
        out.take(EXPORT_REST, EXPORT_CLI, rest_export, tool, rest, svc.server, c, points)
        if direct:
            copy = server_ceiling.copy_rate
            out.take(EXPORT_DIRECT, BARE_COPY, copy, svc.server, svc.postgres, points, True)
            into = store("direct", sizes.runs, sizes.steps)
            out.take(EXPORT_DIRECT, EXPORT_CLI, export_rate.direct_export, tool, into, svc, points)
        if source is not None:
            copied = sizes.copy_runs * KEYS * sizes.copy_steps
            out.take(EXPORT_REST, EXPORT_IMPORT, _export_import, svc.server, *source, tmp, copied)
        small = store("small", sizes.small_runs, SMALL_STEPS)
        out.take(EXPORT_SMALL, EXPORT_CLI, _small_runs, tool, small, svc.server, sizes.small_runs)
        if direct:
            small = store("small-direct", sizes.small_runs, SMALL_STEPS)
            n = sizes.small_runs
            out.take(EXPORT_SMALL_DIRECT, EXPORT_CLI, _small_runs_direct, tool, small, svc, n)
    return out, absent


def _rows(
    out: _Samples, absent: dict[tuple[str, str], str], sizes: Sizes, server: str
) -> list[Row]:
    shape = (
        f"{count(sizes.points, 'point')} per repetition "
        f"({count(sizes.runs, 'run')} × {KEYS} keys × {count(sizes.steps, 'step')})"
    )
    rest = out.rate(EXPORT_REST, EXPORT_CLI)
    copied = sizes.copy_runs * KEYS * sizes.copy_steps
    ei = out.rate(EXPORT_REST, EXPORT_IMPORT)
    faster = f"; `tracklite export` is {fmt(rest / ei)}× faster" if rest and ei else ""
    notes = {
        (EXPORT_REST, POSTER): (
            f"the ceiling: {shape}, 1,000 points per call, bodies made beforehand, "
            f"{EXPORT_CONNECTIONS} connections, one run each; {server}"
        ),
        (EXPORT_REST, EXPORT_CLI): (
            f"`tracklite export --to`, {shape}, {EXPORT_CONNECTIONS} connections, "
            f"a new store each time{_share(out, EXPORT_REST, EXPORT_CLI, POSTER)}"
        ),
        (EXPORT_REST, EXPORT_IMPORT): (
            f"export_run + import_run, run by run, from an MLflow sqlite store; "
            f"{count(copied, 'point')} per repetition ({count(sizes.copy_runs, 'run')} × "
            f"{KEYS} keys × {count(sizes.copy_steps, 'step')}){faster}"
        ),
        (EXPORT_DIRECT, BARE_COPY): (
            f"the ceiling: COPY (FORMAT binary) of as many rows into `metrics`, one "
            f"connection, one transaction, nothing else kept in step; {shape}"
        ),
        (EXPORT_DIRECT, EXPORT_CLI): (
            f"`tracklite export --postgres --artifacts s3://`, {shape}, runs, params and "
            f"latest metrics included{_share(out, EXPORT_DIRECT, EXPORT_CLI, BARE_COPY)}"
        ),
        (EXPORT_SMALL, EXPORT_CLI): (
            f"`tracklite export --to` of {count(sizes.small_runs, 'run')} of 3 params and "
            f"{KEYS} keys × {SMALL_STEPS} steps, {EXPORT_CONNECTIONS} connections"
        ),
        (EXPORT_SMALL_DIRECT, EXPORT_CLI): (
            f"`tracklite export --postgres --artifacts s3://` of {count(sizes.small_runs, 'run')} "
            f"of 3 params and {KEYS} keys × {SMALL_STEPS} steps"
        ),
    }
    nominal = {EXPORT_REST: EXPORT_POINTS, EXPORT_DIRECT: EXPORT_POINTS}
    rows = []
    for workload, kind, unit in ROWS:
        key = (workload, kind)
        note = notes[key]
        if key in out.failed:
            rows.append(Row(workload, kind, None, unit, out.failed[key]))
            continue
        if key in absent or key not in out.taken:
            why = absent.get(key, "not measured")
            rows.append(Row(workload, kind, None, unit, f"skipped: {why}"))
            continue
        size = out.size(workload, kind)
        full = nominal.get(workload, EXPORT_SMALL_RUNS)
        if kind != EXPORT_IMPORT and size != full:
            small = workload in (EXPORT_SMALL, EXPORT_SMALL_DIRECT)
            note = f"measured at {count(size, 'run' if small else 'point')}; "
            note += notes[key]
        rows.append(Row(workload, kind, out.rate(workload, kind), unit, note, size=size))
    return rows


def export_rows(ws: Workspace, plan: Plan) -> list[Row]:
    """The export's rows; skipped rows when the services or the CLI are missing."""
    sizes = SIZES[plan.mode]
    tool = export_rate.release_cli()
    if not tool.exists():
        build = "cargo build --release -p tracklite-cli; scripts/bench.sh builds it"
        return _skipped(f"{tool} is missing ({build})")
    reasons = server_ceiling.missing_services()
    if reasons:
        return _skipped("cannot start the services: " + "; ".join(reasons))
    try:
        with server_ceiling.own_services(SERVER_WORKERS) as svc:
            version = requests.get(f"{svc.server}/version", timeout=10).text.strip()
            server = f"MLflow {version} server ({SERVER_WORKERS} workers) on PostgreSQL 15 + S3"
            log(f"  export: {server} at {svc.server}")
            out, absent = _measure(ws, plan, sizes, tool, svc)
    except _services.ServiceError as e:
        return _skipped(f"the services did not start: {' '.join(str(e).split())[:400]}")
    return _rows(out, absent, sizes, server)
