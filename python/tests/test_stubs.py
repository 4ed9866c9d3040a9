"""``_native.pyi`` against the built module, so the stubs cannot drift:
the same classes, methods and properties, the same parameters, and the
dicts the module returns have the keys the stub's TypedDicts declare."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest

import tracklite
from tracklite import _native

STUB = Path(tracklite.__file__).with_name("_native.pyi")
TREE = ast.parse(STUB.read_text(encoding="utf-8"))


def _is_typed_dict(node: ast.ClassDef) -> bool:
    return any(isinstance(b, ast.Name) and b.id == "TypedDict" for b in node.bases)


def _is_property(fn: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list)


STUB_FUNCTIONS = {n.name: n for n in TREE.body if isinstance(n, ast.FunctionDef)}
STUB_CLASSES = {
    n.name: n for n in TREE.body if isinstance(n, ast.ClassDef) and not _is_typed_dict(n)
}
TYPED_DICTS = {n.name: n for n in TREE.body if isinstance(n, ast.ClassDef) and _is_typed_dict(n)}


def _members(cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}


def _public(names: Any) -> set[str]:
    return {n for n in names if not n.startswith("_")}


METHODS = [
    (cls_name, name)
    for cls_name, node in STUB_CLASSES.items()
    for name, fn in _members(node).items()
    if not _is_property(fn) and not name.startswith("_")
]


def test_stub_parses_and_names_the_classes():
    assert set(STUB_CLASSES) == {"Store", "RunWriter", "Syncer", "Viewer"}


def test_module_level_names_match():
    runtime = {n for n, v in vars(_native).items() if isinstance(v, type) and not n.startswith("_")}
    assert runtime == set(STUB_CLASSES)
    annotated = {
        n.target.id
        for n in TREE.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    for name in annotated:
        assert hasattr(_native, name), f"the stub declares {name}, the module lacks it"
    assert isinstance(_native.__version__, str) and _native.__version__


@pytest.mark.parametrize("cls_name", sorted(STUB_CLASSES))
def test_class_members_match(cls_name: str):
    runtime_cls = getattr(_native, cls_name)
    stub = _members(STUB_CLASSES[cls_name])
    runtime_names = _public(vars(runtime_cls))
    stub_names = _public(stub)
    assert stub_names - runtime_names == set(), "in the stub, missing from the module"
    assert runtime_names - stub_names == set(), "in the module, missing from the stub"
    for name in stub_names:
        runtime_attr = vars(runtime_cls)[name]
        if _is_property(stub[name]):
            assert not callable(runtime_attr), f"{cls_name}.{name} is a property in the stub"
            assert hasattr(runtime_attr, "__get__")
        else:
            assert callable(runtime_attr), f"{cls_name}.{name} is a method in the stub"


def _stub_params(fn: ast.FunctionDef, skip_first: bool = True) -> list[tuple[str, bool, Any]]:
    """(name, has_default, default literal or Ellipsis), after ``self`` or
    ``cls`` unless ``skip_first`` is false (module functions)."""
    args = fn.args.posonlyargs + fn.args.args
    defaults = [None] * (len(args) - len(fn.args.defaults)) + list(fn.args.defaults)
    out = []
    for arg, default in list(zip(args, defaults))[1 if skip_first else 0 :]:
        if default is None:
            out.append((arg.arg, False, None))
        else:
            try:
                value = ast.literal_eval(default)
            except ValueError:
                value = Ellipsis
            out.append((arg.arg, True, value))
    for arg, default in zip(fn.args.kwonlyargs, fn.args.kw_defaults):
        out.append((arg.arg, default is not None, Ellipsis))
    return out


def _runtime_params(obj: Any) -> list[tuple[str, bool, Any]]:
    sig = inspect.signature(obj)
    return [
        (p.name, p.default is not inspect.Parameter.empty, p.default)
        for p in sig.parameters.values()
        if p.name != "self"
    ]


def _compare(stub: list[tuple[str, bool, Any]], runtime: list[tuple[str, bool, Any]]) -> None:
    assert [(n, d) for n, d, _ in stub] == [(n, d) for n, d, _ in runtime]
    for (name, _, s), (_, _, r) in zip(stub, runtime):
        # Plain literal defaults must agree; the module renders some
        # defaults (empty vectors, constants) as None or `...`.
        if r is not Ellipsis and isinstance(s, (str, int, float, bool)) and s is not Ellipsis:
            assert s == r, f"default of {name}: stub {s!r}, module {r!r}"


@pytest.mark.parametrize(("cls_name", "method"), METHODS)
def test_method_signatures_match(cls_name: str, method: str):
    stub = _stub_params(_members(STUB_CLASSES[cls_name])[method])
    runtime = _runtime_params(getattr(getattr(_native, cls_name), method))
    _compare(stub, runtime)


def test_constructor_signature_matches():
    members = _members(STUB_CLASSES["Store"])
    ctor = members.get("__new__") or members["__init__"]  # either spelling
    _compare(_stub_params(ctor), _runtime_params(_native.Store))
    writer = _members(STUB_CLASSES["RunWriter"])
    assert "__init__" not in writer and "__new__" not in writer
    with pytest.raises(TypeError):
        _native.RunWriter()  # made only by Store.writer


def test_module_functions_match():
    runtime = {
        n
        for n, v in vars(_native).items()
        if callable(v) and not isinstance(v, type) and not n.startswith("_")
    }
    assert set(STUB_FUNCTIONS) == runtime
    stub_all = next(
        ast.literal_eval(n.value)
        for n in TREE.body
        if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
    )
    assert set(stub_all) == set(STUB_CLASSES) | set(STUB_FUNCTIONS) | {"__version__"}


@pytest.mark.parametrize("name", sorted(STUB_FUNCTIONS))
def test_function_signatures_match(name: str):
    stub = _stub_params(STUB_FUNCTIONS[name], skip_first=False)
    _compare(stub, _runtime_params(getattr(_native, name)))
    assert getattr(_native, name).__module__ == "tracklite._native"


def _keys(name: str) -> set[str]:
    return {
        n.target.id
        for n in TYPED_DICTS[name].body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }


def test_returned_dicts_have_the_typed_dict_keys(tmp_path: Path):
    store = _native.Store(str(tmp_path / "s"))
    exp_id = store.create_experiment("e", None, {"k": "v"})
    assert set(store.get_experiment(exp_id)) == _keys("ExperimentDict")
    info = store.create_run(exp_id, "r")
    assert set(info) == _keys("RunInfoDict")
    run_id = info["run_id"]
    store.log_metric(run_id, "m", 1.0, None, 0)
    store.log_inputs(
        run_id,
        [
            {
                "dataset": {
                    "name": "d",
                    "digest": "x",
                    "source_type": "local",
                    "source": "/d",
                    "schema": None,
                    "profile": None,
                },
                "tags": {},
            }
        ],
    )
    store.log_artifact_bytes(run_id, "a.txt", b"a")
    run = store.get_run(run_id)
    assert set(run) == _keys("RunDict")
    assert set(run["metrics"]["m"]) == _keys("MetricSummaryDict")
    assert set(run["inputs"][0]) == _keys("DatasetInputDict")
    assert set(run["inputs"][0]["dataset"]) == _keys("DatasetDict")
    assert set(store.list_artifacts(run_id)[0]) == _keys("FileInfoDict")
    runs, token = store.search_runs([exp_id])
    assert set(runs[0]) == _keys("RunDict") and token is None
    steps, timestamps, values = store.metric_history(run_id, "m")
    assert (steps.dtype.name, timestamps.dtype.name, values.dtype.name) == (
        "int64",
        "int64",
        "float64",
    )


def test_registry_dicts_have_the_typed_dict_keys(tmp_path: Path):
    store = _native.Store(str(tmp_path / "s"))
    model = store.create_registered_model("m", {"k": "v"}, "d")
    assert set(model) == _keys("RegisteredModelDict")
    version = store.create_model_version("m", "/models/m", tags={"t": "1"})
    assert set(version) == _keys("ModelVersionDict")
    assert isinstance(version["version"], int) and version["current_stage"] == "None"
    store.set_registered_model_alias("m", "champion", version["version"])
    store.transition_model_version_stage("m", 1, "staging")
    model = store.get_registered_model("m")
    assert set(model["latest_versions"][0]) == _keys("ModelVersionDict")
    assert model["aliases"] == {"champion": 1}
    versions, token = store.search_model_versions("name = 'm'")
    assert set(versions[0]) == _keys("ModelVersionDict") and token is None
    models, token = store.search_registered_models()
    assert set(models[0]) == _keys("RegisteredModelDict") and token is None
