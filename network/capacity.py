"""Analytic throughput bounds: max-flow / min-cut per item, in units per day.

For one item, the supply graph becomes a flow network (design.md section 6, "static bound"):

- a super-source feeds each supplier of the item with its *peak* rate (base rate times the
  largest ramp factor; the base rate without a ramp);
- each handling node (hub, border, depot) is split into ``in -> out`` with capacity
  ``servers / mean service days * lot_size`` (lots per day times units per lot; unlimited when
  the mean service time is 0); a node with ``serve: vehicle`` serves a vehicle's load per job,
  so its jobs per day carry up to the largest load of whole lots of a vehicle coming in;
- each enabled link (under ``routing.policy: on_departure``, each link of a route the policy may
  plan, ``network.routing.routed_links``: its static routes and the ``k_paths`` alternatives;
  under ``static`` every enabled link, a looser bound that holds for either policy) carries ``vehicles * lots_per_vehicle * lot_size / round_trip_days``, where
  ``lots_per_vehicle = floor(capacity_m3 / (volume_m3 * lot_size))``; a ``scheduled`` link is
  also capped at ``vehicles * lots_per_vehicle * lot_size / every_days`` and the smaller value
  holds; a link whose round trip takes 0 days is unlimited (unless a lot does not fit: 0);
- each unit with a requirement for the item drains into a super-sink without limit (when
  the item has no requirement, every unit reachable from its makers does).

The suppliers are those that may serve some requirement of the item under its channel
(:func:`network.routing.suitable_suppliers`); every maker when the item has no requirement.

The bound is an upper bound on the item's **long-run delivery rate** from production: it assumes
the item has every shared resource (servers, vehicles) to itself, ignores disruptions, losses in
transit, tender and production lead times, and lets any suitable supplier serve any requiring
unit. It does not count initial stock, so a finite run that ships stock can deliver faster for
a while; the bounds that hold for a whole run, stock and shared corridors included, are in
:mod:`network.horizon` (units deliverable by the horizon, per item and jointly). The min-cut names the structural bottleneck; when
several cuts are minimal, the one nearest the suppliers is reported. Capacities enter the
solver as exact fractions, so the cut is exact whatever the magnitudes.

Resource names: ``supplier:<id>``, ``node:<id>`` (a handling node), ``link:<id>``.

Example:
    >>> import datetime as dt
    >>> from scenarios.schema import Scenario
    >>> from network.build import build_graph
    >>> s = Scenario.model_validate({
    ...     "name": "tiny", "start": dt.date(2025, 1, 1), "horizon_days": 10,
    ...     "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
    ...     "nodes": [
    ...         {"id": "s", "kind": "supplier",
    ...          "products": [{"item": "box", "rate_per_day": 50, "unit_price_eur": 1}]},
    ...         {"id": "u", "kind": "unit"}],
    ...     "links": [{"id": "l", "from": "s", "to": "u", "mode": "road",
    ...                "transit_days": 1, "vehicles": 1, "capacity_m3": 2}]})
    >>> b = max_flow_bound(s, build_graph(s), "box")  # 1 vehicle x 2 lots x 10 units / 2 days
    >>> b.units_per_day, b.min_cut
    (10.0, ('link:l',))
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import networkx as nx

from network.build import HANDLING_KINDS, build_graph, lots_per_vehicle
from network.routing import Router, makers, routed_links, suitable_suppliers
from scenarios.schema import Item, Scenario

__all__ = [
    "Bound",
    "bounds",
    "flow_network",
    "link_units_per_day",
    "max_flow_bound",
    "min_cut_resources",
    "node_units_per_day",
    "resource_capacities",
    "vehicle_load_lots",
]

_SOURCE: tuple[str] = ("source",)
_SINK: tuple[str] = ("sink",)


@dataclass(frozen=True)
class Bound:
    """The static throughput bound of one item.

    Attributes:
        item: Item id.
        units_per_day: Maximum flow from the suppliers to the units (``math.inf`` if unbounded).
        min_cut: Names of the resources of a minimum cut (the binding ones), in the order
            suppliers, handling nodes (file order), links (file order).
        by_resource: Capacity in units/day of each resource of ``min_cut``; they sum to
            ``units_per_day``.
    """

    item: str
    units_per_day: float
    min_cut: tuple[str, ...]
    by_resource: dict[str, float]


def node_units_per_day(node: dict[str, Any], item: Item) -> float:
    """Units of ``item`` per day a handling node can serve (``math.inf`` if unlimited).

    Args:
        node: Node attributes from the supply graph (``lots_per_day`` is read).
        item: The item, for its lot size.
    """
    lots = float(node["lots_per_day"])
    return math.inf if math.isinf(lots) else lots * item.lot_size


def link_units_per_day(edge: dict[str, Any], item: Item) -> float:
    """Units of ``item`` per day a link's vehicle pool can carry (``math.inf`` if unlimited).

    Args:
        edge: Edge attributes from the supply graph.
        item: The item, for its unit volume and lot size.

    Example:
        >>> it = Item(id="x", unit_value_eur=1, volume_m3=0.5, lot_size=2)
        >>> link_units_per_day({"vehicles": 3, "capacity_m3": 2.5, "round_trip_days": 4.0,
        ...                     "dispatch": "immediate", "every_days": None}, it)
        3.0
    """
    per_vehicle = lots_per_vehicle(float(edge["capacity_m3"]), item.volume_m3 * item.lot_size)
    per_trip = float(edge["vehicles"] * per_vehicle * item.lot_size)
    if per_trip == 0:
        return 0.0
    round_trip = float(edge["round_trip_days"])
    cap = math.inf if round_trip == 0 else per_trip / round_trip
    if edge.get("dispatch") == "scheduled" and edge.get("every_days"):
        cap = min(cap, per_trip / float(edge["every_days"]))
    return cap


def vehicle_load_lots(scenario: Scenario, graph: nx.DiGraph, node: str, item: Item) -> int:
    """Lots of ``item`` one job of a handling node serves: 1 per lot, or a full vehicle's load.

    A node with ``serve: vehicle`` serves the load of one arriving vehicle as one job, so per
    job it passes at most the largest load of ``item`` (whole lots) of a vehicle of any link
    into it; with no such link, 1.
    """
    if getattr(scenario.node(node), "serve", "lot") != "vehicle":
        return 1
    lot_m3 = item.volume_m3 * item.lot_size
    loads = [lots_per_vehicle(float(d["capacity_m3"]), lot_m3) for _, _, d in graph.in_edges(node, data=True)]
    return max([1, *loads])


def _ends(scenario: Scenario, graph: nx.DiGraph, item: str) -> tuple[list[str], list[str]]:
    """Suppliers and units of the flow network of ``item``, in file order."""
    reqs = [r for r in scenario.requirements if r.item == item]
    if reqs:
        router = Router(graph, weight=scenario.policy.routing_weight)
        chosen = {s for r in reqs for s in suitable_suppliers(scenario, r, router)}
        units = {r.unit for r in reqs}
    else:
        chosen = set(makers(scenario, item))
        units = {
            n for s in chosen if s in graph for n in nx.descendants(graph, s) if graph.nodes[n].get("kind") == "unit"
        }
    order = [n.id for n in scenario.nodes]
    return [n for n in order if n in chosen], [n for n in order if n in units]


def flow_network(
    scenario: Scenario, graph: nx.DiGraph, item: str
) -> tuple[nx.DiGraph, list[tuple[Hashable, Hashable, str, float]]]:
    """The auxiliary network and its capacity-bearing edges ``(u, v, resource, units/day)``."""
    it = scenario.item(item)
    suppliers, units = _ends(scenario, graph, item)
    resources: list[tuple[Hashable, Hashable, str, float]] = []

    def tail(n: str) -> Hashable:
        return ("out", n) if graph.nodes[n].get("kind") in HANDLING_KINDS else ("at", n)

    def head(n: str) -> Hashable:
        return ("in", n) if graph.nodes[n].get("kind") in HANDLING_KINDS else ("at", n)

    for s in suppliers:
        products = graph.nodes[s]["products"]
        resources.append((_SOURCE, ("at", s), f"supplier:{s}", float(products[item]["peak_rate_per_day"])))
    for n, data in graph.nodes(data=True):
        if data.get("kind") in HANDLING_KINDS:
            cap = node_units_per_day(data, it) * vehicle_load_lots(scenario, graph, n, it)
            resources.append((("in", n), ("out", n), f"node:{n}", cap))
    usable = routed_links(graph, scenario)
    for u, v, data in sorted(graph.edges(data=True), key=lambda e: e[2]["link_index"]):
        if usable is not None and data["link"] not in usable:
            continue  # no route of the routing policy takes it
        resources.append((tail(u), head(v), f"link:{data['link']}", link_units_per_day(data, it)))

    aux = nx.DiGraph()
    aux.add_node(_SOURCE)
    aux.add_node(_SINK)
    for u, v, name, cap in resources:
        if math.isinf(cap):
            aux.add_edge(u, v, resource=name)  # no capacity attribute: unlimited for networkx
        else:
            aux.add_edge(u, v, resource=name, capacity=Fraction(cap))  # exact: no rounding in the solver
    for n in units:
        aux.add_edge(head(n), _SINK)
    return aux, resources


def resource_capacities(scenario: Scenario, graph: nx.DiGraph, item: str) -> dict[str, float]:
    """Capacity in units/day of every resource of the flow network of ``item``.

    Args:
        scenario: The scenario.
        graph: Its supply graph.
        item: Item id.

    Returns:
        ``{resource name: units/day}`` (``math.inf`` for unlimited), suppliers first, then
        handling nodes and links in file order.
    """
    _, resources = flow_network(scenario, graph, item)
    return {name: cap for _, _, name, cap in resources}


def max_flow_bound(scenario: Scenario, graph: nx.DiGraph | None, item: str) -> Bound:
    """Upper bound on the throughput of ``item`` (units/day) and the min-cut that sets it.

    Args:
        scenario: The scenario (a strategy already applied, if any).
        graph: Its supply graph; built when ``None``.
        item: Item id.

    Returns:
        The :class:`Bound`. An item with no supplier or no reachable unit gets 0 units/day.

    Raises:
        KeyError: If ``item`` is not in the catalogue.
    """
    if graph is None:
        graph = build_graph(scenario)
    aux, resources = flow_network(scenario, graph, item)
    if _SOURCE not in aux or _SINK not in aux:
        return Bound(item, 0.0, (), {})
    try:
        _, flow = nx.maximum_flow(aux, _SOURCE, _SINK)
    except nx.NetworkXUnbounded:
        return Bound(item, math.inf, (), {})
    by_resource = min_cut_resources(aux, flow, resources)
    # Any source/sink cut bounds the flow; this one is minimal, so its capacity is the max flow
    # (summed from the capacities themselves, free of the solver's rounding).
    return Bound(item, math.fsum(by_resource.values()), tuple(by_resource), by_resource)


def min_cut_resources(
    aux: nx.DiGraph, flow: dict[Any, dict[Any, Fraction]], resources: list[tuple[Hashable, Hashable, str, float]]
) -> dict[str, float]:
    """The resources of the minimum cut nearest the source of a maximum ``flow``, with their capacities."""
    side = _source_side(aux, flow)
    feeds_sink = nx.ancestors(aux, _SINK)
    return {name: cap for u, v, name, cap in resources if u in side and v not in side and (cap > 0 or v in feeds_sink)}


def _source_side(aux: nx.DiGraph, flow: dict[Any, dict[Any, Fraction]]) -> set[Hashable]:
    """Nodes reachable from the source in the residual network of a maximum ``flow``.

    Capacities are exact fractions, so "saturated" is an exact test; the cut found is the
    minimum cut nearest the source.
    """
    seen: set[Hashable] = {_SOURCE}
    todo = [_SOURCE]
    while todo:
        u = todo.pop()
        for v, data in aux.succ[u].items():
            cap = data.get("capacity")
            if v not in seen and (cap is None or flow[u][v] < cap):
                seen.add(v)
                todo.append(v)
        for w in aux.pred[u]:
            if w not in seen and flow[w][u] > 0:
                seen.add(w)
                todo.append(w)
    return seen


def bounds(scenario: Scenario, graph: nx.DiGraph | None = None) -> list[Bound]:
    """The bound of every required item, in catalogue order.

    Args:
        scenario: The scenario.
        graph: Its supply graph; built when omitted.

    Returns:
        One :class:`Bound` per item that appears in a requirement.
    """
    if graph is None:
        graph = build_graph(scenario)
    required = {r.item for r in scenario.requirements}
    return [max_flow_bound(scenario, graph, it.id) for it in scenario.items if it.id in required]
