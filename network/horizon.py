"""Bounds that hold for a whole run: units deliverable by the horizon, counting initial stock.

Two bounds, both on the units (and volume) delivered from day 0 to day ``T`` (the horizon by
default), both counting the suppliers' initial stock:

- **per item** (:func:`horizon_bound`): the max-flow / min-cut of the item's flow network of
  :mod:`network.capacity` with each resource's capacity over ``[0, T]`` instead of per day:

  - supplier: ``initial_stock + peak_rate * T`` (the stock, then at most the peak rate);
  - handling node: ``units_per_day * T`` (servers finish a job at the earliest one mean
    service time after starting it);
  - link: ``units_per_day * T + vehicles * lots_per_vehicle * lot_size`` -- one round of trips
    more than the rate: a vehicle pool can deliver its first round before a round trip has
    elapsed (the *stated slack*: one full trip of every vehicle);
  - an item still has every shared resource to itself.

- **joint** (:func:`joint_bound`): all items at once, as a linear programme
  (``scipy.optimize.linprog``, HiGHS): one flow per item on its own flow network, each within
  its per-item capacities above, and the items **share** each link's volume
  (``vehicles * capacity_m3`` per trip: ``m3_per_day * T + vehicles * capacity_m3``) and each
  handling node's jobs (``lots_per_day * T`` lots, or for ``serve: vehicle`` that many vehicle
  loads of m3). The programme is solved twice: for the most units and for the most m3.

What they assume (the same as the rate bound): mean durations are the durations (with random
service or transit times a run can beat the mean by chance), lots are whole (a short last lot
packs tighter than a full one), disruptions and losses only take capacity away, and any
suitable supplier may serve any requiring unit. Under these, the units of an item delivered
by ``T`` never exceed its horizon bound, and all items' units (and m3) never exceed the joint
bound. Units a unit holds as initial stock are not deliveries and are not counted.

Example:
    >>> import datetime as dt
    >>> from scenarios.schema import Scenario
    >>> s = Scenario.model_validate({
    ...     "name": "tiny", "start": dt.date(2025, 1, 1), "horizon_days": 10,
    ...     "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
    ...     "nodes": [
    ...         {"id": "s", "kind": "supplier",
    ...          "products": [{"item": "box", "rate_per_day": 1, "unit_price_eur": 1, "initial_stock": 500}]},
    ...         {"id": "u", "kind": "unit"}],
    ...     "links": [{"id": "l", "from": "s", "to": "u", "mode": "road",
    ...                "transit_days": 1, "vehicles": 5, "capacity_m3": 20}]})
    >>> b = horizon_bound(s, None, "box")  # stock 500 + 1 unit/day x 10 days
    >>> b.units, b.min_cut
    (510.0, ('supplier:s',))
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import networkx as nx
import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from network.build import HANDLING_KINDS, build_graph, lots_per_vehicle
from network.capacity import _SINK, _SOURCE, flow_network, min_cut_resources
from scenarios.schema import Scenario

__all__ = ["HorizonBound", "JointBound", "horizon_bound", "horizon_bounds", "horizon_capacities", "joint_bound"]


@dataclass(frozen=True)
class HorizonBound:
    """The units of one item deliverable from day 0 to ``days``.

    Attributes:
        item: Item id.
        days: The horizon, in days.
        units: Maximum units delivered by ``days`` (``math.inf`` if unbounded).
        min_cut: Resources of a minimum cut (nearest the suppliers).
        by_resource: Capacity over the horizon, in units, of each cut resource; they sum to ``units``.
    """

    item: str
    days: float
    units: float
    min_cut: tuple[str, ...]
    by_resource: dict[str, float]


@dataclass(frozen=True)
class JointBound:
    """All items together, sharing link volume and node jobs, from day 0 to ``days``.

    Attributes:
        days: The horizon, in days.
        units: Maximum total units of all bounded items delivered by ``days``.
        volume_m3: Maximum total m3 delivered by ``days`` (a separate optimum).
        by_item: Units per item in one solution with the most units (not unique in general).
        binding: Shared resources at capacity in that solution.
    """

    days: float
    units: float
    volume_m3: float
    by_item: dict[str, float] = field(default_factory=dict)
    binding: tuple[str, ...] = ()


def _edges_by_link(graph: nx.DiGraph) -> dict[str, dict[str, Any]]:
    return {str(d["link"]): d for _, _, d in graph.edges(data=True)}


def _trip_units(edge: dict[str, Any], lot_size: int, lot_m3: float) -> float:
    return float(edge["vehicles"] * lots_per_vehicle(float(edge["capacity_m3"]), lot_m3) * lot_size)


def horizon_capacities(scenario: Scenario, graph: nx.DiGraph, item: str, days: float) -> dict[str, float]:
    """Capacity in units over ``[0, days]`` of every resource of the flow network of ``item``.

    Args:
        scenario: The scenario.
        graph: Its supply graph.
        item: Item id.
        days: The horizon.

    Returns:
        ``{resource name: units}`` (``math.inf`` for unlimited), in the order of
        :func:`network.capacity.resource_capacities`.
    """
    _, resources = flow_network(scenario, graph, item)
    return _horizon_caps(scenario, graph, item, days, resources)


def _horizon_caps(
    scenario: Scenario,
    graph: nx.DiGraph,
    item: str,
    days: float,
    resources: list[tuple[Hashable, Hashable, str, float]],
) -> dict[str, float]:
    it = scenario.item(item)
    edges = _edges_by_link(graph)
    out: dict[str, float] = {}
    for _, _, name, rate in resources:
        kind, _, ident = name.partition(":")
        if kind == "supplier":
            stock = float(graph.nodes[ident]["products"][item].get("initial_stock", 0))
            out[name] = stock + rate * days
        elif kind == "link":
            out[name] = (
                math.inf
                if math.isinf(rate)
                else rate * days + _trip_units(edges[ident], it.lot_size, it.volume_m3 * it.lot_size)
            )
        else:
            out[name] = math.inf if math.isinf(rate) else rate * days
    return out


def horizon_bound(scenario: Scenario, graph: nx.DiGraph | None, item: str, days: float | None = None) -> HorizonBound:
    """Units of ``item`` deliverable by ``days`` (default: the horizon), initial stock counted.

    Args:
        scenario: The scenario (a strategy already applied, if any).
        graph: Its supply graph; built when ``None``.
        item: Item id.
        days: The horizon in days; ``scenario.horizon_days`` by default.

    Returns:
        The :class:`HorizonBound`; 0 units for an item with no supplier or no reachable unit.
    """
    if graph is None:
        graph = build_graph(scenario)
    T = float(scenario.horizon_days if days is None else days)
    aux, resources = flow_network(scenario, graph, item)
    caps = _horizon_caps(scenario, graph, item, T, resources)
    resources = [(u, v, name, caps[name]) for u, v, name, _ in resources]
    for u, v, _, cap in resources:
        if math.isinf(cap):
            aux[u][v].pop("capacity", None)
        else:
            aux[u][v]["capacity"] = Fraction(cap)
    if _SOURCE not in aux or _SINK not in aux or not nx.has_path(aux, _SOURCE, _SINK):
        return HorizonBound(item, T, 0.0, (), {})
    try:
        _, flow = nx.maximum_flow(aux, _SOURCE, _SINK)
    except nx.NetworkXUnbounded:
        return HorizonBound(item, T, math.inf, (), {})
    by_resource = min_cut_resources(aux, flow, resources)
    return HorizonBound(item, T, math.fsum(by_resource.values()), tuple(by_resource), by_resource)


def horizon_bounds(
    scenario: Scenario, graph: nx.DiGraph | None = None, days: float | None = None
) -> list[HorizonBound]:
    """The horizon bound of every required item, in catalogue order."""
    if graph is None:
        graph = build_graph(scenario)
    required = {r.item for r in scenario.requirements}
    return [horizon_bound(scenario, graph, it.id, days) for it in scenario.items if it.id in required]


def _shared_caps(scenario: Scenario, graph: nx.DiGraph, days: float) -> dict[str, tuple[str, float]]:
    """Per shared resource: what it counts (``lots`` or ``m3``) and how many over ``[0, days]``."""
    out: dict[str, tuple[str, float]] = {}
    for n, data in graph.nodes(data=True):
        if data.get("kind") not in HANDLING_KINDS:
            continue
        jobs = float(data["lots_per_day"]) * days
        if getattr(scenario.node(n), "serve", "lot") == "vehicle":
            load = max([0.0, *(float(d["capacity_m3"]) for _, _, d in graph.in_edges(n, data=True))])
            out[f"node:{n}"] = ("m3", jobs * load)
        else:
            out[f"node:{n}"] = ("lots", jobs)
    for d in _edges_by_link(graph).values():
        trip_m3 = float(d["vehicles"] * d["capacity_m3"])
        rt = float(d["round_trip_days"])
        per_day = math.inf if rt == 0 else trip_m3 / rt
        if d.get("dispatch") == "scheduled" and d.get("every_days"):
            per_day = min(per_day, trip_m3 / float(d["every_days"]))
        out[f"link:{d['link']}"] = ("m3", math.inf if math.isinf(per_day) else per_day * days + trip_m3)
    return out


def joint_bound(scenario: Scenario, graph: nx.DiGraph | None = None, days: float | None = None) -> JointBound:
    """Total units (and m3) of all required items deliverable by ``days``, sharing every resource.

    Args:
        scenario: The scenario (a strategy already applied, if any).
        graph: Its supply graph; built when ``None``.
        days: The horizon in days; ``scenario.horizon_days`` by default.

    Returns:
        The :class:`JointBound`.

    Raises:
        RuntimeError: The LP solver failed (it should not: the programme is feasible with zero
            flow and bounded by the suppliers).
    """
    if graph is None:
        graph = build_graph(scenario)
    T = float(scenario.horizon_days if days is None else days)
    required = [it for it in scenario.items if any(r.item == it.id for r in scenario.requirements)]
    shared = _shared_caps(scenario, graph, T)
    # one variable per (item, edge of the item's flow network)
    var_item: list[int] = []
    var_upper: list[float | None] = []
    into_sink: list[int] = []
    eq_rows: list[int] = []
    eq_cols: list[int] = []
    eq_vals: list[float] = []
    n_eq = 0
    use: dict[str, list[tuple[int, float]]] = {}
    for k, it in enumerate(required):
        aux, resources = flow_network(scenario, graph, it.id)
        if _SOURCE not in aux or _SINK not in aux:
            continue
        caps = _horizon_caps(scenario, graph, it.id, T, resources)
        name_of = {(u, v): name for u, v, name, _ in resources}
        node_row = {n: n_eq + j for j, n in enumerate(x for x in aux.nodes if x not in (_SOURCE, _SINK))}
        n_eq += len(node_row)
        for u, v in aux.edges:
            col = len(var_item)
            var_item.append(k)
            name = name_of.get((u, v))
            cap = caps[name] if name is not None else math.inf
            var_upper.append(None if math.isinf(cap) else cap)
            if v == _SINK:
                into_sink.append(col)
            for n, sign in ((u, -1.0), (v, 1.0)):
                if n in node_row:
                    eq_rows.append(node_row[n])
                    eq_cols.append(col)
                    eq_vals.append(sign)
            if name is not None and name in shared:
                what, _ = shared[name]
                weight = 1.0 / it.lot_size if what == "lots" else it.volume_m3
                use.setdefault(name, []).append((col, weight))
    n_var = len(var_item)
    if n_var == 0 or not into_sink:
        return JointBound(T, 0.0, 0.0, {it.id: 0.0 for it in required})
    ub_names = [name for name in use if math.isfinite(shared[name][1])]
    ub_rows = [r for r, name in enumerate(ub_names) for _ in use[name]]
    ub_cols = [c for name in ub_names for c, _ in use[name]]
    ub_vals = [w for name in ub_names for _, w in use[name]]
    b_ub = np.array([shared[name][1] for name in ub_names])
    A_ub = coo_matrix((ub_vals, (ub_rows, ub_cols)), shape=(len(ub_names), n_var)) if ub_names else None
    A_eq = coo_matrix((eq_vals, (eq_rows, eq_cols)), shape=(n_eq, n_var)) if n_eq else None
    b_eq = np.zeros(n_eq) if n_eq else None
    bounds = [(0.0, u) for u in var_upper]

    def solve(weights: np.ndarray) -> Any:
        c = np.zeros(n_var)
        c[into_sink] = -weights
        res = linprog(
            c, A_ub=A_ub, b_ub=b_ub if ub_names else None, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs"
        )
        if res.status == 3:
            return None  # unbounded
        if res.status != 0:
            raise RuntimeError(f"joint bound LP failed: {res.message}")
        return res

    vol = np.array([required[var_item[c]].volume_m3 for c in into_sink])
    by_units = solve(np.ones(len(into_sink)))
    by_m3 = solve(vol)
    if by_units is None or by_m3 is None:
        return JointBound(T, math.inf, math.inf, {})
    by_item = {it.id: 0.0 for it in required}
    for c in into_sink:
        by_item[required[var_item[c]].id] += float(by_units.x[c])
    binding: tuple[str, ...] = ()
    if ub_names:
        slack = b_ub - A_ub @ by_units.x if A_ub is not None else b_ub
        binding = tuple(name for name, s, b in zip(ub_names, slack, b_ub, strict=True) if s <= 1e-9 * max(1.0, b))
    return JointBound(T, float(-by_units.fun), float(-by_m3.fun), by_item, binding)
