"""Tests of network.capacity: max-flow bounds checked against hand computations.

Every scenario here uses the item ``box``: 0.1 m3 a unit, lots of 10 units, so one lot is 1 m3
and a vehicle of ``capacity_m3`` carries ``floor(capacity_m3)`` lots.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from network.build import build_graph
from network.capacity import Bound, bounds, link_units_per_day, max_flow_bound, node_units_per_day, resource_capacities
from scenarios.schema import Scenario

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small_routers.yaml"


def sup(ident: str, rate: float = 1000.0, domestic: bool = False, **product: Any) -> dict[str, Any]:
    line = {"item": "box", "rate_per_day": rate, "unit_price_eur": 1} | product
    return {"id": ident, "kind": "supplier", "domestic": domestic, "products": [line]}


def hub(ident: str, servers: int, service_days: float) -> dict[str, Any]:
    """``servers / service_days`` lots a day, times 10 units a lot."""
    return {"id": ident, "kind": "hub", "servers": servers, "service_days": service_days}


def link(
    ident: str, a: str, b: str, vehicles: int = 1, capacity_m3: float = 10, transit: float = 1, **extra: Any
) -> dict[str, Any]:
    """Default: 1 vehicle x 10 lots x 10 units / (1 + 1) days = 50 units a day."""
    data = {
        "id": ident,
        "from": a,
        "to": b,
        "mode": "road",
        "transit_days": transit,
        "vehicles": vehicles,
        "capacity_m3": capacity_m3,
    }
    return data | extra


def scenario(nodes: list[dict[str, Any]], links: list[dict[str, Any]], units: tuple[str, ...] = ("u",)) -> Scenario:
    """Domestic requirements of box at each of ``units``, paid by an unlimited state budget."""
    reqs = [
        {"id": f"R{i}", "unit": u, "item": "box", "qty": 100, "need_by": dt.date(2025, 2, 1), "channel": "domestic"}
        for i, u in enumerate(units)
    ]
    nodes = [n | {"domestic": True} if n["kind"] == "supplier" else n for n in nodes]
    return Scenario.model_validate(
        {
            "name": "flow",
            "start": dt.date(2025, 1, 1),
            "horizon_days": 60,
            "items": [
                {"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10},
                {"id": "crate", "unit_value_eur": 1, "volume_m3": 1.0, "lot_size": 1},
            ],
            "nodes": [
                *nodes,
                *({"id": u, "kind": "unit"} for u in units),
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
            ],
            "links": links,
            "requirements": reqs,
        }
    )


def bound_of(s: Scenario, item: str = "box") -> Bound:
    return max_flow_bound(s, build_graph(s), item)


def test_series_bottleneck_is_the_slowest_stage() -> None:
    # supplier s: 100 units/day
    # link l0 s->h: 2 vehicles x floor(5 m3 / 1 m3) = 5 lots x 10 units / (1 + 1) days = 50/day
    # hub h: 1 server / 0.25 days = 4 lots/day x 10 = 40/day      <- the slowest stage
    # link l1 h->u: 1 vehicle x 10 lots x 10 units / 2 days = 50/day
    # bound = min(100, 50, 40, 50) = 40, cut = {node:h}
    s = scenario(
        [sup("s", rate=100), hub("h", 1, 0.25)], [link("l0", "s", "h", vehicles=2, capacity_m3=5), link("l1", "h", "u")]
    )
    b = bound_of(s)
    assert b == Bound("box", 40.0, ("node:h",), {"node:h": 40.0})
    caps = resource_capacities(s, build_graph(s), "box")
    assert caps == {"supplier:s": 100.0, "node:h": 40.0, "link:l0": 50.0, "link:l1": 50.0}


def test_series_bottleneck_moves_to_the_supplier() -> None:
    # Same chain with a supplier of 30/day: min(30, 50, 40, 50) = 30 at the supplier.
    s = scenario(
        [sup("s", rate=30), hub("h", 1, 0.25)], [link("l0", "s", "h", vehicles=2, capacity_m3=5), link("l1", "h", "u")]
    )
    assert bound_of(s) == Bound("box", 30.0, ("supplier:s",), {"supplier:s": 30.0})


def test_parallel_branches_add_up() -> None:
    # s (1000/day) -> h1 -> u and s -> h2 -> u; links 50/day each (defaults)... too big to bind:
    # use 4 vehicles on every link: 4 x 10 x 10 / 2 = 200/day.
    # h1: 2 servers / 1 day = 2 lots/day = 20/day; h2: 3 / 1 = 3 lots/day = 30/day
    # bound = 20 + 30 = 50, cut = {node:h1, node:h2}
    s = scenario(
        [sup("s"), hub("h1", 2, 1.0), hub("h2", 3, 1.0)],
        [link("a1", "s", "h1", 4), link("a2", "s", "h2", 4), link("b1", "h1", "u", 4), link("b2", "h2", "u", 4)],
    )
    b = bound_of(s)
    assert b.units_per_day == pytest.approx(50.0)
    assert b.min_cut == ("node:h1", "node:h2")
    assert b.by_resource == {"node:h1": 20.0, "node:h2": 30.0}


def test_diamond_with_shared_link_binds_at_the_shared_link() -> None:
    # s -> h0 over `shared`: 1 vehicle x 9 lots x 10 / (1 + 1) = 45/day
    # h0 (unlimited: 0-day service) -> a -> u and h0 -> b -> u:
    #   branch a: link h0->a 1 vehicle x 4 lots x 10 / 2 = 20/day; branch b: 6 lots -> 30/day
    #   (hubs a, b: 10 servers / 0.1 day = 100 lots/day = 1000/day, links into u 200/day)
    # bound = min(shared, a + b) = min(45, 50) = 45, cut = {link:shared}
    nodes = [sup("s"), hub("h0", 1, 0.0), hub("a", 10, 0.1), hub("b", 10, 0.1)]
    links = [
        link("shared", "s", "h0", capacity_m3=9),
        link("to_a", "h0", "a", capacity_m3=4),
        link("to_b", "h0", "b", capacity_m3=6),
        link("a_u", "a", "u", 4),
        link("b_u", "b", "u", 4),
    ]
    b = bound_of(scenario(nodes, links))
    assert b == Bound("box", 45.0, ("link:shared",), {"link:shared": 45.0})


def test_diamond_with_wide_shared_link_binds_at_the_branches() -> None:
    # As above with shared = 1 vehicle x 12 lots x 10 / 2 = 60/day: min(60, 20 + 30) = 50.
    nodes = [sup("s"), hub("h0", 1, 0.0), hub("a", 10, 0.1), hub("b", 10, 0.1)]
    links = [
        link("shared", "s", "h0", capacity_m3=12),
        link("to_a", "h0", "a", capacity_m3=4),
        link("to_b", "h0", "b", capacity_m3=6),
        link("a_u", "a", "u", 4),
        link("b_u", "b", "u", 4),
    ]
    b = bound_of(scenario(nodes, links))
    assert b.units_per_day == pytest.approx(50.0)
    assert b.by_resource == {"link:to_a": 20.0, "link:to_b": 30.0}


def test_scheduled_dispatch_caps_a_link() -> None:
    # Link s->u: 2 vehicles x 10 lots x 10 units = 200 units a trip; round trip 1 + 1 days.
    # immediate: 200 / 2 = 100/day; scheduled every 5 days: min(100, 200 / 5 = 40) = 40/day.
    # every 1 day: min(100, 200) = 100/day (the round trip binds).
    immediate = scenario([sup("s")], [link("l", "s", "u", vehicles=2)])
    assert bound_of(immediate) == Bound("box", 100.0, ("link:l",), {"link:l": 100.0})
    every5 = scenario([sup("s")], [link("l", "s", "u", vehicles=2, dispatch={"rule": "scheduled", "every_days": 5})])
    assert bound_of(every5) == Bound("box", 40.0, ("link:l",), {"link:l": 40.0})
    every1 = scenario([sup("s")], [link("l", "s", "u", vehicles=2, dispatch={"rule": "scheduled", "every_days": 1})])
    assert bound_of(every1).units_per_day == 100.0


def test_return_days_enter_the_round_trip() -> None:
    # 1 vehicle x 10 lots x 10 units / (1 + 4) days = 20/day.
    s = scenario([sup("s")], [link("l", "s", "u", return_days=4)])
    assert bound_of(s).units_per_day == pytest.approx(20.0)


def test_lot_that_does_not_fit_gives_zero_and_names_the_link() -> None:
    # A lot is 1 m3; a 0.5 m3 vehicle carries 0 lots: 0/day, the link is the cut.
    s = scenario([sup("s"), hub("h", 1, 1.0)], [link("l0", "s", "h"), link("l1", "h", "u", capacity_m3=0.5)])
    b = bound_of(s)
    assert b.units_per_day == 0.0
    assert b.min_cut == ("link:l1",)


def test_ramp_peak_rate_feeds_the_source() -> None:
    # base 10/day, ramp up to x3 -> 30/day, below the link's 50/day.
    s = scenario([sup("s", rate=10, ramp=[{"day": 0, "factor": 1}, {"day": 20, "factor": 3}])], [link("l", "s", "u")])
    assert bound_of(s) == Bound("box", 30.0, ("supplier:s",), {"supplier:s": 30.0})


def test_instant_links_and_service_are_unlimited() -> None:
    # Zero round trip and zero service are unlimited; only the supplier (70/day) binds.
    s = scenario(
        [sup("s", rate=70), hub("h", 1, 0.0)], [link("l0", "s", "h", transit=0), link("l1", "h", "u", transit=0)]
    )
    caps = resource_capacities(s, build_graph(s), "box")
    assert math.isinf(caps["node:h"]) and math.isinf(caps["link:l0"])
    assert bound_of(s) == Bound("box", 70.0, ("supplier:s",), {"supplier:s": 70.0})


def test_unreachable_unit_gives_zero() -> None:
    s = scenario([sup("s")], [], units=("u",))
    b = bound_of(s)
    assert (b.units_per_day, b.min_cut) == (0.0, ())


def test_item_without_requirement_flows_to_reachable_units() -> None:
    # s also makes crate (1 m3 lots of 1 unit, 100/day), which no requirement asks for; the
    # reachable unit u2 drains it: link s->u2 carries 1 vehicle x 10 lots x 1 unit / 2 days = 5/day.
    # The isolated unit u adds nothing. Nobody makes "crate" in other scenarios: 0.
    crate = {"item": "crate", "rate_per_day": 100, "unit_price_eur": 1}
    s0 = sup("s")
    s0["products"].append(crate)
    s = scenario([s0, {"id": "u2", "kind": "unit"}], [link("l", "s", "u2")])
    assert bound_of(s, "crate") == Bound("crate", 5.0, ("link:l",), {"link:l": 5.0})
    assert bound_of(scenario([sup("s")], [link("l", "s", "u")]), "crate").units_per_day == 0.0


def test_foreign_supplier_excluded_from_domestic_requirement() -> None:
    # Both suppliers reach u, the requirement is domestic: only ua's 5/day counts.
    s = scenario([sup("s", rate=40), sup("ua", rate=5)], [link("l0", "s", "u"), link("l1", "ua", "u")])
    data = s.model_dump(by_alias=True)
    data["nodes"][0]["domestic"] = False
    s = Scenario.model_validate(data)
    assert bound_of(s) == Bound("box", 5.0, ("supplier:ua",), {"supplier:ua": 5.0})


def test_bounds_on_small_routers() -> None:
    # router: riga 50/day; rail 2 x 60 lots x 100 / (14/3 + 4) = 1,384/day, scheduled 12,000/3;
    #   hub 2 / 0.25 = 8 lots = 800/day; border 3 / 0.35 lots; ... -> the supplier binds at 50.
    # charger: kyiv peak 8 x 1.0 = 8/day; road 2 x floor(20 / 4.24) = 4 lots x 53 / 2 = 212/day.
    s = Scenario.model_validate(YAML(typ="safe").load(SMALL))
    got = bounds(s)
    assert [(b.item, b.units_per_day, b.min_cut) for b in got] == [
        ("router", 50.0, ("supplier:riga_networks",)),
        ("charger", 8.0, ("supplier:kyiv_power",)),
    ]
    caps = resource_capacities(s, build_graph(s), "charger")
    assert caps["link:road_kyiv_lviv"] == pytest.approx(212.0)
    assert caps["node:lviv_depot"] == pytest.approx(10 * 53)


def test_capacity_helpers() -> None:
    s = scenario([sup("s")], [])
    box = s.item("box")
    assert node_units_per_day({"lots_per_day": 2.5}, box) == 25.0
    assert math.isinf(node_units_per_day({"lots_per_day": math.inf}, box))
    edge = {"vehicles": 3, "capacity_m3": 2.5, "round_trip_days": 4.0, "dispatch": "immediate", "every_days": None}
    assert link_units_per_day(edge, box) == pytest.approx(3 * 2 * 10 / 4)


# --------------------------------------------------------------------------- property test


@st.composite
def layered(draw: st.DrawFn) -> tuple[Scenario, list[float], float, float]:
    """Suppliers -> hubs -> one depot -> one unit over a single last link.

    Returns the scenario, the supplier rates, the last link's and the depot's capacity (units/day).
    """
    n_sup = draw(st.integers(1, 3))
    n_hub = draw(st.integers(1, 3))
    rates = [draw(st.floats(0.5, 500, allow_nan=False)) for _ in range(n_sup)]
    nodes: list[dict[str, Any]] = [sup(f"s{i}", rate=r) for i, r in enumerate(rates)]
    nodes += [hub(f"h{j}", draw(st.integers(1, 5)), draw(st.floats(0.01, 3))) for j in range(n_hub)]
    depot_servers, depot_days = draw(st.integers(1, 5)), draw(st.floats(0.01, 3))
    nodes.append({"id": "dp", "kind": "depot", "servers": depot_servers, "service_days": depot_days})

    def any_link(ident: str, a: str, b: str) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if draw(st.booleans()):
            extra["dispatch"] = {"rule": "scheduled", "every_days": draw(st.floats(0.5, 10))}
        return link(ident, a, b, draw(st.integers(1, 6)), draw(st.floats(0.5, 40)), draw(st.floats(0, 5)), **extra)

    links = []
    for i in range(n_sup):
        for j in range(n_hub):
            if draw(st.booleans()):
                links.append(any_link(f"s{i}_h{j}", f"s{i}", f"h{j}"))
    links += [any_link(f"h{j}_dp", f"h{j}", "dp") for j in range(n_hub)]
    last = any_link("last", "dp", "u")
    links.append(last)
    s = scenario(nodes, links)
    g = build_graph(s)
    last_cap = link_units_per_day(g.edges["dp", "u"], s.item("box"))
    depot_cap = node_units_per_day(g.nodes["dp"], s.item("box"))
    return s, rates, last_cap, depot_cap


@settings(max_examples=200, deadline=None)
@given(layered())
def test_bound_never_exceeds_a_hand_cut(case: tuple[Scenario, list[float], float, float]) -> None:
    s, rates, last_cap, depot_cap = case
    g = build_graph(s)
    b = max_flow_bound(s, g, "box")
    assert 0.0 <= b.units_per_day < math.inf
    tol = 1e-6 * max(1.0, b.units_per_day)
    assert b.units_per_day <= math.fsum(rates) + tol  # the cut {all suppliers}
    assert b.units_per_day <= last_cap + tol  # the cut {the only link into the unit}
    assert b.units_per_day <= depot_cap + tol  # the cut {the depot every lot crosses}
    # The reported cut is a real cut whose capacity is the bound (max-flow = min-cut).
    assert b.units_per_day == pytest.approx(math.fsum(b.by_resource.values()))
    assert set(b.min_cut) == set(b.by_resource)
    # And the bound equals the plain max-flow value recomputed by networkx (preflow push).
    caps = resource_capacities(s, g, "box")
    assert all(b.by_resource[r] == caps[r] for r in b.min_cut)
    if not any(name.startswith("supplier:") for name in caps):
        assert b.units_per_day == 0.0  # no supplier reaches the unit
        return
    flow = nx.DiGraph()
    for name, cap in caps.items():
        kind, ident = name.split(":")
        if kind == "supplier":
            flow.add_edge("SRC", ident, capacity=cap)
        elif kind == "node":
            flow.add_edge(f"{ident}.in", ident, capacity=cap)
    for u, v, data in g.edges(data=True):
        head = f"{v}.in" if g.nodes[v]["kind"] == "hub" or v == "dp" else v
        flow.add_edge(u, head, capacity=caps[f"link:{data['link']}"])
    flow.add_edge("u", "SINK")
    assert b.units_per_day == pytest.approx(
        nx.maximum_flow_value(flow, "SRC", "SINK", flow_func=nx.algorithms.flow.edmonds_karp), rel=1e-9, abs=1e-9
    )
