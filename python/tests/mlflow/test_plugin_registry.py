"""The model registry of ``tracklite:`` URIs: every method of MLflow's
registry-store interface implemented over the store (or, for webhooks,
refused with ``NOT_IMPLEMENTED``), values read back as MLflow's entities
with MLflow's SQL-store rules and error codes, and the paths users take:
``log_model(..., registered_model_name=...)``, ``register_model``,
``models:/`` URIs in ``pyfunc.load_model``, prompts."""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any

import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow.entities.model_registry import (  # noqa: E402
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.store.model_registry.abstract_store import AbstractStore  # noqa: E402
from mlflow.tracking._model_registry.utils import _get_store_registry  # noqa: E402

from tracklite.mlflow_plugin import SERVE_FILE_URIS_ENV, _unsupported  # noqa: E402
from tracklite.mlflow_plugin._registry import INHERITED, TrackliteRegistryStore  # noqa: E402

# Stages are deprecated in MLflow (FutureWarning), and still served.
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated since 2.9.0:FutureWarning")

INTERFACE = _unsupported.interface_methods(AbstractStore)
#: Webhooks are not kept: their lists are empty, the other methods raise.
WEBHOOK_LISTS = {"list_webhooks", "list_webhooks_by_event"}
WEBHOOKS = {name for name in INTERFACE if "webhook" in name} - WEBHOOK_LISTS


def _code(info: pytest.ExceptionInfo[MlflowException]) -> str:
    return info.value.error_code


@pytest.fixture
def registry(tracking_uri: str) -> TrackliteRegistryStore:
    """The registry store MLflow builds for the test's ``tracklite:`` URI."""
    store = _get_store_registry().get_store(tracking_uri, tracking_uri)
    assert isinstance(store, TrackliteRegistryStore)
    return store


@pytest.fixture
def model_dir(tmp_path: Path) -> str:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    return str(folder)


# The interface


def _owner(name: str) -> type:
    return next(k for k in TrackliteRegistryStore.__mro__ if name in vars(k))


@pytest.mark.parametrize("name", sorted(INTERFACE))
def test_every_method_is_implemented_inherited_or_refused(name: str, registry) -> None:
    method = getattr(TrackliteRegistryStore, name)
    owner = _owner(name)
    if name in WEBHOOKS:
        assert _unsupported.is_stub(method)
        params = list(inspect.signature(method).parameters.values())[1:]
        args = ["x" for p in params if p.default is inspect.Parameter.empty]
        with pytest.raises(MlflowException) as info:
            getattr(registry, name)(*args)
        assert _code(info) == "NOT_IMPLEMENTED"
        assert name in info.value.message and "tracklite model registry" in info.value.message
    elif name in INHERITED:
        # MLflow's bodies, built on the methods below (prompts, copies).
        assert owner is AbstractStore, f"{name} is in INHERITED but overridden"
    else:
        assert not _unsupported.is_stub(method)
        assert owner is TrackliteRegistryStore, f"{name} falls back to {owner.__name__}"


def test_webhook_lists_are_empty_as_in_mlflows_sql_registry(registry, tmp_path: Path) -> None:
    from mlflow.entities.webhook import WebhookAction, WebhookEntity, WebhookEvent
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    sql = SqlAlchemyStore(f"sqlite:///{tmp_path / 'registry.db'}")
    event = WebhookEvent(WebhookEntity.MODEL_VERSION, WebhookAction.CREATED)
    cases: list[dict[str, Any]] = [
        {},
        {"max_results": 5},
        {"max_results": 0},
        {"max_results": 1001},
        {"page_token": "x"},
    ]
    for kwargs in cases:
        outcomes = []
        for store in (sql, registry):
            for method, args in (("list_webhooks", ()), ("list_webhooks_by_event", (event,))):
                try:
                    page = getattr(store, method)(*args, **kwargs)
                    outcomes.append((list(page), page.token))
                except MlflowException as e:
                    outcomes.append(e.error_code)
        assert outcomes[2:] == outcomes[:2], kwargs
    assert list(registry.list_webhooks()) == []
    sql.engine.dispose()


def test_every_abstract_method_is_the_stores_own() -> None:
    abstract = {n for n, m in INTERFACE.items() if getattr(m, "__isabstractmethod__", False)}
    assert len(abstract) >= 21
    assert all(_owner(n) is TrackliteRegistryStore for n in abstract)
    assert set(INHERITED) <= set(INTERFACE)
    # MLflow's SQL store waits for nothing: a version is READY once created.
    assert _owner("_await_model_version_creation") is TrackliteRegistryStore


def test_the_entry_point_builds_the_registry_over_the_tracking_store(
    tracking_uri: str, registry, store_dir: Path
) -> None:
    assert registry.path == str(store_dir)
    assert mlflow.get_registry_uri() == tracking_uri
    client = mlflow.MlflowClient()
    assert isinstance(client._get_registry_client().store, TrackliteRegistryStore)


# Registered models


def test_registered_models_are_created_read_updated_renamed_and_deleted(registry) -> None:
    before = int(time.time() * 1000)
    made = registry.create_registered_model(
        "iris", [RegisteredModelTag("team", "cv"), RegisteredModelTag("n", "1")], "flowers"
    )
    assert isinstance(made, RegisteredModel)
    assert (made.name, made.description, made.tags) == ("iris", "flowers", {"team": "cv", "n": "1"})
    assert made.creation_timestamp >= before
    assert made.last_updated_timestamp == made.creation_timestamp
    assert made.latest_versions == [] and made.aliases == {}

    updated = registry.update_registered_model("iris", "all flowers")
    assert updated.description == "all flowers"
    assert updated.last_updated_timestamp >= made.last_updated_timestamp
    assert registry.get_registered_model("iris").description == "all flowers"

    registry.set_registered_model_tag("iris", RegisteredModelTag("team", "vision"))
    registry.delete_registered_model_tag("iris", "n")
    registry.delete_registered_model_tag("iris", "never-set")
    assert registry.get_registered_model("iris").tags == {"team": "vision"}

    with pytest.raises(MlflowException) as info:
        registry.create_registered_model("iris")
    assert _code(info) == "RESOURCE_ALREADY_EXISTS"
    assert "already exists" in info.value.message

    renamed = registry.rename_registered_model("iris", "flowers")
    assert (renamed.name, renamed.tags) == ("flowers", {"team": "vision"})
    with pytest.raises(MlflowException) as info:
        registry.get_registered_model("iris")
    assert _code(info) == "RESOURCE_DOES_NOT_EXIST"
    registry.create_registered_model("taken")
    with pytest.raises(MlflowException) as info:
        registry.rename_registered_model("flowers", "taken")
    assert _code(info) == "RESOURCE_ALREADY_EXISTS"

    registry.delete_registered_model("flowers")
    for call in (
        lambda: registry.get_registered_model("flowers"),
        lambda: registry.delete_registered_model("flowers"),
        lambda: registry.update_registered_model("flowers", "d"),
        lambda: registry.set_registered_model_tag("flowers", RegisteredModelTag("k", "v")),
    ):
        with pytest.raises(MlflowException) as info:
            call()
        assert _code(info) == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("name", ["", "a/b", "a:b", ".."])
def test_bad_model_names_are_invalid(registry, name: str) -> None:
    with pytest.raises(MlflowException) as info:
        registry.create_registered_model(name)
    assert _code(info) == "INVALID_PARAMETER_VALUE"


def test_registered_model_search_filters_orders_and_pages(registry) -> None:
    for name in ["alpha", "beta", "Gamma", "delta"]:
        registry.create_registered_model(name, [RegisteredModelTag("team", name.lower()[0])])
    registry.create_prompt("a-prompt")

    def names(**kwargs: Any) -> list[str]:
        return [m.name for m in registry.search_registered_models(**kwargs)]

    assert names() == ["Gamma", "alpha", "beta", "delta"]
    assert names(filter_string="name LIKE '%ta'") == ["beta", "delta"]
    assert names(filter_string="name ILIKE 'g%'") == ["Gamma"]
    assert names(filter_string="tags.team = 'd'") == ["delta"]
    assert names(order_by=["name DESC"]) == ["delta", "beta", "alpha", "Gamma"]
    assert names(filter_string="tags.`mlflow.prompt.is_prompt` = 'true'") == ["a-prompt"]

    seen, token = [], None
    while True:
        page = registry.search_registered_models(max_results=3, page_token=token)
        seen += [m.name for m in page]
        token = page.token
        if token is None:
            break
    assert seen == ["Gamma", "alpha", "beta", "delta"]

    for bad in (
        {"filter_string": "run_id = 'x'"},
        {"order_by": ["source ASC"]},
        {"max_results": 1001},
        {"max_results": 0},
        {"page_token": "not a token"},
    ):
        with pytest.raises(MlflowException) as info:
            registry.search_registered_models(**bad)
        assert _code(info) == "INVALID_PARAMETER_VALUE", bad


# Model versions


def test_versions_are_numbered_and_never_reuse_a_number(registry, model_dir: str) -> None:
    registry.create_registered_model("m")
    run_id = mlflow.MlflowClient().create_run("0").info.run_id
    v1 = registry.create_model_version(
        "m",
        model_dir,
        run_id=run_id,
        tags=[ModelVersionTag("data", "v1")],
        run_link="http://runs/1",
        description="first",
        local_model_path=model_dir,
    )
    assert isinstance(v1, ModelVersion)
    assert (v1.name, v1.version, v1.current_stage, v1.status) == ("m", 1, "None", "READY")
    assert (v1.source, v1.run_id, v1.run_link) == (model_dir, run_id, "http://runs/1")
    assert (v1.description, v1.tags, v1.aliases) == ("first", {"data": "v1"}, [])
    assert v1.user_id is None and v1.model_id is None and v1.status_message is None
    assert registry.get_model_version_download_uri("m", 1) == model_dir

    assert registry.create_model_version("m", model_dir).version == 2
    assert registry.create_model_version("m", model_dir).version == 3
    registry.delete_model_version("m", "3")
    with pytest.raises(MlflowException) as info:
        registry.get_model_version("m", 3)
    assert _code(info) == "RESOURCE_DOES_NOT_EXIST"
    assert registry.create_model_version("m", model_dir).version == 4

    got = registry.get_model_version("m", "1")  # MLflow's client passes versions as str too
    assert got.version == 1 and got.tags == {"data": "v1"}
    assert registry.update_model_version("m", 1, "better").description == "better"
    assert registry.update_model_version("m", 1, None).description is None

    registry.set_model_version_tag("m", 1, ModelVersionTag("data", "v2"))
    registry.set_model_version_tag("m", 1, ModelVersionTag("ok", "yes"))
    registry.delete_model_version_tag("m", 1, "ok")
    registry.delete_model_version_tag("m", 1, "absent")
    assert registry.get_model_version("m", 1).tags == {"data": "v2"}

    with pytest.raises(MlflowException) as info:
        registry.get_model_version("m", "one")
    assert _code(info) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as info:
        registry.create_model_version("missing", model_dir)
    assert _code(info) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as info:
        registry.set_model_version_tag("m", 9, ModelVersionTag("k", "v"))
    assert _code(info) == "RESOURCE_DOES_NOT_EXIST"


def test_stages_archive_existing_versions_as_mlflow_does(registry, model_dir: str) -> None:
    registry.create_registered_model("m")
    for _ in range(3):
        registry.create_model_version("m", model_dir)
    assert registry.transition_model_version_stage("m", 1, "production", False).current_stage == (
        "Production"
    )
    registry.transition_model_version_stage("m", 2, "Production", False)
    moved = registry.transition_model_version_stage("m", 3, "PRODUCTION", True)
    assert moved.current_stage == "Production"
    stages = {v: registry.get_model_version("m", v).current_stage for v in (1, 2, 3)}
    assert stages == {1: "Archived", 2: "Archived", 3: "Production"}

    # MLflow refuses archiving on a move to an inactive stage, with an
    # MlflowException of no code of its own.
    with pytest.raises(MlflowException) as info:
        registry.transition_model_version_stage("m", 1, "Archived", True)
    assert _code(info) == "INTERNAL_ERROR" and "Active stage" in info.value.message
    with pytest.raises(MlflowException) as info:
        registry.transition_model_version_stage("m", 1, "Live", False)
    assert _code(info) == "INVALID_PARAMETER_VALUE"

    latest = registry.get_latest_versions("m")
    assert [(v.version, v.current_stage) for v in latest] == [(2, "Archived"), (3, "Production")]
    assert [v.version for v in registry.get_latest_versions("m", ["production"])] == [3]
    assert registry.get_latest_versions("m", ["Staging"]) == []
    with pytest.raises(MlflowException) as info:
        registry.get_latest_versions("m", ["Live"])
    assert _code(info) == "INVALID_PARAMETER_VALUE"
    model = registry.get_registered_model("m")
    assert [(v.version, v.current_stage) for v in model.latest_versions] == [
        (2, "Archived"),
        (3, "Production"),
    ]


def test_aliases_name_one_version_and_follow_mlflow_rules(registry, model_dir: str) -> None:
    registry.create_registered_model("m")
    registry.create_model_version("m", model_dir)
    registry.create_model_version("m", model_dir)
    registry.set_registered_model_alias("m", "champion", "1")
    registry.set_registered_model_alias("m", "champion", 2)  # moves
    registry.set_registered_model_alias("m", "challenger", 1)
    assert registry.get_registered_model("m").aliases == {"champion": 2, "challenger": 1}
    by_alias = registry.get_model_version_by_alias("m", "champion")
    assert (by_alias.version, by_alias.aliases) == (2, ["champion"])
    assert registry.get_model_version_by_alias("m", "LATEST").version == 2
    # tracklite fills the aliases of versions from searches and latest versions.
    assert {v.version: v.aliases for v in registry.search_model_versions("name = 'm'")} == {
        1: ["challenger"],
        2: ["champion"],
    }
    assert [v.aliases for v in registry.get_latest_versions("m")] == [["champion"]]

    for reserved in ("latest", "Latest", "v1", "V12"):
        with pytest.raises(MlflowException) as info:
            registry.set_registered_model_alias("m", reserved, 1)
        assert _code(info) == "INVALID_PARAMETER_VALUE", reserved
    for bad in ("a.b", "", "x" * 256):
        with pytest.raises(MlflowException) as info:
            registry.set_registered_model_alias("m", bad, 1)
        assert _code(info) == "INVALID_PARAMETER_VALUE", bad
    with pytest.raises(MlflowException) as info:
        registry.set_registered_model_alias("m", "x", 7)
    assert _code(info) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as info:
        registry.get_model_version_by_alias("m", "nope")
    assert _code(info) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as info:
        registry.get_model_version_by_alias("missing", "champion")
    assert _code(info) == "RESOURCE_DOES_NOT_EXIST"

    # Deleting a version drops its aliases; deleting an alias twice is fine.
    registry.delete_model_version("m", 2)
    assert registry.get_registered_model("m").aliases == {"challenger": 1}
    registry.delete_registered_model_alias("m", "challenger")
    registry.delete_registered_model_alias("m", "challenger")
    assert registry.get_registered_model("m").aliases == {}
    registry.create_registered_model("empty")
    with pytest.raises(MlflowException) as info:
        registry.get_model_version_by_alias("empty", "latest")
    assert _code(info) == "RESOURCE_DOES_NOT_EXIST"


def test_version_search_filters_orders_and_pages(registry, model_dir: str) -> None:
    client = mlflow.MlflowClient()
    runs = [client.create_run("0").info.run_id for _ in range(2)]
    for name in ("a", "b"):
        registry.create_registered_model(name)
        for i in range(3):
            registry.create_model_version(
                name, f"{model_dir}/{name}{i}", run_id=runs[i % 2], tags={"i": str(i)}
            )

    def found(filter_string: str = "", **kwargs: Any) -> list[tuple[str, int]]:
        page = registry.search_model_versions(filter_string, **kwargs)
        return [(v.name, v.version) for v in page]

    # Default order: last updated first, then name, then newest version.
    every = registry.search_model_versions()
    by_default = sorted(every, key=lambda v: (-v.last_updated_timestamp, v.name, -v.version))
    assert [(v.name, v.version) for v in every] == [(v.name, v.version) for v in by_default]
    assert len(every) == 6
    assert found("name = 'a'", order_by=["version_number ASC"]) == [("a", 1), ("a", 2), ("a", 3)]
    assert found(f"run_id = '{runs[1]}'", order_by=["name", "version_number"]) == [
        ("a", 2),
        ("b", 2),
    ]
    assert found("name IN ('b') AND version_number > 1", order_by=["version_number"]) == [
        ("b", 2),
        ("b", 3),
    ]
    assert found("tags.i = '0'", order_by=["name"]) == [("a", 1), ("b", 1)]
    assert found(f"source_path = '{model_dir}/a2'") == [("a", 3)]

    seen, token = [], None
    while True:
        page = registry.search_model_versions(
            max_results=4, order_by=["name", "version_number"], page_token=token
        )
        seen += [(v.name, v.version) for v in page]
        token = page.token
        if not token:
            break
    assert seen == [(n, v) for n in "ab" for v in (1, 2, 3)]

    for bad in (
        {"filter_string": "stage = 'x'"},
        {"filter_string": "tags.i IN ('0')"},
        {"max_results": 0},
        {"max_results": 200_001},
        {"max_results": "10"},
        {"order_by": ["run_link"]},
    ):
        with pytest.raises(MlflowException) as info:
            registry.search_model_versions(**bad)
        assert _code(info) == "INVALID_PARAMETER_VALUE", bad


def test_models_uri_sources_resolve_and_copies_follow(registry, model_dir: str) -> None:
    registry.create_registered_model("src")
    registry.create_model_version("src", model_dir, description="orig", tags={"k": "v"})
    registry.set_registered_model_alias("src", "champion", 1)
    from_alias = registry.create_model_version("src", "models:/src@champion")
    assert from_alias.source == "models:/src@champion"
    assert registry.get_model_version_download_uri("src", from_alias.version) == model_dir

    copy = registry.copy_model_version(registry.get_model_version("src", 1), "dst")
    assert (copy.name, copy.version, copy.source) == ("dst", 1, "models:/src/1")
    assert (copy.description, copy.tags) == ("orig", {"k": "v"})
    assert registry.get_model_version_download_uri("dst", 1) == model_dir
    assert registry.copy_model_version(registry.get_model_version("src", 1), "dst").version == 2

    with pytest.raises(MlflowException, match="Unable to fetch model"):
        registry.create_model_version("src", "models:/src/9")
    with pytest.raises(MlflowException, match="Unable to fetch model"):
        registry.create_model_version("src", "models:/m-00000000000000000000000000000000")


def test_a_logged_model_source_takes_its_location_run_and_id(registry) -> None:
    client = mlflow.MlflowClient()
    run_id = client.create_run("0").info.run_id
    logged = client.create_logged_model("0", source_run_id=run_id, name="clf")
    registry.create_registered_model("m")
    mv = registry.create_model_version("m", f"models:/{logged.model_id}", model_id=logged.model_id)
    assert (mv.run_id, mv.model_id) == (run_id, logged.model_id)
    assert registry.get_model_version_download_uri("m", mv.version) == logged.artifact_location
    assert logged.artifact_location.startswith("file://")
    # A model id alone names the run too, as in MLflow's SQL store.
    plain = registry.create_model_version("m", "/elsewhere", model_id=logged.model_id)
    assert (plain.run_id, plain.model_id) == (run_id, logged.model_id)
    assert registry.get_model_version_download_uri("m", plain.version) == "/elsewhere"


# MLflow's client and fluent API


def test_client_registry_calls_return_values(client, model_dir: str) -> None:
    made = client.create_registered_model("m", tags={"t": 1}, description="d")
    assert made.tags == {"t": "1"}
    mv = client.create_model_version("m", model_dir, tags={"n": 2}, await_creation_for=300)
    assert (mv.version, mv.tags) == (1, {"n": "2"})
    client.set_registered_model_tag("m", "team", "cv")
    client.set_model_version_tag("m", "1", "ok", True)
    client.set_registered_model_alias("m", "prod", "1")
    assert client.get_model_version_by_alias("m", "prod").tags == {"n": "2", "ok": "True"}
    assert client.transition_model_version_stage("m", "1", "Staging").current_stage == "Staging"
    assert [v.version for v in client.get_latest_versions("m", stages=["Staging"])] == [1]
    assert client.get_model_version_download_uri("m", 1) == model_dir
    assert [m.name for m in client.search_registered_models("tags.team = 'cv'")] == ["m"]
    assert [v.version for v in client.search_model_versions("name='m'")] == [1]
    client.rename_registered_model("m", "n")
    assert client.get_registered_model("n").tags == {"t": "1", "team": "cv"}
    client.delete_registered_model("n")
    assert client.search_registered_models() == []


def test_sklearn_log_model_registers_and_loads_by_every_uri(tracking_uri: str) -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = LogisticRegression(max_iter=300).fit(X, y)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(clf, name="model", registered_model_name="iris")
    assert info.registered_model_version == 1
    client = mlflow.MlflowClient()
    mv = client.get_model_version("iris", 1)
    assert (mv.run_id, mv.model_id, mv.source) == (
        run.info.run_id,
        info.model_id,
        f"models:/{info.model_id}",
    )
    logged = client.get_logged_model(info.model_id)
    assert client.get_model_version_download_uri("iris", 1) == logged.artifact_location
    # register_model records the version on the logged model, as MLflow does.
    assert '"version": 1' in logged.tags["mlflow.modelVersions"]

    second = mlflow.register_model(f"runs:/{run.info.run_id}/model", "iris", tags={"via": "runs"})
    assert (second.version, second.run_id, second.tags) == (2, run.info.run_id, {"via": "runs"})
    assert second.source == f"models:/{info.model_id}"

    client.set_registered_model_alias("iris", "champion", 1)
    client.transition_model_version_stage("iris", 2, "Production")
    expected = list(clf.predict(X.head(5)))
    for uri in (
        "models:/iris@champion",
        "models:/iris/1",
        "models:/iris/latest",
        "models:/iris/Production",
    ):
        assert list(mlflow.pyfunc.load_model(uri).predict(X.head(5))) == expected, uri
    assert client.get_registered_model("iris").aliases == {"champion": 1}


def test_register_model_from_run_artifacts(tracking_uri: str, model_dir: str) -> None:
    with mlflow.start_run() as run:
        mlflow.log_artifacts(model_dir, "packed")
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/packed", "packed")
    assert (mv.version, mv.run_id, mv.model_id) == (1, run.info.run_id, None)
    assert mv.source.startswith("file://") and mv.source.endswith("/packed")
    uri = mlflow.MlflowClient().get_model_version_download_uri("packed", 1)
    assert uri == mv.source
    local = mlflow.artifacts.download_artifacts("models:/packed/1")
    assert (Path(local) / "MLmodel").read_text() == "flavors: {}\n"


# Prompts: MLflow's own methods over the registry


def test_prompts_register_load_alias_and_search(tracking_uri: str) -> None:
    first = mlflow.genai.register_prompt("greet", "Hello {{name}}", commit_message="first")
    second = mlflow.genai.register_prompt("greet", "Hi {{name}}!", tags={"tone": "casual"})
    assert (first.version, second.version) == (1, 2)
    mlflow.genai.set_prompt_alias("greet", "prod", 1)
    assert mlflow.genai.load_prompt("prompts:/greet@prod").format(name="Ada") == "Hello Ada"
    assert mlflow.genai.load_prompt("prompts:/greet/2").template == "Hi {{name}}!"
    assert mlflow.genai.load_prompt("greet", version=1).template == "Hello {{name}}"
    assert mlflow.genai.load_prompt("prompts:/greet@latest").version == 2
    assert [p.name for p in mlflow.genai.search_prompts()] == ["greet"]
    assert mlflow.genai.search_prompts("name = 'other'") == []
    assert [p.name for p in mlflow.genai.search_prompts("experiment_id = '0'")] == ["greet"]
    chat = mlflow.genai.register_prompt("chat", [{"role": "user", "content": "Hi {{x}}"}])
    assert mlflow.genai.load_prompt(f"prompts:/chat/{chat.version}").template == [
        {"role": "user", "content": "Hi {{x}}"}
    ]
    versions = mlflow.MlflowClient().search_prompt_versions("greet")
    assert [(p.version, p.template) for p in versions] == [
        (2, "Hi {{name}}!"),
        (1, "Hello {{name}}"),
    ]
    mlflow.genai.delete_prompt_alias("greet", "prod")

    client = mlflow.MlflowClient()
    # Prompts stay out of model searches, as in MLflow.
    client.create_registered_model("model")
    assert [m.name for m in client.search_registered_models()] == ["model"]
    assert client.search_model_versions("name = 'greet'") == []

    # Names are shared between prompts and models, with MLflow's messages.
    with pytest.raises(MlflowException) as info:
        client.create_registered_model("greet")
    assert _code(info) == "RESOURCE_ALREADY_EXISTS"
    assert "already taken by a prompt" in info.value.message
    with pytest.raises(MlflowException) as info:
        client.create_prompt("greet")
    assert _code(info) == "RESOURCE_ALREADY_EXISTS"
    assert "Prompt (name=greet) already exists" in info.value.message
    with pytest.raises(MlflowException) as info:
        mlflow.genai.register_prompt("model", "x")
    assert _code(info) == "INVALID_PARAMETER_VALUE"


# file: URIs


def test_file_registry_uris_follow_the_opt_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.store.model_registry.file_store import FileStore

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    off = _get_store_registry().get_store(uri, uri)
    assert isinstance(off, FileStore)

    monkeypatch.setenv(SERVE_FILE_URIS_ENV, "1")
    uri = (tmp_path / "other" / "mlruns").as_uri()
    on = _get_store_registry().get_store(uri, uri)
    assert isinstance(on, TrackliteRegistryStore)
    assert on.path == str(tmp_path / "other" / "mlruns.tracklite")
    on.create_registered_model("m")
    mlflow.set_tracking_uri(uri)
    assert [m.name for m in mlflow.MlflowClient().search_registered_models()] == ["m"]
