"""Every public function, class, method and property of the package has a
docstring: what ``help()`` and a notebook's ``?`` show."""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import Any

import pytest

import tracklite

#: The public modules: the package, its modules not starting with "_".
PUBLIC_MODULES = [
    "tracklite",
    "tracklite.artifacts",
    "tracklite.client",
    "tracklite.data",
    "tracklite.entities",
    "tracklite.errors",
    "tracklite.exceptions",
    "tracklite.fluent",
    "tracklite.tracking",
]
#: The plugin's public modules, which import MLflow.
PLUGIN_MODULES = ["tracklite.mlflow_plugin", "tracklite.mlflow_plugin.file_uris"]


def _public_names(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        n
        for n, obj in vars(module).items()
        if not n.startswith("_") and getattr(obj, "__module__", None) == module.__name__
    ]


def _members(cls: type) -> dict[str, Any]:
    """The public methods and properties a class has from tracklite's
    classes (its own and inherited ones; not those of list, tuple, ...)."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("tracklite"):
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(attr, (property, classmethod, staticmethod)) or inspect.isfunction(attr):
                out[name] = attr
    return out


def _undocumented(module_names: list[str]) -> list[str]:
    missing: list[str] = []
    seen: set[int] = set()
    for module_name in module_names:
        module = importlib.import_module(module_name)
        for name in _public_names(module):
            obj = getattr(module, name)
            if isinstance(obj, ModuleType) or id(obj) in seen:
                continue
            seen.add(id(obj))
            where = f"{module_name}.{name}"
            if not (inspect.isclass(obj) or callable(obj)):
                continue  # constants
            if not inspect.getdoc(obj):
                missing.append(where)
            if inspect.isclass(obj):
                for member_name, member in _members(obj).items():
                    if isinstance(member, property):
                        doc = member.__doc__
                    else:  # through the class, so that overrides inherit their base's doc
                        doc = inspect.getdoc(getattr(obj, member_name))
                    if not doc:
                        missing.append(f"{where}.{member_name}")
    return missing


def test_every_public_function_and_method_has_a_docstring() -> None:
    assert tracklite.__doc__
    missing = _undocumented(PUBLIC_MODULES)
    assert not missing, f"{len(missing)} without a docstring:\n" + "\n".join(missing)


def test_the_plugins_public_api_has_docstrings() -> None:
    pytest.importorskip("mlflow")
    missing = _undocumented(PLUGIN_MODULES)
    assert not missing, f"{len(missing)} without a docstring:\n" + "\n".join(missing)
