"""Mutation fuzzing: a damaged scenario gives a Scenario or a ScenarioError, never anything else.

Each example takes a library scenario as plain data, damages it at a few random paths (drop a
key, duplicate a list entry, retype a value, push a number to 0, negative, NaN, inf, huge,
subnormal or a boolean, give an id another entry's id, set a strategy override to any of
those), writes it back as YAML text and loads it.
"""

from __future__ import annotations

import copy
import io
import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from scenarios.errors import ScenarioError
from scenarios.load import load_text
from scenarios.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = YAML(typ="safe", pure=True).load(ROOT / "scenarios" / "small_routers.yaml")

Path_ = tuple[str | int, ...]


def _paths(node: Any, here: Path_ = ()) -> list[Path_]:
    """Every path into ``node`` (containers and leaves), in document order."""
    out = [here] if here else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*here, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*here, i))
    return out


PATHS = _paths(BASE)
LIBRARY: dict[str, dict[str, Any]] = {
    p.name: YAML(typ="safe", pure=True).load(p) for p in sorted((ROOT / "scenarios").glob("*.yaml"))
}
LIBRARY_PATHS = {name: _paths(data) for name, data in LIBRARY.items()}

REPLACEMENTS: list[Any] = [
    "x",
    "",
    "three",
    [],
    [1, "a"],
    {},
    {"dist": "gamma"},
    {"kind": "hub"},
    None,
    True,
    False,
    1.5,
    0,
    -1,
    -0.0,
    math.nan,
    math.inf,
    -math.inf,
    10**12 + 1,
    10**100,
    2**63,
    1e308,
    "2025-02-30",
    "links.nope.vehicles",
    "\u00e9\u4e2d\U0001f600",
    "[/bold]",
    "5",
    1e-320,
    5e-324,
    -1e-320,
    1e-9,
    2**53 + 1,
    {"rule": "scheduled", "every_days": 1e-9},
    {"dist": "exponential", "mean": 1e-320},
]

mutation = st.tuples(
    st.sampled_from(PATHS),
    st.sampled_from(["drop", "duplicate", "replace", "numeric"]),
    st.sampled_from(REPLACEMENTS),
    st.sampled_from([0, -1, -1e-9, 1e15, 10**13, math.nan, math.inf, 1e-320, 5e-324, 1e308, True, False, 1e-12]),
)


def _mutate(data: dict[str, Any], path: Path_, how: str, replacement: Any, number: Any) -> None:
    parent: Any = data
    for part in path[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return  # an earlier mutation removed or retyped this branch
    last = path[-1]
    if not isinstance(parent, dict | list):
        return  # an earlier mutation retyped the parent (a str is indexable, but not ours)
    try:
        current = parent[last]
    except (KeyError, IndexError, TypeError):
        return
    if how == "drop":
        del parent[last]
    elif how == "duplicate" and isinstance(parent, list):
        parent.insert(int(last), copy.deepcopy(current))
    elif how == "numeric" and isinstance(current, int | float) and not isinstance(current, bool):
        parent[last] = number
    else:
        parent[last] = copy.deepcopy(replacement)


def _dump(data: Any) -> str:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, out)
    return out.getvalue()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=3))
def test_mutated_scenario_loads_or_fails_cleanly(mutations: list[tuple[Path_, str, Any, Any]]) -> None:
    data = copy.deepcopy(BASE)
    for path, how, replacement, number in mutations:
        _mutate(data, path, how, replacement, number)
    text = _dump(data)
    try:
        scenario, where = load_text(text, "mutant.yaml")
    except ScenarioError as exc:
        assert exc.problems
        lines = text.count("\n") + 1
        for problem in exc.problems:
            assert problem.file == "mutant.yaml"
            assert 1 <= problem.line <= lines and problem.col >= 1
            assert problem.message
        assert [p.line for p in exc.problems] == sorted(p.line for p in exc.problems)
    else:
        assert isinstance(scenario, Scenario)
        assert where.locate(("nodes", 0)) >= (1, 1)


def test_the_unmutated_dump_loads() -> None:
    scenario, _ = load_text(_dump(BASE), "same.yaml")
    assert scenario.name == "small_routers"


def _ids(data: dict[str, Any]) -> list[str]:
    return [
        e["id"] for key in ("nodes", "links", "items") for e in data.get(key, []) if isinstance(e, dict) and "id" in e
    ]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_mutated_library_scenario_loads_or_fails_cleanly(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(LIBRARY)), label="scenario")
    base = copy.deepcopy(LIBRARY[name])
    paths = LIBRARY_PATHS[name]
    ids = _ids(base)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        how = data.draw(st.sampled_from(["mutate", "id", "override"]), label="how")
        if how == "id" and ids:  # give one entry's id to another entry (a node, link or item)
            path = data.draw(st.sampled_from([p for p in paths if p[-1:] == ("id",) and p[0] != "sources"]))
            _mutate(base, path, "replace", data.draw(st.sampled_from(ids), label="id"), 0)
        elif how == "override" and base.get("strategies"):
            strategy = data.draw(st.sampled_from(base["strategies"]), label="strategy")
            overrides = strategy.get("overrides") or {}
            keys = sorted(overrides) + [f"{p}.vehicles" for p in ("links.nope",)] + ["horizon_days", "seed"]
            key = data.draw(st.sampled_from(keys), label="override")
            overrides[key] = copy.deepcopy(data.draw(st.sampled_from(REPLACEMENTS), label="value"))
            strategy["overrides"] = overrides
        else:
            _mutate(base, *data.draw(mutation, label="mutation"))
    text = _dump(base)
    try:
        scenario, _ = load_text(text, name)
    except ScenarioError as exc:
        assert exc.problems
        lines = text.count("\n") + 1
        for problem in exc.problems:
            assert 1 <= problem.line <= lines and problem.col >= 1 and problem.message
            assert "internal error" not in problem.message, str(problem)
    else:
        assert isinstance(scenario, Scenario)
