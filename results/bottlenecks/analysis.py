"""The bottleneck analysis of one replication: ``analyse`` and its per-resource assembly.

Per resource: utilisation, mean queue and mean wait (KPIs for nodes, links and agencies; open
orders, backlog and production days for supplier lines), its share of the lead time of
delivered units, and its active, sole and shifting shares of the window. Per item: the
throughput over the active span of deliveries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa

from results.bottlenecks.active_period import Rule, _arrays, _end, active_periods
from results.bottlenecks.momentary import momentary_bottlenecks, shifting_timeline
from results.bottlenecks.resources import Resource, resources
from results.bottlenecks.stats import Analysis, ResourceStats, Throughput, add_diverted
from results.kpis import EventArrays, KpiKey, compute_kpis, lot_lead_times
from results.link_queue import QueueLeaves
from scenarios.schema import Scenario
from sim.events import (
    ARRIVED,
    CONTRACT_AWARDED,
    DELIVERED,
    LOT_PRODUCED,
    QUEUED,
    SERVICE_FINISHED,
    TENDER_STARTED,
)

__all__ = ["analyse", "resource_stats", "throughput"]


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
    # a lot rerouted while it waited for a link spent its wait there: it leaves at the rerouted row
    rr, rr_link = QueueLeaves().leaves(ev)
    link = ev.link
    if len(rr):
        link = link.copy()
        link[rr] = rr_link
    on_link = spent(q_link, np.sort(np.concatenate([ev.of(ARRIVED), rr])), link, n_links)  # in log order
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
    diverted: dict[str, int] = {}
    add_diverted(diverted, ev)
    return Analysis(T, rule, tuple(stats), tuple(timeline), periods, tuple(mom), throughput(ev, scenario), diverted)


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
