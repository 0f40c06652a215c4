"""Routes through the supply graph: which links a lot takes from an origin to a destination.

``Router`` answers shortest-path questions on a graph made by :func:`network.build.build_graph`
(networkx) or :func:`network.build.supply_graph` (plain dicts, what ``aidflow run`` uses)
with an edge-attribute *name* as the weight, as networkx does (design.md section 7.7):
``transit_days`` (mean transit), ``distance_km`` or ``hops``. Each (origin, destination) pair
is solved once and cached, so the engine can ask on its hot path.

Determinism: the graph is built in file order and the Dijkstra of ``network.graph`` (networkx's,
step for step) relaxes edges in adjacency (insertion) order and breaks heap ties by push order,
only replacing a path by a *strictly* shorter one; so among equally short routes the same one
is always returned, in any process.

Edges whose weight is unknown (``distance_km: None``) are not forbidden: each counts as more
than the sum of every known weight of the graph, so a route with fewer unknown links always
wins, and among those the shortest known total wins.

Also here: which suppliers may serve a requirement (:func:`suitable_suppliers`) and the
table of routes for every (supplier, unit) pair of an item (:func:`route_table`, used by
``aidflow graph``).

Alternative routes (issue 15, ``routing.policy: on_departure``): :func:`alternatives` gives the
``k`` shortest simple paths between two nodes (networkx's ``shortest_simple_paths``, Yen's
algorithm, on the same weights; networkx is imported only then, so a ``static`` run never
loads it). :func:`route_plan` numbers every route a run may plan, once, when the run is built:

- route ids ``0 .. m-1`` are the static routes, one per (supplier, unit) pair with a route,
  suppliers and then units in file order (the route a lot starts on under either policy);
- then, for every *decision node* (a supplier, hub, border or depot with two or more enabled
  links out) and every unit it reaches, in file order, its ``k`` alternatives, shortest first;
  a route already numbered keeps its id.

The numbering is a pure function of the resolved scenario; the engine copies the table into the
run's result (``RunResult.routes``: id -> link ids), where a ``rerouted`` row's ``vehicle``
column points (see ``sim.model.routing``). :func:`routed_links` is the set of links some
route of the policy may use: the flow bound (``network.capacity``) and the lot-size check
(``network.checks``) look at exactly those.

Example:
    >>> import datetime as dt
    >>> from scenarios.schema import Scenario
    >>> from network.build import supply_graph
    >>> s = Scenario.model_validate({
    ...     "name": "tiny", "start": dt.date(2025, 1, 1), "horizon_days": 10,
    ...     "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
    ...     "nodes": [
    ...         {"id": "s", "kind": "supplier",
    ...          "products": [{"item": "box", "rate_per_day": 5, "unit_price_eur": 1}]},
    ...         {"id": "h", "kind": "hub", "servers": 1, "service_days": 0.5},
    ...         {"id": "u", "kind": "unit"}],
    ...     "links": [
    ...         {"id": "a", "from": "s", "to": "h", "mode": "road", "transit_days": 1,
    ...          "vehicles": 1, "capacity_m3": 10},
    ...         {"id": "b", "from": "h", "to": "u", "mode": "road", "transit_days": 1,
    ...          "vehicles": 1, "capacity_m3": 10}]})
    >>> Router(supply_graph(s)).route("s", "u")
    ('a', 'b')
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from network.graph import Digraph, descendants, dijkstra, edges_of
from scenarios.errors import NetworkError
from scenarios.schema import Requirement, Scenario, Supplier, effective_channel

__all__ = [
    "WEIGHTS",
    "RoutePlan",
    "RouteRow",
    "Router",
    "alternatives",
    "decision_nodes",
    "makers",
    "route_plan",
    "route_table",
    "plan_routes_from",
    "route_total",
    "routed_links",
    "suitable_suppliers",
]

WEIGHTS: tuple[str, ...] = ("transit_days", "distance_km", "hops")
"""Edge attributes a scenario's ``policy.routing_weight`` may name."""


class _Route(NamedTuple):
    links: tuple[str, ...]
    nodes: tuple[str, ...]
    cost: float


class Router:
    """Cached shortest routes on a supply graph, weighted by an edge attribute.

    Args:
        graph: A graph made by :func:`network.build.supply_graph` or
            :func:`network.build.build_graph` (edges carry a ``link`` id).
        weight: Name of the edge attribute to minimise (``transit_days``, ``distance_km``,
            ``hops``, or any numeric edge attribute).

    Raises:
        NetworkError: If the graph has edges but none carries ``weight``.

    Attributes:
        graph: The graph routed on.
        weight: The weight attribute name.
        hits: Cached answers given.
        misses: Routes computed.
    """

    def __init__(self, graph: Digraph, weight: str = "transit_days") -> None:
        self.graph = graph
        self.weight = weight
        self.hits = 0
        self.misses = 0
        self._cache: dict[tuple[str, str], _Route | str] = {}
        known: list[float] = []
        seen = False
        edges = 0
        for _, _, data in edges_of(graph):
            edges += 1
            if weight in data:
                seen = True
                value = data[weight]
                if value is not None:
                    known.append(float(value))
        if edges and not seen:
            raise NetworkError(f"unknown routing weight {weight!r}: no link of the graph has that attribute")
        # An unknown weight outweighs every known one together: fewer unknown links first.
        self._unknown = math.fsum(known) + 1.0

    def _weight(self, u: str, v: str, data: dict[str, Any]) -> float:
        value = data.get(self.weight)
        return self._unknown if value is None else float(value)

    def _solve(self, origin: str, destination: str) -> _Route:
        key = (origin, destination)
        cached = self._cache.get(key)
        if cached is not None:
            self.hits += 1
            if isinstance(cached, str):
                raise NetworkError(cached)
            return cached
        self.misses += 1
        for node in key:
            if node not in self.graph:
                raise NetworkError(f"unknown node {node!r} in graph {self.graph.graph.get('scenario', '')!r}")
        if origin == destination:
            route = _Route((), (origin,), 0.0)
        else:
            found = dijkstra(self.graph, origin, destination, self._weight)
            if found is None:
                message = self._no_path_message(origin, destination)
                self._cache[key] = message
                raise NetworkError(message)
            cost, path = found
            nodes = tuple(path)
            succ = self.graph.succ
            links = tuple(succ[u][v]["link"] for u, v in itertools.pairwise(nodes))
            route = _Route(links, nodes, float(cost))
        self._cache[key] = route
        return route

    def _no_path_message(self, origin: str, destination: str) -> str:
        reach = sorted(descendants(self.graph, origin), key=lambda n: self.graph.nodes[n].get("index", 0))
        shown = ", ".join(reach[:6]) + (", ..." if len(reach) > 6 else "")
        return (
            f"no route from {origin!r} to {destination!r} over the enabled links "
            f"(reachable from {origin!r}: {shown or 'nothing'})"
        )

    def route(self, origin: str, destination: str) -> tuple[str, ...]:
        """Link ids of the shortest route from ``origin`` to ``destination``.

        Args:
            origin: Node id the lot starts at (usually a supplier).
            destination: Node id it must reach (usually a unit).

        Returns:
            Link ids in travel order; ``()`` when origin and destination are the same node.

        Raises:
            NetworkError: If a node is unknown or no route exists.
        """
        return self._solve(origin, destination).links

    def nodes_on(self, origin: str, destination: str) -> tuple[str, ...]:
        """Node ids along the route, ``origin`` and ``destination`` included.

        Raises:
            NetworkError: If a node is unknown or no route exists.
        """
        return self._solve(origin, destination).nodes

    def reachable(self, origin: str, destination: str) -> bool:
        """Whether a route exists (unknown nodes are not reachable)."""
        if origin not in self.graph or destination not in self.graph:
            return False
        try:
            self._solve(origin, destination)
        except NetworkError:
            return False
        return True

    def nearest(self, origins: Sequence[str], destination: str) -> str:
        """The origin with the shortest route to ``destination``; ties go to the earliest listed.

        Args:
            origins: Candidate origins, e.g. the suppliers of an item.
            destination: Node id to reach.

        Returns:
            One of ``origins``.

        Raises:
            NetworkError: If no origin reaches ``destination``.
        """
        best: tuple[float, str] | None = None
        for origin in origins:
            if not self.reachable(origin, destination):
                continue
            cost = self._solve(origin, destination).cost
            if best is None or cost < best[0]:
                best = (cost, origin)
        if best is None:
            raise NetworkError(f"none of {', '.join(origins) or 'no origins'} reaches {destination!r}")
        return best[1]

    def cache_size(self) -> int:
        """Number of (origin, destination) pairs solved so far (found or not)."""
        return len(self._cache)

    def edge_weight(self, u: str, v: str, data: dict[str, Any]) -> float:
        """The weight of edge ``(u, v)`` as this router counts it (an unknown value outweighs every known one)."""
        return self._weight(u, v, data)


def alternatives(
    graph: Digraph, origin: str, destination: str, k: int, weight: str = "transit_days"
) -> list[tuple[str, ...]]:
    """Up to ``k`` simple routes from ``origin`` to ``destination``, shortest first (link ids).

    networkx's ``shortest_simple_paths`` (Yen's algorithm) on a copy of the graph with the
    router's weights (:class:`Router`: an unknown weight outweighs every known one), so the
    order is deterministic: by total weight, ties in the order networkx finds them.

    Args:
        graph: The supply graph (plain or networkx).
        origin: Node the lot is at.
        destination: Node it must reach.
        k: How many routes at most (>= 1).
        weight: Edge attribute to minimise.

    Returns:
        Link-id tuples (empty list when no route exists or a node is unknown; ``[()]`` when
        origin is the destination).

    Example:
        >>> from network.graph import SupplyGraph
        >>> g = SupplyGraph({"scenario": "x"})
        >>> for n in "shbu":
        ...     g.add_node(n)
        >>> g.add_edge("s", "h", link="sh", transit_days=1.0); g.add_edge("h", "u", link="hu", transit_days=1.0)
        >>> g.add_edge("s", "b", link="sb", transit_days=1.0); g.add_edge("b", "u", link="bu", transit_days=3.0)
        >>> alternatives(g, "s", "u", 3)
        [('sh', 'hu'), ('sb', 'bu')]
    """
    if origin not in graph or destination not in graph:
        return []
    if origin == destination:
        return [()]
    import networkx as nx  # only routing with alternatives needs it (start-up time of a static run)

    router = Router(graph, weight)
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    for u, nbrs in graph.succ.items():
        for v, data in nbrs.items():
            g.add_edge(u, v, w=router.edge_weight(u, v, dict(data)), link=data["link"])
    out: list[tuple[str, ...]] = []
    try:
        for path in nx.shortest_simple_paths(g, origin, destination, weight="w"):
            out.append(tuple(g.edges[u, v]["link"] for u, v in itertools.pairwise(path)))
            if len(out) >= k:
                break
    except nx.NetworkXNoPath:
        return []
    return out


def decision_nodes(graph: Digraph, scenario: Scenario) -> tuple[str, ...]:
    """Suppliers and handling nodes with two or more enabled links out, in file order: where a lot may choose."""
    kinds = ("supplier", "hub", "border", "depot")
    return tuple(n.id for n in scenario.nodes if n.kind in kinds and n.id in graph and len(graph.succ[n.id]) >= 2)


@dataclass(frozen=True)
class RoutePlan:
    """Every route a run may plan, numbered once (see the module docstring).

    Attributes:
        routes: Route id -> link ids in travel order.
        static: (supplier, unit) -> id of its static (shortest) route.
        choices: (decision node, unit) -> ids of its alternatives, shortest first (empty under ``static``).
    """

    routes: tuple[tuple[str, ...], ...]
    static: dict[tuple[str, str], int]
    choices: dict[tuple[str, str], tuple[int, ...]]


def route_plan(graph: Digraph, scenario: Scenario) -> RoutePlan:
    """The routes of ``scenario`` under its ``routing`` policy (static routes, then alternatives).

    Args:
        graph: The scenario's supply graph.
        scenario: The resolved scenario (its ``routing`` and ``policy.routing_weight`` are read).

    Returns:
        The :class:`RoutePlan`; under ``static`` only the static routes.
    """
    weight = scenario.policy.routing_weight
    router = Router(graph, weight)
    units = [n.id for n in scenario.nodes if n.kind == "unit"]
    ids: dict[tuple[str, ...], int] = {}
    static: dict[tuple[str, str], int] = {}

    def number(route: tuple[str, ...]) -> int:
        return ids.setdefault(route, len(ids))

    for n in scenario.nodes:
        if n.kind != "supplier":
            continue
        for u in units:
            if router.reachable(n.id, u):
                route = router.route(n.id, u)
                if route:
                    static[(n.id, u)] = number(route)
    choices: dict[tuple[str, str], tuple[int, ...]] = {}
    if scenario.routing.policy != "static":
        for node in decision_nodes(graph, scenario):
            for u in units:
                found = [r for r in alternatives(graph, node, u, scenario.routing.k_paths, weight) if r]
                if found:
                    choices[(node, u)] = tuple(number(r) for r in found)
    return RoutePlan(tuple(ids), static, choices)


def plan_routes_from(graph: Digraph, plan: RoutePlan, supplier: str, unit: str) -> tuple[int, ...]:
    """Ids of every route a lot from ``supplier`` to ``unit`` may plan, ascending (empty if unreachable).

    Its static route, and the alternatives of each decision node any of those leaves from,
    transitively: a lot follows its planned route and may switch only at a decision node.
    """
    start = plan.static.get((supplier, unit))
    if start is None:
        return ()
    origin_of = {data["link"]: u for u, nbrs in graph.succ.items() for data in nbrs.values()}
    seen = {start}
    todo = [start]
    while todo:
        for link in plan.routes[todo.pop()]:
            for rid in plan.choices.get((origin_of[link], unit), ()):
                if rid not in seen:
                    seen.add(rid)
                    todo.append(rid)
    return tuple(sorted(seen))


def routed_links(graph: Digraph, scenario: Scenario) -> set[str] | None:
    """Links some route of the routing policy may use, or None when any link may be (no restriction known).

    Under ``static``: None (the bounds and checks have always looked at every enabled link or
    at the static routes themselves). Under ``on_departure``: the links of the static routes
    and of every alternative of every decision node (:func:`route_plan`).
    """
    if scenario.routing.policy == "static":
        return None
    plan = route_plan(graph, scenario)
    return {link for route in plan.routes for link in route}


def route_total(graph: Digraph, nodes: tuple[str, ...], attr: str) -> float | None:
    """Sum of an edge attribute along a node path.

    Args:
        graph: The supply graph.
        nodes: Consecutive node ids (as from :meth:`Router.nodes_on`).
        attr: Edge attribute name, e.g. ``transit_days`` or ``distance_km``.

    Returns:
        The sum (0.0 for a single node), or ``None`` if any edge lacks the value.
    """
    values = [graph.succ[u][v].get(attr) for u, v in itertools.pairwise(nodes)]
    known = [float(v) for v in values if v is not None]
    if len(known) < len(values):
        return None
    return math.fsum(known)


def makers(scenario: Scenario, item: str) -> tuple[str, ...]:
    """Ids of the suppliers that make ``item``, in file order."""
    return tuple(n.id for n in scenario.nodes if isinstance(n, Supplier) and any(p.item == item for p in n.products))


def suitable_suppliers(scenario: Scenario, requirement: Requirement, router: Router | None = None) -> tuple[str, ...]:
    """Suppliers that may fill ``requirement`` under its effective channel, in file order.

    ``domestic`` requirements take only domestic suppliers; ``agency`` and ``bilateral`` ones
    take non-domestic suppliers, or any supplier when no non-domestic one makes the item.
    The engine awards contracts by the same rule (``sim.model.procurement.candidates``).

    Args:
        scenario: The scenario (its ``policy.channel`` may override the requirement's).
        requirement: One of its requirements.
        router: When given, only those of the above with a route to the unit.

    Returns:
        Supplier ids (possibly empty).
    """
    sups = [
        n for n in scenario.nodes if isinstance(n, Supplier) and any(p.item == requirement.item for p in n.products)
    ]
    if effective_channel(scenario, requirement) == "domestic":
        pool = tuple(n.id for n in sups if n.domestic)
    else:
        pool = tuple(n.id for n in sups if not n.domestic) or tuple(n.id for n in sups)
    if router is None:
        return pool
    return tuple(sid for sid in pool if router.reachable(sid, requirement.unit))


@dataclass(frozen=True)
class RouteRow:
    """The route from one supplier of an item to one unit requiring it.

    Attributes:
        item: Item id.
        supplier: Supplier id.
        unit: Unit id.
        links: Link ids in travel order (``()`` when unreachable).
        nodes: Node ids, supplier and unit included (``()`` when unreachable).
        expected_transit_days: Sum of mean transit days (``math.inf`` when unreachable).
        distance_km: Sum of link distances (``None`` if unreachable or any distance is unknown).
    """

    item: str
    supplier: str
    unit: str
    links: tuple[str, ...]
    nodes: tuple[str, ...]
    expected_transit_days: float
    distance_km: float | None

    @property
    def reachable(self) -> bool:
        """Whether the unit can be reached from the supplier."""
        return bool(self.nodes)


def route_table(graph: Digraph, scenario: Scenario, weight: str | None = None) -> list[RouteRow]:
    """Routes for every (supplier of an item, unit requiring it) pair.

    Rows come in item catalogue order, then supplier and unit file order; only required items
    appear, with every supplier that makes them (whatever the channel).

    Args:
        graph: The graph of ``scenario``.
        scenario: The scenario.
        weight: Edge attribute to route by; defaults to ``scenario.policy.routing_weight``.

    Returns:
        One :class:`RouteRow` per pair, unreachable pairs included (see ``RouteRow.reachable``).
    """
    router = Router(graph, weight or scenario.policy.routing_weight)
    node_order = {n.id: i for i, n in enumerate(scenario.nodes)}
    rows: list[RouteRow] = []
    for item in scenario.items:
        units = sorted({r.unit for r in scenario.requirements if r.item == item.id}, key=node_order.__getitem__)
        for supplier in makers(scenario, item.id):
            for unit in units:
                if router.reachable(supplier, unit):
                    nodes = router.nodes_on(supplier, unit)
                    transit = route_total(graph, nodes, "transit_days")
                    rows.append(
                        RouteRow(
                            item=item.id,
                            supplier=supplier,
                            unit=unit,
                            links=router.route(supplier, unit),
                            nodes=nodes,
                            expected_transit_days=transit if transit is not None else math.inf,
                            distance_km=route_total(graph, nodes, "distance_km"),
                        )
                    )
                else:
                    rows.append(RouteRow(item.id, supplier, unit, (), (), math.inf, None))
    return rows
