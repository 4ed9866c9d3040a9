"""Model registry workloads: registering a model version, setting an alias
and reading a version by alias, one call at a time through
``MlflowClient`` (MLflow's file and sqlite registries, and tracklite's
through the plugin) and through the native ``tracklite.Store``; and
``search_model_versions`` over a registry of 10,000 versions (100 models ×
100 versions, 3 tags each): a tag filter in MLflow's default order, top
100 (a third of the versions match), and every version in that order
(MLflow's default page size is 10,000).

MLflow's sqlite registry is filled for the search by writing rows into the
tables of a database MLflow created; tracklite's through the native API.
Every call is checked: the version numbers registered, the version an
alias names, the number of versions a search returns.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from _common import (
    ALL_VERSIONS,
    FILE,
    GET_ALIAS,
    NATIVE,
    PLUGIN,
    REGISTER,
    REGISTRY_VERSIONS,
    SEARCH_VERSIONS,
    SET_ALIAS,
    SQLITE,
    STORES,
    Row,
    count,
    fmt,
    skipped,
)
from _plan import Plan
from _stores import StoreRef, Workspace
from mlflow.tracking import MlflowClient

import tracklite

MODEL = "bench-model"
SEARCH_MODELS = 100
SEARCH_VERSIONS_PER_MODEL = REGISTRY_VERSIONS // SEARCH_MODELS
START_MS = 1_700_000_000_000

#: Calls per repetition of each per-call workload, by store. MLflow's file
#: registry takes about a second per alias set (it rewrites the model's
#: folder), so it makes few.
CALLS = {
    "full": {FILE: 20, SQLITE: 200, PLUGIN: 2_000, NATIVE: 20_000},
    "quick": {FILE: 10, SQLITE: 60, PLUGIN: 500, NATIVE: 5_000},
    "smoke": {FILE: 3, SQLITE: 5, PLUGIN: 10, NATIVE: 50},
}


class _Api:
    """One store's registry calls, through MlflowClient or natively."""

    def __init__(self, ref: StoreRef) -> None:
        self.native = tracklite.Store(str(ref.path)) if ref.kind == NATIVE else None
        self.client = (
            None if self.native else MlflowClient(tracking_uri=ref.uri, registry_uri=ref.uri)
        )

    def create_model(self, name: str) -> None:
        if self.native is not None:
            self.native.create_registered_model(name)
        else:
            assert self.client is not None
            self.client.create_registered_model(name)

    def register(self, name: str, i: int) -> int:
        source = f"/models/{name}/{i}"
        if self.native is not None:
            return self.native.create_model_version(name, source).version
        assert self.client is not None
        return int(self.client.create_model_version(name, source).version)

    def set_alias(self, name: str, version: int) -> None:
        if self.native is not None:
            self.native.set_registered_model_alias(name, "champion", version)
        else:
            assert self.client is not None
            self.client.set_registered_model_alias(name, "champion", str(version))

    def by_alias(self, name: str) -> int:
        if self.native is not None:
            return self.native.get_model_version_by_alias(name, "champion").version
        assert self.client is not None
        return int(self.client.get_model_version_by_alias(name, "champion").version)


def _rate(calls: int, reps: int, once: Callable[[int, int], None]) -> float:
    """The median calls/s over ``reps`` repetitions of ``calls`` calls;
    ``once(rep, i)`` makes call ``i`` of repetition ``rep``."""
    rates = []
    for rep in range(reps):
        start = time.perf_counter()
        for i in range(calls):
            once(rep, i)
        rates.append(calls / (time.perf_counter() - start))
    return statistics.median(rates)


def _per_call_rows(ws: Workspace, plan: Plan, kind: str) -> list[Row]:
    calls = CALLS[plan.mode][kind]
    api = _Api(ws.new_store(kind))
    api.create_model(MODEL)
    registered: list[int] = []

    def register(rep: int, i: int) -> None:
        registered.append(api.register(MODEL, rep * calls + i))

    def set_alias(rep: int, i: int) -> None:
        api.set_alias(MODEL, registered[i])

    def by_alias(rep: int, i: int) -> None:
        if api.by_alias(MODEL) != registered[calls - 1]:
            raise AssertionError(f"{kind}: the alias names the wrong version")

    rows = []
    via = "native Store" if kind == NATIVE else "MlflowClient"
    for workload, once in ((REGISTER, register), (SET_ALIAS, set_alias), (GET_ALIAS, by_alias)):
        rate = _rate(calls, plan.reps, once)
        if workload == REGISTER and registered != list(range(1, len(registered) + 1)):
            raise AssertionError(f"{kind}: versions not numbered 1, 2, ...")
        note = f"{count(calls, 'call')} per repetition; {via}"
        rows.append(Row(workload, kind, rate, "calls/s", note))
    return rows


def _fill_sqlite(path: Path) -> None:
    """10,000 versions written into the tables of MLflow's database."""
    db = sqlite3.connect(path)
    with db:
        for m in range(SEARCH_MODELS):
            name = f"model-{m:03d}"
            db.execute(
                "INSERT INTO registered_models (name, creation_time, last_updated_time) "
                "VALUES (?, ?, ?)",
                (name, START_MS, START_MS),
            )
            for v in range(1, SEARCH_VERSIONS_PER_MODEL + 1):
                t = START_MS + m * SEARCH_VERSIONS_PER_MODEL + v
                db.execute(
                    "INSERT INTO model_versions (name, version, creation_time, last_updated_time, "
                    "current_stage, source, run_id, status) VALUES (?, ?, ?, ?, 'None', ?, ?, "
                    "'READY')",
                    (name, v, t, t, f"/models/{name}/{v}", f"{m:016x}{v:016x}"),
                )
                for key, value in _tags(v):
                    db.execute(
                        "INSERT INTO model_version_tags (name, version, key, value) "
                        "VALUES (?, ?, ?, ?)",
                        (name, v, key, value),
                    )
    db.close()


def _tags(v: int) -> list[tuple[str, str]]:
    return [
        ("gate", ("pending", "approved", "rejected")[v % 3]),
        ("owner", f"team-{v % 7}"),
        ("dataset", "iris"),
    ]


def _fill_tracklite(path: Path) -> None:
    store = tracklite.Store(str(path))
    for m in range(SEARCH_MODELS):
        name = f"model-{m:03d}"
        store.create_registered_model(name)
        for v in range(1, SEARCH_VERSIONS_PER_MODEL + 1):
            store.create_model_version(
                name, f"/models/{name}/{v}", run_id=f"{m:016x}{v:016x}", tags=dict(_tags(v))
            )


#: The searches: (workload, filter, page size, how many match).
SEARCHES = (
    (SEARCH_VERSIONS, "tags.gate = 'approved'", 100, 100),
    (ALL_VERSIONS, "", REGISTRY_VERSIONS, REGISTRY_VERSIONS),
)


def _search_rows(ws: Workspace, plan: Plan, kind: str) -> list[Row]:
    unit = "ms"
    if kind == FILE:
        why = "MLflow's file registry reads every version's folder; filling 10,000 takes minutes"
        return [skipped(workload, kind, unit, why, True) for workload, *_ in SEARCHES]
    ref = ws.new_store(kind)
    if kind == SQLITE:
        _fill_sqlite(ref.path)
    else:
        _fill_tracklite(ref.path)
    native = tracklite.Store(str(ref.path)) if kind == NATIVE else None
    client = MlflowClient(tracking_uri=ref.uri, registry_uri=ref.uri)
    rows = []
    for workload, flt, size, expected in SEARCHES:
        times = []
        for _ in range(max(plan.reps, 5)):
            start = time.perf_counter()
            if native is not None:
                found = len(native.search_model_versions(flt, max_results=size))
            else:
                found = len(client.search_model_versions(flt, max_results=size))
            times.append((time.perf_counter() - start) * 1000)
            if found != expected:
                raise AssertionError(f"{kind}: {workload} returned {found} versions")
        via = "native Store" if kind == NATIVE else "MlflowClient"
        note = f"{via}; first call {fmt(times[0])} ms"
        rows.append(
            Row(workload, kind, statistics.median(times), unit, note, True, REGISTRY_VERSIONS)
        )
    return rows


def registry_rows(ws: Workspace, plan: Plan) -> list[Row]:
    """The per-call workloads, then the search, for every store."""
    per_call = {kind: _per_call_rows(ws, plan, kind) for kind in STORES}
    rows = [
        r
        for workload in (REGISTER, SET_ALIAS, GET_ALIAS)
        for kind in STORES
        for r in per_call[kind]
        if r.workload == workload
    ]
    searches = [r for kind in STORES for r in _search_rows(ws, plan, kind)]
    rows += [r for workload, *_ in SEARCHES for r in searches if r.workload == workload]
    return rows
