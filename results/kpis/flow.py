"""Node, agency and link KPIs, accumulated chunk by chunk (``results.kpis.stream``).

Throughput, WIP, sojourn, queues, busy servers and waits of nodes; tenders and the queue of
funded requirements at agencies; trips, queues, waits and transit of links; donors' money.
Levels and pairs carry their state across chunks (``results.kpis.levels``); the agency
queue is rebuilt at the end from per-requirement times. Definitions: ``results.kpis``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from results.kpis.arrays import EventArrays
from results.kpis.levels import Levels, Pairs, WaitStats, grow, pair_key, time_weighted
from results.link_queue import QueueLeaves
from scenarios.schema import Agency, Border, Depot, Donor, Hub, Scenario, Supplier, Unit, effective_channel
from sim.events import (
    ARRIVED,
    BUDGET_ADDED,
    DELIVERED,
    DEPARTED,
    FUNDS_COMMITTED,
    KIND_CODE,
    LOADED,
    LOST,
    LOT_PRODUCED,
    QUEUED,
    RETURNED,
    SERVICE_FINISHED,
    SERVICE_STARTED,
    TENDER_FINISHED,
    TENDER_STARTED,
)

__all__ = ["HANDLING_KINDS", "LinkFlow", "NodeFlow", "loaded_arrived"]

HANDLING_KINDS = ("hub", "border", "depot")

_RELEASED = KIND_CODE.get("funds_released", -99)  # older logs have none


def _sums(acc: np.ndarray, codes: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """``acc`` plus the count (or the sum of ``w``) of rows per code (codes < 0 left out)."""
    keep = codes >= 0
    if not np.any(keep):
        return acc
    acc = grow(acc, int(codes[keep].max()) + 1, 0.0)
    m = len(acc)
    return acc + np.bincount(codes[keep], weights=None if w is None else w[keep], minlength=m)[:m]


def _updown(levels: Levels, group: np.ndarray, t: np.ndarray, up: np.ndarray, down: np.ndarray) -> None:
    """A level per ``group`` code that rises by 1 at rows ``up`` and falls by 1 at ``down``."""
    rows = np.concatenate([up, down])
    delta = np.concatenate([np.ones(len(up), np.int64), -np.ones(len(down), np.int64)])
    order = np.argsort(rows, kind="stable")
    levels.add(group[rows][order], t[rows][order], delta[order])


def _pair(pairs: Pairs, key: np.ndarray, t: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return pairs.add(key[a], t[a], a, key[b], t[b], b)


def loaded_arrived(pairs: Pairs, ev: EventArrays) -> tuple[np.ndarray, np.ndarray]:
    """Arrived rows matched to their lot's loaded row on the same link, and the days between."""
    ld, ar = ev.of(LOADED), ev.of(ARRIVED)
    ok, days = _pair(pairs, pair_key(ev.lot, ev.link), ev.t, ld, ar)
    return ar[ok], days


def _get(arr: np.ndarray, n: int) -> np.ndarray:
    return grow(arr, n, 0.0)[:n]


class NodeFlow:
    """Per node code: throughput, WIP, sojourn, station queue and servers, agency tenders, donor money."""

    def __init__(self, scenario: Scenario, end: float | None) -> None:
        self.s = scenario
        self.kind_of = {n.id: n.kind for n in scenario.nodes}
        self.thr_lots, self.thr_units, self.arrivals = np.zeros(0), np.zeros(0), np.zeros(0)
        self.added, self.committed, self.released = np.zeros(0), np.zeros(0), np.zeros(0)
        self.tenders = np.zeros(0)
        self.wip, self.queue, self.busy, self.tender_busy = Levels(end), Levels(end), Levels(end), Levels(end)
        self.sojourn, self.wait = Pairs(), Pairs()
        self.sojourn_stats, self.wait_stats = WaitStats(), WaitStats()
        n_req = len(scenario.requirements)
        # agency queue: a requirement's first funds_committed (when it was funded; a later one is
        # the top-up at its award, after the tender: sim.model.procurement)
        self.funded = np.full(n_req, np.inf)
        self.started = np.full(n_req, np.nan)  # .. its tender_started

    def add(self, ev: EventArrays) -> None:
        """One chunk of whole instants."""
        t, node = ev.t, ev.node
        kinds = [self.kind_of.get(x, "") for x in ev.nodes]
        # indexed by node code; the extra last entry answers code -1 (no node)
        handling = np.array([kd in HANDLING_KINDS for kd in kinds] + [False])
        is_supplier = np.array([kd == "supplier" for kd in kinds] + [False])

        pr, sf, dl = ev.of(LOT_PRODUCED), ev.of(SERVICE_FINISHED), ev.of(DELIVERED)
        ar_all, ld = ev.of(ARRIVED), ev.of(LOADED)
        ar = ar_all[handling[node[ar_all]]]
        for rows in (pr, sf, dl):
            self.thr_lots = _sums(self.thr_lots, node[rows])
            self.thr_units = _sums(self.thr_units, node[rows], ev.qty[rows].astype(float))
        self.arrivals = _sums(_sums(self.arrivals, node[pr]), node[ar])

        # WIP: entered (produced at a supplier / arrived at a handling node) .. loaded out
        enter = np.concatenate([pr, ar])
        lost_here = ev.of(LOST)
        lost_here = lost_here[(node[lost_here] >= 0) & (ev.lot[lost_here] >= 0)]  # lots destroyed at a node
        leave = np.concatenate([ld[(handling | is_supplier)[node[ld]]], lost_here])
        _updown(self.wip, node, t, enter, leave)
        key = pair_key(ev.lot, node)
        ok, soj = _pair(self.sojourn, key, t, enter, leave)
        self.sojourn_stats.add(node[leave][ok], soj)

        # stations: queue (queued .. service_started) and busy servers (.. service_finished);
        # a lot destroyed while queued (lost at the node, no link) leaves the queue unserved
        qd = ev.of(QUEUED)
        qn = qd[ev.link[qd] < 0]
        ss = ev.of(SERVICE_STARTED)
        lq = lost_here[ev.link[lost_here] < 0]
        ok, w = _pair(self.wait, key, t, qn, np.concatenate([ss, lq]))
        n_ss = int(ok[: len(ss)].sum())
        self.wait_stats.add(node[ss][ok[: len(ss)]], w[:n_ss])
        _updown(self.queue, node, t, qn, np.concatenate([ss, lq[ok[len(ss) :]]]))
        # a server per job: rows with value 0 ride along in a per-vehicle job (sim.model.handling)
        _updown(self.busy, node, t, ss[ev.value[ss] != 0], sf[ev.value[sf] != 0])

        # agencies: tenders, distinct by (node, item, start, days); an instant is never cut
        ts, tf = ev.of(TENDER_STARTED), ev.of(TENDER_FINISHED)
        s_rows, f_rows = self._distinct(ev, ts), self._distinct(ev, tf)
        _updown(self.tender_busy, node, t, s_rows, f_rows)
        self.tenders = _sums(self.tenders, node[s_rows])
        n_req = len(self.funded)
        fc = ev.of(FUNDS_COMMITTED)
        fc_in = fc[(ev.ref[fc] >= 0) & (ev.ref[fc] < n_req)]
        np.minimum.at(self.funded, ev.ref[fc_in], t[fc_in])
        ts_in = ts[(ev.ref[ts] >= 0) & (ev.ref[ts] < n_req)]
        self.started[ev.ref[ts_in]] = t[ts_in]

        # donors
        ba, fr = ev.of(BUDGET_ADDED), ev.of(_RELEASED)
        self.added = _sums(self.added, node[ba], ev.value[ba])
        self.committed = _sums(self.committed, node[fc], ev.value[fc])
        self.released = _sums(self.released, node[fr], ev.value[fr])

    @staticmethod
    def _distinct(ev: EventArrays, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return rows
        keys = np.stack(
            [ev.node[rows].astype(np.float64), ev.item[rows].astype(np.float64), ev.t[rows], ev.value[rows]]
        )
        order = np.lexsort(keys[::-1])
        sk = keys[:, order]
        first = np.r_[True, np.any(sk[:, 1:] != sk[:, :-1], axis=0)]
        return np.sort(rows[order][first])

    def _agency_queue(self, nodes: list[str], T: float) -> tuple[np.ndarray, ...]:
        """Queue integral, queue max, wait mean and wait max of funded agency requirements."""
        s, n_nodes = self.s, len(nodes)
        agencies = [n.id for n in s.nodes if isinstance(n, Agency)]
        agency_of = np.full(len(s.requirements), -1, dtype=np.int64)
        for i, r in enumerate(s.requirements):
            if effective_channel(s, r) == "agency":
                a = r.agency if r.agency is not None else (agencies[0] if len(agencies) == 1 else None)
                if a is not None and a in nodes:
                    agency_of[i] = nodes.index(a)
        funded, started = self.funded, self.started
        refs = np.flatnonzero((agency_of >= 0) & np.isfinite(funded))
        go = refs[np.isfinite(started[refs])]
        q_t = np.concatenate([funded[refs], started[go]])
        q_g = np.concatenate([agency_of[refs], agency_of[go]])
        q_d = np.concatenate([np.ones(len(refs), np.int64), -np.ones(len(go), np.int64)])
        order = np.lexsort((-q_d, q_t))  # by time; at one instant, entries before exits
        q_int, q_max = time_weighted(q_g[order], q_t[order], q_d[order], n_nodes, T)
        waits = WaitStats()
        waits.add(agency_of[go], started[go] - funded[go])
        w_mean, w_max = waits.result(n_nodes)
        return q_int, q_max, w_mean, w_max

    def result(self, nodes: list[str], T: float, put: Callable[..., None]) -> None:
        """Put the node KPIs (``nodes``: names of the node codes)."""
        n = len(nodes)
        thr_lots, thr_units, arrivals = _get(self.thr_lots, n), _get(self.thr_units, n), _get(self.arrivals, n)
        wip_int, wip_max = self.wip.result(T, n)
        soj_mean, _ = self.sojourn_stats.result(n)
        q_int, q_max = self.queue.result(T, n)
        b_int, _ = self.busy.result(T, n)
        w_mean, w_max = self.wait_stats.result(n)
        ag_busy, _ = self.tender_busy.result(T, n)
        ag_int, ag_max, ag_wmean, ag_wmax = self._agency_queue(nodes, T)
        tenders = _get(self.tenders, n)
        added, committed, released = _get(self.added, n), _get(self.committed, n), _get(self.released, n)

        inv_T = 1.0 / T if T > 0 else math.nan
        for c, nd in enumerate(self.s.nodes):
            nid = nd.id
            if isinstance(nd, Supplier) or nd.kind in HANDLING_KINDS or isinstance(nd, Unit):
                put("throughput_lots", thr_lots[c], node=nid)
                put("throughput_units", thr_units[c], node=nid)
            if isinstance(nd, Supplier) or nd.kind in HANDLING_KINDS:
                put("arrivals_lots", arrivals[c], node=nid)
                put("wip_mean_lots", wip_int[c] * inv_T, node=nid)
                put("wip_max_lots", wip_max[c], node=nid)
                put("sojourn_mean_days", soj_mean[c], node=nid)
            if isinstance(nd, (Hub, Border, Depot)):
                put_service(put, float(nd.servers), b_int[c], q_int[c], q_max[c], w_mean[c], w_max[c], inv_T, node=nid)
            elif isinstance(nd, Agency):
                put_service(
                    put, float(nd.staff), ag_busy[c], ag_int[c], ag_max[c], ag_wmean[c], ag_wmax[c], inv_T, node=nid
                )
                put("tenders", tenders[c], node=nid)
            elif isinstance(nd, Donor):
                put("budget_added_eur", added[c], node=nid)
                put("budget_committed_eur", committed[c], node=nid)
                unlimited = getattr(nd, "budget_eur", None) == "unlimited"  # a state budget without limit
                put("budget_left_eur", None if unlimited else added[c] - committed[c] + released[c], node=nid)


def put_service(
    put: Callable[..., None],
    capacity: float,
    busy_integral: float,
    queue_integral: float,
    queue_max: float,
    wait_mean_days: float,
    wait_max_days: float,
    inv_T: float,
    **where: str,
) -> None:
    """The seven KPIs every served resource has (station servers, agency staff, link vehicles).

    ``busy_integral`` and ``queue_integral`` are time integrals over the window; ``inv_T`` is
    one over its length; ``where`` names the resource (``node=`` or ``link=``).
    """
    put("capacity", capacity, **where)
    put("busy_mean", busy_integral * inv_T, **where)
    put("utilisation", busy_integral * inv_T / capacity, **where)
    put("queue_mean", queue_integral * inv_T, **where)
    put("queue_max", queue_max, **where)
    put("wait_mean_days", wait_mean_days, **where)
    put("wait_max_days", wait_max_days, **where)


class LinkFlow:
    """Per link code: vehicles away, queue, wait for loading, transit, trips and losses."""

    def __init__(self, scenario: Scenario, end: float | None) -> None:
        self.s = scenario
        self.busy, self.queue = Levels(end), Levels(end)
        self.wait, self.transit = Pairs(), Pairs()
        self.wait_stats, self.transit_stats = WaitStats(), WaitStats()
        self.trips, self.lots, self.units = np.zeros(0), np.zeros(0), np.zeros(0)
        self.lost_lots, self.lost_units = np.zeros(0), np.zeros(0)
        self.leaves = QueueLeaves()  # lots rerouted while they waited (reroute_in_queue)

    def add(self, ev: EventArrays) -> tuple[np.ndarray, np.ndarray]:
        """One chunk of whole instants; returns its loaded -> arrived pairs: ``(lot, transit days)``."""
        t, link = ev.t, ev.link
        dep, ret, ld, lo = ev.of(DEPARTED), ev.of(RETURNED), ev.of(LOADED), ev.of(LOST)
        # a lost row on no vehicle is a lot destroyed at the node while it waited for this link (a strike)
        lo, lo_waiting = lo[ev.vehicle[lo] >= 0], lo[(ev.vehicle[lo] < 0) & (link[lo] >= 0)]
        qd = ev.of(QUEUED)
        ql = qd[link[qd] >= 0]
        # a lot rerouted while it waited leaves the queue of the link it waited for (not the row's link)
        rr, rr_link = self.leaves.leaves(ev)
        group = link
        if len(rr):
            group = link.copy()
            group[rr] = rr_link
        _updown(self.busy, link, t, dep, ret)
        _updown(self.queue, group, t, ql, np.concatenate([ld, lo_waiting, rr]))
        # .. unserved: its wait ends there, uncounted (as a lot lost while it waited)
        ok, w = _pair(self.wait, pair_key(ev.lot, group), t, ql, np.concatenate([ld, rr]))
        n_ld = int(ok[: len(ld)].sum())
        self.wait_stats.add(link[ld][ok[: len(ld)]], w[:n_ld])
        ar_ok, tr = loaded_arrived(self.transit, ev)
        self.transit_stats.add(link[ar_ok], tr)
        self.trips = _sums(self.trips, link[dep])
        self.lots = _sums(self.lots, link[ld])
        self.units = _sums(self.units, link[dep], ev.qty[dep].astype(float))
        self.lost_lots = _sums(self.lost_lots, link[lo])
        self.lost_units = _sums(self.lost_units, link[lo], ev.qty[lo].astype(float))
        return ev.lot[ar_ok], tr

    def result(self, links: list[str], T: float, put: Callable[..., None]) -> None:
        """Put the link KPIs (``links``: names of the link codes)."""
        n = len(links)
        busy, _ = self.busy.result(T, n)
        q_int, q_max = self.queue.result(T, n)
        w_mean, w_max = self.wait_stats.result(n)
        tr_mean, _ = self.transit_stats.result(n)
        trips, lots, units = _get(self.trips, n), _get(self.lots, n), _get(self.units, n)
        lost_lots, lost_units = _get(self.lost_lots, n), _get(self.lost_units, n)
        inv_T = 1.0 / T if T > 0 else math.nan
        for c, lk in enumerate(self.s.links):
            if not lk.enabled:
                continue
            lid = lk.id
            put_service(put, float(lk.vehicles), busy[c], q_int[c], q_max[c], w_mean[c], w_max[c], inv_T, link=lid)
            put("trips", trips[c], link=lid)
            put("lots_carried", lots[c], link=lid)
            put("units_carried", units[c], link=lid)
            put("lost_lots", lost_lots[c], link=lid)
            put("lost_units", lost_units[c], link=lid)
            put("transit_mean_days", tr_mean[c], link=lid)
