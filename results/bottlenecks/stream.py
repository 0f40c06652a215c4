"""The bottleneck analysis (``results.bottlenecks.analysis.analyse``) of an event part read chunk by chunk.

``analyse_part`` gives the same :class:`results.bottlenecks.Analysis` as ``analyse`` of the
whole table, with memory bounded by a chunk of rows plus what is per lot (a few numbers per
lot: when and where it was made, its transit) and per active period, never the whole log:

- the active periods of handling nodes, links and supplier lines come from state machines fed
  by chunks of whole instants (``results.bottlenecks.stream_periods``): the levels, the capacity
  factor and the open period are carried from one chunk to the next, so the periods are the
  same numbers;
- agencies, whose rows are per requirement, are analysed from the cold rows kept whole
  (``results.lead_stream.LeadStream.cold``) with the whole-table functions;
- the shares of the lead time spent at each resource take a second pass over the part (which
  lots were delivered, and with how many units, is only known at the end of the first);
- utilisation, mean queue and mean wait of nodes, links and agencies are KPIs: from the KPI
  table of the part (``results.kpis.kpi_table_of_part`` when available).

Sums are added in the log's order, as the whole-table code adds them, so results are equal
bit for bit — except a supplier line's mean backlog, a dot product summed per chunk (equal to
rounding).

Example:
    >>> from scenarios.load import load
    >>> from sim.run import run
    >>> from results.bottlenecks.analysis import analyse
    >>> from results.kpis import compute_kpis
    >>> from results.part_stream import table_chunks
    >>> s = load("scenarios/small_routers.yaml")
    >>> log, result = run(s)
    >>> t = log.table()
    >>> k = compute_kpis(t, s, result.end_day)
    >>> a = analyse_chunks(lambda columns: table_chunks(t, s, 700), s, result.end_day, kpis=k)
    >>> a.timeline == analyse(t, s, end=result.end_day).timeline
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from results.bottlenecks.active_period import Rule
from results.bottlenecks.analysis import resource_stats
from results.bottlenecks.momentary import momentary_bottlenecks, shifting_timeline
from results.bottlenecks.resources import Resource
from results.bottlenecks.stats import Analysis, Throughput
from results.bottlenecks.stream_periods import BottleneckStream
from results.kpis import EventArrays, KpiKey
from results.lead_stream import LeadStream
from results.link_queue import QueueLeaves
from scenarios.schema import Scenario
from sim.events import ARRIVED, QUEUED, SERVICE_FINISHED, TENDER_STARTED

__all__ = ["analyse_chunks", "analyse_part", "finish_analysis", "kpis_of_part"]

Chunks = Callable[[Sequence[str] | None], Iterable[EventArrays]]
"""A fresh iterator over the chunks of one part, given the columns needed (None: all); called
once per pass."""

FIRST_PASS = ("t", "kind", "lot", "item", "qty", "node", "link", "ref", "value")
"""Columns the first pass reads (everything but ``seq`` and ``vehicle``)."""
SECOND_PASS = ("t", "kind", "lot", "node", "link")
"""Columns the second pass (lead-time shares) reads."""


def _lead_shares(
    chunks: Chunks, lead: LeadStream, la: dict[str, np.ndarray], names: dict[tuple[str, int, int], str], s: Scenario
) -> dict[str, float]:
    """``results.bottlenecks.analysis._lead_shares`` with a second pass over the part for the node and link times."""
    if len(la["lot"]) == 0:
        return {}
    lots = la["lot"]
    w = la["qty"].astype(np.float64)
    total = float(np.dot(w, la["lead_time_days"]))
    if not total > 0:
        return {}
    n_lots = int(max(lead.max_lot, lots.max(initial=-1))) + 1
    weight = np.zeros(n_lots)
    weight[lots] = w
    items, nodes, links = lead.names()
    n_nodes, n_links = len(nodes), len(links)
    sums = {k: np.zeros(n) for k, n in (("np", n_nodes), ("nm", n_nodes), ("lp", n_links), ("lm", n_links))}

    def add(acc: np.ndarray, ev: EventArrays, rows: np.ndarray, code: np.ndarray) -> None:
        rows = rows[weight[ev.lot[rows]] > 0]
        np.add.at(acc, code[rows], weight[ev.lot[rows]] * ev.t[rows])

    leaves = QueueLeaves()  # a lot rerouted while it waited for a link leaves it at the rerouted row
    for ev in chunks(SECOND_PASS):
        qd = ev.of(QUEUED)
        add(sums["nm"], ev, qd[ev.link[qd] < 0], ev.node)
        add(sums["np"], ev, ev.of(SERVICE_FINISHED), ev.node)
        add(sums["lm"], ev, qd[ev.link[qd] >= 0], ev.link)
        rr, rr_link = leaves.leaves(ev)
        link = ev.link
        if len(rr):
            link = link.copy()
            link[rr] = rr_link
        add(sums["lp"], ev, np.sort(np.concatenate([ev.of(ARRIVED), rr])), link)  # in log order
    out: dict[str, float] = {}

    def put(name: str | None, value: float) -> None:
        if name is not None:
            out[name] = out.get(name, 0.0) + value / total

    at_node, on_link = sums["np"] - sums["nm"], sums["lp"] - sums["lm"]
    for k in range(len(s.nodes)):
        put(names.get(("node", k, -1)), float(at_node[k]))
    for k in range(len(s.links)):
        put(names.get(("link", k, -1)), float(on_link[k]))
    n_items = len(items) + 1
    supplier, made = lead.per_lot(lead.supplier, -1), lead.per_lot(lead.made_item, -1)
    line_of = np.where(supplier >= 0, supplier * n_items + made, -1)
    line_of = np.r_[line_of, np.full(n_lots - len(line_of), -1, dtype=np.int64)]
    prod = la["production_days"] * w
    key = line_of[lots]
    for code in np.unique(key[key >= 0]).tolist():
        put(names.get(("supplier", code // n_items, code % n_items)), float(prod[key == code].sum()))
    cold = lead.cold()
    ts = cold.of(TENDER_STARTED)
    refs = la["ref"]
    agency_of = np.full(int(max(lead.max_ref, refs.max(initial=-1))) + 1, -1, dtype=np.int64)
    agency_of[cold.ref[ts]] = cold.node[ts]
    tender = la["tender_days"] * w
    lot_agency = agency_of[refs]
    for code in np.unique(lot_agency[lot_agency >= 0]).tolist():
        put(names.get(("agency", code, -1)), float(tender[lot_agency == code].sum()))
    return out


def _throughput(d: dict[str, np.ndarray], s: Scenario) -> dict[str, Throughput]:
    """``results.bottlenecks.analysis.throughput`` from the delivered rows."""
    out: dict[str, Throughput] = {}
    for k, it in enumerate(s.items):
        m = d["item"] == k
        if not m.any():
            out[it.id] = Throughput(it.id, 0, math.nan, math.nan, math.nan)
            continue
        tt, q = d["t"][m], d["qty"][m]
        first, last = float(tt.min()), float(tt.max())
        units = int(q.sum())
        rate = (units - int(q[tt == first].sum())) / (last - first) if last > first else math.nan
        out[it.id] = Throughput(it.id, units, first, last, rate)
    return out


def _supplier_wait(lead: LeadStream, la: dict[str, np.ndarray], node: int, item: int) -> float:
    lots = la["lot"]
    if len(lots) == 0:
        return math.nan
    supplier, made = lead.per_lot(lead.supplier, -1), lead.per_lot(lead.made_item, -1)
    made_here = np.zeros(int(max(lead.max_lot, lots.max(initial=-1))) + 1, dtype=bool)
    made_here[: len(supplier)] = (supplier == node) & (made == item)
    sel = made_here[lots]
    if not sel.any():
        return math.nan
    w = la["qty"][sel].astype(np.float64)
    return float(np.dot(la["production_days"][sel], w) / w.sum())


def analyse_chunks(
    chunks: Chunks,
    scenario: Scenario,
    end: float,
    rule: Rule = "saturated",
    kpis: Mapping[KpiKey, float | None] | None = None,
) -> Analysis:
    """``analyse`` of one part given as chunks (two passes: ``chunks`` is called twice).

    Args:
        chunks: A fresh iterator over the part's chunks of whole instants on each call, given
            the columns to read (``FIRST_PASS``, ``SECOND_PASS``).
        scenario: The resolved scenario the part ran.
        end: End of the observation window (days).
        rule: Activity rule.
        kpis: The part's KPIs over ``[0, end]`` (``compute_kpis``), for utilisation, mean
            queue and mean wait of nodes, links and agencies (NaN without).
    """
    stream = BottleneckStream(scenario, end, rule)
    lead = LeadStream()
    for ev in chunks(FIRST_PASS):
        stream.feed(ev)
        lead.feed(ev)
    return finish_analysis(stream, lead, chunks, kpis)


LEAD_COLUMNS = ("lot", "ref", "qty", "lead_time_days", "production_days", "tender_days")
"""Columns of ``LeadStream.lead_arrays`` the analysis reads."""


def finish_analysis(
    stream: BottleneckStream,
    lead: LeadStream,
    chunks: Chunks,
    kpis: Mapping[KpiKey, float | None] | None,
    la: dict[str, np.ndarray] | None = None,
) -> Analysis:
    """The analysis once ``stream`` and ``lead`` have seen every chunk; ``chunks`` again for
    the second pass (lead-time shares; only ``t, kind, lot, node, link`` are read); ``kpis``
    as for ``analyse_chunks``; ``la``: ``lead.lead_arrays()`` with at least ``LEAD_COLUMNS``
    if already computed."""
    s, T, res = stream.s, stream.end, stream.res
    periods = stream.periods(lead.cold())
    mom = momentary_bottlenecks(periods, [r.name for r in res])
    timeline = shifting_timeline(mom)
    sole: dict[str, float] = {}
    shifting: dict[str, float] = {}
    for seg in timeline:
        acc = sole if seg.state == "sole" else shifting
        acc[seg.resource] = acc.get(seg.resource, 0.0) + seg.end - seg.start
    keys: dict[tuple[str, int, int], str] = {}
    for r in res:
        if r.kind == "link":
            keys[("link", stream.link_code[r.id], -1)] = r.name
        elif r.kind == "supplier":
            keys[("supplier", stream.node_code[r.id], stream.item_code[str(r.item)])] = r.name
        else:
            keys[(r.kind, stream.node_code[r.id], -1)] = r.name
    if la is None:
        la = lead.lead_arrays(LEAD_COLUMNS)
    shares = _lead_shares(chunks, lead, la, keys, s)
    has_lead = bool(shares) or len(la["lot"]) > 0

    def supplier(r: Resource, p: np.ndarray) -> tuple[float, float, float]:
        util = float((p[:, 1] - p[:, 0]).sum()) / T if T > 0 else math.nan
        queue = stream.machines[r.name].integral_to_end() / T / s.item(str(r.item)).lot_size if T > 0 else math.nan
        return util, queue, _supplier_wait(lead, la, stream.node_code[r.id], stream.item_code[str(r.item)])

    stats = resource_stats(res, periods, T, kpis or {}, supplier, shares if has_lead else None, sole, shifting)
    return Analysis(
        T,
        stream.rule,
        tuple(stats),
        tuple(timeline),
        periods,
        tuple(mom),
        _throughput(lead.delivered(), s),
        dict(stream.diverted),
    )


def kpis_of_part(
    run_dir: str | Path, scenario: Scenario, strategy: str, rep: int, end: float
) -> dict[KpiKey, float | None]:
    """The part's KPIs over ``[0, end]`` keyed like ``compute_kpis`` of the part with the
    resolved ``scenario`` (streamed when the KPI module can; else from the whole table)."""
    import results.kpis as kpis_module

    of_part = getattr(kpis_module, "kpi_table_of_part", None)
    if of_part is not None:
        if any(st.name == strategy for st in scenario.strategies):  # already resolved: not again
            scenario = scenario.model_copy(
                update={"strategies": [st for st in scenario.strategies if st.name != strategy]}
            )
        table = of_part(run_dir, scenario, strategy, rep, end=end)
        return {
            (r["kpi"], r["item"], r["node"], r["link"]): r["value"]
            for r in table.select(["kpi", "item", "node", "link", "value"]).to_pylist()
        }
    from results.store.reading import read_events

    return kpis_module.compute_kpis(
        kpis_module.event_arrays(read_events(run_dir, strategy, rep), scenario), scenario, end
    )


def analyse_part(
    run_dir: str | Path,
    strategy: str,
    rep: int,
    scenario: Scenario,
    end: float | None = None,
    rule: Rule = "saturated",
    kpis: Mapping[KpiKey, float | None] | None = None,
    batch_rows: int | None = None,
) -> Analysis:
    """``analyse`` of one part of a run directory, read chunk by chunk.

    Args:
        run_dir: The run directory.
        strategy: The part's strategy label.
        rep: Its replication.
        scenario: The resolved scenario it ran.
        end: End of the observation window; by default the horizon, or the last event's day if later.
        rule: Activity rule.
        kpis: The part's KPIs over ``[0, end]``; by default computed (``kpis_of_part``).
        batch_rows: Rows read at a time (``results.part_stream.CHUNK_ROWS`` by default).
    """
    from results.part_stream import CHUNK_ROWS, last_time, part_chunks

    T = float(end) if end is not None else max(float(scenario.horizon_days), last_time(run_dir, strategy, rep))
    if kpis is None:
        kpis = kpis_of_part(run_dir, scenario, strategy, rep, T)
    n = batch_rows or CHUNK_ROWS
    return analyse_chunks(
        lambda columns: part_chunks(run_dir, strategy, rep, scenario, columns, batch_rows=n), scenario, T, rule, kpis
    )
