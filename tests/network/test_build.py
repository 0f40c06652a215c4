"""Tests of network.build: the supply graph's nodes, edges and attributes."""

from __future__ import annotations

import datetime as dt
import math
import pickle
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from ruamel.yaml import YAML

from network.build import build_graph, link_edges, lot_volume_m3, lots_per_vehicle, peak_rate_per_day
from scenarios.schema import Item, Product, Scenario

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small_routers.yaml"


@pytest.fixture(scope="module")
def small() -> Scenario:
    return Scenario.model_validate(YAML(typ="safe").load(SMALL))


@pytest.fixture(scope="module")
def graph(small: Scenario) -> nx.DiGraph:
    return build_graph(small)


def tiny(links: list[dict[str, Any]], **node_extra: Any) -> Scenario:
    """A supplier ``s``, a hub ``h`` and a unit ``u``; ``links`` between them."""
    hub = {"id": "h", "kind": "hub", "servers": 2, "service_days": 0.5} | node_extra
    return Scenario.model_validate(
        {
            "name": "tiny",
            "start": dt.date(2025, 1, 1),
            "horizon_days": 30,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
            "nodes": [
                {"id": "s", "kind": "supplier", "products": [{"item": "box", "rate_per_day": 5, "unit_price_eur": 1}]},
                hub,
                {"id": "u", "kind": "unit"},
            ],
            "links": links,
        }
    )


def link(ident: str, a: str, b: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "from": a,
        "to": b,
        "mode": "road",
        "transit_days": 1,
        "vehicles": 1,
        "capacity_m3": 10,
    } | extra


def test_graph_has_every_node_and_each_enabled_link(small: Scenario, graph: nx.DiGraph) -> None:
    assert list(graph.nodes) == [n.id for n in small.nodes]
    assert graph.number_of_edges() == len(small.links) == 6
    assert graph.graph["scenario"] == "small_routers"


def test_graph_is_frozen(graph: nx.DiGraph) -> None:
    assert nx.is_frozen(graph)
    with pytest.raises(nx.NetworkXError):
        graph.add_node("extra")
    with pytest.raises(nx.NetworkXError):
        graph.add_edge("luxembourg", "nspa")


def test_common_node_attributes(graph: nx.DiGraph) -> None:
    lux = graph.nodes["luxembourg"]
    assert (lux["kind"], lux["lat"], lux["lon"], lux["index"]) == ("donor", 49.61, 6.13, 0)
    assert graph.nodes["nspa"]["kind"] == "agency"
    assert graph.nodes["brigade_east"]["kind"] == "unit"
    assert graph.nodes["brigade_south"]["consumption_per_day"] == {"charger": 0.5}


def test_handling_node_attributes(graph: nx.DiGraph) -> None:
    hub = graph.nodes["rzeszow_hub"]
    assert hub["servers"] == 2
    assert hub["service_days_mean"] == pytest.approx(0.25)
    assert hub["storage_cap_lots"] == 40
    assert hub["lots_per_day"] == pytest.approx(8.0)  # 2 servers / 0.25 days
    border = graph.nodes["korczowa_krakovets"]
    assert border["service_days_mean"] == pytest.approx(0.35)  # uniform(0.1, 0.6)
    assert border["lots_per_day"] == pytest.approx(3 / 0.35)
    assert border["storage_cap_lots"] is None
    assert graph.nodes["lviv_depot"]["lots_per_day"] == pytest.approx(10.0)


def test_supplier_attributes(graph: nx.DiGraph) -> None:
    riga = graph.nodes["riga_networks"]
    assert riga["domestic"] is False
    assert riga["country"] == "LV"
    assert riga["products"] == {
        "router": {"rate_per_day": 50.0, "peak_rate_per_day": 50.0, "unit_price_eur": 77.0, "initial_stock": 200}
    }
    kyiv = graph.nodes["kyiv_power"]
    assert kyiv["domestic"] is True
    assert kyiv["products"]["charger"]["rate_per_day"] == 8.0
    assert kyiv["products"]["charger"]["peak_rate_per_day"] == 8.0  # ramp 0.5 -> 1.0


def test_edge_attributes(graph: nx.DiGraph) -> None:
    rail = graph.edges["riga_networks", "rzeszow_hub"]
    assert rail["link"] == "rail_lv_pl"
    assert rail["link_index"] == 0
    assert rail["mode"] == "rail"
    assert rail["transit_days"] == pytest.approx(14 / 3)  # triangular(3, 4, 7)
    assert rail["return_days"] == 4.0
    assert rail["round_trip_days"] == pytest.approx(14 / 3 + 4)
    assert (rail["vehicles"], rail["capacity_m3"]) == (2, 60.0)
    assert rail["distance_km"] is None
    assert rail["hops"] == 1
    assert (rail["dispatch"], rail["every_days"], rail["first_day"], rail["max_wait_days"]) == (
        "scheduled",
        3.0,
        0.0,
        None,
    )
    road = graph.edges["rzeszow_hub", "korczowa_krakovets"]
    assert (road["dispatch"], road["max_wait_days"], road["every_days"]) == ("full", 1.0, None)
    assert road["distance_km"] == 90.0
    east = graph.edges["lviv_depot", "brigade_east"]
    assert east["loss_probability"] == 0.01
    assert east["transit_days"] == pytest.approx(1.5)
    assert east["dispatch"] == "immediate"


def test_link_edges_in_file_order(small: Scenario, graph: nx.DiGraph) -> None:
    edges = link_edges(graph)
    assert list(edges) == [lk.id for lk in small.links]
    assert edges["road_kyiv_lviv"] == ("kyiv_power", "lviv_depot")


def test_build_is_deterministic_and_picklable(small: Scenario, graph: nx.DiGraph) -> None:
    again = build_graph(small)
    assert list(again.edges(data=True)) == list(graph.edges(data=True))
    assert list(again.nodes(data=True)) == list(graph.nodes(data=True))
    copy = pickle.loads(pickle.dumps(graph))
    assert list(copy.edges(data=True)) == list(graph.edges(data=True))


def test_disabled_links_are_left_out() -> None:
    g = build_graph(tiny([link("a", "s", "h", enabled=False), link("b", "h", "u")]))
    assert list(g.edges) == [("h", "u")]


def test_parallel_links_keep_the_first() -> None:
    g = build_graph(tiny([link("a", "s", "h", vehicles=3), link("b", "s", "h", vehicles=9)]))
    assert g.number_of_edges() == 1
    assert g.edges["s", "h"]["link"] == "a"
    assert g.edges["s", "h"]["vehicles"] == 3


def test_return_defaults_to_transit() -> None:
    g = build_graph(tiny([link("a", "s", "h", transit_days={"dist": "exponential", "mean": 2.5})]))
    assert g.edges["s", "h"]["return_days"] == 2.5
    assert g.edges["s", "h"]["round_trip_days"] == 5.0


def test_instant_service_is_unlimited_and_no_location_is_none() -> None:
    g = build_graph(tiny([], service_days=0))
    assert math.isinf(g.nodes["h"]["lots_per_day"])
    assert g.nodes["h"]["lat"] is None and g.nodes["h"]["lon"] is None


def test_peak_rate_uses_largest_ramp_factor() -> None:
    p = Product(
        item="x", rate_per_day=10, unit_price_eur=1, ramp=[{"day": 0, "factor": 0.5}, {"day": 9, "factor": 2.5}]
    )
    assert peak_rate_per_day(p) == 25.0
    assert peak_rate_per_day(Product(item="x", rate_per_day=10, unit_price_eur=1)) == 10.0


def test_lot_volume_and_lots_per_vehicle() -> None:
    item = Item(id="x", unit_value_eur=1, volume_m3=0.01, lot_size=100)
    assert lot_volume_m3(item) == pytest.approx(1.0)
    assert lots_per_vehicle(60.0, 1.0) == 60
    assert lots_per_vehicle(0.3, 0.1) == 3  # 2.9999999999999996 without the tolerance
    assert lots_per_vehicle(0.99, 1.0) == 0
