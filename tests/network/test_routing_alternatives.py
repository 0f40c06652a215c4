"""Alternative routes (issue 15): k shortest paths, the route plan, and the bound and checks that follow them.

The network is the two-crossing one of ``tests/sim/test_routing_policy.py``: ``s -> h``, then
``h -> a -> u`` (0.5 + 0.5 days) or ``h -> b -> u`` (3 + 0.5 days).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from network.build import build_graph, supply_graph
from network.capacity import max_flow_bound
from network.checks import check
from network.routing import alternatives, decision_nodes, plan_routes_from, route_plan, routed_links
from scenarios.schema import Scenario
from tests.sim.test_routing_policy import two_crossings


def _with(s: Scenario, **routing: Any) -> Scenario:
    data = s.model_dump(by_alias=True)
    data["routing"] = {**data["routing"], **routing}
    return Scenario.model_validate(data)


def test_alternatives_shortest_first() -> None:
    g = supply_graph(two_crossings())
    assert alternatives(g, "h", "u", 3) == [("ha", "au"), ("hb", "bu")]
    assert alternatives(g, "h", "u", 1) == [("ha", "au")]
    assert alternatives(g, "s", "u", 3) == [("sh", "ha", "au"), ("sh", "hb", "bu")]
    assert alternatives(g, "u", "s", 3) == []  # no way back
    assert alternatives(g, "h", "nowhere", 3) == []
    assert alternatives(g, "h", "h", 3) == [()]


def test_route_plan_numbers_static_routes_first() -> None:
    s = two_crossings("on_departure")
    g = supply_graph(s)
    assert decision_nodes(g, s) == ("h",)
    plan = route_plan(g, s)
    assert plan.routes == (("sh", "ha", "au"), ("ha", "au"), ("hb", "bu"))
    assert plan.static == {("s", "u"): 0}
    assert plan.choices == {("h", "u"): (1, 2)}
    assert plan_routes_from(g, plan, "s", "u") == (0, 1, 2)
    static = route_plan(supply_graph(two_crossings("static")), two_crossings("static"))
    assert static.routes == (("sh", "ha", "au"),) and static.choices == {}


def test_routed_links_follow_the_policy() -> None:
    s = two_crossings("on_departure")
    assert routed_links(supply_graph(s), s) == {"sh", "ha", "au", "hb", "bu"}
    one = _with(s, k_paths=1)
    assert routed_links(supply_graph(one), one) == {"sh", "ha", "au"}
    assert routed_links(supply_graph(two_crossings()), two_crossings()) is None


def test_max_flow_bound_counts_the_alternatives_the_policy_may_use() -> None:
    """Supplier at 1000 units/day; a: 4 lanes / 0.25 d = 16 lots, b: 1 / 0.5 d = 2 lots (10 units a lot).

    Links carry 50 vehicles x 1 lot per round trip: ha 50/1 d, hb 50/6 d, au and bu 50/1 d, sh 50/1 d
    (500 units/day); so the cut is a + b = 180 units/day when both crossings may be used, a alone
    (160) when the policy's only route goes through a.
    """
    fast = {"rate_per_day": 1000}

    def scenario(policy: str, k: int = 3) -> Scenario:
        s = two_crossings(policy)
        data = s.model_dump(by_alias=True)
        for n in data["nodes"]:
            if n["id"] == "s":
                n["products"][0].update(fast)
        data["routing"]["k_paths"] = k
        return Scenario.model_validate(data)

    both = max_flow_bound(scenario("on_departure"), None, "box")
    assert both.units_per_day == pytest.approx(160 + 20)
    assert set(both.min_cut) == {"node:a", "node:b"}
    only_a = max_flow_bound(scenario("on_departure", k=1), None, "box")
    assert only_a.units_per_day == pytest.approx(160) and only_a.min_cut == ("node:a",)
    # static keeps the bound over every enabled link: looser, and still an upper bound
    assert max_flow_bound(scenario("static"), None, "box").units_per_day == pytest.approx(180)
    assert not math.isinf(both.units_per_day)


def test_graph_of_the_bound_is_the_networkx_twin() -> None:
    s = two_crossings("on_departure")
    assert routed_links(build_graph(s), s) == routed_links(supply_graph(s), s)


def test_lot_too_big_on_an_alternative_is_an_error_only_when_lots_may_take_it() -> None:
    def scenario(policy: str) -> Scenario:
        data = two_crossings(policy).model_dump(by_alias=True)
        for lk in data["links"]:
            if lk["id"] == "hb":
                lk["capacity_m3"] = 0.5  # a lot is 10 x 0.1 = 1 m3
        return Scenario.model_validate(data)

    assert [c.code for c in check(scenario("static")) if c.severity == "error"] == []
    found = [c for c in check(scenario("on_departure")) if c.severity == "error"]
    assert [(c.code, c.loc) for c in found] == [("lot_too_big", ("links", 2, "capacity_m3"))]
    assert "'hb'" in found[0].message


def test_routing_block_is_validated_and_strategies_override_it() -> None:
    with pytest.raises(ValidationError, match="reroute_in_queue needs policy: on_departure"):
        two_crossings("static", reroute_in_queue=True)
    with pytest.raises(ValidationError):
        two_crossings("by_magic")
    with pytest.raises(ValidationError):
        _with(two_crossings(), k_paths=0)
    s = two_crossings(extra={"strategies": [{"name": "respond", "overrides": {"routing.policy": "on_departure"}}]})
    assert s.routing.policy == "static" and s.routing.k_paths == 3
    assert s.with_strategy("respond").routing.policy == "on_departure"
