"""Differential test of the model registry against MLflow's own sqlite
registry: for each seed, the same random sequence of registry operations
goes through ``MlflowClient(tracking_uri=..., registry_uri=...)`` to
``sqlite:///<tmp>/mlflow.db`` and to ``tracklite://<tmp>/store``, and after
every operation the two results (entities, read back field by field) or
the two error codes must agree.

The operations: create, rename, update and delete registered models; set
and delete their tags; create model versions from runs made in each store
(``runs:/<run id>/...`` sources, run ids mapped between the stores), from
other versions (``models:/<name>/<version>``) and from plain URIs; update,
delete and tag versions; stage transitions with and without
``archive_existing_versions``; set, delete and get aliases (reserved and
invalid names too, and ``latest``); ``get_latest_versions``,
``get_model_version_download_uri``; and searches of models and versions
with random filters of MLflow's grammar (name, version_number, run_id,
source_path, tags; ``= != < <= > >= LIKE ILIKE IN NOT IN``; invalid ones
too), orderings and paging with small ``max_results``. A prompt
(``register_prompt``) lives in both registries: searches must leave it out.
Names and values include LIKE's wildcards and case variants.

Compared fields: a registered model's name, description, tags, aliases and
latest versions (as a set of (stage, version)); a version's name, version,
description, tags, current stage, status and its message, source and run
id (run ids mapped), run link and user id. Page tokens are compared by
presence only (each store writes its own); a final empty page is allowed.

Left out of generation on purpose: model versions made on a prompt
through the model API (``create_model_version`` of the prompt's name).
MLflow's SQL store then hides every version of that name from searches,
as one of its versions is a prompt; that is an accident of its SQL, not a
behaviour to copy.

Known, intended differences, normalised here:

* Aliases of model versions: tracklite fills them wherever it returns a
  version; MLflow's SQL store leaves them empty in ``search_model_versions``
  and in a registered model's ``latest_versions``. Aliases are compared
  where MLflow fills them: ``get_model_version``,
  ``get_model_version_by_alias``, ``get_latest_versions``, the versions
  returned by create/update/transition, and ``RegisteredModel.aliases``.
* A version's ``model_id`` may differ (not compared).
* A field given twice in order_by: MLflow refuses it with a code-less
  error (INTERNAL_ERROR), tracklite with INVALID_PARAMETER_VALUE
  (``test_a_field_ordered_by_twice``).
* Timestamps are stamped by each store: never compared, and results
  ordered by a timestamp (MLflow's default ordering of version searches
  among them) are compared as sets, over one page holding every match.

To check the harness against itself, set ``TRACKLITE_TEST_REGISTRY_URI``
to a URI (``{tmp}`` is the test's temporary folder): the "tracklite" side
then keeps its registry there, e.g.
``TRACKLITE_TEST_REGISTRY_URI='sqlite:///{tmp}/other.db'`` compares two
sqlite registries (its runs stay in the tracklite store).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking._model_registry import utils as registry_utils  # noqa: E402
from mlflow.tracking._tracking_service import utils as tracking_utils  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # stages are deprecated

REGISTRY_ENV = "TRACKLITE_TEST_REGISTRY_URI"
SEEDS = [1, 2, 3, 4]
OPERATIONS = 160
SEARCHES = 40

PROMPT = "greeting"
# Model names: case variants, LIKE's wildcards, a dot and a space.
NAMES = ["iris", "Iris", "iris_2", "iris-2", "iris%x", "wine", "WINE", "a.b", "m 1"]
BAD_NAMES = ["", "a/b", "x:y"]
TAG_KEYS = ["team", "validation_status", "k.1"]
TAG_VALUES = ["a", "abc", "ABC", "a_b", "a%b", "approved", "pending", "x1", ""]
DESCRIPTIONS = [None, "", "first", "Second one", "100% new"]
STAGES = ["None", "Staging", "Production", "Archived", "staging", "PRODUCTION", "Live"]
ALIASES = ["champion", "challenger", "Champion", "stable-1", "v1a"]
BAD_ALIASES = ["latest", "LATEST", "v1", "V12", "a b", "a/b"]
UNKNOWN_RUN = "f" * 32
#: What every seed's sequence must reach (successful operations; "matches":
#: searches that found something).
MINIMUM_REACHED = {
    "create_model_version": 5,
    "set_registered_model_alias": 1,
    "transition_model_version_stage": 1,
    "get_model_version_by_alias": 1,
    "matches": 10,
}
RUN_ID = re.compile(r"[0-9a-fA-F]{32}")


class Side(NamedTuple):
    """One store: its client and the run ids from sqlite's to its own."""

    client: MlflowClient
    ids: dict[str, str]
    back: dict[str, str]

    def to(self, value: Any) -> Any:
        """``value`` with sqlite's run ids replaced by this store's."""
        return _replace_ids(value, self.ids)

    def to_sqlite(self, value: Any) -> Any:
        """``value`` with this store's run ids replaced by sqlite's."""
        return _replace_ids(value, self.back)


def _replace_ids(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return RUN_ID.sub(lambda m: _replace_id(m.group(0), ids), value)
    if isinstance(value, list):  # PagedList too
        return [_replace_ids(v, ids) for v in value]
    if isinstance(value, tuple):
        return tuple(_replace_ids(v, ids) for v in value)
    if isinstance(value, dict):
        return {k: _replace_ids(v, ids) for k, v in value.items()}
    return value


def _replace_id(run_id: str, ids: dict[str, str]) -> str:
    """A run id mapped, in the case it was written (ILIKE filters)."""
    mapped = ids.get(run_id.lower(), run_id.lower())
    return mapped.upper() if run_id.isupper() else mapped


class Error(NamedTuple):
    """An operation's outcome when it raised: its MlflowException's code."""

    code: str


def _ok(result: Any) -> bool:
    return not isinstance(result, Error)


class Pair:
    """The two stores, and what the generator knows of their registry."""

    def __init__(self, tmp: Path, empty_sqlite: Path) -> None:
        shutil.copy(empty_sqlite, tmp / "mlflow.db")
        sql_uri = f"sqlite:///{tmp}/mlflow.db"
        tl_uri = f"tracklite://{tmp}/store"
        template = os.environ.get(REGISTRY_ENV)
        tl_registry = template.format(tmp=tmp) if template else tl_uri
        self.sql = Side(MlflowClient(sql_uri, registry_uri=sql_uri), {}, {})
        self.tl = Side(MlflowClient(tl_uri, registry_uri=tl_registry), {}, {})
        self.runs: list[str] = []
        # What the generator knows of the registry (from sqlite's answers),
        # to aim most operations at models, versions and aliases that exist:
        # each model's highest version number made, its versions not
        # deleted, and its aliases (alias -> version).
        self.top: dict[str, int] = {}
        self.live: dict[str, set[int]] = {}
        self.aliases: dict[str, dict[str, int]] = {}
        # (operation, succeeded) -> how many: what a sequence reached.
        self.outcomes: Counter[tuple[str, bool]] = Counter()

    def live_versions(self) -> list[tuple[str, int]]:
        return [(name, v) for name, versions in sorted(self.live.items()) for v in sorted(versions)]

    def made_model(self, name: str) -> None:
        self.top[name] = 0
        self.live[name] = set()
        self.aliases[name] = {}

    def renamed(self, name: str, new: str) -> None:
        self.top[new] = self.top.pop(name)
        self.live[new] = self.live.pop(name)
        self.aliases[new] = self.aliases.pop(name)

    def deleted_model(self, name: str) -> None:
        self.top.pop(name)
        self.live.pop(name)
        self.aliases.pop(name)

    def deleted_version(self, name: str, version: int) -> None:
        self.live[name].discard(version)
        self.aliases[name] = {a: v for a, v in self.aliases[name].items() if v != version}

    def add_run(self) -> str:
        s = self.sql.client.create_run("0").info.run_id
        t = self.tl.client.create_run("0").info.run_id
        self.tl.ids[s] = t
        self.tl.back[t] = s
        self.runs.append(s)
        return s

    def check(self, label: tuple[Any, ...], action: Callable[[Side], Any]) -> Any:
        """Runs ``action`` on both stores: the same result (as ``action``
        views it, in sqlite's run ids) or the same error code. Returns
        sqlite's. ``label[0]`` names the operation, for ``self.outcomes``."""
        outcomes = []
        for side in (self.sql, self.tl):
            try:
                outcomes.append(action(side))
            except MlflowException as e:
                outcomes.append(Error(str(e.error_code)))
        assert outcomes[1] == outcomes[0], f"tracklite (left) != sqlite (right): {label}"
        self.outcomes[label[0], _ok(outcomes[0])] += 1
        return outcomes[0]

    def call(
        self, method: str, *args: Any, view: Callable[..., Any] | None = None, **kw: Any
    ) -> Any:
        """``check`` of one client method, its arguments given with
        sqlite's run ids; ``view(side, result)`` turns results into what is
        compared (default: the result, run ids mapped back)."""

        def action(side: Side) -> Any:
            result = getattr(side.client, method)(*side.to(args), **side.to(kw))
            return view(side, result) if view else side.to_sqlite(result)

        return self.check((method, args, kw), action)


# --------------------------------------------------------------------------
# Views: what is compared of an entity
# --------------------------------------------------------------------------


def _version(side: Side, mv: Any, aliases: bool) -> tuple[Any, ...]:
    fields = (
        mv.name,
        mv.version,
        mv.description,
        sorted(mv.tags.items()),
        mv.current_stage,
        mv.status,
        mv.status_message,
        side.to_sqlite(mv.source),
        side.to_sqlite(mv.run_id),
        mv.run_link,
        mv.user_id,
    )
    return (*fields, sorted(mv.aliases)) if aliases else fields


def version_with_aliases(side: Side, mv: Any) -> tuple[Any, ...]:
    return _version(side, mv, aliases=True)


def latest_versions(side: Side, mvs: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(_version(side, mv, aliases=True) for mv in mvs)


def registered_model(side: Side, rm: Any) -> tuple[Any, ...]:
    return (
        rm.name,
        rm.description,
        sorted(rm.tags.items()),
        sorted(rm.aliases.items()),
        sorted((mv.current_stage, mv.version) for mv in rm.latest_versions),
    )


def _page(side: Side, page: Any, item: Callable[[Side, Any], Any], ordered: bool) -> Any:
    items = [item(side, x) for x in page]
    return (items if ordered else sorted(items), bool(page.token))


def _search_version(side: Side, mv: Any) -> tuple[Any, ...]:
    return _version(side, mv, aliases=False)


def walk(
    side: Side, method: str, flt: str | None, size: int, order: list[str] | None, ordered: bool
) -> list[Any]:
    """Every page of a search, walking its tokens."""
    item = registered_model if method == "search_registered_models" else _search_version
    search = getattr(side.client, method)
    pages = []
    token = None
    for _ in range(100):
        page = search(side.to(flt), max_results=size, order_by=order, page_token=token)
        pages.append(_page(side, page, item, ordered))
        token = page.token
        if not token:
            if len(pages) > 1 and not pages[-1][0]:
                # A final empty page (a full page's token may lead to one).
                pages.pop()
                pages[-1] = (pages[-1][0], False)
            return pages
    raise AssertionError(f"{method} {flt!r}: more than 100 pages")


# --------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------


def _name(pair: Pair, rng: random.Random) -> str:
    """A model's name: mostly one that exists."""
    r = rng.random()
    if pair.live and r < 0.85:
        return rng.choice(sorted(pair.live))
    if r < 0.96:
        return rng.choice(NAMES)
    return rng.choice([PROMPT, *BAD_NAMES])


def _target(pair: Pair, rng: random.Random) -> tuple[str, Any]:
    """A model and a version: mostly a version that exists (as an int or a
    string), else a deleted or future one, or no number at all."""
    live = pair.live_versions()
    if live and rng.random() < 0.75:
        name, version = rng.choice(live)
        return name, str(version) if rng.random() < 0.3 else version
    name = _name(pair, rng)
    if rng.random() < 0.15:
        return name, rng.choice(["x", "-1", "1.5"])
    return name, rng.randint(1, pair.top.get(name, 0) + 1)


def _aliased(pair: Pair, rng: random.Random) -> tuple[str, str]:
    """A model and an alias: mostly one it has, else ``_alias``."""
    known = [(name, a) for name, aliases in sorted(pair.aliases.items()) for a in sorted(aliases)]
    if known and rng.random() < 0.7:
        return rng.choice(known)
    name = _name(pair, rng)
    return name, _alias(pair, rng, name)


def _alias(pair: Pair, rng: random.Random, name: str) -> str:
    """An alias: mostly one the model has, sometimes reserved or invalid."""
    if pair.aliases.get(name) and rng.random() < 0.5:
        return rng.choice(sorted(pair.aliases[name]))
    return rng.choice(BAD_ALIASES) if rng.random() < 0.12 else rng.choice(ALIASES)


def _tags(rng: random.Random) -> dict[str, str]:
    return {k: rng.choice(TAG_VALUES) for k in rng.sample(TAG_KEYS, rng.randint(0, 2))}


def _source(pair: Pair, rng: random.Random) -> tuple[str, str | None]:
    """A version's source and run id."""
    run = rng.choice(pair.runs)
    r = rng.random()
    if r < 0.55:
        return f"runs:/{run}/model", run
    if r < 0.7:
        return f"runs:/{run}/nested/model", rng.choice([run, None])
    if r < 0.8:
        name, version = _target(pair, rng)
        return f"models:/{name}/{version}", None
    return rng.choice(["s3://bucket/iris/model", "file:///srv/models/iris"]), rng.choice(
        [None, run, UNKNOWN_RUN]
    )


def op_create_model(pair: Pair, rng: random.Random) -> None:
    name = rng.choice(NAMES) if rng.random() < 0.9 else _name(pair, rng)
    desc = rng.choice(DESCRIPTIONS)
    if _ok(pair.call("create_registered_model", name, _tags(rng), desc, view=registered_model)):
        pair.made_model(name)


def op_create_version(pair: Pair, rng: random.Random) -> None:
    name = _name(pair, rng)
    if name == PROMPT:  # left out: see the module's docstring
        name = rng.choice(NAMES)
    source, run_id = _source(pair, rng)
    result = pair.call(
        "create_model_version",
        name,
        source,
        run_id,
        tags=_tags(rng),
        run_link=rng.choice([None, "http://runs/1"]),
        description=rng.choice(DESCRIPTIONS),
        view=version_with_aliases,
    )
    if _ok(result):
        version = result[1]
        pair.top[name] = version
        pair.live[name].add(version)


def op_rename(pair: Pair, rng: random.Random) -> None:
    name = _name(pair, rng)
    new = rng.choice(NAMES) if rng.random() < 0.9 else rng.choice([name, *BAD_NAMES])
    if _ok(pair.call("rename_registered_model", name, new)) and name != new:
        pair.renamed(name, new)


def op_delete_model(pair: Pair, rng: random.Random) -> None:
    name = _name(pair, rng)
    if _ok(pair.call("delete_registered_model", name)):
        pair.deleted_model(name)


def op_update(pair: Pair, rng: random.Random) -> None:
    desc = rng.choice([d for d in DESCRIPTIONS if d is not None])
    if rng.random() < 0.5:
        pair.call("update_registered_model", _name(pair, rng), desc, view=registered_model)
    else:
        name, version = _target(pair, rng)
        pair.call("update_model_version", name, version, desc, view=version_with_aliases)


def op_model_tag(pair: Pair, rng: random.Random) -> None:
    name = _name(pair, rng)
    key = rng.choice([*TAG_KEYS, "bad key!"] if rng.random() < 0.05 else TAG_KEYS)
    if rng.random() < 0.65:
        pair.call("set_registered_model_tag", name, key, rng.choice(TAG_VALUES))
    else:
        pair.call("delete_registered_model_tag", name, key)


def op_version_tag(pair: Pair, rng: random.Random) -> None:
    name, version = _target(pair, rng)
    key = rng.choice(TAG_KEYS)
    if rng.random() < 0.65:
        pair.call("set_model_version_tag", name, version, key, rng.choice(TAG_VALUES))
    else:
        pair.call("delete_model_version_tag", name, version, key)


def op_transition(pair: Pair, rng: random.Random) -> None:
    name, version = _target(pair, rng)
    pair.call(
        "transition_model_version_stage",
        name,
        version,
        rng.choice(STAGES),
        archive_existing_versions=rng.random() < 0.4,
        view=version_with_aliases,
    )


def op_delete_version(pair: Pair, rng: random.Random) -> None:
    name, version = _target(pair, rng)
    if _ok(pair.call("delete_model_version", name, version)):
        pair.deleted_version(name, int(version))


def op_alias(pair: Pair, rng: random.Random) -> None:
    r = rng.random()
    if r < 0.45:
        live = pair.live_versions()
        name, version = rng.choice(live) if live and rng.random() < 0.85 else _target(pair, rng)
        alias = _alias(pair, rng, name)
        if _ok(pair.call("set_registered_model_alias", name, alias, version)):
            pair.aliases[name][alias] = int(version)
    elif r < 0.6:
        name, alias = _aliased(pair, rng)
        if _ok(pair.call("delete_registered_model_alias", name, alias)):
            pair.aliases.get(name, {}).pop(alias, None)
    else:
        name, alias = _aliased(pair, rng)
        alias = alias if rng.random() < 0.85 else rng.choice(["latest", "Latest"])
        pair.call("get_model_version_by_alias", name, alias, view=version_with_aliases)


def op_read(pair: Pair, rng: random.Random) -> None:
    name, version = _target(pair, rng)
    r = rng.random()
    if r < 0.3:
        pair.call("get_registered_model", name, view=registered_model)
    elif r < 0.55:
        pair.call("get_model_version", name, version, view=version_with_aliases)
    elif r < 0.8:
        stages = rng.choice([None, [], ["Production"], ["staging", "None"], ["Archived"], ["Live"]])
        pair.call("get_latest_versions", name, stages, view=latest_versions)
    else:
        pair.call("get_model_version_download_uri", name, version)


def op_search(pair: Pair, rng: random.Random) -> None:
    if rng.random() < 0.45:
        flt, order, ordered = _model_filter(rng), *_model_order(rng)
        method = "search_registered_models"
    else:
        flt, order, ordered = _version_filter(pair, rng), *_version_order(rng)
        method = "search_model_versions"
    size = rng.randint(1, 4) if ordered else 1000
    pages = pair.check(
        (method, flt, order, size), lambda side: walk(side, method, flt, size, order, ordered)
    )
    if _ok(pages) and any(items for items, _ in pages):
        pair.outcomes["matches", True] += 1


OPS: list[tuple[float, Callable[[Pair, random.Random], None]]] = [
    (8, op_create_model),
    (18, op_create_version),
    (3, op_rename),
    (1, op_delete_model),
    (6, op_update),
    (8, op_model_tag),
    (8, op_version_tag),
    (10, op_transition),
    (4, op_delete_version),
    (20, op_alias),
    (14, op_read),
    (10, op_search),
]


# --------------------------------------------------------------------------
# Search filters and orderings
# --------------------------------------------------------------------------


def _quote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def _like(rng: random.Random, values: list[str]) -> str:
    value = rng.choice(values)
    return rng.choice([f"%{value}", f"{value}%", f"%{value}%", value, "%", "_", "i_is%", "%\\%%"])


def _name_clause(rng: random.Random) -> str:
    op = rng.choice(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"])
    if op in ("IN", "NOT IN"):
        names = rng.sample([*NAMES, PROMPT], rng.randint(1, 3))
        return f"name {op} ({', '.join(map(_quote, names))})"
    value = _like(rng, NAMES) if op.endswith("LIKE") else rng.choice([*NAMES, PROMPT])
    return f"name {op} {_quote(value)}"


def _tag_clause(rng: random.Random) -> str:
    key = rng.choice(TAG_KEYS)
    key = f"`{key}`" if "." in key or rng.random() < 0.2 else key
    prefix = rng.choice(["tags", "tag"])
    op = rng.choice(["=", "!=", "LIKE", "ILIKE"])
    value = _like(rng, TAG_VALUES) if op.endswith("LIKE") else rng.choice(TAG_VALUES)
    return f"{prefix}.{key} {op} {_quote(value)}"


INVALID_MODEL_FILTERS = [
    "description = 'x'",
    "name RLIKE 'iris'",
    "tags.team IN ('a')",
    "name = 'iris' OR name = 'wine'",
    "name = iris",
    "name >= 'a'",
    "version_number = 1",
]


def _model_filter(rng: random.Random) -> str | None:
    r = rng.random()
    if r < 0.08:
        return rng.choice([None, ""])
    if r < 0.15:
        return rng.choice(INVALID_MODEL_FILTERS)
    if r < 0.2:
        return "tags.`mlflow.prompt.is_prompt` = 'true'"  # how search_prompts asks
    clauses = [_name_clause(rng) if rng.random() < 0.55 else _tag_clause(rng)]
    if rng.random() < 0.3:
        clauses.append(_tag_clause(rng) if rng.random() < 0.6 else _name_clause(rng))
    return " AND ".join(clauses)


def _model_order(rng: random.Random) -> tuple[list[str] | None, bool]:
    """An ordering and whether it is decided without timestamps."""
    r = rng.random()
    if r < 0.6:
        return rng.choice([None, ["name ASC"], ["name DESC"], ["name"]]), True
    if r < 0.85:
        return rng.choice([["timestamp DESC"], ["last_updated_timestamp ASC", "name DESC"]]), False
    return rng.choice([["creation_timestamp ASC"], ["name SIDEWAYS"], ["owner"]]), False


INVALID_VERSION_FILTERS = [
    "version_number = 'x'",
    "version_number LIKE '1'",
    "version_number = 1.5",
    "source_path IN ('s3://bucket/iris/model')",
    "tags.team IN ('a')",
    "name = 'iris' OR version_number = 1",
    "status = 'READY'",
    "run_id RLIKE 'f'",
    "name",
]


def _version_filter(pair: Pair, rng: random.Random) -> str | None:
    def one() -> str:
        kind = rng.randrange(9)
        if kind <= 1:
            return _name_clause(rng)
        if kind == 2:
            op = rng.choice(["=", "!=", ">", ">=", "<", "<="])
            return f"version_number {op} {rng.randint(0, 5)}"
        if kind <= 4:
            runs = [*pair.runs, UNKNOWN_RUN]
            op = rng.choice(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"])
            if op in ("IN", "NOT IN"):
                chosen = rng.sample(runs, rng.randint(1, 2))
                return f"run_id {op} ({', '.join(map(_quote, chosen))})"
            value = rng.choice(runs)
            if op.endswith("LIKE"):  # whole ids, so that they map between the stores
                value = rng.choice([f"{value}%", f"%{value}", f"%{value}%"])
            return f"run_id {op} {_quote(value.upper() if op == 'ILIKE' else value)}"
        if kind == 5:
            op = rng.choice(["=", "!=", "LIKE", "ILIKE"])
            if op.endswith("LIKE"):
                value = rng.choice(["runs:/%", "%/model", "%nested%", "S3://%", "models:/%"])
            else:
                value = rng.choice(
                    [f"runs:/{rng.choice(pair.runs)}/model", "s3://bucket/iris/model"]
                )
            return f"source_path {op} {_quote(value)}"
        return _tag_clause(rng)

    r = rng.random()
    if r < 0.08:
        return rng.choice([None, ""])
    if r < 0.15:
        return rng.choice(INVALID_VERSION_FILTERS)
    if r < 0.18:
        return "tags.`mlflow.prompt.is_prompt` = 'true'"
    clauses = [one() for _ in range(1 if rng.random() < 0.7 else 2)]
    return " AND ".join(clauses)


def _version_order(rng: random.Random) -> tuple[list[str] | None, bool]:
    r = rng.random()
    if r < 0.6:
        return rng.choice(
            [
                ["name ASC", "version_number DESC"],
                ["version_number ASC"],
                ["name DESC"],
                ["version_number DESC", "name DESC"],
            ]
        ), True
    if r < 0.85:
        return rng.choice(
            [None, ["creation_timestamp ASC"], ["last_updated_timestamp DESC"]]
        ), False
    # (A field named twice is refused with another code: see
    # test_a_field_ordered_by_twice.)
    return rng.choice([["run_id ASC"], ["version_number UP"]]), False


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------


def _register_prompt(pair: Pair) -> None:
    """The same prompt in both registries, as ``register_prompt`` makes it
    (it tags the prompt with the experiment in a thread: joined here)."""
    for side in (pair.sql, pair.tl):
        side.client.register_prompt(PROMPT, "Hello {{name}}")
    for thread in threading.enumerate():
        if thread.name.startswith("link_prompt_to_experiment_thread"):
            thread.join(timeout=60)
            assert not thread.is_alive(), thread.name


def _check_everything(pair: Pair) -> None:
    """Every model and version, read back one by one and by searches."""
    for name in [*NAMES, PROMPT]:
        pair.call("get_registered_model", name, view=registered_model)
        pair.call("get_latest_versions", name, view=latest_versions)
        for version in range(1, pair.top.get(name, 0) + 2):
            pair.call("get_model_version", name, version, view=version_with_aliases)
            pair.call("get_model_version_download_uri", name, version)
    every_version = ["name ASC", "version_number ASC"]
    for method, order in (
        ("search_registered_models", None),
        ("search_model_versions", every_version),
    ):
        pair.check((method,), lambda side, m=method, o=order: walk(side, m, None, 1000, o, True))


@pytest.fixture(scope="module")
def empty_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow sqlite database, its tables made once (MLflow's
    migrations take seconds) and copied for each test."""
    path = tmp_path_factory.mktemp("sqlite") / "empty.db"
    uri = f"sqlite:///{path}"
    client = MlflowClient(uri, registry_uri=uri)
    client.search_experiments()
    client.search_registered_models()
    # Drop the cached stores (and their connections) of the template.
    tracking_utils._tracking_store_registry._get_store_with_resolved_uri.cache_clear()
    registry_utils._get_store_registry()._get_store_with_resolved_uri.cache_clear()
    return path


@pytest.fixture
def pair(tmp_path: Path, empty_sqlite: Path) -> Iterator[Pair]:
    """The two stores, each with three runs and the prompt."""
    pair = Pair(tmp_path, empty_sqlite)
    for _ in range(3):
        pair.add_run()
    _register_prompt(pair)
    yield pair
    registry_utils._get_store_registry()._get_store_with_resolved_uri.cache_clear()


@pytest.mark.parametrize("seed", SEEDS)
def test_differential(pair: Pair, seed: int) -> None:
    rng = random.Random(seed)
    weights = [w for w, _ in OPS]
    operations = [op for _, op in OPS]
    for _ in range(OPERATIONS):
        rng.choices(operations, weights)[0](pair, rng)
    _check_everything(pair)
    for _ in range(SEARCHES):
        op_search(pair, rng)
    # The sequence reached the registry's states, not only its refusals.
    reached = {op: pair.outcomes[op, True] for op in MINIMUM_REACHED}
    assert all(reached[op] >= n for op, n in MINIMUM_REACHED.items()), reached


def test_error_codes(pair: Pair) -> None:
    """Refusals that random sequences reach rarely, each compared by code."""
    run = pair.runs[0]
    pair.call("create_registered_model", "iris", view=registered_model)
    pair.call("create_model_version", "iris", f"runs:/{run}/model", run, view=version_with_aliases)
    pair.call("set_registered_model_alias", "iris", "champion", 1)
    cases: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("create_registered_model", ("iris",), {}),
        ("create_registered_model", (PROMPT,), {}),
        ("create_registered_model", ("",), {}),
        ("rename_registered_model", ("iris", PROMPT), {}),
        ("rename_registered_model", ("nope", "other"), {}),
        ("get_model_version", ("iris", "one"), {}),
        ("get_model_version", ("iris", 2), {}),
        ("get_model_version_by_alias", ("iris", "missing"), {}),
        ("get_model_version_by_alias", ("nope", "latest"), {}),
        ("set_registered_model_alias", ("iris", "latest", 1), {}),
        ("set_registered_model_alias", ("iris", "v1", 1), {}),
        ("set_registered_model_alias", ("iris", "champion", 2), {}),
        ("transition_model_version_stage", ("iris", 1, "None", True), {}),
        ("transition_model_version_stage", ("iris", 1, "Archived", True), {}),
        ("transition_model_version_stage", ("iris", 1, "Live"), {}),
        ("create_model_version", ("iris", "models:/iris/7"), {}),
        ("create_model_version", ("nope", f"runs:/{run}/model", run), {}),
        ("create_model_version", ("", "models:/iris/7"), {}),
        ("search_registered_models", (), {"order_by": ["creation_timestamp ASC"]}),
        ("search_model_versions", ("name = 'iris'",), {"max_results": 0}),
        ("search_registered_models", (), {"max_results": 1001}),
        ("search_registered_models", (), {"page_token": "not-a-token"}),
        ("search_model_versions", ("",), {"page_token": "not-a-token"}),
    ]
    for method, args, kwargs in cases:
        outcome = pair.call(method, *args, view=lambda side, result: "succeeded", **kwargs)
        assert isinstance(outcome, Error), (method, args, kwargs)


@pytest.mark.parametrize(
    ("method", "args", "order_by"),
    [
        ("search_registered_models", (), ["name ASC", "name DESC"]),
        ("search_model_versions", ("",), ["version_number", "version_number"]),
    ],
)
def test_a_field_ordered_by_twice(
    pair: Pair, method: str, args: tuple[str, ...], order_by: list[str]
) -> None:
    """The one intended difference in codes: both refuse a field given twice
    in order_by, MLflow with a code-less error (INTERNAL_ERROR, a server's
    500), tracklite with INVALID_PARAMETER_VALUE and the field named."""
    codes = {}
    for name, side in (("sqlite", pair.sql), ("tracklite", pair.tl)):
        with pytest.raises(MlflowException) as info:
            getattr(side.client, method)(*args, order_by=order_by)
        codes[name] = info.value.error_code
    assert codes == {"sqlite": "INTERNAL_ERROR", "tracklite": "INVALID_PARAMETER_VALUE"}
