"""Workflow code is deterministic and shares no state between instances, checked over every
module of ``workflows`` and every line of it.

Workers run workflow code without the sandbox (``worker.temporalworker.WORKFLOW_RUNNER``), so
these checks stand where the sandbox's run-time checks were: no access to a standard-library
member the sandbox refuses (its own list, ``invalid_module_members_default``: the clock,
randomness, the environment, threads, files), and no mutable module or class state, which every
workflow instance in a worker would now share.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import importlib
import pkgutil
import types
from collections.abc import Iterator, MutableMapping, MutableSequence, MutableSet
from pathlib import Path

import pytest
from temporalio.worker.workflow_sandbox import SandboxRestrictions
from temporalio.worker.workflow_sandbox._restrictions import RestrictionContext

import workflows

PACKAGE = Path(workflows.__file__).parent
SOURCES = {path.name: path.read_text() for path in sorted(PACKAGE.glob("*.py"))}
MODULES = [
    importlib.import_module(f"workflows.{m.name}") for m in pkgutil.iter_modules([str(PACKAGE)])
]
RESTRICTED = SandboxRestrictions.invalid_module_members_default
AT_RUN_TIME = RestrictionContext()
AT_RUN_TIME.is_runtime = True


def _imported_names(tree: ast.AST) -> dict[str, tuple[str, ...]]:
    """Each name a module's imports bind, with the dotted path it stands for."""
    names: dict[str, tuple[str, ...]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = tuple(alias.name.split("."))
                else:
                    root = alias.name.split(".")[0]
                    names[root] = (root,)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = (*node.module.split("."), alias.name)
    return names


def _bound_names(tree: ast.AST) -> set[str]:
    """The names a module binds itself: parameters, assignments, definitions."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
    return bound


def _path(
    node: ast.expr, names: dict[str, tuple[str, ...]], bound: set[str]
) -> tuple[str, ...] | None:
    """The dotted path an attribute chain or a name stands for, when it starts at an import
    or at a builtin the module does not shadow."""
    attributes: list[str] = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    if node.id in names:
        return (*names[node.id], *reversed(attributes))
    if hasattr(builtins, node.id) and node.id not in bound:
        return ("__builtins__", node.id, *reversed(attributes))
    return None


def restricted_uses(source: str) -> list[str]:
    """The lines of ``source`` that reach a member the workflow sandbox refuses at run time."""
    tree = ast.parse(source)
    names = _imported_names(tree)
    bound = _bound_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)):
            path = _path(node, names, bound)
            if path and RESTRICTED.match_access(AT_RUN_TIME, *path, include_use=True):
                found.append(f"line {node.lineno}: {'.'.join(path)}")
    return found


def mutable_state(module: types.ModuleType) -> Iterator[str]:
    """The module's globals and class attributes that workflow instances could change."""

    def mutable(value: object) -> bool:
        if isinstance(value, (MutableMapping, MutableSequence, MutableSet)):
            return True
        return (
            dataclasses.is_dataclass(value)
            and not isinstance(value, type)
            and not type(value).__dataclass_params__.frozen  # type: ignore[attr-defined]
        )

    for name, value in vars(module).items():
        if name.startswith("__"):
            continue
        if mutable(value):
            yield f"{module.__name__}.{name}"
        if isinstance(value, type) and value.__module__ == module.__name__:
            for attribute, held in vars(value).items():
                if not attribute.startswith("__") and mutable(held):
                    yield f"{module.__name__}.{name}.{attribute}"


@pytest.mark.parametrize(
    ("source", "reached"),
    [
        ("import time\nstarted = time.time()", "time.time"),
        ("from datetime import datetime\ntoday = datetime.now()", "datetime.datetime.now"),
        ("import random as chance\npick = chance.random()", "random.random"),
        ("import uuid\nkey = uuid.uuid4()", "uuid.uuid4"),
        ("from os import environ\nhome = environ['HOME']", "os.environ"),
        ("text = open('settings').read()", "__builtins__.open"),
    ],
)
def test_the_check_finds_a_non_deterministic_call(source: str, reached: str) -> None:
    assert [use.split(": ")[1] for use in restricted_uses(source)] == [reached]


def test_the_check_lets_deterministic_code_through() -> None:
    source = (
        "from datetime import timedelta\nfrom temporalio import workflow\n"
        "later = workflow.now() + timedelta(seconds=1)\nnames = sorted({'b', 'a'})\n"
        "def run(input: str) -> str:\n    return input.strip()"
    )
    assert restricted_uses(source) == []


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_workflow_code_calls_nothing_non_deterministic(name: str) -> None:
    assert restricted_uses(SOURCES[name]) == []


def test_the_check_finds_shared_state() -> None:
    module = types.ModuleType("sample")

    class Holder:
        seen: list[str] = []

    Holder.__module__ = "sample"
    module.__dict__.update(cache={}, Holder=Holder, LIMIT=3, NAMES=("a",))
    assert list(mutable_state(module)) == ["sample.cache", "sample.Holder.seen"]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_workflow_modules_hold_no_state_instances_could_share(module: types.ModuleType) -> None:
    assert list(mutable_state(module)) == []
