"""Structural warnings count stock policies (issue 14): a supplier a policy orders from is not idle,
and a unit with a policy for the item it consumes receives it.

A stock policy's order is a requirement on its channel (``sim.model.inventory``): a depot's or a
unit's policy without ``source`` takes from the suppliers of its item suitable for its channel,
like a requirement to that node; a unit's policy with ``source`` draws on the depot.
"""

from __future__ import annotations

from typing import Any

from network.checks import check
from tests.network.test_checks import found, hub, link, req, scenario, sup, unit


def depot(ident: str, **extra: Any) -> dict[str, Any]:
    return hub(ident, "depot") | extra


def test_suppliers_of_a_depot_policy_and_a_unit_drawing_on_it() -> None:
    # ua (index 3) makes crate, ordered only by the depot's domestic policy; u draws crate from the
    # depot and consumes it; s makes box for R1.
    s = scenario(
        [
            sup("s"),
            sup("ua", "crate", domestic=True),
            depot(
                "dep", stock_policies={"crate": {"rule": "R_Q", "reorder_point": 5, "order_qty": 10, "funders": ["d"]}}
            ),
            unit(
                "u",
                consumption_per_day={"crate": 1.0},
                stock_policies={"crate": {"rule": "R_Q", "reorder_point": 2, "order_qty": 5, "source": "dep"}},
            ),
        ],
        [link("l0", "s", "u"), link("l1", "ua", "dep"), link("l2", "dep", "u")],
        [req("R1", "u")],
    )
    checks = check(s)
    assert found(checks, "idle_supplier") == []
    assert found(checks, "never_received") == []


def test_a_unit_policy_takes_only_from_suppliers_of_its_channel() -> None:
    # f (index 3, foreign) and ua (index 4, domestic) make crate; u's bilateral policy takes from f
    # only (a non-domestic maker exists), so ua stays idle; without the policy both were idle.
    nodes = [
        sup("s"),
        sup("f", "crate"),
        sup("ua", "crate", domestic=True),
        unit(
            "u",
            stock_policies={
                "crate": {"rule": "T_S", "period_days": 7, "order_up_to": 20, "channel": "bilateral", "funders": ["d"]}
            },
        ),
    ]
    links = [link("l0", "s", "u"), link("l1", "f", "u"), link("l2", "ua", "u")]
    checks = check(scenario(nodes, links, [req("R1", "u")]))
    assert found(checks, "idle_supplier") == [(("nodes", 4, "products"), "warning")]
    assert "no requirement's channel takes from it" in next(c.message for c in checks if c.code == "idle_supplier")
    nodes[3] = unit("u")
    assert found(check(scenario(nodes, links, [req("R1", "u")])), "idle_supplier") == [
        (("nodes", 3, "products"), "warning"),
        (("nodes", 4, "products"), "warning"),
    ]


def test_a_policy_the_unit_consumes_without_still_warns_for_other_items() -> None:
    # u has a policy for crate only: consuming box, which no requirement delivers, still warns.
    s = scenario(
        [
            sup("s", "crate"),
            unit(
                "u",
                consumption_per_day={"box": 1.0, "crate": 1.0},
                stock_policies={"crate": {"rule": "s_S", "reorder_point": 1, "order_up_to": 5, "funders": ["d"]}},
            ),
        ],
        [link("l0", "s", "u")],
        [],
    )
    assert found(check(s), "never_received") == [(("nodes", 3, "consumption_per_day", "box"), "warning")]
