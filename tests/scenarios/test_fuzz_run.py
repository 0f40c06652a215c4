"""Run fuzzing: a valid variant of a library scenario runs to a clear end, never to an internal error.

Each example takes the small routers scenario as plain data and moves a few of its numbers
(durations, rates, counts, capacities, quantities, probabilities) to other values, small,
large or at the language's limits. A variant the loader or the network checks refuse is
bad input (the CLI exits 2) and is set aside; every other variant runs one replication
under a small event budget. The run must end with a status (completed, incomplete,
deadlocked, or failed with a message that says why), and its log must keep its basic
invariants; no exception may escape ``run``.
"""

from __future__ import annotations

import copy
import io
import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from network.checks import check
from scenarios.errors import ScenarioError
from scenarios.load import load_text
from sim.run import run

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = YAML(typ="safe", pure=True).load(ROOT / "scenarios" / "small_routers.yaml")
MAX_EVENTS = 20_000
"""Event budget of each fuzzed run: enough for the base scenario (about 600 events), small
enough that a variant asking for millions of events fails fast."""

Path_ = tuple[str | int, ...]


def _numbers(node: Any, here: Path_ = ()) -> list[Path_]:
    """Paths of every int or float leaf (not booleans, not the seed)."""
    out: list[Path_] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in ("seed", "replications", "lat", "lon"):
                out += _numbers(value, (*here, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _numbers(value, (*here, i))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        out.append(here)
    return out


NUMBERS = _numbers(BASE)
FACTORS = [0.0, 1e-9, 1e-3, 0.1, 0.5, 2.0, 10.0, 1e3, 1e6]
EDGES = [0, 1, 0.0006944, 1e-9, 1e-12, 0.999999, 1, 100_000, 1e12]


def _set(data: dict[str, Any], path: Path_, value: Any) -> None:
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _get(data: dict[str, Any], path: Path_) -> Any:
    node: Any = data
    for part in path:
        node = node[part]
    return node


def _dump(data: Any) -> str:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, out)
    return out.getvalue()


change = st.tuples(
    st.sampled_from(NUMBERS),
    st.one_of(
        st.tuples(st.just("scale"), st.sampled_from(FACTORS)), st.tuples(st.just("edge"), st.sampled_from(EDGES))
    ),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(st.lists(change, min_size=1, max_size=4), st.sampled_from(["baseline", "bilateral", "more_lanes"]))
def test_a_valid_variant_runs_to_a_clear_end(changes: list[tuple[Path_, tuple[str, float]]], strategy: str) -> None:
    data = copy.deepcopy(BASE)
    for path, (how, x) in changes:
        old = _get(data, path)
        new = old * x if how == "scale" else x
        _set(data, path, round(new) if isinstance(old, int) and math.isfinite(new) else new)
    try:
        scenario, _ = load_text(_dump(data), "variant.yaml")
    except ScenarioError:
        assume(False)  # bad input: refused with exit 2, covered by the mutation tests
        return
    assume(not [c for c in check(scenario.with_strategy(strategy)) if c.severity == "error"])

    log, result = run(scenario, strategy, max_events=MAX_EVENTS)

    assert result.status in ("completed", "incomplete", "deadlocked", "failed")
    if result.status == "failed":
        assert result.error, "a failed run says why"
    if result.status == "deadlocked":
        assert result.blocked
    assert 0 < result.events <= MAX_EVENTS + 1 and result.max_events == MAX_EVENTS
    assert 0.0 <= result.end_day <= scenario.horizon_days
    t = log.table().column("t").to_numpy()
    assert len(t) == result.rows
    assert bool((t[1:] >= t[:-1]).all()) and all(math.isfinite(x) for x in t)
