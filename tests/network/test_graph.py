"""network.graph: the plain-dict graph's algorithms give what networkx gives, on random graphs.

networkx is the reference here (the engine used it for routes and the checks for cycles until
``aidflow run`` stopped importing it): same shortest path (ties broken the same way), same
descendants, same strongly connected components and the same cycle from the same source.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import networkx as nx
import pytest
from ruamel.yaml import YAML

from network.build import build_graph, link_edges, supply_graph
from network.checks import check
from network.graph import SupplyGraph, descendants, dijkstra, edges_of, find_cycle, strongly_connected_components
from network.routing import Router
from scenarios.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]


def random_pair(seed: int, n: int, p: float, integer_weights: bool) -> tuple[SupplyGraph, nx.DiGraph]:
    """The same random digraph twice; small integer weights make many equally short paths."""
    rng = random.Random(seed)
    plain = SupplyGraph({"scenario": f"r{seed}"})
    ref = nx.DiGraph()
    names = [f"n{i}" for i in rng.sample(range(n), n)]  # insertion order is not sorted order
    for name in names:
        plain.add_node(name)
        ref.add_node(name)
    for u in names:
        for v in names:
            if u != v and rng.random() < p:
                w = float(rng.randint(1, 3)) if integer_weights else rng.random()
                plain.add_edge(u, v, w=w)
                ref.add_edge(u, v, w=w)
    return plain, ref


@pytest.mark.parametrize("seed", range(40))
def test_dijkstra_and_descendants_match_networkx(seed: int) -> None:
    plain, ref = random_pair(seed, n=9, p=0.3, integer_weights=seed % 2 == 0)

    def weight(u: str, v: str, d: dict[str, float]) -> float:
        return d["w"]

    for s in plain.nodes:
        assert descendants(plain, s) == nx.descendants(ref, s)
        for t in plain.nodes:
            if s == t:
                continue
            got = dijkstra(plain, s, t, weight)
            try:
                want = nx.single_source_dijkstra(ref, s, t, weight=weight)
            except nx.NetworkXNoPath:
                assert got is None
            else:
                assert got is not None
                assert (got[0], got[1]) == (want[0], want[1])


@pytest.mark.parametrize("seed", range(40))
def test_components_and_cycles_match_networkx(seed: int) -> None:
    plain, ref = random_pair(seed, n=8, p=0.22, integer_weights=True)
    got = sorted(sorted(c) for c in strongly_connected_components(plain.succ))
    assert got == sorted(sorted(c) for c in nx.strongly_connected_components(ref))
    for s in plain.nodes:
        try:
            want = [(u, v) for u, v, *_ in nx.find_cycle(ref, source=s)]
        except nx.NetworkXNoCycle:
            want = None
        assert find_cycle(plain.succ, s) == want


def test_supply_graph_is_build_graph_without_networkx() -> None:
    s = Scenario.model_validate(YAML(typ="safe").load(ROOT / "scenarios" / "small_routers.yaml"))
    plain, ref = supply_graph(s), build_graph(s)
    assert list(plain.nodes.items()) == list(ref.nodes(data=True))
    assert list(edges_of(plain)) == list(ref.edges(data=True))
    assert plain.graph == ref.graph
    assert link_edges(plain) == link_edges(ref)
    assert check(s, plain) == check(s, ref)
    a, b = Router(plain), Router(ref)
    for u in plain.nodes:
        for v in plain.nodes:
            assert a.reachable(u, v) == b.reachable(u, v)
            if a.reachable(u, v):
                assert a.route(u, v) == b.route(u, v)


def test_cycle_through_a_hub_pair_is_found_without_networkx() -> None:
    """h1 -> h2 -> h1 among physical nodes: reported once, at its first link, by the plain graph."""
    node = {"kind": "hub", "servers": 1, "service_days": 0.5}
    s = Scenario.model_validate(
        {
            "name": "loop",
            "start": dt.date(2025, 1, 1),
            "horizon_days": 10,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
            "nodes": [
                {"id": "s", "kind": "supplier", "products": [{"item": "box", "rate_per_day": 5, "unit_price_eur": 1}]},
                {"id": "h1", **node},
                {"id": "h2", **node},
                {"id": "u", "kind": "unit"},
            ],
            "links": [
                {"id": f"l{i}", "from": a, "to": b, "mode": "road", "transit_days": 1, "vehicles": 1, "capacity_m3": 10}
                for i, (a, b) in enumerate([("s", "h1"), ("h2", "h1"), ("h1", "h2"), ("h2", "u")])
            ],
        }
    )
    cycles = [c for c in check(s, supply_graph(s)) if c.code == "cycle"]
    assert [(c.loc, c.message) for c in cycles] == [(("links", 1), "undeclared cycle h2 -> h1 -> h2 (links l1, l2)")]
