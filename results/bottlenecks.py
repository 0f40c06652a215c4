"""Bottleneck analysis from the event log: what binds, when, and how it responds.

Everything here is a pure function of one replication's event table (``sim.log.arrow_schema``)
and the *resolved* scenario it ran (strategy and overrides applied); the engine is never
imported. Structural bounds (``network.capacity``) come in as plain data (any object with the
attributes of :class:`BoundLike`), so this module stays on the ``results`` side of the import
rules.

Resources (names match ``network.capacity`` where they overlap):

==========================  ==========================================  ===================
name                        what                                        capacity
==========================  ==========================================  ===================
``node:<id>``               a hub, border crossing or depot             servers
``link:<id>``               an enabled link's vehicle pool              vehicles
``agency:<id>``             an agency's contracting staff               staff
``supplier:<id>``           a supplier's production line                base units/day
``supplier:<id>/<item>``    one line of a supplier making several items base units/day
==========================  ==========================================  ===================

Per resource (``analyse``): utilisation, mean queue and mean wait (handling nodes, links and
agencies: ``results.kpis.compute_kpis``; supplier lines: share of time with open orders, mean
backlog in lots and mean days from contract award to lot produced of delivered lots), its
share of the total lead time of delivered units (queue and service at a node; waiting for a
vehicle and transit on a link; tendering at the agency; making the lot on the line), and the
active-period analysis below.

**Active periods** (Roser, Nakano & Tanaka, 2001-2002). A resource is *active* while it works
or is down with work waiting, and inactive while starved or blocked. With the default rule
``"saturated"`` a resource of several units counts as active only while *all* usable units
are busy (servers in service, vehicles away, tenders running: capacity after disruptions) or
work waits for it with no unit free: a fleet of forty trucks with one on the road is not a
bottleneck. A ``scheduled`` link is also active while lots that its last convoy left behind
wait for the next. Supplier lines are active while they hold open orders (from
``contract_awarded`` until the ``lot_produced`` that clears them). The rule ``"occupied"`` is
the textbook one: active while anything is in service or waits (any server busy, any vehicle
away, any tender running or requirement waiting for one).

At each instant the **momentary bottleneck** is the resource whose ongoing active period is
the longest (its whole duration). Where the active period of one momentary bottleneck overlaps
that of the next, both are **shifting** bottlenecks over the overlap; elsewhere the momentary
bottleneck is the **sole** bottleneck. ``Analysis.timeline`` lists these as
``Segment(start, end, resource, state)``; per resource, ``sole_share`` and ``shifting_share``
are fractions of the observation window ``[0, end]``. Resources are ranked by
``sole_share + shifting_share`` (the bottleneck share; below ``MIN_SHARE`` = 1% of the time it
counts as 0), then by utilisation.

**Throughput** of an item is the rate of its deliveries over the active span: units delivered
after the first delivery instant, divided by the days from the first to the last delivery
(the fence-post correction: N equally spaced deliveries span N - 1 gaps).

**Response**: :func:`capacity_change` turns "+1" or "+25%" for a resource into a dotted-path
override (``nodes.<id>.servers``, ``links.<id>.vehicles``, ``nodes.<id>.staff``,
``nodes.<id>.products.<i>.rate_per_day``); :func:`response` reads the paired differences
(common random numbers) of units delivered and mean lead time of each variant against the base
from a KPI table (``results.compare.paired_differences``).

``results.bottlenecks_stream.analyse_part`` gives the same analysis of a part of a run
directory read chunk by chunk (memory bounded by a chunk plus a few numbers per lot).

Example:
    >>> from scenarios.load import load
    >>> from sim.run import run
    >>> s = load("scenarios/small_routers.yaml")
    >>> log, result = run(s)
    >>> a = analyse(log.table(), s, end=result.end_day)
    >>> rank([a])[0].rank
    1
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pyarrow as pa

from results.compare import paired_differences, t_ci
from results.kpis import EventArrays, KpiKey, compute_kpis, event_arrays, lot_lead_times
from scenarios.schema import Agency, Border, Depot, DispatchScheduled, Hub, Scenario, Supplier, effective_channel
from sim.events import (
    ARRIVED,
    CONTRACT_AWARDED,
    DELIVERED,
    DEPARTED,
    DISRUPTION_ENDED,
    DISRUPTION_STARTED,
    FUNDS_COMMITTED,
    LOADED,
    LOT_PRODUCED,
    QUEUED,
    RETURNED,
    SERVICE_FINISHED,
    SERVICE_STARTED,
    TENDER_FINISHED,
    TENDER_STARTED,
)

__all__ = [
    "RULES",
    "Addition",
    "Analysis",
    "BadAddition",
    "BoundLike",
    "BoundRow",
    "Change",
    "MIN_SHARE",
    "RankRow",
    "Resource",
    "ResourceStats",
    "ResponseRow",
    "Rule",
    "Segment",
    "Span",
    "Throughput",
    "Variant",
    "active_periods",
    "analyse",
    "capacity_change",
    "dominant_timeline",
    "momentary_bottlenecks",
    "rank",
    "ranking_table",
    "resource_stats",
    "resources",
    "response",
    "shifting_timeline",
    "throughput",
    "throughput_vs_bound",
    "timeline_table",
]

Rule = Literal["saturated", "occupied"]
RULES: tuple[str, ...] = ("saturated", "occupied")
"""Names of the activity rules (see the module docstring)."""

_EMPTY = np.zeros((0, 2))
_FIT = 1e-9  # the engine's tolerance in ceil(servers * factor - 1e-9)


# --------------------------------------------------------------------------- resources


@dataclass(frozen=True)
class Resource:
    """A capacity-bearing resource of the scenario.

    Attributes:
        name: ``node:<id>``, ``link:<id>``, ``agency:<id>``, ``supplier:<id>`` (or
            ``supplier:<id>/<item>`` for a supplier with several lines).
        kind: ``node``, ``link``, ``agency`` or ``supplier``.
        id: The node or link id.
        item: The line's item (suppliers only).
        capacity: Servers, vehicles, staff, or the line's base rate in units per day.
        unit: What ``capacity`` counts: ``servers``, ``vehicles``, ``staff`` or ``units/day``.
    """

    name: str
    kind: str
    id: str
    item: str | None
    capacity: float
    unit: str


def resources(scenario: Scenario) -> list[Resource]:
    """Every resource of ``scenario``: agencies, supplier lines and handling nodes in file order, then links.

    Disabled links are left out.

    Example:
        >>> from scenarios.load import load
        >>> [r.name for r in resources(load("scenarios/small_routers.yaml"))][:2]
        ['agency:nspa', 'supplier:riga_networks']
    """
    out: list[Resource] = []
    for n in scenario.nodes:
        if isinstance(n, Agency):
            out.append(Resource(f"agency:{n.id}", "agency", n.id, None, float(n.staff), "staff"))
        elif isinstance(n, Supplier):
            many = len(n.products) > 1
            for p in n.products:
                name = f"supplier:{n.id}/{p.item}" if many else f"supplier:{n.id}"
                out.append(Resource(name, "supplier", n.id, p.item, float(p.rate_per_day), "units/day"))
        elif isinstance(n, (Hub, Border, Depot)):
            out.append(Resource(f"node:{n.id}", "node", n.id, None, float(n.servers), "servers"))
    for lk in scenario.links:
        if lk.enabled:
            out.append(Resource(f"link:{lk.id}", "link", lk.id, None, float(lk.vehicles), "vehicles"))
    return out


# --------------------------------------------------------------------------- adding capacity


class BadAddition(ValueError):
    """An ``--add`` amount that cannot be used."""


@dataclass(frozen=True)
class Addition:
    """Capacity to add to a candidate: ``amount`` units (``relative`` False) or a fraction.

    Absolute: ``+n`` servers, vehicles or contracting staff; for a supplier line, ``+n`` lots
    per day on its base rate (``n * lot_size`` units per day). Relative: the count times
    ``1 + fraction`` rounded up, and at least one more; a line's base rate times
    ``1 + fraction``.

    Example:
        >>> Addition.parse("25%"), str(Addition.parse("1"))
        (Addition(amount=0.25, relative=True), '+1')
    """

    amount: float
    relative: bool

    @classmethod
    def parse(cls, text: str) -> Addition:
        """``"1"`` (an integer 1..1000) or ``"25%"`` (0 < p <= 1000).

        Raises:
            BadAddition: Anything else.
        """
        s = text.strip()
        try:
            if s.endswith("%"):
                p = float(s[:-1])
                if not (math.isfinite(p) and 0 < p <= 1000):
                    raise ValueError
                return cls(p / 100.0, True)
            n = int(s)
            if not 1 <= n <= 1000:
                raise ValueError
            return cls(float(n), False)
        except ValueError:
            raise BadAddition(
                f"--add: expected a whole number 1..1000 or a percentage like 25% (got {text!r})"
            ) from None

    def __str__(self) -> str:
        return f"+{self.amount * 100:g}%" if self.relative else f"+{self.amount:g}"

    def count(self, n: int) -> int:
        """``n`` servers/vehicles/staff after the addition."""
        if self.relative:
            return max(n + 1, math.ceil(n * (1 + self.amount) - 1e-9))
        return n + round(self.amount)


@dataclass(frozen=True)
class Change:
    """The override that adds capacity to one resource.

    Attributes:
        resource: The resource name.
        path: The dotted path overridden (``scenarios.strategies`` syntax).
        before: The value before.
        after: The value after.
        text: What a planner reads, e.g. ``servers 2 -> 3``.
        integer: Whether the value is a count (servers, vehicles, staff) or a rate.
    """

    resource: str
    path: str
    before: float
    after: float
    text: str
    integer: bool = True

    @property
    def overrides(self) -> dict[str, Any]:
        """``{path: after}`` for ``scenarios.strategies.apply_overrides``."""
        return {self.path: int(self.after) if self.integer else self.after}


def capacity_change(scenario: Scenario, resource: Resource | str, addition: Addition) -> Change:
    """The override adding ``addition`` to ``resource`` of ``scenario``.

    Raises:
        KeyError: ``resource`` is not a resource of ``scenario``.

    Example:
        >>> from scenarios.load import load
        >>> s = load("scenarios/small_routers.yaml")
        >>> capacity_change(s, "agency:nspa", Addition.parse("1")).overrides
        {'nodes.nspa.staff': 3}
    """
    if isinstance(resource, str):
        by_name = {r.name: r for r in resources(scenario)}
        if resource not in by_name:
            raise KeyError(resource)
        resource = by_name[resource]
    r = resource
    if r.kind == "supplier":
        node = scenario.node(r.id)
        index = next(i for i, p in enumerate(node.products) if p.item == r.item)
        rate = float(node.products[index].rate_per_day)
        if addition.relative:
            new = rate * (1 + addition.amount)
        else:
            new = rate + addition.amount * scenario.item(str(r.item)).lot_size
        new = round(new, 6)
        path = f"nodes.{r.id}.products.{index}.rate_per_day"
        return Change(r.name, path, rate, new, f"rate {rate:,.6g} -> {new:,.6g}/day", integer=False)
    field_name = {"node": "servers", "link": "vehicles", "agency": "staff"}[r.kind]
    before = int(r.capacity)
    after = addition.count(before)
    path = f"{'links' if r.kind == 'link' else 'nodes'}.{r.id}.{field_name}"
    return Change(r.name, path, float(before), float(after), f"{field_name} {before} -> {after}")


# --------------------------------------------------------------------------- active periods


def _arrays(table: pa.Table | EventArrays, scenario: Scenario) -> EventArrays:
    ev = table if isinstance(table, EventArrays) else event_arrays(table, scenario)
    if ev.nodes[: len(scenario.nodes)] != [n.id for n in scenario.nodes] or ev.links[: len(scenario.links)] != [
        lk.id for lk in scenario.links
    ]:
        raise ValueError("event arrays were not built for this scenario: use event_arrays(table, scenario)")
    return ev


def _end(ev: EventArrays, scenario: Scenario, end: float | None) -> float:
    if end is not None:
        return float(end)
    last = float(ev.t[-1]) if len(ev) else 0.0
    return max(float(scenario.horizon_days), last)


def _factor_steps(ev: EventArrays, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Capacity factor after each disruption row of one target (the smallest active one, 1 if none)."""
    active: list[float] = []
    times: list[float] = []
    factors: list[float] = []
    for i in rows.tolist():
        f = float(ev.value[i])
        if ev.kind[i] == DISRUPTION_STARTED:
            active.append(f)
        elif f in active:
            active.remove(f)
        times.append(float(ev.t[i]))
        factors.append(min(active) if active else 1.0)
    return np.asarray(times, dtype=np.float64), np.asarray(factors, dtype=np.float64)


def _levels(grid: np.ndarray, times: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """The level after each instant of ``grid`` of a step function starting at 0."""
    if len(times) == 0:
        return np.zeros(len(grid))
    idx = np.searchsorted(grid, times)
    return np.cumsum(np.bincount(idx, weights=deltas, minlength=len(grid))[: len(grid)])


def _at(grid: np.ndarray, times: np.ndarray, values: np.ndarray, default: float) -> np.ndarray:
    """A piecewise-constant function (value after the last change at or before) on ``grid``."""
    if len(times) == 0:
        return np.full(len(grid), default)
    j = np.searchsorted(times, grid, side="right") - 1
    return np.where(j >= 0, values[np.maximum(j, 0)], default)


def _runs(grid: np.ndarray, end: float, active: np.ndarray) -> np.ndarray:
    """Maximal runs of active intervals ``[grid[i], grid[i + 1])`` (the last ends at ``end``)."""
    if not active.any():
        return _EMPTY
    d = np.diff(np.r_[0, active.astype(np.int8), 0])
    edges = np.r_[grid, end]
    return np.column_stack([edges[np.flatnonzero(d == 1)], edges[np.flatnonzero(d == -1)]])


def _station_periods(
    end: float,
    rule: str,
    busy: tuple[np.ndarray, np.ndarray],
    queue: tuple[np.ndarray, np.ndarray],
    capacity: float,
    factor: tuple[np.ndarray, np.ndarray],
    convoys: np.ndarray | None = None,
) -> np.ndarray:
    """Active periods of a pool of ``capacity`` units from its busy and queue changes."""
    keep_b, keep_q = busy[0] < end, queue[0] < end
    bt, bd = busy[0][keep_b], busy[1][keep_b]
    qt, qd = queue[0][keep_q], queue[1][keep_q]
    ft, fv = factor
    grid = np.unique(np.concatenate([[0.0], bt, qt, ft[ft < end]]))
    b = _levels(grid, bt, bd)
    q = _levels(grid, qt, qd)
    if rule == "occupied":
        active = (b + q) > 0.5
    else:
        # servers (vehicles) left at factor f: ceil(n f), none at 0 (sim.model.handling.scale)
        f = _at(grid, ft, fv, 1.0)
        cap = np.where(f > 0, np.maximum(1.0, np.ceil(capacity * f - _FIT)), 0.0)
        active = (b >= cap) & ((b + q) > 0.5)
        if convoys is not None and len(convoys):
            # a convoy that left lots behind keeps the link active until one leaves none
            dep = np.unique(convoys[convoys < end])
            left = q[np.searchsorted(grid, dep)] > 0.5
            active |= _at(grid, dep, left.astype(np.float64), 0.0).astype(bool) & (q > 0.5)
    return _runs(grid, end, active)


def _backlog_periods(end: float, times: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    keep = times < end
    t, d = times[keep], deltas[keep]
    grid = np.unique(np.concatenate([[0.0], t]))
    return _runs(grid, end, _levels(grid, t, d) > 0.5)


def _distinct(ev: EventArrays, rows: np.ndarray) -> np.ndarray:
    """One row per tender: tender rows are logged per requirement, same (node, item, t, days)."""
    if len(rows) == 0:
        return rows
    keys = np.column_stack([ev.node[rows], ev.item[rows], ev.t[rows], ev.value[rows]])
    _, first = np.unique(keys, axis=0, return_index=True)
    return np.sort(rows[first])


def active_periods(
    table: pa.Table | EventArrays, scenario: Scenario, end: float | None = None, rule: Rule = "saturated"
) -> dict[str, np.ndarray]:
    """The active periods of every resource, clipped to ``[0, end]``.

    Args:
        table: One replication's event table (or its ``event_arrays(table, scenario)``).
        scenario: The resolved scenario it ran.
        end: End of the observation window (days); the horizon, or the last event if later.
        rule: ``"saturated"`` (default) or ``"occupied"`` (see the module docstring).

    Returns:
        ``{resource name: array of shape (k, 2)}`` of ``[start, end)`` periods in time order,
        for every resource of :func:`resources`.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)} (got {rule!r})")
    ev = _arrays(table, scenario)
    T = _end(ev, scenario, end)
    t = ev.t
    qd, ss, sf = ev.of(QUEUED), ev.of(SERVICE_STARTED), ev.of(SERVICE_FINISHED)
    ld, dp, rt = ev.of(LOADED), ev.of(DEPARTED), ev.of(RETURNED)
    dis = np.flatnonzero((ev.kind == DISRUPTION_STARTED) | (ev.kind == DISRUPTION_ENDED))
    ca, lp = ev.of(CONTRACT_AWARDED), ev.of(LOT_PRODUCED)
    q_node, q_link = qd[ev.link[qd] < 0], qd[ev.link[qd] >= 0]
    node_code = {n.id: k for k, n in enumerate(scenario.nodes)}
    link_code = {lk.id: k for k, lk in enumerate(scenario.links)}
    item_code = {it.id: k for k, it in enumerate(scenario.items)}
    no_factor = (np.zeros(0), np.zeros(0))
    ones = np.ones

    def steps(up: np.ndarray, down: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.concatenate([up, down])
        return t[rows], np.r_[ones(len(up)), -ones(len(down))]

    out: dict[str, np.ndarray] = {}
    agency_queue = _agency_queue(ev, scenario)
    for r in resources(scenario):
        if r.kind == "node":
            c = node_code[r.id]
            s_c, f_c = ss[ev.node[ss] == c], sf[ev.node[sf] == c]
            factor = _factor_steps(ev, dis[(ev.node[dis] == c) & (ev.link[dis] < 0)])
            out[r.name] = _station_periods(
                T,
                rule,
                steps(s_c[ev.value[s_c] != 0], f_c[ev.value[f_c] != 0]),  # a server per job (serve: vehicle)
                steps(q_node[ev.node[q_node] == c], s_c),
                r.capacity,
                factor,
            )
        elif r.kind == "link":
            c = link_code[r.id]
            d_c = dp[ev.link[dp] == c]
            factor = _factor_steps(ev, dis[ev.link[dis] == c])
            spec = scenario.links[c]
            convoys = t[d_c] if isinstance(spec.dispatch, DispatchScheduled) else None
            out[r.name] = _station_periods(
                T,
                rule,
                steps(d_c, rt[ev.link[rt] == c]),
                steps(q_link[ev.link[q_link] == c], ld[ev.link[ld] == c]),
                r.capacity,
                factor,
                convoys,
            )
        elif r.kind == "agency":
            c = node_code[r.id]
            ts, tf = ev.of(TENDER_STARTED), ev.of(TENDER_FINISHED)
            s_c, f_c = _distinct(ev, ts[ev.node[ts] == c]), _distinct(ev, tf[ev.node[tf] == c])
            qt, qv = agency_queue.get(c, (np.zeros(0), np.zeros(0)))
            out[r.name] = _station_periods(T, rule, steps(s_c, f_c), (qt, qv), r.capacity, no_factor)
        else:
            c, i = node_code[r.id], item_code[str(r.item)]
            up = ca[(ev.node[ca] == c) & (ev.item[ca] == i)]
            down = lp[(ev.node[lp] == c) & (ev.item[lp] == i)]
            rows = np.concatenate([up, down])
            deltas = np.r_[ev.qty[up].astype(np.float64), -ev.qty[down].astype(np.float64)]
            out[r.name] = _backlog_periods(T, t[rows], deltas)
    return out


def _agency_queue(ev: EventArrays, s: Scenario) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per agency node code: changes of the number of funded requirements waiting for a tender."""
    agencies = [n.id for n in s.nodes if isinstance(n, Agency)]
    node_code = {n.id: k for k, n in enumerate(s.nodes)}
    n_ref = len(s.requirements)
    agency_of = np.full(n_ref, -1, dtype=np.int64)
    for i, r in enumerate(s.requirements):
        if effective_channel(s, r) == "agency":
            a = r.agency if r.agency is not None else (agencies[0] if len(agencies) == 1 else None)
            if a is not None:
                agency_of[i] = node_code[a]
    fc, ts = ev.of(FUNDS_COMMITTED), ev.of(TENDER_STARTED)
    fc = fc[(ev.ref[fc] >= 0) & (ev.ref[fc] < n_ref)]
    ts = ts[(ev.ref[ts] >= 0) & (ev.ref[ts] < n_ref)]
    funded = np.full(n_ref, -np.inf)
    np.maximum.at(funded, ev.ref[fc], ev.t[fc])
    started = np.full(n_ref, np.nan)
    started[ev.ref[ts]] = ev.t[ts]
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for c in sorted({int(x) for x in agency_of if x >= 0}):
        refs = np.flatnonzero((agency_of == c) & np.isfinite(funded))
        go = refs[np.isfinite(started[refs])]
        times = np.r_[funded[refs], started[go]]
        deltas = np.r_[np.ones(len(refs)), -np.ones(len(go))]
        out[c] = (times, deltas)
    return out


# --------------------------------------------------------------------------- momentary and shifting


@dataclass(frozen=True)
class Segment:
    """A stretch of time where ``resource`` is a ``sole`` or a ``shifting`` bottleneck."""

    start: float
    end: float
    resource: str
    state: str


def momentary_bottlenecks(
    periods: Mapping[str, np.ndarray], order: Sequence[str] | None = None
) -> list[tuple[float, float, str, float, float]]:
    """The momentary bottleneck over time: the resource with the longest ongoing active period.

    Args:
        periods: ``{resource: (k, 2) array of [start, end) active periods}``.
        order: Resource order for ties (equal durations: the earlier start, then this order).

    Returns:
        ``(start, end, resource, period_start, period_end)`` per stretch, in time order;
        consecutive stretches of the same active period are merged. Times where no resource is
        active are left out.

    Example:
        >>> p = {"a": np.array([[0.0, 5.0]]), "b": np.array([[2.0, 10.0]])}
        >>> [x[:3] for x in momentary_bottlenecks(p)]
        [(0.0, 2.0, 'a'), (2.0, 10.0, 'b')]
    """
    names = list(order) if order is not None else list(periods)
    names += [n for n in periods if n not in names]
    arrays = {n: np.asarray(periods[n], dtype=np.float64).reshape(-1, 2) for n in periods}
    arrays = {n: p[p[:, 1] > p[:, 0]] for n, p in arrays.items()}
    if all(len(p) < 2 or bool(np.all(p[1:, 0] >= p[:-1, 1])) for p in arrays.values()):
        return _momentary_disjoint(arrays, names)
    return _momentary_heap(periods, names)


_BLOCK = 1 << 16
"""Instants of the momentary sweep handled at a time (memory: resources x this)."""


def _momentary_disjoint(
    periods: Mapping[str, np.ndarray], names: list[str]
) -> list[tuple[float, float, str, float, float]]:
    """``momentary_bottlenecks`` when each resource's periods are sorted and disjoint (as
    ``active_periods`` gives them): at each instant at most one period per resource covers
    it, so the winner is found per resource with numpy, a block of instants at a time."""
    used = [n for n in names if n in periods and len(periods[n])]
    if not used:
        return []
    bounds = np.unique(np.concatenate([periods[n].ravel() for n in used]))
    out: list[tuple[float, float, str, float, float]] = []
    prev: list[Any] | None = None  # [start, end, resource index, period start, period end]
    for lo in range(0, len(bounds) - 1, _BLOCK):
        tau = bounds[lo : min(lo + _BLOCK, len(bounds) - 1)]
        nxt = bounds[lo + 1 : lo + 1 + len(tau)]
        best_d = np.full(len(tau), np.inf)  # -(duration) of the best covering period
        best_s = np.full(len(tau), np.inf)
        best_r = np.full(len(tau), -1, dtype=np.int64)
        best_e = np.zeros(len(tau))
        for r, n in enumerate(used):
            p = periods[n]
            j = np.searchsorted(p[:, 0], tau, side="right") - 1
            jj = np.maximum(j, 0)
            cover = (j >= 0) & (p[jj, 1] > tau)
            d, st = -(p[jj, 1] - p[jj, 0]), p[jj, 0]
            better = cover & ((d < best_d) | ((d == best_d) & (st < best_s)))  # ties: earlier start, then order
            best_d[better], best_s[better], best_r[better], best_e[better] = d[better], st[better], r, p[jj, 1][better]
        for k in np.flatnonzero(best_r >= 0).tolist():
            a, b, who, ps = float(tau[k]), float(nxt[k]), int(best_r[k]), float(best_s[k])
            if prev is not None and prev[1] == a and prev[2] == who and prev[3] == ps:
                prev[1] = b
            else:
                if prev is not None:
                    out.append((prev[0], prev[1], used[prev[2]], prev[3], prev[4]))
                prev = [a, b, who, ps, float(best_e[k])]
    if prev is not None:
        out.append((prev[0], prev[1], used[prev[2]], prev[3], prev[4]))
    return out


def _momentary_heap(
    periods: Mapping[str, np.ndarray], names: list[str]
) -> list[tuple[float, float, str, float, float]]:
    """``momentary_bottlenecks`` for any periods (a sweep with a heap of active periods)."""
    pos = {n: k for k, n in enumerate(names)}
    rows = [(float(s), float(e), pos[n]) for n in periods for s, e in np.asarray(periods[n]).reshape(-1, 2) if e > s]
    if not rows:
        return []
    rows.sort()
    bounds = sorted({x for s, e, _ in rows for x in (s, e)})
    heap: list[tuple[float, float, int, int]] = []
    out: list[tuple[float, float, str, float, float]] = []
    i = 0
    for k in range(len(bounds) - 1):
        tau, nxt = bounds[k], bounds[k + 1]
        while i < len(rows) and rows[i][0] <= tau:
            s, e, r = rows[i]
            heapq.heappush(heap, (-(e - s), s, r, i))
            i += 1
        while heap and rows[heap[0][3]][1] <= tau:
            heapq.heappop(heap)
        if not heap:
            continue
        _, s, r, pid = heap[0]
        e = rows[pid][1]
        if out and out[-1][1] == tau and out[-1][2] == names[r] and out[-1][3] == s:
            prev = out[-1]
            out[-1] = (prev[0], nxt, prev[2], prev[3], prev[4])
        else:
            out.append((tau, nxt, names[r], s, e))
    return out


def shifting_timeline(momentary: Sequence[tuple[float, float, str, float, float]]) -> list[Segment]:
    """Sole and shifting bottleneck segments from the momentary sequence.

    Where the active periods of two consecutive momentary bottlenecks overlap, both are
    shifting bottlenecks over the overlap (so is a momentary bottleneck inside an overlap);
    elsewhere the momentary bottleneck is the sole one.

    Returns:
        Segments sorted by start, then resource; adjacent segments of one resource in one
        state are merged.

    Example:
        >>> m = [(0.0, 2.0, "a", 0.0, 5.0), (2.0, 10.0, "b", 2.0, 10.0)]
        >>> [(s.start, s.end, s.resource, s.state) for s in shifting_timeline(m)]
        [(0.0, 2.0, 'a', 'sole'), (2.0, 5.0, 'a', 'shifting'), (2.0, 5.0, 'b', 'shifting'), (5.0, 10.0, 'b', 'sole')]
    """
    overlaps: list[tuple[float, float, str, str]] = []
    for (_, _, ra, sa, ea), (_, _, rb, sb, eb) in itertools.pairwise(momentary):
        lo, hi = max(sa, sb), min(ea, eb)
        if ra != rb and hi > lo:
            overlaps.append((lo, hi, ra, rb))
    cuts = sorted({x for a, b, *_ in momentary for x in (a, b)} | {x for a, b, *_ in overlaps for x in (a, b)})
    changes: dict[float, list[tuple[str, int]]] = {}
    for a, b, ra, rb in overlaps:
        for r in (ra, rb):
            changes.setdefault(a, []).append((r, 1))
            changes.setdefault(b, []).append((r, -1))
    count: dict[str, int] = {}
    segs: dict[str, list[list[Any]]] = {}
    m = 0
    for k in range(len(cuts) - 1):
        a, b = cuts[k], cuts[k + 1]
        for r, d in changes.get(a, []):
            count[r] = count.get(r, 0) + d
        while m < len(momentary) and momentary[m][1] <= a:
            m += 1
        here = momentary[m][2] if m < len(momentary) and momentary[m][0] <= a else None
        shifting = {r for r, c in count.items() if c > 0}
        labels: dict[str, str] = {}
        if shifting:
            labels = dict.fromkeys(shifting | ({here} if here is not None else set()), "shifting")
        elif here is not None:
            labels = {here: "sole"}
        for r, state in labels.items():
            lst = segs.setdefault(r, [])
            if lst and lst[-1][1] == a and lst[-1][2] == state:
                lst[-1][1] = b
            else:
                lst.append([a, b, state])
    out = [Segment(a, b, r, state) for r, lst in segs.items() for a, b, state in lst]
    out.sort(key=lambda s: (s.start, s.resource))
    return out


# --------------------------------------------------------------------------- one replication


@dataclass(frozen=True)
class Throughput:
    """Deliveries of one item in one replication.

    Attributes:
        item: Item id.
        units: Units delivered.
        first_day: Day of the first delivery (NaN if none).
        last_day: Day of the last delivery (NaN if none).
        units_per_day: Units delivered after the first delivery instant per day from the
            first to the last delivery (NaN with fewer than two delivery instants).
    """

    item: str
    units: int
    first_day: float
    last_day: float
    units_per_day: float


def throughput(table: pa.Table | EventArrays, scenario: Scenario) -> dict[str, Throughput]:
    """Per item of the catalogue: units delivered and the delivery rate over the active span.

    Example:
        >>> import pyarrow as pa
        >>> from scenarios.load import load
        >>> from sim.run import run
        >>> s = load("scenarios/small_routers.yaml")
        >>> th = throughput(run(s)[0].table(), s)
        >>> sorted(th) == sorted(i.id for i in s.items)
        True
    """
    ev = _arrays(table, scenario)
    dl = ev.of(DELIVERED)
    out: dict[str, Throughput] = {}
    for k, it in enumerate(scenario.items):
        rows = dl[ev.item[dl] == k]
        if len(rows) == 0:
            out[it.id] = Throughput(it.id, 0, math.nan, math.nan, math.nan)
            continue
        tt, q = ev.t[rows], ev.qty[rows]
        first, last = float(tt.min()), float(tt.max())
        units = int(q.sum())
        rate = (units - int(q[tt == first].sum())) / (last - first) if last > first else math.nan
        out[it.id] = Throughput(it.id, units, first, last, rate)
    return out


@dataclass(frozen=True)
class ResourceStats:
    """One resource in one replication (see the module docstring for each measure).

    Shares are fractions: of time over ``[0, end]`` (``active_share``, ``sole_share``,
    ``shifting_share``) or of the lead time of delivered units (``lead_time_share``). NaN where
    undefined (a mean wait with no wait, a lead-time share with nothing delivered).
    """

    resource: Resource
    utilisation: float
    queue_mean: float
    wait_mean_days: float
    lead_time_share: float
    active_share: float
    sole_share: float
    shifting_share: float

    @property
    def bottleneck_share(self) -> float:
        """``sole_share + shifting_share``: the ranking key."""
        return self.sole_share + self.shifting_share


@dataclass(frozen=True)
class Analysis:
    """The bottleneck analysis of one replication (``analyse``)."""

    end: float
    rule: str
    stats: tuple[ResourceStats, ...]
    timeline: tuple[Segment, ...]
    periods: Mapping[str, np.ndarray] = field(repr=False)
    momentary: tuple[tuple[float, float, str, float, float], ...] = field(repr=False)
    throughput: Mapping[str, Throughput] = field(repr=False)

    def stat(self, name: str) -> ResourceStats:
        """The stats of resource ``name`` (KeyError if unknown)."""
        for s in self.stats:
            if s.resource.name == name:
                return s
        raise KeyError(name)

    @property
    def top(self) -> str | None:
        """The rank-1 resource (None when the scenario has no resource)."""
        rows = rank([self])
        return rows[0].resource if rows else None


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _lead_shares(
    ev: EventArrays, scenario: Scenario, la: pa.Table, names: dict[tuple[str, int, int], str]
) -> dict[str, float]:
    """Share of the lead time of delivered units (``la``: ``lot_lead_times``) spent at each resource."""
    if la.num_rows == 0:
        return {}
    lots = la.column("lot").to_numpy()
    w = la.column("qty").to_numpy().astype(np.float64)
    total = float(np.dot(w, la.column("lead_time_days").to_numpy()))
    if not total > 0:
        return {}
    n_lots = int(max(ev.lot.max(initial=-1), lots.max(initial=-1))) + 1
    weight = np.zeros(n_lots)
    weight[lots] = w
    out: dict[str, float] = {}

    def add(name: str | None, value: float) -> None:
        if name is not None:
            out[name] = out.get(name, 0.0) + value / total

    def spent(enter: np.ndarray, leave: np.ndarray, code: np.ndarray, n: int) -> np.ndarray:
        """Per code: sum over delivered lots of weight * (t_leave - t_enter)."""
        e, lv = enter[weight[ev.lot[enter]] > 0], leave[weight[ev.lot[leave]] > 0]
        plus = np.bincount(code[lv], weights=weight[ev.lot[lv]] * ev.t[lv], minlength=n)[:n]
        minus = np.bincount(code[e], weights=weight[ev.lot[e]] * ev.t[e], minlength=n)[:n]
        return plus - minus

    qd = ev.of(QUEUED)
    q_node, q_link = qd[ev.link[qd] < 0], qd[ev.link[qd] >= 0]
    n_nodes, n_links = len(ev.nodes), len(ev.links)
    at_node = spent(q_node, ev.of(SERVICE_FINISHED), ev.node, n_nodes)
    on_link = spent(q_link, ev.of(ARRIVED), ev.link, n_links)
    for k in range(len(scenario.nodes)):
        add(names.get(("node", k, -1)), float(at_node[k]))
    for k in range(len(scenario.links)):
        add(names.get(("link", k, -1)), float(on_link[k]))
    # production: the lot's line; tendering: the agency that ran the requirement's tender
    lp = ev.of(LOT_PRODUCED)
    n_items = len(ev.items) + 1
    line_of = np.full(n_lots, -1, dtype=np.int64)
    line_of[ev.lot[lp]] = ev.node[lp] * n_items + ev.item[lp]
    prod = la.column("production_days").to_numpy() * w
    key = line_of[lots]
    for code in np.unique(key[key >= 0]).tolist():
        add(names.get(("supplier", code // n_items, code % n_items)), float(prod[key == code].sum()))
    ts = ev.of(TENDER_STARTED)
    refs = la.column("ref").to_numpy()
    agency_of = np.full(int(max(ev.ref.max(initial=-1), refs.max(initial=-1))) + 1, -1, dtype=np.int64)
    agency_of[ev.ref[ts]] = ev.node[ts]
    tender = la.column("tender_days").to_numpy() * w
    lot_agency = agency_of[refs]
    for code in np.unique(lot_agency[lot_agency >= 0]).tolist():
        add(names.get(("agency", code, -1)), float(tender[lot_agency == code].sum()))
    return out


def _supplier_stats(
    ev: EventArrays, scenario: Scenario, la: pa.Table, r: Resource, periods: np.ndarray, T: float
) -> tuple[float, float, float]:
    """Utilisation (time with open orders), mean backlog in lots, mean production days of delivered lots."""
    node = [n.id for n in scenario.nodes].index(r.id)
    item = [i.id for i in scenario.items].index(str(r.item))
    lot_size = scenario.item(str(r.item)).lot_size
    util = float((periods[:, 1] - periods[:, 0]).sum()) / T if T > 0 else math.nan
    ca, lp = ev.of(CONTRACT_AWARDED), ev.of(LOT_PRODUCED)
    up = ca[(ev.node[ca] == node) & (ev.item[ca] == item)]
    down = lp[(ev.node[lp] == node) & (ev.item[lp] == item)]
    rows = np.concatenate([up, down])
    t = ev.t[rows]
    d = np.r_[ev.qty[up], -ev.qty[down]].astype(np.float64)
    keep = t <= T
    t, d = t[keep], d[keep]
    if len(t) and T > 0:
        order = np.argsort(t, kind="stable")
        t, d = t[order], d[order]
        level = np.cumsum(d)
        dt = np.diff(np.r_[t, T])
        queue = float(np.dot(level, dt)) / T / lot_size
    else:
        queue = 0.0 if T > 0 else math.nan
    wait = math.nan
    if la.num_rows:
        lots = la.column("lot").to_numpy()
        made_here = np.zeros(int(max(ev.lot.max(initial=-1), lots.max(initial=-1))) + 1, dtype=bool)
        made_here[ev.lot[down]] = True
        sel = made_here[lots]
        if sel.any():
            w = la.column("qty").to_numpy()[sel].astype(np.float64)
            wait = float(np.dot(la.column("production_days").to_numpy()[sel], w) / w.sum())
    return util, queue, wait


def analyse(
    table: pa.Table | EventArrays, scenario: Scenario, end: float | None = None, rule: Rule = "saturated"
) -> Analysis:
    """The bottleneck analysis of one replication.

    Args:
        table: The replication's event table (or ``event_arrays(table, scenario)``).
        scenario: The resolved scenario it ran (strategy and overrides applied).
        end: End of the observation window (``RunResult.end_day``); by default the horizon,
            or the last event's day if later.
        rule: Activity rule, ``"saturated"`` (default) or ``"occupied"``.

    Returns:
        The :class:`Analysis`: per-resource stats (in :func:`resources` order), the
        sole/shifting timeline, the active periods, the momentary sequence and the throughput
        per item.
    """
    ev = _arrays(table, scenario)
    T = _end(ev, scenario, end)
    res = resources(scenario)
    periods = active_periods(ev, scenario, T, rule)
    order = [r.name for r in res]
    mom = momentary_bottlenecks(periods, order)
    timeline = shifting_timeline(mom)
    sole: dict[str, float] = {}
    shifting: dict[str, float] = {}
    for seg in timeline:
        acc = sole if seg.state == "sole" else shifting
        acc[seg.resource] = acc.get(seg.resource, 0.0) + seg.end - seg.start
    kpis = compute_kpis(ev, scenario, T)
    node_code = {n.id: k for k, n in enumerate(scenario.nodes)}
    item_code = {it.id: k for k, it in enumerate(scenario.items)}
    link_code = {lk.id: k for k, lk in enumerate(scenario.links)}
    keys: dict[tuple[str, int, int], str] = {}
    for r in res:
        if r.kind == "link":
            keys[("link", link_code[r.id], -1)] = r.name
        elif r.kind == "supplier":
            keys[("supplier", node_code[r.id], item_code[str(r.item)])] = r.name
        else:
            keys[(r.kind, node_code[r.id], -1)] = r.name
    la = lot_lead_times(ev)
    lead = _lead_shares(ev, scenario, la, keys)
    has_lead = bool(lead) or ev.of(DELIVERED).size > 0
    stats = resource_stats(
        res,
        periods,
        T,
        kpis,
        lambda r, p: _supplier_stats(ev, scenario, la, r, p, T),
        lead if has_lead else None,
        sole,
        shifting,
    )
    return Analysis(T, rule, tuple(stats), tuple(timeline), periods, tuple(mom), throughput(ev, scenario))


def resource_stats(
    res: Sequence[Resource],
    periods: Mapping[str, np.ndarray],
    T: float,
    kpis: Mapping[KpiKey, float | None],
    supplier: Callable[[Resource, np.ndarray], tuple[float, float, float]],
    lead: Mapping[str, float] | None,
    sole: Mapping[str, float],
    shifting: Mapping[str, float],
) -> list[ResourceStats]:
    """Each resource's ``ResourceStats``: the one assembly of ``analyse`` and its chunked twin.

    Args:
        res: The resources, in order.
        periods: Active periods per resource name.
        T: Observation window in days.
        kpis: The replication's KPIs (utilisation, queue and wait of stations and links).
        supplier: ``(resource, periods) -> (utilisation, queue, wait)`` of a supplier line.
        lead: Lead-time share per resource name; None when no lot was delivered (shares NaN).
        sole: Days each resource was the sole momentary bottleneck.
        shifting: Days each resource shared a shifting bottleneck.
    """
    inv_T = 1.0 / T if T > 0 else math.nan
    stats: list[ResourceStats] = []
    for r in res:
        p = periods[r.name]
        active = float((p[:, 1] - p[:, 0]).sum()) * inv_T
        if r.kind == "supplier":
            util, queue, wait = supplier(r, p)
        else:
            node, link = (None, r.id) if r.kind == "link" else (r.id, None)
            util = _nan(kpis.get(("utilisation", None, node, link)))
            queue = _nan(kpis.get(("queue_mean", None, node, link)))
            wait = _nan(kpis.get(("wait_mean_days", None, node, link)))
        stats.append(
            ResourceStats(
                r,
                util,
                queue,
                wait,
                lead.get(r.name, 0.0) if lead is not None else math.nan,
                active,
                sole.get(r.name, 0.0) * inv_T,
                shifting.get(r.name, 0.0) * inv_T,
            )
        )
    return stats


# --------------------------------------------------------------------------- across replications


@dataclass(frozen=True)
class RankRow:
    """One resource's place in the ranking, averaged over replications.

    ``top_in`` counts the replications in which it ranked first; ``n`` the replications.
    Means skip NaN values.
    """

    rank: int
    resource: str
    kind: str
    id: str
    item: str | None
    capacity: float
    unit: str
    utilisation: float
    queue_mean: float
    wait_mean_days: float
    lead_time_share: float
    active_share: float
    sole_share: float
    shifting_share: float
    bottleneck_share: float
    top_in: int
    n: int

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (NaN -> None) for JSON and tables."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def _mean(values: Iterable[float]) -> float:
    v = [x for x in values if not math.isnan(x)]
    return math.fsum(v) / len(v) if v else math.nan


MIN_SHARE = 0.01
"""Bottleneck shares below this fraction of the time rank as 0 (by utilisation only)."""


def _order_key(s: ResourceStats, pos: int, min_share: float) -> tuple[float, float, int]:
    u = s.utilisation if not math.isnan(s.utilisation) else -1.0
    share = s.bottleneck_share if s.bottleneck_share >= min_share else 0.0
    return (-round(share, 12), -u, pos)


def rank(analyses: Sequence[Analysis], min_share: float = MIN_SHARE) -> list[RankRow]:
    """Resources ranked by mean bottleneck share (sole + shifting), then mean utilisation.

    A share below ``min_share`` counts as 0: a resource that is a bottleneck for moments only
    (less than 1% of the time by default) ranks among those never a bottleneck, by
    utilisation; the shares themselves are reported unchanged.

    Args:
        analyses: Analyses of replications of one scenario variant (same resources).
        min_share: See above.

    Returns:
        One row per resource, best first (rank 1 binds most).
    """
    if not analyses:
        return []
    first = analyses[0]
    top_count: dict[str, int] = {}
    for a in analyses:
        best = min(range(len(a.stats)), key=lambda k: _order_key(a.stats[k], k, min_share), default=None)
        if best is not None:
            name = a.stats[best].resource.name
            top_count[name] = top_count.get(name, 0) + 1
    rows = []
    for k, s in enumerate(first.stats):
        per = [a.stats[k] for a in analyses]
        mean = ResourceStats(
            s.resource,
            _mean(x.utilisation for x in per),
            _mean(x.queue_mean for x in per),
            _mean(x.wait_mean_days for x in per),
            _mean(x.lead_time_share for x in per),
            _mean(x.active_share for x in per),
            _mean(x.sole_share for x in per),
            _mean(x.shifting_share for x in per),
        )
        rows.append((mean, k))
    rows.sort(key=lambda mk: _order_key(mk[0], mk[1], min_share))
    out = []
    for i, (m, _) in enumerate(rows, 1):
        r = m.resource
        out.append(
            RankRow(
                i,
                r.name,
                r.kind,
                r.id,
                r.item,
                r.capacity,
                r.unit,
                m.utilisation,
                m.queue_mean,
                m.wait_mean_days,
                m.lead_time_share,
                m.active_share,
                m.sole_share,
                m.shifting_share,
                m.bottleneck_share,
                top_count.get(r.name, 0),
                len(analyses),
            )
        )
    return out


@dataclass(frozen=True)
class Span:
    """A stretch of days over which ``resource`` was the dominant bottleneck.

    The dominant bottleneck of a bin is the resource that was the momentary bottleneck longest
    in it (summed over replications). ``share`` is the fraction of the stretch (averaged over replications) in which it was a
    sole or shifting bottleneck, ``sole`` the part as the sole one. ``resource`` is None where
    no resource was active. ``also`` names other resources active (saturated, under the
    default rule) most of every bin of the stretch (see :func:`dominant_timeline`), most
    active first: parallel flows can bind at once, and the momentary bottleneck names one.
    """

    start: float
    end: float
    resource: str | None
    share: float
    sole: float
    also: tuple[str, ...] = ()


def _overlap(periods: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time each bin ``[edges[b], edges[b + 1])`` spends inside ``periods``."""
    if len(periods) == 0:
        return np.zeros(len(edges) - 1)
    lo = np.maximum(periods[:, :1], edges[None, :-1])
    hi = np.minimum(periods[:, 1:], edges[None, 1:])
    return np.clip(hi - lo, 0.0, None).sum(axis=0)


def dominant_timeline(
    analyses: Sequence[Analysis],
    bin_days: float | None = None,
    max_bins: int = 24,
    also_share: float = 0.75,
    also_max: int = 2,
) -> list[Span]:
    """A coarse timeline for reading: per bin, the resource that was the momentary bottleneck longest.

    Args:
        analyses: Replications of one variant.
        bin_days: Bin width in days; by default the window split into ``max_bins`` bins (at
            least one day each).
        max_bins: See ``bin_days``.
        also_share: Other resources active at least this fraction of a bin are listed in
            ``Span.also`` (at most ``also_max``, most active first).
        also_max: See ``also_share``.

    Returns:
        Consecutive bins with the same dominant resource (and the same ``also``) merged, in
        time order.
    """
    if not analyses:
        return []
    T = max(a.end for a in analyses)
    if T <= 0:
        return []
    width = float(bin_days) if bin_days else max(1.0, T / max_bins)
    n_bins = max(1, math.ceil(T / width - 1e-9))
    edges = np.minimum(np.arange(n_bins + 1) * width, T)
    names: list[str] = [s.resource.name for s in analyses[0].stats]
    pos = {n: k for k, n in enumerate(names)}
    total = np.zeros((n_bins, len(names)))
    sole = np.zeros((n_bins, len(names)))
    active = np.zeros((n_bins, len(names)))
    momentary = np.zeros((n_bins, len(names)))
    for a in analyses:
        for lo_, hi_, who_, *_ in a.momentary:
            if who_ in pos:
                momentary[:, pos[who_]] += _overlap(np.array([[lo_, hi_]]), edges)
        for seg in a.timeline:
            if seg.resource not in pos:
                continue
            one = _overlap(np.array([[seg.start, seg.end]]), edges)
            total[:, pos[seg.resource]] += one
            if seg.state == "sole":
                sole[:, pos[seg.resource]] += one
        for name, p in a.periods.items():
            if name in pos:
                active[:, pos[name]] += _overlap(np.asarray(p).reshape(-1, 2), edges)
    out: list[Span] = []
    n = len(analyses)
    for b in range(n_bins):
        length = (edges[b + 1] - edges[b]) * n
        if length <= 0:
            continue
        k = int(np.argmax(momentary[b])) if len(names) else 0
        who = names[k] if len(names) and momentary[b, k] > 0 else None
        share = float(total[b, k] / length) if who is not None else 0.0
        sole_share = float(sole[b, k] / length) if who is not None else 0.0
        frac = active[b] / length
        also = tuple(names[j] for j in np.argsort(-frac, kind="stable") if frac[j] >= also_share and names[j] != who)[
            :also_max
        ]
        lo, hi = float(edges[b]), float(edges[b + 1])
        if out and out[-1].resource == who and out[-1].also == also:
            prev = out[-1]
            w0, w1 = prev.end - prev.start, hi - lo
            out[-1] = Span(
                prev.start,
                hi,
                who,
                (prev.share * w0 + share * w1) / (w0 + w1),
                (prev.sole * w0 + sole_share * w1) / (w0 + w1),
                also,
            )
        else:
            out.append(Span(lo, hi, who, share, sole_share, also))
    return out


# --------------------------------------------------------------------------- bound and response


class BoundLike(Protocol):
    """What :func:`throughput_vs_bound` reads of a bound (``network.capacity.Bound`` fits)."""

    @property
    def item(self) -> str:
        """Item id."""
        ...

    @property
    def units_per_day(self) -> float:
        """The max-flow bound (``math.inf`` if unbounded)."""
        ...

    @property
    def min_cut(self) -> tuple[str, ...]:
        """Resources of a minimum cut."""
        ...

    @property
    def by_resource(self) -> Mapping[str, float]:
        """Capacity of each cut resource, units per day."""
        ...


class HorizonBoundLike(Protocol):
    """What :func:`throughput_vs_bound` reads of a horizon bound (``network.horizon.HorizonBound`` fits)."""

    @property
    def item(self) -> str:
        """Item id."""
        ...

    @property
    def units(self) -> float:
        """Units deliverable by the horizon, initial stock counted (``math.inf`` if unbounded)."""
        ...

    @property
    def min_cut(self) -> tuple[str, ...]:
        """Resources of a minimum cut."""
        ...


@dataclass(frozen=True)
class BoundRow:
    """Simulated deliveries of an item against its static bounds.

    The bound that holds for a run is the **horizon bound**: ``horizon_units``, the units the
    item can deliver by the horizon with its suppliers' initial stock counted
    (``network.horizon``). ``units`` is the mean over replications of the units delivered,
    ``units_ci_low``/``units_ci_high`` its 95% t interval, ``units_ratio = units / horizon_units``;
    ``exceeds`` is True when the delivered units are significantly above the horizon bound (the
    interval's lower end above it; with one replication, above it by more than 1%) — the bound
    takes mean durations as the durations, so a run with random durations can pass it by chance.

    ``units_per_day`` (mean of :class:`Throughput` ``.units_per_day``, with its interval) against
    ``bound`` (``ratio``) compares the delivery rate over the active span with the max-flow *rate*
    bound from production: a long-run comparison only, since a run that ships initial stock
    can deliver faster than production for a while (NaN ``horizon_units`` when no horizon bound
    was given; then ``exceeds`` falls back to the rate).
    """

    item: str
    units_per_day: float
    ci_low: float
    ci_high: float
    units: float
    bound: float
    ratio: float
    min_cut: tuple[str, ...]
    by_resource: dict[str, float]
    exceeds: bool
    n: int
    horizon_units: float = math.nan
    units_ci_low: float = math.nan
    units_ci_high: float = math.nan
    units_ratio: float = math.nan
    horizon_cut: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (NaN/inf -> None) for JSON."""
        d = asdict(self)
        d["min_cut"] = list(self.min_cut)
        d["horizon_cut"] = list(self.horizon_cut)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def throughput_vs_bound(
    analyses: Sequence[Analysis], bounds: Iterable[BoundLike], horizon: Iterable[HorizonBoundLike] = ()
) -> list[BoundRow]:
    """Per bounded item: units delivered against the horizon bound, and the rate against the rate bound."""
    by_item = {h.item: h for h in horizon}
    out = []
    for b in bounds:
        rates = np.array([a.throughput[b.item].units_per_day for a in analyses if b.item in a.throughput])
        units = [float(a.throughput[b.item].units) for a in analyses if b.item in a.throughput]
        ok = rates[~np.isnan(rates)] if len(rates) else rates
        mean, lo, hi = t_ci(ok) if len(ok) else (math.nan, math.nan, math.nan)
        bound = float(b.units_per_day)
        ratio = mean / bound if bound > 0 and math.isfinite(bound) else math.nan
        if len(ok) > 1:
            exceeds = math.isfinite(bound) and lo > bound * (1 + 1e-9)
        else:
            exceeds = bool(len(ok)) and math.isfinite(bound) and mean > bound * 1.01
        h = by_item.get(b.item)
        h_units, u_lo, u_hi, u_ratio = math.nan, math.nan, math.nan, math.nan
        if h is not None:
            h_units = float(h.units)
            u_mean, u_lo, u_hi = t_ci(np.array(units)) if units else (math.nan, math.nan, math.nan)
            u_ratio = u_mean / h_units if h_units > 0 and math.isfinite(h_units) else math.nan
            if len(units) > 1:
                exceeds = math.isfinite(h_units) and u_lo > h_units * (1 + 1e-9)
            else:
                exceeds = bool(units) and math.isfinite(h_units) and u_mean > h_units * 1.01
        out.append(
            BoundRow(
                b.item,
                mean,
                lo,
                hi,
                _mean(units),
                bound,
                ratio,
                tuple(b.min_cut),
                {k: float(v) for k, v in b.by_resource.items()},
                exceeds,
                len(ok),
                h_units,
                u_lo,
                u_hi,
                u_ratio,
                tuple(h.min_cut) if h is not None else (),
            )
        )
    return out


@dataclass(frozen=True)
class Variant:
    """A capacity variant of the base: its part label, the change and its new top bottleneck."""

    label: str
    change: Change
    new_top: str | None
    new_top_share: float


@dataclass(frozen=True)
class ResponseRow:
    """The response of the system to one capacity change (paired over replications).

    ``d_units`` is the mean change in units delivered over the run, ``d_lead_days`` the mean
    change in mean lead time (days, all items), each with its 95% paired-t interval (NaN with
    fewer than two replications).
    """

    candidate: str
    change: str
    path: str
    base_units: float
    d_units: float
    d_units_low: float
    d_units_high: float
    base_lead_days: float
    d_lead_days: float
    d_lead_low: float
    d_lead_high: float
    new_top: str | None
    new_top_share: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (NaN -> None) for JSON."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def response(kpis: pa.Table, base: str, variants: Sequence[Variant]) -> list[ResponseRow]:
    """Paired differences of units delivered and mean lead time, each variant against ``base``.

    Args:
        kpis: Long KPI table (``results.kpis.kpi_table`` rows) holding the base and every
            variant, each under its label in the ``strategy`` column, on the same replication
            numbers (common random numbers).
        base: Label of the base.
        variants: The variants, in the order to report.
    """
    want = ("units_delivered", "lead_time_mean_days")
    diffs = {
        (d.strategy, d.kpi): d
        for d in paired_differences(kpis, baseline=base, only=want)
        if d.item is None and d.node is None and d.link is None
    }
    nan3 = (math.nan, math.nan, math.nan)
    out = []
    for v in variants:
        du = diffs.get((v.label, "units_delivered"))
        dl = diffs.get((v.label, "lead_time_mean_days"))
        u = (du.mean, du.ci_low, du.ci_high) if du else nan3
        lt = (dl.mean, dl.ci_low, dl.ci_high) if dl else nan3
        out.append(
            ResponseRow(
                v.change.resource,
                v.change.text,
                v.change.path,
                du.baseline_mean if du else math.nan,
                *u,
                dl.baseline_mean if dl else math.nan,
                *lt,
                v.new_top,
                v.new_top_share,
                max(du.n if du else 0, dl.n if dl else 0),
            )
        )
    return out


# --------------------------------------------------------------------------- tables for the report


def ranking_table(rows: Sequence[RankRow]) -> pa.Table:
    """The ranking as an Arrow table (one row per resource, ``RankRow`` fields as columns)."""
    cols = [f for f in RankRow.__dataclass_fields__]
    data = [r.as_dict() for r in rows]
    return pa.table({c: [d[c] for d in data] for c in cols}) if data else pa.table({c: [] for c in cols})


def timeline_table(analysis: Analysis) -> pa.Table:
    """The sole/shifting timeline of one replication: ``start, end, resource, state`` (days)."""
    segs = analysis.timeline
    return pa.table(
        {
            "start": pa.array([s.start for s in segs], type=pa.float64()),
            "end": pa.array([s.end for s in segs], type=pa.float64()),
            "resource": pa.array([s.resource for s in segs], type=pa.string()),
            "state": pa.array([s.state for s in segs], type=pa.string()),
        }
    )
