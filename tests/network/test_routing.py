"""Tests of network.routing: shortest routes by an edge attribute, caching, route tables."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from network.build import build_graph
from network.routing import Router, makers, route_table, route_total, suitable_suppliers
from scenarios.errors import AidflowError, NetworkError
from scenarios.schema import Scenario

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small_routers.yaml"


def link(ident: str, a: str, b: str, transit: float, km: float | None = None, **extra: Any) -> dict[str, Any]:
    data = {"id": ident, "from": a, "to": b, "mode": "road", "transit_days": transit, "vehicles": 1, "capacity_m3": 10}
    if km is not None:
        data["distance_km"] = km
    return data | extra


def scenario(links: list[dict[str, Any]], extra_nodes: list[dict[str, Any]] | None = None) -> Scenario:
    nodes = [
        {"id": "s", "kind": "supplier", "products": [{"item": "box", "rate_per_day": 5, "unit_price_eur": 1}]},
        {"id": "a", "kind": "hub", "servers": 1, "service_days": 0.1},
        {"id": "b", "kind": "border", "servers": 1, "service_days": 0.1},
        {"id": "u", "kind": "unit"},
    ]
    return Scenario.model_validate(
        {
            "name": "diamond",
            "start": dt.date(2025, 1, 1),
            "horizon_days": 30,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
            "nodes": nodes + (extra_nodes or []),
            "links": links,
        }
    )


def diamond() -> Router:
    """s -> a -> u is fast and long (1 + 1 days, 500 + 500 km); s -> b -> u slow and short (3 + 3 days, 100 + 100 km)."""
    s = scenario(
        [
            link("sa", "s", "a", 1, 500),
            link("sb", "s", "b", 3, 100),
            link("au", "a", "u", 1, 500),
            link("bu", "b", "u", 3, 100),
        ]
    )
    return Router(build_graph(s))


def test_shortest_by_transit() -> None:
    router = diamond()
    assert router.route("s", "u") == ("sa", "au")
    assert router.nodes_on("s", "u") == ("s", "a", "u")


def test_shortest_by_distance() -> None:
    router = Router(diamond().graph, weight="distance_km")
    assert router.route("s", "u") == ("sb", "bu")
    assert router.nodes_on("s", "u") == ("s", "b", "u")


def test_hops_tie_goes_to_the_first_link_in_file_order() -> None:
    router = Router(diamond().graph, weight="hops")
    assert router.route("s", "u") == ("sa", "au")
    # Same network, links listed the other way round: the tie now goes to b.
    swapped = scenario(
        [
            link("sb", "s", "b", 3, 100),
            link("sa", "s", "a", 1, 500),
            link("bu", "b", "u", 3, 100),
            link("au", "a", "u", 1, 500),
        ]
    )
    assert Router(build_graph(swapped), weight="hops").route("s", "u") == ("sb", "bu")


def test_equal_routes_are_deterministic_across_builds() -> None:
    links = [link("sa", "s", "a", 2), link("sb", "s", "b", 2), link("au", "a", "u", 2), link("bu", "b", "u", 2)]
    answers = {Router(build_graph(scenario(links))).route("s", "u") for _ in range(5)}
    assert answers == {("sa", "au")}


def test_same_node_is_an_empty_route() -> None:
    router = diamond()
    assert router.route("a", "a") == ()
    assert router.nodes_on("a", "a") == ("a",)


def test_no_route_raises_network_error() -> None:
    router = diamond()
    with pytest.raises(NetworkError, match=r"no route from 'u' to 's'"):
        router.route("u", "s")
    with pytest.raises(NetworkError, match=r"no route from 'a' to 'b'.*reachable from 'a': u"):
        router.nodes_on("a", "b")
    assert issubclass(NetworkError, AidflowError)
    assert not router.reachable("a", "b")
    assert router.reachable("s", "u")


def test_unknown_node_raises_network_error() -> None:
    with pytest.raises(NetworkError, match=r"unknown node 'nowhere'"):
        diamond().route("s", "nowhere")
    assert not diamond().reachable("s", "nowhere")


def test_unknown_weight_raises_network_error() -> None:
    with pytest.raises(NetworkError, match=r"unknown routing weight 'cost_eur'"):
        Router(diamond().graph, weight="cost_eur")


def test_routes_are_cached() -> None:
    router = diamond()
    first = router.route("s", "u")
    assert (router.misses, router.hits) == (1, 0)
    assert router.route("s", "u") is first
    assert router.nodes_on("s", "u") == ("s", "a", "u")
    assert (router.misses, router.hits) == (1, 2)
    for _ in range(3):
        with pytest.raises(NetworkError):
            router.route("u", "s")
    assert (router.misses, router.hits) == (2, 4)
    assert router.cache_size() == 2


def test_unknown_distances_lose_to_known_ones() -> None:
    # s -> a -> u has no distance on sa; s -> b -> u is known but longer (2,000 km): known wins.
    s = scenario(
        [
            link("sa", "s", "a", 1),
            link("sb", "s", "b", 1, 1000),
            link("au", "a", "u", 1, 1),
            link("bu", "b", "u", 1, 1000),
        ]
    )
    router = Router(build_graph(s), weight="distance_km")
    assert router.route("s", "u") == ("sb", "bu")
    # With no known alternative the unknown link is still usable.
    assert router.route("s", "a") == ("sa",)


def test_disabled_links_are_not_routed() -> None:
    s = scenario(
        [
            link("sa", "s", "a", 1, enabled=False),
            link("sb", "s", "b", 3),
            link("au", "a", "u", 1),
            link("bu", "b", "u", 3),
        ]
    )
    assert Router(build_graph(s)).route("s", "u") == ("sb", "bu")


def test_nearest_origin() -> None:
    extra = [{"id": "s2", "kind": "supplier", "products": [{"item": "box", "rate_per_day": 5, "unit_price_eur": 1}]}]
    s = scenario([link("sa", "s", "a", 5), link("s2a", "s2", "a", 1), link("au", "a", "u", 1)], extra)
    router = Router(build_graph(s))
    assert router.nearest(["s", "s2"], "u") == "s2"
    assert router.nearest(["b", "s"], "u") == "s"
    with pytest.raises(NetworkError, match="reaches 'u'"):
        router.nearest(["b"], "u")


def test_route_total() -> None:
    g = diamond().graph
    assert route_total(g, ("s", "b", "u"), "distance_km") == 200.0
    assert route_total(g, ("s",), "transit_days") == 0.0
    s = scenario([link("sa", "s", "a", 1), link("au", "a", "u", 1, 5)])
    assert route_total(build_graph(s), ("s", "a", "u"), "distance_km") is None


def test_route_table_on_small_routers() -> None:
    s = Scenario.model_validate(YAML(typ="safe").load(SMALL))
    rows = route_table(build_graph(s), s)
    assert [(r.item, r.supplier, r.unit) for r in rows] == [
        ("router", "riga_networks", "brigade_east"),
        ("router", "riga_networks", "brigade_south"),
        ("charger", "kyiv_power", "brigade_south"),
    ]
    east = rows[0]
    assert east.links == ("rail_lv_pl", "road_hub_border", "road_border_lviv", "road_lviv_east")
    assert east.nodes[0] == "riga_networks" and east.nodes[-1] == "brigade_east"
    assert east.expected_transit_days == pytest.approx(14 / 3 + 0.1 + 0.1 + 1.5)
    assert east.distance_km is None  # the rail link has no distance
    charger = rows[2]
    assert charger.links == ("road_kyiv_lviv", "road_lviv_south")
    assert charger.expected_transit_days == pytest.approx(2.5)
    assert charger.distance_km == 1440.0
    assert all(r.reachable for r in rows)


def test_route_table_keeps_unreachable_pairs() -> None:
    s = scenario(
        [link("sa", "s", "a", 1)],
        [
            {"id": "u2", "kind": "unit"},
            {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
        ],
    )
    data = s.model_dump(by_alias=True)
    data["requirements"] = [
        {"id": "R1", "unit": "u2", "item": "box", "qty": 1, "need_by": dt.date(2025, 1, 9), "channel": "domestic"}
    ]
    s = Scenario.model_validate(data)
    (row,) = route_table(build_graph(s), s, "hops")
    assert (row.supplier, row.unit, row.links, row.reachable) == ("s", "u2", (), False)
    assert math.isinf(row.expected_transit_days)


def test_suitable_suppliers_by_channel() -> None:
    extra = [
        {
            "id": "ua",
            "kind": "supplier",
            "domestic": True,
            "products": [{"item": "box", "rate_per_day": 5, "unit_price_eur": 1}],
        },
        {"id": "d", "kind": "donor", "budget_eur": 10},
        {"id": "ag", "kind": "agency", "staff": 1, "tender_days": 3},
    ]
    data = scenario([], extra).model_dump(by_alias=True)
    base = {"unit": "u", "item": "box", "qty": 1, "need_by": dt.date(2025, 1, 9), "funders": ["d"]}
    data["requirements"] = [base | {"id": "R1"}, base | {"id": "R2", "channel": "domestic"}]
    s = Scenario.model_validate(data)
    assert makers(s, "box") == ("s", "ua")
    assert suitable_suppliers(s, s.requirements[0]) == ("s",)
    assert suitable_suppliers(s, s.requirements[1]) == ("ua",)
