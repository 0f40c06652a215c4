"""Scenario -> supply graph: a frozen ``nx.DiGraph`` whose attributes are plain data.

:func:`supply_graph` builds the same graph as plain dicts (``network.graph.SupplyGraph``)
without importing networkx (a third of a second): ``aidflow run`` and ``validate`` route and
check on it; :func:`build_graph` turns it into the networkx graph the flow bounds use.

One node per scenario node (donors and agencies included, so that every id resolves), one edge
per *enabled* link. Attribute names carry their units (design.md section 7.12), and algorithms
take an attribute name as their weight, as networkx does (``weight="transit_days"``).

Node attributes (every node): ``kind``, ``name``, ``lat``, ``lon`` (``None`` without a location),
``index`` (position in ``scenario.nodes``).

- handling nodes (``hub``, ``border``, ``depot``): ``servers``, ``service_days_mean``,
  ``storage_cap_lots`` (``None`` = unlimited) and ``lots_per_day`` = servers / mean service days
  (``math.inf`` when the mean is 0);
- suppliers: ``country``, ``domestic`` and ``products``: ``{item: {"rate_per_day",
  "peak_rate_per_day", "unit_price_eur", "initial_stock"}}``, where the peak rate is the base
  rate times the largest ramp factor (the base rate when there is no ramp);
- units: ``consumption_per_day`` (``{item: units per day}``).

Edge attributes: ``link`` (id), ``link_index`` (position in ``scenario.links``), ``mode``,
``transit_days`` and ``return_days`` (means of the distributions; the return defaults to the
transit), ``round_trip_days``, ``vehicles``, ``capacity_m3``, ``distance_km`` (``None`` when
unknown), ``hops`` (= 1), ``loss_probability``, ``dispatch`` (rule name), ``every_days`` and
``first_day`` (``scheduled`` only, else ``None``), ``max_wait_days`` (``full`` only, else ``None``).

Graph attributes: ``scenario`` (its name).

Nodes and edges are inserted in file order, so every networkx traversal of the graph is
deterministic. When two enabled links join the same ordered pair of nodes, the first (in file
order) becomes the edge and the others are left out; ``network.checks`` reports them.

Example:
    >>> from network.build import lots_per_vehicle
    >>> lots_per_vehicle(capacity_m3=60.0, lot_m3=1.0)
    60
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from network.graph import Digraph, SupplyGraph, edges_of
from scenarios.schema import (
    Border,
    Depot,
    DispatchFull,
    DispatchScheduled,
    Hub,
    Item,
    Product,
    Scenario,
    Supplier,
    Unit,
)

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "HANDLING_KINDS",
    "MAX_LOTS_PER_VEHICLE",
    "PHYSICAL_KINDS",
    "build_graph",
    "link_edges",
    "lot_volume_m3",
    "lots_per_vehicle",
    "peak_rate_per_day",
    "supply_graph",
]

HANDLING_KINDS: tuple[str, ...] = ("hub", "border", "depot")
"""Node kinds with handling servers (queue and service per lot)."""

PHYSICAL_KINDS: tuple[str, ...] = ("supplier", "hub", "border", "depot", "unit")
"""Node kinds that lots pass through; donors and agencies move money, not lots."""

_FIT_TOLERANCE = 1e-9

MAX_LOTS_PER_VEHICLE = 10**24
"""The most lots ``lots_per_vehicle`` counts: more than the language allows (1e12 m3 / 1e-9 m3)."""


def lot_volume_m3(item: Item) -> float:
    """Volume of one lot of ``item`` in m3 (volume per unit times lot size).

    Args:
        item: A catalogue entry.

    Returns:
        ``item.volume_m3 * item.lot_size``.
    """
    return item.volume_m3 * item.lot_size


def lots_per_vehicle(capacity_m3: float, lot_m3: float) -> int:
    """Whole lots of ``lot_m3`` that fit in a vehicle of ``capacity_m3``.

    A relative tolerance of 1e-9 absorbs floating-point noise, so that ``0.3 m3 / 0.1 m3`` is 3
    (it adds at most the one lot the quotient falls short of). A quotient that overflows (a
    tiny lot in a big vehicle) gives ``MAX_LOTS_PER_VEHICLE`` instead of an error.

    Args:
        capacity_m3: Vehicle capacity in m3.
        lot_m3: Volume of one lot in m3 (positive).

    Returns:
        The number of lots, 0 when a lot does not fit.

    Example:
        >>> lots_per_vehicle(0.3, 0.1)
        3
        >>> lots_per_vehicle(0.5, 1.0)
        0
    """
    if not lot_m3 > 0:  # a lot volume that underflowed to 0
        return MAX_LOTS_PER_VEHICLE if capacity_m3 > 0 else 0
    quotient = capacity_m3 / lot_m3
    if not quotient < MAX_LOTS_PER_VEHICLE:  # overflowed to inf, or past counting
        return MAX_LOTS_PER_VEHICLE
    lots = math.floor(quotient)
    if quotient != lots and (lots + 1) - quotient <= _FIT_TOLERANCE * quotient:
        lots += 1
    return lots


def peak_rate_per_day(product: Product) -> float:
    """Highest production rate of a line: base rate times its largest ramp factor.

    Args:
        product: A supplier's production line.

    Returns:
        Units per day; the base rate when the line has no ramp.
    """
    if not product.ramp:
        return product.rate_per_day
    return product.rate_per_day * max(point.factor for point in product.ramp)


def _node_attrs(index: int, node: Any) -> dict[str, Any]:
    loc = node.location
    attrs: dict[str, Any] = {
        "kind": node.kind,
        "name": node.name,
        "lat": loc.lat if loc is not None else None,
        "lon": loc.lon if loc is not None else None,
        "index": index,
    }
    if isinstance(node, (Hub, Border, Depot)):
        mean = node.service_days.mean_days()
        attrs.update(
            servers=node.servers,
            service_days_mean=mean,
            storage_cap_lots=node.storage_cap_lots,
            lots_per_day=node.servers / mean if mean > 0 else math.inf,
        )
    elif isinstance(node, Supplier):
        attrs.update(
            country=node.country,
            domestic=node.domestic,
            products={
                p.item: {
                    "rate_per_day": p.rate_per_day,
                    "peak_rate_per_day": peak_rate_per_day(p),
                    "unit_price_eur": p.unit_price_eur,
                    "initial_stock": p.initial_stock,
                }
                for p in node.products
            },
        )
    elif isinstance(node, Unit):
        attrs.update(consumption_per_day=dict(node.consumption_per_day))
    return attrs


def supply_graph(scenario: Scenario) -> SupplyGraph:
    """The supply graph of ``scenario`` as plain dicts (no networkx: what ``run`` and ``validate`` use).

    Same nodes, edges, attributes and order as :func:`build_graph`.

    Args:
        scenario: A validated scenario (a strategy already applied, if any).

    Returns:
        A :class:`network.graph.SupplyGraph` (read it, never change it).
    """
    graph = SupplyGraph({"scenario": scenario.name})
    for index, node in enumerate(scenario.nodes):
        graph.add_node(node.id, **_node_attrs(index, node))
    for index, link in enumerate(scenario.links):
        if not link.enabled or graph.has_edge(link.from_, link.to):
            continue
        transit = link.transit_days.mean_days()
        back = transit if link.return_days is None else link.return_days.mean_days()
        dispatch = link.dispatch
        graph.add_edge(
            link.from_,
            link.to,
            link=link.id,
            link_index=index,
            mode=link.mode,
            transit_days=transit,
            return_days=back,
            round_trip_days=transit + back,
            vehicles=link.vehicles,
            capacity_m3=link.capacity_m3,
            distance_km=link.distance_km,
            hops=1,
            loss_probability=link.loss_probability,
            dispatch=dispatch.rule,
            every_days=dispatch.every_days if isinstance(dispatch, DispatchScheduled) else None,
            first_day=dispatch.first_day if isinstance(dispatch, DispatchScheduled) else None,
            max_wait_days=dispatch.max_wait_days if isinstance(dispatch, DispatchFull) else None,
        )
    return graph


def build_graph(scenario: Scenario | SupplyGraph) -> nx.DiGraph:
    """Build the frozen networkx supply graph of ``scenario`` (for the flow bounds and ``aidflow graph``).

    Args:
        scenario: A validated scenario (a strategy already applied, if any), or its
            :func:`supply_graph`.

    Returns:
        A frozen ``nx.DiGraph`` with the attributes described in the module docstring.

    Example:
        >>> import datetime as dt
        >>> import networkx as nx
        >>> from scenarios.schema import Scenario
        >>> s = Scenario.model_validate({
        ...     "name": "tiny", "start": dt.date(2025, 1, 1), "horizon_days": 10,
        ...     "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
        ...     "nodes": [
        ...         {"id": "s", "kind": "supplier",
        ...          "products": [{"item": "box", "rate_per_day": 5, "unit_price_eur": 1}]},
        ...         {"id": "u", "kind": "unit"}],
        ...     "links": [{"id": "l", "from": "s", "to": "u", "mode": "road",
        ...                "transit_days": 2, "vehicles": 1, "capacity_m3": 10}]})
        >>> g = build_graph(s)
        >>> g.edges["s", "u"]["round_trip_days"]
        4.0
        >>> nx.is_frozen(g)
        True
    """
    import networkx as nx

    plain = scenario if isinstance(scenario, SupplyGraph) else supply_graph(scenario)
    graph = nx.DiGraph()
    graph.graph.update(plain.graph)
    for node, attrs in plain.nodes.items():
        graph.add_node(node, **attrs)
    for u, v, data in edges_of(plain):
        graph.add_edge(u, v, **data)
    return nx.freeze(graph)


def link_edges(graph: Digraph) -> dict[str, tuple[str, str]]:
    """Map each link id in ``graph`` to its ``(from, to)`` edge, in insertion (file) order.

    Args:
        graph: A graph made by :func:`build_graph` or :func:`supply_graph`.

    Returns:
        ``{link id: (from node, to node)}``.
    """
    edges = sorted(edges_of(graph), key=lambda e: e[2]["link_index"])
    return {data["link"]: (u, v) for u, v, data in edges}
