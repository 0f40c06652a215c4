"""Diversions read from the event log (routing ``on_departure``, issue 15): which lot left which route, why.

A diversion is one ``rerouted`` row (``sim.events``): at ``node`` the lot leaves its planned
route for route ``vehicle`` of the run's route table (``routes``: route id -> link ids, kept in
the manifest's part entry under ``routes``), whose next link is ``link``; ``value`` is the days
the new route was expected to save. This module names both routes and the likely reason.

The old route. Before its first diversion a lot is planned on the static route of its supplier
and unit: the route with the lowest id that starts at the supplier and ends at the unit (the
static routes are numbered first, ``network.routing.route_plan``). After a diversion it is
planned on the new route. The old route of a diversion is the planned one from ``node`` on.

Names. A route is named by the nodes it passes between ``node`` and the unit: ``via a`` (``via
a, b`` for two), ``direct`` for one link; its Sankey label is the whole chain of node ids
(``route_label``: ``s > h > a > u``). Without a scenario (no link ends) or a route table a
route is named by its next link (``by link ha``).

The reason, read from the log (the engine does not write one). Routing chooses by expected
time (transit, queues and convoy waits ahead, known closures: ``sim.model.routing``). A
diversion is put down to a *closure* when a resource of the old route (a link, or a node it
reaches) has a disruption that has not ended at the diversion's day and that starts before
``day + saves + nominal`` days, where ``nominal`` is the old route's mean transit (the lot
would have met it): ongoing ones first, then the one starting first. Otherwise the reason is
``queues and waits ahead`` (a queue, a full convoy, a server backlog on the old route).

Example:
    >>> route_name(["hb", "bu"], {"hb": ("h", "b"), "bu": ("b", "u")})
    'via b'
    >>> route_label(["hb", "bu"], {"hb": ("h", "b"), "bu": ("b", "u")})
    'h > b > u'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from results.replay.columns import event_columns
from sim.events import DISRUPTION_ENDED, DISRUPTION_STARTED, LOT_PRODUCED, REROUTED

if TYPE_CHECKING:
    from scenarios.schema import Scenario

__all__ = ["QUEUES", "Diversion", "diversions", "link_ends", "route_label", "route_name"]

QUEUES = "queues and waits ahead"
"""The reason of a diversion that no disruption on the old route explains."""

Ends = Mapping[str, tuple[str, str]]


@dataclass
class Diversion:
    """One ``rerouted`` row, in words.

    Attributes:
        day: When the lot decided (days from the scenario start).
        lot: The lot; ``node`` where it decided; ``link`` its new next link.
        route_id: The new route's id in the run's route table (the row's ``vehicle``).
        old_route: The links of its planned route from ``node`` on (None when not known).
        new_route: The links of the new route (None without a route table).
        old: The old route's name (``via a``); ``new`` the new one's.
        saves_days: Days the new route was expected to save (the row's ``value``).
        reason: A closure on the old route (``a closed from day 20.00 to day 30.00``) or ``QUEUES``.
    """

    day: float
    lot: int
    node: str
    link: str
    route_id: int
    old_route: list[str] | None
    new_route: list[str] | None
    old: str
    new: str
    saves_days: float
    reason: str

    @property
    def text(self) -> str:
        """``rerouted at h: via a -> via b, saves 7.25 days; a closed from day 20.00 to day 30.00``."""
        return f"rerouted at {self.node}: {self.old} -> {self.new}, saves {self.saves_days:.2f} days; {self.reason}"


def link_ends(scenario: Scenario | None) -> dict[str, tuple[str, str]]:
    """Link id -> (from node, to node) of ``scenario`` (empty without one)."""
    return {lk.id: (lk.from_, lk.to) for lk in scenario.links} if scenario is not None else {}


def route_name(links: Sequence[str] | None, ends: Ends) -> str:
    """A route by the nodes it passes before its last one: ``via a``, ``direct``, or ``by link L``."""
    if not links:
        return "its planned route"
    if any(lk not in ends for lk in links):
        return f"by link {links[0]}"
    inner = [ends[lk][1] for lk in links[:-1]]
    return "via " + ", ".join(inner) if inner else "direct"


def route_label(links: Sequence[str], ends: Ends) -> str:
    """A route as the chain of its node ids (``s > h > a > u``); link ids without the ends."""
    if not links or any(lk not in ends for lk in links):
        return " > ".join(links)
    return " > ".join([ends[links[0]][0], *(ends[lk][1] for lk in links)])


def _suffix(links: Sequence[str] | None, node: str, ends: Ends) -> list[str] | None:
    """The part of ``links`` from the link leaving ``node`` on (None if it does not pass there)."""
    if not links:
        return None
    for k, lk in enumerate(links):
        if lk in ends and ends[lk][0] == node:
            return list(links[k:])
    return None


def _transit_days(scenario: Scenario | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for lk in scenario.links if scenario is not None else []:
        x: Any = lk.transit_days
        out[lk.id] = float(x) if isinstance(x, (int, float)) else float(x.mean_days())
    return out


def diversions(
    log: Any,
    scenario: Scenario | None = None,
    routes: Sequence[Sequence[str]] | None = None,
    lot: int | None = None,
) -> list[Diversion]:
    """The diversions of one replication's log (of one ``lot`` if given), in log order.

    Args:
        log: The event table, an ``EventLog``, a Parquet part or ``EventColumns``.
        scenario: The resolved scenario (link ends and transit, for names and reasons).
        routes: The run's route table (the manifest part's ``routes``; ``RunResult.routes``).
        lot: Only this lot's diversions.
    """
    c = event_columns(log)
    ends = link_ends(scenario)
    table = [list(r) for r in routes] if routes else []
    static: dict[tuple[str, str], list[str]] = {}
    for r in table:
        if r and r[0] in ends and r[-1] in ends:
            static.setdefault((ends[r[0]][0], ends[r[-1]][1]), r)
    transit = _transit_days(scenario)
    periods: dict[str, list[list[float]]] = {}  # target -> [start, end, factor]
    supplier: dict[int, str] = {}
    planned: dict[int, list[str]] = {}
    rows: list[int] = []
    for i in range(c.n):
        k = c.kind[i]
        if k == REROUTED:
            if lot is None or c.lot[i] == lot:
                rows.append(i)
        elif k == LOT_PRODUCED and (lot is None or c.lot[i] == lot):
            supplier[c.lot[i]] = c.node[i] or "?"
        elif k == DISRUPTION_STARTED:
            target = c.node[i] or c.link[i] or "?"
            periods.setdefault(target, []).append([c.t[i], math.inf, c.value[i] or 0.0])
        elif k == DISRUPTION_ENDED:
            target = c.node[i] or c.link[i] or "?"
            for p in periods.get(target, []):
                if p[1] == math.inf and p[2] == (c.value[i] or 0.0):
                    p[1] = c.t[i]
                    break
    out: list[Diversion] = []
    for i in rows:
        t, lt, node, rid = c.t[i], c.lot[i], c.node[i] or "?", c.vehicle[i]
        new = table[rid] if 0 <= rid < len(table) else None
        unit = ends[new[-1]][1] if new and new[-1] in ends else None
        before = planned.get(lt)
        if before is None and unit is not None:
            before = static.get((supplier.get(lt, "?"), unit))
        old = _suffix(before, node, ends)
        if new is not None:
            planned[lt] = new
        v = c.value[i]
        saves = v if v is not None else math.nan
        out.append(
            Diversion(
                day=t,
                lot=lt,
                node=node,
                link=c.link[i] or "?",
                route_id=rid,
                old_route=old,
                new_route=list(new) if new is not None else None,
                old=route_name(old, ends),
                new=route_name(new, ends) if new is not None else f"by link {c.link[i]}",
                saves_days=saves,
                reason=_reason(t, saves, old, ends, periods, transit),
            )
        )
    return out


def _reason(
    t: float,
    saves: float,
    old: list[str] | None,
    ends: Ends,
    periods: dict[str, list[list[float]]],
    transit: dict[str, float],
) -> str:
    """A disruption on the old route the lot would have met (module docstring), or ``QUEUES``."""
    if not old:
        return QUEUES
    on_route = [*old, *(ends[lk][1] for lk in old if lk in ends)]
    reach = t + (saves if math.isfinite(saves) else 0.0) + sum(transit.get(lk, 0.0) for lk in old)
    found: list[tuple[bool, float, str, float, float]] = []
    for target in on_route:
        for start, end, factor in periods.get(target, []):
            if end > t and start <= reach:
                found.append((start > t, start, target, end, factor))
    if not found:
        return QUEUES
    _, start, target, end, factor = min(found)
    what = "closed" if factor <= 0 else f"at {factor:.0%} capacity"
    until = f"to day {end:.2f}" if math.isfinite(end) else "to the end of the run"
    return f"{target} {what} from day {start:.2f} {until}"
