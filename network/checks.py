"""Structural checks of a scenario's supply graph: problems a valid schema can still have.

The schema (``scenarios.schema``) guarantees that every reference resolves; these checks look
at the *shape* of the network: can each requirement be filled at all, does a lot fit in the
vehicles on its way, are there cycles, duplicate or idle parts, and do funding earmarks match.
Each finding is a :class:`Check` with a field path into the scenario (as the loader uses), so
the CLI can show it at the line of the file it is about.

Errors (a run would stall or be meaningless):

- ``no_supplier``: an item required but made by no supplier suitable for the requirement's
  channel (at ``requirements[i].item``);
- ``unreachable``: a requirement's unit unreachable from every suitable supplier of its item
  (at ``requirements[i].unit``);
- ``lot_too_big``: a lot of an item does not fit in one vehicle of a link on a route the item
  may take (at ``links[i].capacity_m3``): its static route from each supplier that reaches
  the unit, and under ``routing.policy: on_departure`` every alternative a lot may switch to
  on the way (``network.routing.plan_routes_from``);
- ``cycle``: a cycle among the physical nodes (at ``links[i]``, the cycle's first link in file
  order);
- ``earmark``: a funding donor whose earmarks exclude the requirement's item
  (at ``requirements[i].funders[j]``).

Warnings (probably a mistake, the run still makes sense):

- ``duplicate_link``: a second enabled link joining the same ordered pair of nodes; only the
  first is used (at ``links[i]``);
- ``isolated``: a supplier, hub, border, depot or unit with no enabled link (at ``nodes[i]``);
- ``idle_supplier``: a supplier that makes nothing a requirement, or a stock policy ordering
  through a channel, can take from it (at ``nodes[i].products``);
- ``never_received``: a unit consuming an item no requirement delivers to it and for which it
  has no stock policy (at ``nodes[i].consumption_per_day.<item>``).

Results are in a fixed order: errors first, then warnings, each group in the order above and
then in file order.

Strategies are checked like the base: :func:`strategy_checks` runs the error checks on the
scenario with each strategy applied and reports every error the strategy adds at the override
that causes it (``strategies[i].overrides.<path>``), so a strategy that closes the only route
or makes a lot bigger than a vehicle fails ``validate`` instead of the middle of a run.

Example:
    >>> import datetime as dt
    >>> from scenarios.schema import Scenario
    >>> s = Scenario.model_validate({
    ...     "name": "tiny", "start": dt.date(2025, 1, 1), "horizon_days": 10,
    ...     "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
    ...     "nodes": [
    ...         {"id": "s", "kind": "supplier", "domestic": True,
    ...          "products": [{"item": "box", "rate_per_day": 5, "unit_price_eur": 1}]},
    ...         {"id": "u", "kind": "unit"},
    ...         {"id": "ua", "kind": "donor", "state_budget": True, "budget_eur": 100.0}],
    ...     "requirements": [{"id": "R1", "unit": "u", "item": "box", "qty": 10,
    ...                       "need_by": dt.date(2025, 1, 5), "channel": "domestic"}]})
    >>> [str(c) for c in check(s)]  # doctest: +NORMALIZE_WHITESPACE
    ["error requirements[0].unit: unit 'u' is unreachable from every domestic supplier of 'box' (s)",
     "warning nodes[0]: supplier 's' has no enabled links",
     "warning nodes[1]: unit 'u' has no enabled links",
     "warning nodes[0].products: supplier 's' makes box but no requirement's channel takes from it (domestic=True)"]
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from network.build import PHYSICAL_KINDS, lot_volume_m3, lots_per_vehicle, supply_graph
from network.graph import Attrs, Digraph, find_cycle, strongly_connected_components
from network.routing import RoutePlan, Router, makers, plan_routes_from, route_plan, suitable_suppliers
from scenarios.errors import format_path
from scenarios.schema import Depot, Donor, Requirement, Scenario, Strategy, Supplier, Unit, effective_channel
from scenarios.strategies import StrategyProblem, apply_overrides

__all__ = ["Check", "check", "errors", "strategy_checks"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Check:
    """One structural finding about a scenario.

    Attributes:
        loc: Field path into the scenario, e.g. ``("requirements", 2, "unit")``.
        message: What is wrong, for a planner.
        severity: ``"error"`` (the scenario should not run) or ``"warning"``.
        code: Stable name of the check that fired (``unreachable``, ``cycle``, ...).
    """

    loc: tuple[str | int, ...]
    message: str
    severity: Severity
    code: str = ""

    def __str__(self) -> str:
        return f"{self.severity} {format_path(self.loc)}: {self.message}"


def errors(checks: list[Check]) -> list[Check]:
    """The checks of severity ``error``."""
    return [c for c in checks if c.severity == "error"]


def _supplier_label(scenario: Scenario, channel: str, item: str) -> str:
    if channel == "domestic":
        return "domestic supplier"
    foreign = [s for s in makers(scenario, item) if not scenario.node(s).domestic]
    return "non-domestic supplier" if foreign else "supplier"


def _supply_checks(
    scenario: Scenario, router: Router, plan: RoutePlan | None = None
) -> tuple[list[Check], list[Check], list[Check]]:
    """``no_supplier``, ``unreachable`` and ``lot_too_big`` findings (``plan``: the alternatives, if any)."""
    none_found: list[Check] = []
    unreachable: list[Check] = []
    too_big: dict[tuple[int, str], Check] = {}
    link_index = {lk.id: i for i, lk in enumerate(scenario.links)}
    item_order = {it.id: i for i, it in enumerate(scenario.items)}
    for i, req in enumerate(scenario.requirements):
        channel = effective_channel(scenario, req)
        sups = suitable_suppliers(scenario, req)
        if not sups:
            made_by = makers(scenario, req.item)
            if made_by:
                msg = f"item {req.item!r} is made by no {channel}-channel supplier (made by {', '.join(made_by)})"
            else:
                msg = f"item {req.item!r} is required but made by no supplier"
            none_found.append(Check(("requirements", i, "item"), msg, "error", "no_supplier"))
            continue
        reaching = [s for s in sups if router.reachable(s, req.unit)]
        if not reaching:
            label = _supplier_label(scenario, channel, req.item)
            msg = f"unit {req.unit!r} is unreachable from every {label} of {req.item!r} ({', '.join(sups)})"
            unreachable.append(Check(("requirements", i, "unit"), msg, "error", "unreachable"))
            continue
        item = scenario.item(req.item)
        lot_m3 = lot_volume_m3(item)
        for sup in reaching:
            if plan is None:
                used: tuple[str, ...] = router.route(sup, req.unit)
            else:
                ids = plan_routes_from(router.graph, plan, sup, req.unit)
                used = tuple(dict.fromkeys(x for rid in ids for x in plan.routes[rid]))
            for link_id in used:
                j = link_index[link_id]
                cap = scenario.links[j].capacity_m3
                if (j, item.id) not in too_big and lots_per_vehicle(cap, lot_m3) == 0:
                    u, v = scenario.links[j].from_, scenario.links[j].to
                    msg = (
                        f"a lot of {item.id!r} ({item.lot_size} x {item.volume_m3:g} m3 = {lot_m3:g} m3) "
                        f"does not fit in a vehicle of link {link_id!r} ({u} -> {v}, {cap:g} m3)"
                    )
                    too_big[(j, item.id)] = Check(("links", j, "capacity_m3"), msg, "error", "lot_too_big")
    big = [too_big[k] for k in sorted(too_big, key=lambda k: (k[0], item_order[k[1]]))]
    return none_found, unreachable, big


def _induced(succ: Mapping[str, Mapping[str, Attrs]], keep: Collection[str]) -> dict[str, dict[str, Attrs]]:
    """The successors of the subgraph on ``keep``, in the graph's order (networkx's ``subgraph`` view)."""
    return {u: {v: d for v, d in nbrs.items() if v in keep} for u, nbrs in succ.items() if u in keep}


def _cycle_checks(graph: Digraph) -> list[Check]:
    physical = _induced(graph.succ, {n for n, d in graph.nodes.items() if d.get("kind") in PHYSICAL_KINDS})
    found: list[tuple[int, Check]] = []
    for component in strongly_connected_components(physical):
        if len(component) < 2:
            continue
        sub = _induced(physical, component)
        first = min(((u, v, d) for u, nbrs in sub.items() for v, d in nbrs.items()), key=lambda e: e[2]["link_index"])
        dfs_cycle = find_cycle(sub, first[0])
        assert dfs_cycle is not None  # a strongly connected component of two or more nodes has one
        cycle: list[tuple[str, str]] = dfs_cycle
        start = min(range(len(cycle)), key=lambda k: sub[cycle[k][0]][cycle[k][1]]["link_index"])
        cycle = cycle[start:] + cycle[:start]
        path = " -> ".join([cycle[0][0], *(v for _, v in cycle)])
        names = ", ".join(sub[u][v]["link"] for u, v in cycle)
        index = sub[cycle[0][0]][cycle[0][1]]["link_index"]
        msg = f"undeclared cycle {path} (links {names})"
        found.append((index, Check(("links", index), msg, "error", "cycle")))
    return [c for _, c in sorted(found, key=lambda t: t[0])]


def _earmark_checks(scenario: Scenario) -> list[Check]:
    out: list[Check] = []
    donors = {n.id: n for n in scenario.nodes if isinstance(n, Donor)}
    for i, req in enumerate(scenario.requirements):
        for j, funder in enumerate(req.funders):
            donor = donors.get(funder)
            if donor is not None and donor.earmarks is not None and req.item not in donor.earmarks:
                allowed = ", ".join(donor.earmarks) or "nothing"
                msg = f"donor {funder!r} funds requirement {req.id!r} but its earmarks exclude {req.item!r} (allowed: {allowed})"
                out.append(Check(("requirements", i, "funders", j), msg, "error", "earmark"))
    return out


def _duplicate_checks(scenario: Scenario) -> list[Check]:
    out: list[Check] = []
    first: dict[tuple[str, str], str] = {}
    for i, link in enumerate(scenario.links):
        if not link.enabled:
            continue
        pair = (link.from_, link.to)
        if pair in first:
            msg = f"link {link.id!r} duplicates {first[pair]!r} ({pair[0]} -> {pair[1]}); only {first[pair]!r} is used"
            out.append(Check(("links", i), msg, "warning", "duplicate_link"))
        else:
            first[pair] = link.id
    return out


def _isolated_checks(scenario: Scenario, graph: Digraph) -> list[Check]:
    out: list[Check] = []
    for i, node in enumerate(scenario.nodes):
        if node.kind in PHYSICAL_KINDS and (node.id not in graph or not (graph.succ[node.id] or graph.pred[node.id])):
            out.append(Check(("nodes", i), f"{node.kind} {node.id!r} has no enabled links", "warning", "isolated"))
    return out


def _policy_orders(scenario: Scenario) -> list[Requirement]:
    """Each stock policy ordering through a channel (no ``source``), as the requirement its orders are.

    A depot's or a unit's policy without ``source`` orders its item for that node on its channel
    (``sim.model.inventory``); a unit's policy with ``source`` draws on the depot, whose own
    policy orders. The stand-ins are not validated (the policy was); only ``unit``, ``item``,
    ``channel`` and ``funders`` are read.
    """
    out: list[Requirement] = []
    for node in scenario.nodes:
        if not isinstance(node, (Unit, Depot)):
            continue
        for item, pol in node.stock_policies.items():
            if pol.source is None:
                out.append(
                    Requirement.model_construct(
                        id=f"{node.id}/{item}",
                        unit=node.id,
                        item=item,
                        qty=1,  # not read
                        need_by=scenario.start,  # not read
                        channel=pol.channel,
                        funders=list(pol.funders),
                    )
                )
    return out


def _idle_supplier_checks(scenario: Scenario, graph: Digraph) -> list[Check]:
    out: list[Check] = []
    orders = [*scenario.requirements, *_policy_orders(scenario)]
    required = {r.item for r in orders}
    usable: set[str] = set()
    router = Router(graph, weight=scenario.policy.routing_weight)
    for req in orders:
        usable.update(suitable_suppliers(scenario, req, router))
    for i, node in enumerate(scenario.nodes):
        if not isinstance(node, Supplier) or node.id in usable:
            continue
        made = ", ".join(p.item for p in node.products)
        if not any(p.item in required for p in node.products):
            msg = f"supplier {node.id!r} makes nothing required ({made})"
        else:
            msg = f"supplier {node.id!r} makes {made} but no requirement's channel takes from it (domestic={node.domestic})"
        out.append(Check(("nodes", i, "products"), msg, "warning", "idle_supplier"))
    return out


def _consumption_checks(scenario: Scenario) -> list[Check]:
    out: list[Check] = []
    delivered = {(r.unit, r.item) for r in scenario.requirements}
    for i, node in enumerate(scenario.nodes):
        if not isinstance(node, Unit):
            continue
        delivered.update((node.id, item) for item in node.stock_policies)  # its policy orders it
        for item, rate in node.consumption_per_day.items():
            if rate > 0 and (node.id, item) not in delivered:
                msg = f"unit {node.id!r} consumes {item!r} ({rate:g}/day) but no requirement delivers it there"
                out.append(Check(("nodes", i, "consumption_per_day", item), msg, "warning", "never_received"))
    return out


def check(scenario: Scenario, graph: Digraph | None = None) -> list[Check]:
    """Every structural problem of ``scenario``, errors first, in a deterministic order.

    Args:
        scenario: A validated scenario (a strategy already applied, if any).
        graph: Its graph from :func:`network.build.supply_graph` (or ``build_graph``);
            built (without networkx) when omitted.

    Returns:
        The findings (empty when the network is sound). Routes for the lot-size check use
        ``scenario.policy.routing_weight``.
    """
    if graph is None:
        graph = supply_graph(scenario)
    router = Router(graph, scenario.policy.routing_weight)
    plan = route_plan(graph, scenario) if scenario.routing.policy != "static" else None
    none_found, unreachable, too_big = _supply_checks(scenario, router, plan)
    return [
        *none_found,
        *unreachable,
        *too_big,
        *_cycle_checks(graph),
        *_earmark_checks(scenario),
        *_duplicate_checks(scenario),
        *_isolated_checks(scenario, graph),
        *_idle_supplier_checks(scenario, graph),
        *_consumption_checks(scenario),
    ]


def _error_keys(scenario: Scenario) -> set[tuple[str, tuple[str | int, ...], str]]:
    return {(c.code, c.loc, c.message) for c in errors(check(scenario))}


def _causes(
    base: Scenario, strategy: Strategy, index: int, keys: list[tuple[str, tuple[str | int, ...], str]]
) -> list[list[str]]:
    """Per finding of ``keys``, the overrides without which it disappears (ablation)."""
    paths = list(strategy.overrides)
    if len(paths) == 1:
        return [paths for _ in keys]
    without: dict[str, set[tuple[str, tuple[str | int, ...], str]] | None] = {}
    for p in paths:
        rest = {q: v for q, v in strategy.overrides.items() if q != p}
        try:
            without[p] = _error_keys(apply_overrides(base, rest, ("strategies", index, "overrides")))
        except StrategyProblem:
            without[p] = None  # the others alone are not a valid scenario: no verdict
    return [[p for p, left in without.items() if left is not None and key not in left] for key in keys]


def strategy_checks(scenario: Scenario, base_checks: list[Check] | None = None) -> list[Check]:
    """The errors each strategy adds to the base, each at the override that causes it.

    Every strategy is applied and checked like the base (:func:`check`, errors only). A
    finding the base has too is left to the base's own report. A new finding is placed at each
    override without which it disappears (a problem two overrides make together is reported at
    both); when no single override is to blame (two overrides each enough on their own), at the
    strategy's ``overrides`` mapping. A strategy whose overrides cannot be applied together is
    left to the loader, which reports it.

    Args:
        scenario: A validated base scenario with its strategies.
        base_checks: ``check(scenario)`` when already computed.

    Returns:
        Checks of severity ``error`` at ``("strategies", i, "overrides", path)`` (or
        ``("strategies", i, "overrides")``), whose message names the strategy, the field the
        problem is about and the problem, in file order of the strategies.
    """
    if not scenario.strategies:
        return []
    base_errors = errors(check(scenario) if base_checks is None else base_checks)
    known = {(c.code, c.loc, c.message) for c in base_errors}
    found: list[Check] = []
    for i, strategy in enumerate(scenario.strategies):
        if not strategy.overrides:
            continue
        where: tuple[str | int, ...] = ("strategies", i, "overrides")
        try:
            resolved = apply_overrides(scenario, strategy.overrides, where)
        except StrategyProblem:
            continue
        new = [c for c in errors(check(resolved)) if (c.code, c.loc, c.message) not in known]
        if not new:
            continue
        causes = _causes(scenario, strategy, i, [(c.code, c.loc, c.message) for c in new])
        for c, paths in zip(new, causes, strict=True):
            message = f"in strategy {strategy.name!r}: {format_path(c.loc)}: {c.message}"
            for loc in [(*where, p) for p in paths] or [where]:
                found.append(Check(loc, message, "error", c.code))
    return found
