"""A strategy may add stock policies that are valid only together (issue 14).

A depot's policy and a unit's policy drawing on that depot (``source``) are each one override;
the unit's alone refers to a depot without a policy, so it is invalid alone, but the strategy as
a whole is a valid scenario and must load. An override that is invalid alone and still invalid
with the others stays reported at its own line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.errors import ScenarioError
from scenarios.load import load_text

CHAIN = Path(__file__).resolve().parents[1] / "sim" / "inventory" / "depot_chain.yaml"


def _base() -> str:
    """depot_chain.yaml without its two stock policies (the depot then only passes lots through)."""
    lines = CHAIN.read_text(encoding="utf-8").split("\n")
    out: list[str] = []
    skip = False
    for line in lines:
        if line.strip() == "stock_policies:":
            skip = True
            continue
        if skip:
            skip = False
            continue
        out.append(line)
    return "\n".join(out)


DEPOT = "      nodes.depot.stock_policies: {shell: {rule: s_S, reorder_point: 10, order_up_to: 40}}\n"
UNIT = "      nodes.brigade.stock_policies: {shell: {rule: s_S, reorder_point: 5, order_up_to: 25, source: depot}}\n"


def test_depot_and_unit_policies_valid_together_load() -> None:
    text = _base() + "strategies:\n  - name: forward\n    overrides:\n" + DEPOT + UNIT
    scenario, _ = load_text(text, "chain.yaml")
    forward = scenario.with_strategy("forward")
    depot = next(n for n in forward.nodes if n.id == "depot")
    brigade = next(n for n in forward.nodes if n.id == "brigade")
    assert depot.stock_policies["shell"].order_up_to == 40  # type: ignore[union-attr]
    assert brigade.stock_policies["shell"].source == "depot"  # type: ignore[union-attr]


def test_unit_policy_on_a_depot_without_one_is_refused_at_its_line() -> None:
    text = _base() + "strategies:\n  - name: forward\n    overrides:\n" + UNIT
    with pytest.raises(ScenarioError) as info:
        load_text(text, "chain.yaml")
    [problem] = info.value.problems
    assert problem.path == "strategies[0].overrides.nodes.brigade.stock_policies"
    assert problem.line == text.split("\n").index(UNIT.rstrip("\n")) + 1
    assert "has no stock policy for 'shell'" in problem.message
