"""Active periods of handling nodes, links and supplier lines fed chunk by chunk (``BottleneckStream``).

State machines (``_Station``, ``_Backlog``) carry the levels, the capacity factor and the open
period from one chunk of whole instants to the next, so the periods are the same numbers as
``results.bottlenecks.active_period.active_periods`` of the whole table; agencies, whose rows
are per requirement, come from the cold rows kept whole, with the whole-table functions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from results.bottlenecks.active_period import (
    _FIT,
    RULES,
    Rule,
    _agency_queue,
    _at,
    _distinct,
    _levels,
    _station_periods,
)
from results.bottlenecks.resources import resources
from results.bottlenecks.stats import add_diverted
from results.kpis import EventArrays
from results.link_queue import QueueLeaves
from scenarios.schema import DispatchScheduled, Scenario
from sim.events import (
    CONTRACT_AWARDED,
    DEPARTED,
    DISRUPTION_ENDED,
    DISRUPTION_STARTED,
    LOADED,
    LOT_PRODUCED,
    QUEUED,
    RETURNED,
    SERVICE_FINISHED,
    SERVICE_STARTED,
    TENDER_FINISHED,
    TENDER_STARTED,
)

__all__ = ["BottleneckStream"]


class _Runs:
    """Maximal runs of an active flag over grid instants, carried across chunks."""

    def __init__(self) -> None:
        self.active = False
        self.since = 0.0
        self.starts: list[np.ndarray] = []
        self.ends: list[np.ndarray] = []

    def add(self, grid: np.ndarray, active: np.ndarray) -> None:
        if len(grid) == 0:
            return
        d = np.diff(np.r_[np.int8(self.active), active.astype(np.int8)])
        up, down = grid[d == 1], grid[d == -1]
        if self.active:  # the open run ends first
            up = np.r_[self.since, up]
        if len(up) > len(down):
            self.since = float(up[-1])
            up = up[:-1]
        self.starts.append(up)
        self.ends.append(down)
        self.active = bool(active[-1])

    def periods(self, end: float) -> np.ndarray:
        s = np.concatenate(self.starts) if self.starts else np.zeros(0)
        e = np.concatenate(self.ends) if self.ends else np.zeros(0)
        if self.active:
            s, e = np.r_[s, self.since], np.r_[e, end]
        return np.column_stack([s, e]) if len(s) else np.zeros((0, 2))


class _Station:
    """``_station_periods`` of one pool of units (servers, vehicles), fed chunk by chunk."""

    def __init__(self, end: float, rule: str, capacity: float, scheduled: bool) -> None:
        self.end, self.rule, self.capacity, self.scheduled = end, rule, capacity, scheduled
        self.b = 0.0
        self.q = 0.0
        self.f = 1.0
        self.down: list[float] = []  # capacity factors of the disruptions under way
        self.left = 0.0  # the last convoy left lots behind
        self.runs = _Runs()

    def feed(
        self,
        busy: tuple[np.ndarray, np.ndarray],
        queue: tuple[np.ndarray, np.ndarray],
        disruptions: tuple[np.ndarray, np.ndarray, np.ndarray],
        convoys: np.ndarray,
    ) -> None:
        end = self.end
        ft_l: list[float] = []
        fv_l: list[float] = []
        for t, started, f in zip(*(x.tolist() for x in disruptions), strict=True):
            if started:
                self.down.append(f)
            elif f in self.down:
                self.down.remove(f)
            ft_l.append(t)
            fv_l.append(min(self.down) if self.down else 1.0)
        ft, fv = np.asarray(ft_l, dtype=np.float64), np.asarray(fv_l, dtype=np.float64)
        kb, kq = busy[0] < end, queue[0] < end
        bt, bd, qt, qd = busy[0][kb], busy[1][kb], queue[0][kq], queue[1][kq]
        grid = np.unique(np.concatenate([bt, qt, ft[ft < end]]))
        if len(grid):
            b = self.b + _levels(grid, bt, bd)
            q = self.q + _levels(grid, qt, qd)
            if self.rule == "occupied":
                active = (b + q) > 0.5
            else:
                f = _at(grid, ft, fv, self.f)
                cap = np.where(f > 0, np.maximum(1.0, np.ceil(self.capacity * f - _FIT)), 0.0)
                active = (b >= cap) & ((b + q) > 0.5)
                if self.scheduled:
                    dep = np.unique(convoys[convoys < end])
                    left = (q[np.searchsorted(grid, dep)] > 0.5).astype(np.float64)
                    active |= _at(grid, dep, left, self.left).astype(bool) & (q > 0.5)
                    if len(dep):
                        self.left = float(left[-1])
            self.runs.add(grid, active)
            self.b, self.q = float(b[-1]), float(q[-1])
        if len(fv):
            self.f = float(fv[-1])


class _Backlog:
    """``_backlog_periods`` and the mean backlog of one supplier line, fed chunk by chunk."""

    def __init__(self, end: float) -> None:
        self.end = end
        self.level = 0.0
        self.runs = _Runs()
        self.t_last = math.nan  # last change at or before the end, and the level after it
        self.integral = 0.0

    def feed(self, t: np.ndarray, d: np.ndarray) -> None:
        keep = t < self.end
        grid = np.unique(t[keep])
        if len(grid):
            self.runs.add(grid, (self.level + _levels(grid, t[keep], d[keep])) > 0.5)
        # the time-average backlog over [0, end] (rows at the end included, as _supplier_stats)
        m = t <= self.end
        tm, dm = t[m], d[m]
        if len(tm):
            level = self.level + np.cumsum(dm)
            if not math.isnan(self.t_last):
                self.integral += self.level * (tm[0] - self.t_last)
            self.integral += float(np.dot(level[:-1], np.diff(tm)))
            self.t_last = float(tm[-1])
            self.level = float(level[-1])

    def integral_to_end(self) -> float:
        """The backlog's integral over ``[0, end]`` (units x days)."""
        if math.isnan(self.t_last):
            return 0.0
        return self.integral + self.level * (self.end - self.t_last)


class BottleneckStream:
    """The first pass of ``analyse``: active periods of nodes, links and lines, chunk by chunk.

    Args:
        scenario: The resolved scenario the part ran.
        end: End of the observation window (days).
        rule: ``"saturated"`` or ``"occupied"``.
    """

    def __init__(self, scenario: Scenario, end: float, rule: Rule = "saturated") -> None:
        if rule not in RULES:
            raise ValueError(f"rule must be one of {', '.join(RULES)} (got {rule!r})")
        self.s, self.end, self.rule = scenario, float(end), rule
        self.res = resources(scenario)
        self.node_code = {n.id: k for k, n in enumerate(scenario.nodes)}
        self.link_code = {lk.id: k for k, lk in enumerate(scenario.links)}
        self.item_code = {it.id: k for k, it in enumerate(scenario.items)}
        self.machines: dict[str, Any] = {}
        self.diverted: dict[str, int] = {}  # Analysis.diverted, as the chunks go
        self.leaves = QueueLeaves()  # the link each lot waits for, across chunks
        for r in self.res:
            if r.kind == "node":
                self.machines[r.name] = _Station(self.end, rule, r.capacity, False)
            elif r.kind == "link":
                spec = scenario.links[self.link_code[r.id]]
                self.machines[r.name] = _Station(
                    self.end, rule, r.capacity, isinstance(spec.dispatch, DispatchScheduled)
                )
            elif r.kind == "supplier":
                self.machines[r.name] = _Backlog(self.end)

    def feed(self, ev: EventArrays) -> None:
        """One chunk of whole instants, in time order."""
        t = ev.t
        add_diverted(self.diverted, ev)
        ones = np.ones
        qd, ss, sf = ev.of(QUEUED), ev.of(SERVICE_STARTED), ev.of(SERVICE_FINISHED)
        ld, dp, rt = ev.of(LOADED), ev.of(DEPARTED), ev.of(RETURNED)
        dis = np.flatnonzero((ev.kind == DISRUPTION_STARTED) | (ev.kind == DISRUPTION_ENDED))
        ca, lp = ev.of(CONTRACT_AWARDED), ev.of(LOT_PRODUCED)
        q_node, q_link = qd[ev.link[qd] < 0], qd[ev.link[qd] >= 0]
        rr, rr_link = self.leaves.leaves(ev)  # lots rerouted while they waited leave that link's queue

        def steps(up: np.ndarray, down: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            rows = np.concatenate([up, down])
            return t[rows], np.r_[ones(len(up)), -ones(len(down))]

        def disruptions(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return t[rows], ev.kind[rows] == DISRUPTION_STARTED, ev.value[rows]

        for r in self.res:
            m = self.machines.get(r.name)
            if m is None:
                continue
            if r.kind == "node":
                c = self.node_code[r.id]
                s_c, f_c = ss[ev.node[ss] == c], sf[ev.node[sf] == c]
                m.feed(
                    steps(s_c[ev.value[s_c] != 0], f_c[ev.value[f_c] != 0]),
                    steps(q_node[ev.node[q_node] == c], s_c),
                    disruptions(dis[(ev.node[dis] == c) & (ev.link[dis] < 0)]),
                    np.zeros(0),
                )
            elif r.kind == "link":
                c = self.link_code[r.id]
                d_c = dp[ev.link[dp] == c]
                m.feed(
                    steps(d_c, rt[ev.link[rt] == c]),
                    steps(q_link[ev.link[q_link] == c], np.concatenate([ld[ev.link[ld] == c], rr[rr_link == c]])),
                    disruptions(dis[ev.link[dis] == c]),
                    t[d_c],
                )
            else:
                c, i = self.node_code[r.id], self.item_code[str(r.item)]
                up = ca[(ev.node[ca] == c) & (ev.item[ca] == i)]
                down = lp[(ev.node[lp] == c) & (ev.item[lp] == i)]
                rows = np.concatenate([up, down])
                order = np.argsort(t[rows], kind="stable")
                deltas = np.r_[ev.qty[up].astype(np.float64), -ev.qty[down].astype(np.float64)]
                m.feed(t[rows][order], deltas[order])

    def periods(self, cold: EventArrays) -> dict[str, np.ndarray]:
        """Active periods of every resource (agencies from the cold rows), as ``active_periods``."""
        out: dict[str, np.ndarray] = {}
        queue = _agency_queue(cold, self.s)
        ts, tf = cold.of(TENDER_STARTED), cold.of(TENDER_FINISHED)
        for r in self.res:
            if r.kind == "agency":
                c = self.node_code[r.id]
                s_c, f_c = _distinct(cold, ts[cold.node[ts] == c]), _distinct(cold, tf[cold.node[tf] == c])
                rows = np.concatenate([s_c, f_c])
                busy = cold.t[rows], np.r_[np.ones(len(s_c)), -np.ones(len(f_c))]
                qt, qv = queue.get(c, (np.zeros(0), np.zeros(0)))
                out[r.name] = _station_periods(
                    self.end, self.rule, busy, (qt, qv), r.capacity, (np.zeros(0), np.zeros(0))
                )
            else:
                out[r.name] = self.machines[r.name].runs.periods(self.end)
        return out
