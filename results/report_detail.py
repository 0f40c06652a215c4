"""The report's projections of one event part, computed chunk by chunk (``results.report_data``).

``Curves`` adds up the deliveries of a part per item (cumulative units at each day edge,
units per week) from its ``delivered`` rows. ``DetailAccumulator`` projects every part of the
primary strategy for ``Detail``: lead times, daily WIP and queue per node, daily order backlog
per supplier line, weekly utilisation
per resource, money and goods flows, donors' budgets and the bottleneck analysis. Both are
fed ``results.part_stream`` chunks (whole instants, time order), so memory is a chunk plus
what the report keeps: a few numbers per lot (lead times; ``results.lead_stream``) and the
active periods of the analysis. Rows that are per requirement (money, tenders) are kept whole
and go through the same functions as before. Sums of integers are exact; sums of floats are
added in the log's order, so the numbers are those of the whole-table projection.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from results.kpis import EventArrays, KpiKey
from results.part_stream import StepAverage, step_average
from scenarios.schema import Agency, Border, Depot, Hub, Scenario, Supplier, effective_channel
from sim.events import (
    ARRIVED,
    CONTRACT_AWARDED,
    DELIVERED,
    DEPARTED,
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

__all__ = ["HANDLING", "Curves", "DetailAccumulator", "resources", "supplier_lines"]

HANDLING = (Hub, Border, Depot)


def resources(s: Scenario, make: Callable[..., Any]) -> list[Any]:
    """Capacity-limited resources of ``s`` for the utilisation chart (``make(kind, id, label, capacity)``)."""
    out = []
    for n in s.nodes:
        if isinstance(n, HANDLING):
            out.append(make("node", n.id, f"{n.id} ({n.kind})", float(n.servers)))
        elif isinstance(n, Agency):
            out.append(make("node", n.id, f"{n.id} (agency)", float(n.staff)))
    for lk in s.links:
        if lk.enabled:
            out.append(make("link", lk.id, f"{lk.id} ({lk.mode})", float(lk.vehicles)))
    return out


class Curves:
    """Units delivered per item: cumulative at each day edge, and per week (one part)."""

    def __init__(self, scenario: Scenario, day_edges: np.ndarray, week_edges: np.ndarray) -> None:
        self.items = [it.id for it in scenario.items]
        self.day_edges, self.week_edges = day_edges, week_edges
        self.cum = np.zeros((len(self.items), len(day_edges)))
        self.weekly = np.zeros((len(self.items), max(len(week_edges) - 1, 0)))

    def feed(self, ev: EventArrays) -> None:
        """One chunk."""
        dl = ev.of(DELIVERED)
        if len(dl) == 0:
            return
        for k in range(len(self.items)):
            rows = dl[ev.item[dl] == k]
            if len(rows) == 0:
                continue
            t, q = ev.t[rows], ev.qty[rows].astype(np.float64)
            cs = np.r_[0.0, np.cumsum(q)]
            self.cum[k] += cs[np.searchsorted(t, self.day_edges, side="right")]
            if len(self.week_edges) >= 2:
                self.weekly[k] += np.histogram(t, bins=self.week_edges, weights=q)[0]


def _distinct_tenders(ev: Any, rows: np.ndarray) -> np.ndarray:
    """One row per tender: pooled requirements log one row each (same node, item, day, days)."""
    if len(rows) == 0:
        return rows
    keys = np.stack([ev.node[rows].astype(np.float64), ev.item[rows].astype(np.float64), ev.t[rows], ev.value[rows]])
    order = np.lexsort(keys[::-1])
    sk = np.nan_to_num(keys[:, order], nan=-1.0)
    first = np.r_[True, np.any(sk[:, 1:] != sk[:, :-1], axis=0)]
    return np.sort(rows[order][first])


class _Part:
    """The projections of one part of the primary strategy, fed chunk by chunk."""

    def __init__(self, s: Scenario, day_edges: np.ndarray, week_edges: np.ndarray, end: float, rule: str) -> None:
        from results.bottlenecks.stream_periods import BottleneckStream
        from results.lead_stream import LeadStream

        self.s = s
        n_nodes, n_links = len(s.nodes), len(s.links)
        self.wip = StepAverage(n_nodes, day_edges)
        self.queue = StepAverage(n_nodes, day_edges)
        self.node_busy = StepAverage(n_nodes, week_edges)
        self.link_busy = StepAverage(n_links, week_edges)
        self.lots = np.zeros(n_links, dtype=np.int64)
        self.units = np.zeros(n_links)
        self.eur = np.zeros(n_links)
        self.m3 = np.zeros(n_links)
        self.item_units = np.zeros((n_links, len(s.items)))  # units of each item loaded on each link
        self.value = np.array([it.unit_value_eur for it in s.items] + [0.0])
        self.volume = np.array([it.volume_m3 for it in s.items] + [0.0])
        self.lead = LeadStream()
        self.bottlenecks = BottleneckStream(s, end, rule)  # type: ignore[arg-type]
        # supplier lines: (supplier, item) -> group of the order backlog, in lots of the item
        self.lines = supplier_lines(s)
        self.line_of = np.full((n_nodes + 1, len(s.items) + 1), -1, dtype=np.int64)
        codes = {n.id: k for k, n in enumerate(s.nodes)}
        items = {it.id: k for k, it in enumerate(s.items)}
        for g, (sup, item) in enumerate(self.lines):
            self.line_of[codes[sup], items[item]] = g
        self.lot_size = np.array([float(it.lot_size) for it in s.items] + [1.0])
        self.backlog = StepAverage(len(self.lines), day_edges)

    def feed(self, ev: EventArrays) -> None:
        self.lead.feed(ev)
        self.bottlenecks.feed(ev)
        t, n_nodes, n_links = ev.t, len(self.s.nodes), len(self.s.links)

        def steps(acc: StepAverage, code: np.ndarray, up: np.ndarray, down: np.ndarray, n: int) -> None:
            rows = np.concatenate([up, down])
            delta = np.r_[np.ones(len(up)), -np.ones(len(down))]
            g = code[rows]
            keep = (g >= 0) & (g < n)
            acc.add(g[keep], t[rows][keep], delta[keep])

        pr, ar, ld = ev.of(LOT_PRODUCED), ev.of(ARRIVED), ev.of(LOADED)
        qd, ss, sf = ev.of(QUEUED), ev.of(SERVICE_STARTED), ev.of(SERVICE_FINISHED)
        steps(self.wip, ev.node, np.r_[pr, ar], ld, n_nodes)
        steps(self.queue, ev.node, qd[ev.link[qd] < 0], ss, n_nodes)
        ss, sf = ss[ev.value[ss] != 0], sf[ev.value[sf] != 0]  # a server per job: value 0 rides along
        steps(self.node_busy, ev.node, ss, sf, n_nodes)
        steps(self.link_busy, ev.link, ev.of(DEPARTED), ev.of(RETURNED), n_links)
        self._backlog(ev, pr)
        ld = ld[(ev.link[ld] >= 0) & (ev.link[ld] < n_links)]
        q = ev.qty[ld].astype(np.float64)
        code = ev.link[ld]
        item = np.where(ev.item[ld] < len(self.s.items), ev.item[ld], -1)
        self.lots += np.bincount(code, minlength=n_links)
        np.add.at(self.units, code, q)
        np.add.at(self.eur, code, q * self.value[item])
        np.add.at(self.m3, code, q * self.volume[item])
        known = item >= 0
        np.add.at(self.item_units, (code[known], item[known]), q[known])

    def _backlog(self, ev: EventArrays, produced: np.ndarray) -> None:
        """Ordered units not yet produced per supplier line, in lots: + ``contract_awarded``, - ``lot_produced``."""
        if not self.lines:
            return
        ca = ev.of(CONTRACT_AWARDED)
        rows = np.concatenate([ca, produced])
        node, item = ev.node[rows], ev.item[rows]
        ok = (node >= 0) & (node < self.line_of.shape[0] - 1) & (item >= 0) & (item < self.line_of.shape[1] - 1)
        g = np.full(len(rows), -1, dtype=np.int64)
        g[ok] = self.line_of[node[ok], item[ok]]
        sign = np.r_[np.ones(len(ca)), -np.ones(len(produced))]
        lots = sign * ev.qty[rows].astype(np.float64) / self.lot_size[np.where(ok, item, -1)]
        keep = g >= 0
        self.backlog.add(g[keep], ev.t[rows][keep], lots[keep])


def supplier_lines(s: Scenario) -> list[tuple[str, str]]:
    """(supplier, item) of every production line of ``s``, in file order."""
    return [(n.id, p.item) for n in s.nodes if isinstance(n, Supplier) for p in n.products]


class DetailAccumulator:
    """Adds up the detailed projections of the primary strategy, one part at a time.

    Args:
        scenario: The primary strategy's resolved scenario.
        day_edges: Edges of the daily series.
        week_edges: Edges of the weekly series.
        make_resource: ``results.report_data.Resource``.
    """

    def __init__(
        self, scenario: Scenario, day_edges: np.ndarray, week_edges: np.ndarray, make_resource: Callable[..., Any]
    ) -> None:
        self.s = scenario
        self.day_edges = day_edges
        self.week_edges = week_edges
        self.n = 0
        self.lead: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.wip: dict[str, list[np.ndarray]] = {}
        self.queue: dict[str, list[np.ndarray]] = {}
        self.backlog: dict[str, dict[str, list[np.ndarray]]] = {}
        self.util: dict[Any, list[np.ndarray]] = {}
        self.flows: dict[tuple[str, str], float] = {}
        self.link_flow: dict[str, dict[str, float]] = {}
        self.item_flow: dict[str, dict[tuple[str, str], float]] = {}
        self.analyses: dict[int, Any] = {}
        self.budget: dict[str, list[np.ndarray]] = {}
        self.resources = resources(scenario, make_resource)
        from results.inventory_series import InventoryAcross

        self.inventory = InventoryAcross(scenario, day_edges)

    def add(
        self,
        chunks: Callable[[Sequence[str] | None], Iterable[EventArrays]],
        rep: int,
        end: float,
        kpis: Mapping[KpiKey, float | None],
        also: Callable[[EventArrays], None] | None = None,
    ) -> None:
        """Project one part: ``chunks(columns)`` gives its chunks (called twice: the lead-time shares
        of the bottleneck analysis take a second pass); ``end`` is its observation window's
        end; ``kpis`` its KPIs over ``[0, end]``; ``also`` sees every chunk of the first pass."""
        from results.bottlenecks.stream import FIRST_PASS, LEAD_COLUMNS, finish_analysis

        part = _Part(self.s, self.day_edges, self.week_edges, end, "saturated")
        inventory = self.inventory.part()
        for ev in chunks(FIRST_PASS):
            part.feed(ev)
            inventory.feed(ev)
            if also is not None:
                also(ev)
        self.inventory.add(inventory)
        self.n += 1
        la = part.lead.lead_arrays({*LEAD_COLUMNS, "item"})
        self.analyses[rep] = finish_analysis(part.bottlenecks, part.lead, chunks, kpis, la)
        for k, it in enumerate(self.s.items):
            m = la["item"] == k
            self.lead.setdefault(it.id, []).append((la["lead_time_days"][m], la["qty"][m]))
        del la
        cold = part.lead.cold()
        wip, queue = part.wip.result(), part.queue.result()
        for c, n in enumerate(self.s.nodes):
            if isinstance(n, (Supplier, *HANDLING)):
                self.wip.setdefault(n.id, []).append(wip[c])
                if isinstance(n, HANDLING):
                    self.queue.setdefault(n.id, []).append(queue[c])
        for (sup, item), row in zip(part.lines, part.backlog.result(), strict=True):
            self.backlog.setdefault(sup, {}).setdefault(item, []).append(row)
        self._utilisation(part, cold)
        self._flows(part, cold)
        self._budget(cold)

    def _utilisation(self, part: _Part, cold: EventArrays) -> None:

        node_busy, link_busy = part.node_busy.result(), part.link_busy.result()
        ts, tf = _distinct_tenders(cold, cold.of(TENDER_STARTED)), _distinct_tenders(cold, cold.of(TENDER_FINISHED))
        node_code = {n.id: k for k, n in enumerate(self.s.nodes)}
        link_code = {lk.id: k for k, lk in enumerate(self.s.links)}
        for res in self.resources:
            if res.kind == "link":
                busy = link_busy[link_code[res.id]]
            elif isinstance(self.s.node(res.id), Agency):
                c = node_code[res.id]
                a, b = ts[cold.node[ts] == c], tf[cold.node[tf] == c]
                delta = np.r_[np.ones(len(a)), -np.ones(len(b))]
                busy = step_average(np.r_[cold.t[a], cold.t[b]], delta, self.week_edges)
            else:
                busy = node_busy[node_code[res.id]]
            self.util.setdefault(res, []).append(busy / res.capacity)

    def _flows(self, part: _Part, cold: EventArrays) -> None:
        s, ev = self.s, cold
        agencies = [n.id for n in s.nodes if isinstance(n, Agency)]
        fc, ca = ev.of(FUNDS_COMMITTED), ev.of(CONTRACT_AWARDED)

        def add(src: str, dst: str, eur: float) -> None:
            if eur > 0 and math.isfinite(eur):
                self.flows[(src, dst)] = self.flows.get((src, dst), 0.0) + eur

        for ref, r in enumerate(s.requirements):
            f = fc[ev.ref[fc] == ref]
            c = ca[ev.ref[ca] == ref]
            channel = effective_channel(s, r)
            contracts = [(ev.nodes[ev.node[k]], float(ev.value[k])) for k in c if ev.node[k] >= 0]
            if channel == "agency":
                agency = r.agency or (agencies[0] if len(agencies) == 1 else None)
                if agency is None:
                    continue
                for k in f:
                    add(ev.nodes[ev.node[k]], agency, float(ev.value[k]))
                for sup, eur in contracts:
                    add(agency, sup, eur)
            elif channel == "bilateral":
                paid = np.nan_to_num(ev.value[f])
                total = float(paid.sum())
                for k, eur_k in zip(f, paid, strict=True):
                    for sup, eur in contracts:
                        add(ev.nodes[ev.node[k]], sup, eur * float(eur_k) / total if total > 0 else 0.0)
        per = {"lots": part.lots, "units": part.units, "eur": part.eur, "m3": part.m3}
        for c, lk in enumerate(s.links):
            acc = self.link_flow.setdefault(lk.id, dict.fromkeys(per, 0.0))
            for key, arr in per.items():
                acc[key] += float(arr[c])
            add(lk.from_, lk.to, float(per["eur"][c]))
            for k, it in enumerate(s.items):
                units = float(part.item_units[c, k])
                if units > 0:
                    flows = self.item_flow.setdefault(it.id, {})
                    flows[(lk.from_, lk.to)] = flows.get((lk.from_, lk.to), 0.0) + units

    def _budget(self, cold: EventArrays) -> None:
        from results.costs import donor_budget_series

        series = donor_budget_series(cold, self.s)
        t = series.column("t").to_numpy()
        donor = np.asarray(series.column("donor").to_pylist(), dtype=object)
        added, net = series.column("added_eur").to_numpy(), series.column("net_committed_eur").to_numpy()
        for n in self.s.nodes:
            if n.kind != "donor":
                continue
            m = donor == n.id
            at = np.searchsorted(t[m], self.day_edges, side="right") - 1  # the last row at or before each edge
            pair = np.zeros((2, len(self.day_edges)))
            ok = at >= 0
            pair[0, ok], pair[1, ok] = added[m][at[ok]], net[m][at[ok]]
            self.budget.setdefault(n.id, []).append(pair)
