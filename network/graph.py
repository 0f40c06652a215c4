"""A plain-dict directed graph and the few algorithms ``aidflow run`` and ``validate`` need.

Importing networkx costs about a third of a second (it loads every algorithm it has), and a
run or a validation needs only shortest routes, reachability and cycles. :class:`SupplyGraph`
holds the supply graph as insertion-ordered dicts — ``graph``, ``nodes`` (id -> attributes),
``succ`` and ``pred`` (node -> neighbour -> edge attributes) — the same shape as a networkx
``DiGraph``'s ``graph``, ``nodes``, ``succ`` and ``pred``, so the functions here take either.
networkx stays for the flow bounds (``network.capacity``, ``network.horizon``), imported by
the commands that compute them.

The algorithms reproduce networkx's visiting order exactly (adjacency in insertion order,
heap ties broken by push order), so they return the same route and the same cycle:

- :func:`dijkstra`: ``nx.single_source_dijkstra(G, source, target, weight)``;
- :func:`descendants`: ``nx.descendants``;
- :func:`strongly_connected_components`: the components (as sets; their order is not used);
- :func:`find_cycle`: ``nx.find_cycle(G, source)`` (edge DFS, original orientation).

Example:
    >>> g = SupplyGraph({"scenario": "x"})
    >>> for n in "abc":
    ...     g.add_node(n)
    >>> g.add_edge("a", "b", days=1.0); g.add_edge("b", "c", days=1.0); g.add_edge("a", "c", days=3.0)
    >>> dijkstra(g, "a", "c", lambda u, v, d: d["days"])
    (2.0, ['a', 'b', 'c'])
    >>> sorted(descendants(g, "a")), find_cycle(g.succ, "a")
    (['b', 'c'], None)
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

__all__ = [
    "Attrs",
    "Digraph",
    "SupplyGraph",
    "descendants",
    "dijkstra",
    "edges_of",
    "find_cycle",
    "strongly_connected_components",
]

Attrs = dict[str, Any]
"""Attributes of a node or an edge."""


class Digraph(Protocol):
    """What the functions here read: a networkx ``DiGraph`` or a :class:`SupplyGraph`."""

    @property
    def graph(self) -> dict[str, Any]:
        """Graph attributes."""
        ...

    @property
    def nodes(self) -> Mapping[str, Attrs]:
        """Node id -> attributes."""
        ...

    @property
    def succ(self) -> Mapping[str, Mapping[str, Attrs]]:
        """Node -> successor -> edge attributes, in insertion order."""
        ...

    @property
    def pred(self) -> Mapping[str, Mapping[str, Attrs]]:
        """Node -> predecessor -> edge attributes."""
        ...

    def __contains__(self, node: object) -> bool:
        """Whether ``node`` is in the graph."""
        ...


class SupplyGraph:
    """An insertion-ordered directed graph of plain dicts (at most one edge per ordered pair).

    Built once by ``network.build.supply_graph`` and then only read: nothing here changes it
    after construction, and callers must not either.

    Attributes:
        graph: Graph attributes.
        nodes: Node id -> attributes, in insertion order.
        succ: Node -> successor -> edge attributes (the same dict as in ``pred``).
        pred: Node -> predecessor -> edge attributes.
    """

    __slots__ = ("graph", "nodes", "pred", "succ")

    def __init__(self, graph: dict[str, Any] | None = None) -> None:
        self.graph: dict[str, Any] = dict(graph or {})
        self.nodes: dict[str, Attrs] = {}
        self.succ: dict[str, dict[str, Attrs]] = {}
        self.pred: dict[str, dict[str, Attrs]] = {}

    def add_node(self, node: str, **attrs: Any) -> None:
        """Add ``node`` with ``attrs`` (construction only)."""
        self.nodes.setdefault(node, {}).update(attrs)
        self.succ.setdefault(node, {})
        self.pred.setdefault(node, {})

    def add_edge(self, u: str, v: str, **attrs: Any) -> None:
        """Add the edge ``u -> v`` with ``attrs``; its ends must be nodes (construction only)."""
        data = self.succ[u].setdefault(v, {})
        data.update(attrs)
        self.pred[v][u] = data

    def has_edge(self, u: str, v: str) -> bool:
        """Whether the edge ``u -> v`` exists."""
        return u in self.succ and v in self.succ[u]

    def __contains__(self, node: object) -> bool:
        return node in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def number_of_edges(self) -> int:
        """Number of edges."""
        return sum(len(nbrs) for nbrs in self.succ.values())

    def degree(self, node: str) -> int:
        """In-degree plus out-degree (a self-loop counts twice, as in networkx)."""
        return len(self.succ[node]) + len(self.pred[node])


def edges_of(graph: Digraph) -> Iterator[tuple[str, str, Attrs]]:
    """Every edge as ``(u, v, attributes)``, in networkx's ``edges(data=True)`` order (by tail, then insertion)."""
    for u, nbrs in graph.succ.items():
        for v, data in nbrs.items():
            yield u, v, data


def dijkstra(
    graph: Digraph, source: str, target: str, weight: Callable[[str, str, Attrs], float]
) -> tuple[float, list[str]] | None:
    """Shortest path from ``source`` to ``target``; None when there is none.

    The order of networkx's ``_dijkstra_multisource``: successors relaxed in insertion order,
    heap ties broken by push order, a path replaced only by a strictly shorter one.

    Args:
        graph: The graph.
        source: Start node (in the graph).
        target: End node.
        weight: ``weight(u, v, edge attributes)`` -> non-negative cost.

    Returns:
        ``(cost, [source, ..., target])`` or None if ``target`` is unreachable.
    """
    succ = graph.succ
    dist: dict[str, float] = {}
    seen: dict[str, float] = {source: 0}
    paths: dict[str, list[str]] = {source: [source]}
    counter = itertools.count()
    fringe: list[tuple[float, int, str]] = [(0, next(counter), source)]
    while fringe:
        d, _, v = heapq.heappop(fringe)
        if v in dist:
            continue
        dist[v] = d
        if v == target:
            break
        for u, e in succ[v].items():
            vu = d + weight(v, u, e)
            if u in dist:
                continue
            if u not in seen or vu < seen[u]:
                seen[u] = vu
                heapq.heappush(fringe, (vu, next(counter), u))
                paths[u] = [*paths[v], u]
    if target not in dist:
        return None
    return dist[target], paths[target]


def descendants(graph: Digraph, source: str) -> set[str]:
    """Nodes reachable from ``source``, ``source`` itself excluded."""
    succ = graph.succ
    seen = {source}
    stack = [source]
    while stack:
        for v in succ[stack.pop()]:
            if v not in seen:
                seen.add(v)
                stack.append(v)
    seen.discard(source)
    return seen


def strongly_connected_components(succ: Mapping[str, Mapping[str, Any]]) -> list[set[str]]:
    """The strongly connected components of the graph ``succ`` (iterative Tarjan).

    Args:
        succ: Node -> successors; successors outside ``succ``'s keys are ignored.

    Returns:
        The components as sets (every node in exactly one).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    for root in succ:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(succ[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in succ:
                    continue
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ[w])))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
                if low[v] == index[v]:
                    component: set[str] = set()
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.add(w)
                        if w == v:
                            break
                    found.append(component)
    return found


def _edge_dfs(succ: Mapping[str, Mapping[str, Any]], source: str) -> Iterator[tuple[str, str]]:
    """networkx's ``edge_dfs`` from one node: each edge once, in depth-first order."""
    visited_edges: set[tuple[str, str]] = set()
    visited_nodes: set[str] = set()
    edges: dict[str, Iterator[str]] = {}
    stack = [source]
    while stack:
        current = stack[-1]
        if current not in visited_nodes:
            edges[current] = iter(succ[current])
            visited_nodes.add(current)
        try:
            head = next(edges[current])
        except StopIteration:
            stack.pop()
        else:
            if (current, head) not in visited_edges:
                visited_edges.add((current, head))
                stack.append(head)
                yield current, head


def find_cycle(succ: Mapping[str, Mapping[str, Any]], source: str) -> list[tuple[str, str]] | None:
    """The cycle networkx's ``find_cycle(G, source)`` returns, as ``[(u, v), ...]``; None if none.

    Args:
        succ: Node -> successors of the graph searched (every successor must be a key).
        source: Node the depth-first search starts from.
    """
    edges: list[tuple[str, str]] = []
    active = {source}
    previous_head: str | None = None
    for tail, head in _edge_dfs(succ, source):
        if previous_head is not None and tail != previous_head:
            while True:  # backtracking: drop the edges of the abandoned branch
                if not edges:
                    active = {tail}
                    break
                active.discard(edges.pop()[1])
                if edges and tail == edges[-1][1]:
                    break
        edges.append((tail, head))
        if head in active:
            start = next(i for i, (t, _) in enumerate(edges) if t == head)
            return edges[start:]
        active.add(head)
        previous_head = head
    return None
