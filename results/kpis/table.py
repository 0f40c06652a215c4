"""KPIs: pure functions from one replication's event table to numbers a planner reads.

Input is the event table of ``sim.log.arrow_schema`` (as written to, and read back from, a
Parquet part), rows in ``seq`` order; nothing here runs or imports the engine. Pass the
*resolved* scenario (strategy applied) where capacities are needed; ``kpi_table`` resolves a
strategy by name itself.

One implementation, two feeds: ``compute_kpis`` gives the whole table to
``results.kpis.stream.KpiStream`` as one chunk; ``kpi_table_of_part`` feeds a Parquet part row
group by row group (``results.store.iter_event_batches``), so memory stays bounded by the
row-group size plus a few numbers per lot and per requirement. The accumulators live in
``results.kpis.levels`` (levels, pairs), ``results.kpis.lead`` (counters, lead times, items,
units), ``results.kpis.flow`` (nodes, agencies, links) and ``results.costs`` (money).

Time-weighted statistics are taken over ``[0, end]``, ``end`` being the run's end day
(``RunResult.end_day``, in the manifest); by default the scenario's horizon, or the last
event's day if later. A level that changes several times at one instant counts with its
value after the instant (the step function is right-continuous), so a lot that queues and
starts service at the same instant never makes a queue of one.

KPIs in long format (``kpi_table``): one row per (kpi, item, node, link) with a float
``value`` (null where undefined, e.g. a mean wait when no lot waited). The names
(``KPI_NAMES`` says what each means):

- whole run (item, node, link null): the counters of ``end_counters``.
- per item, and over all items (item null): ``lead_time_{mean,p50,p90,p95}_days``,
  ``stage_share_<stage>`` and ``stage_mean_days_<stage>`` for each of ``STAGES``, ``otif``,
  ``fill_rate``, ``last_delivery_day``; over every *required* unit, so that delivering less
  never looks better (``results.kpis.late``): ``lead_time_km_{p50,p90}_days`` (Kaplan–Meier,
  undelivered units censored at the end), ``units_undelivered``, ``units_late``,
  ``lateness_unit_days``; per item also ``units_delivered`` (over all items it is the counter).
- per (item, unit): ``delivered_units``, ``delivered_lots``; for units with consumption:
  ``stockout_days``, ``units_short``.
- per node: suppliers ``throughput_lots``, ``throughput_units``, ``arrivals_lots``,
  ``wip_mean_lots``, ``wip_max_lots``, ``sojourn_mean_days``; handling nodes the same plus
  ``capacity``, ``busy_mean``, ``utilisation``, ``queue_mean``, ``queue_max``,
  ``wait_mean_days``, ``wait_max_days``; units ``throughput_lots``, ``throughput_units``;
  agencies ``capacity``, ``busy_mean``, ``utilisation``, ``queue_mean``, ``queue_max``,
  ``wait_mean_days``, ``wait_max_days``, ``tenders``; donors ``budget_added_eur``,
  ``budget_committed_eur``, ``budget_left_eur`` (and, from ``results.costs``,
  ``budget_released_eur``, ``budget_spent_eur``).
- money (``results.costs.cost_kpis``): ``contract_value_eur``, ``agency_fees_eur``,
  ``transport_cost_eur``, ``total_cost_eur``, ``cost_per_delivered_unit_eur`` over the run and
  per item (transport also per link), per channel ``total_cost_eur_<channel>`` and
  ``cost_per_delivered_unit_eur_<channel>``; pledges ``pledged_units``,
  ``pledged_units_on_time``, ``pledge_on_time_share`` (whole run, per item, per donor).
- per link: ``capacity``, ``busy_mean``, ``utilisation``, ``queue_mean``, ``queue_max``,
  ``wait_mean_days``, ``wait_max_days``, ``trips``, ``lots_carried``, ``units_carried``,
  ``lost_lots``, ``lost_units``, ``transit_mean_days``.
- inventory (``results.kpis.inventory``, only when the log has consumption or stock rows), per
  (item, node), per item and overall: ``units_demanded``, ``units_served_from_stock``,
  ``units_backordered``, ``units_lost_sales``, ``units_backorder_filled``, ``demand_fill_rate``,
  ``ready_rate``, ``on_hand_mean_units``, ``backorders_mean_units``, ``backorders_max_units``,
  ``orders_placed``, ``units_order_placed``, ``lots_order_received``, ``units_order_received``,
  ``orders_received``; per item and overall ``stockout_node_days``.

Example:
    >>> from scenarios.load import load
    >>> from sim.run import run
    >>> s = load("scenarios/small_routers.yaml")
    >>> log, result = run(s)
    >>> k = compute_kpis(log.table(), s, end=result.end_day)
    >>> k[("units_delivered", None, None, None)] == result.counters["units_delivered"]
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from results.costs import COST_KPI_NAMES
from results.kpis.arrays import CodePool, EventArrays, event_arrays, names_array
from results.kpis.flow import HANDLING_KINDS
from results.kpis.inventory import INVENTORY_KPI_NAMES
from results.kpis.lead import COUNTER_KEYS, STAGES, Counters, weighted_quantile
from results.kpis.levels import time_weighted
from results.kpis.stream import KpiKey, KpiStream, LeadStream
from scenarios.schema import Scenario
from sim.events import DELIVERED, KIND_CODE, KINDS

__all__ = [
    "COUNTER_KEYS",
    "HANDLING_KINDS",
    "KPI_COLUMNS",
    "KPI_NAMES",
    "STAGES",
    "EventArrays",
    "KpiKey",
    "compute_kpis",
    "deliveries",
    "end_counters",
    "event_arrays",
    "kpi_table",
    "kpi_table_of_part",
    "kpi_table_of_stream",
    "lot_lead_times",
    "summarise",
    "time_weighted",
    "weighted_quantile",
]

KPI_COLUMNS: tuple[str, ...] = ("kpi", "item", "node", "link", "value", "strategy", "replication")
"""Columns of ``kpi_table``."""

KPI_NAMES: dict[str, str] = {
    "eur_committed": "EUR committed by donors (sum of funds_committed)",
    "eur_released": "EUR given back to donors (sum of funds_released)",
    "lots_done": "lots delivered or lost",
    "lots_produced": "lots produced",
    "requirements_closed": "requirements closed (requirement_filled)",
    "requirements_opened": "requirements opened",
    "units_delivered": "units delivered (per item; the whole-run row adds up different items' units)",
    "units_lost": "units lost in transit",
    "units_ordered": "units under contract",
    "units_produced": "units produced",
    "units_required": "units required by the opened requirements",
    "lead_time_mean_days": "mean lead time of a delivered unit (requirement opened -> lot delivered)",
    "lead_time_p50_days": "median lead time of a delivered unit",
    "lead_time_p90_days": "90th percentile lead time of a delivered unit",
    "lead_time_p95_days": "95th percentile lead time of a delivered unit",
    "lead_time_km_p50_days": (
        "median lead time of a required unit, Kaplan-Meier: units undelivered at the end censored there, "
        "lost units never delivered; null when under half of the required units were delivered (beyond the horizon)"
    ),
    "lead_time_km_p90_days": (
        "90th percentile lead time of a required unit, Kaplan-Meier as lead_time_km_p50_days; "
        "null when the curve never reaches 90% (the percentile lies beyond the horizon)"
    ),
    "units_undelivered": "required units not delivered by the end of the run (lost units included)",
    "units_late": "required units not delivered by the end of their need-by date (undelivered units count as late)",
    "lateness_unit_days": (
        "sum over required units of max(0, delivered (or the end of the run if undelivered) - end of need-by date)"
    ),
    **{f"stage_share_{s}": f"share of delivered units' lead time spent in {s}" for s in STAGES},
    **{f"stage_mean_days_{s}": f"mean days a delivered unit spent in {s}" for s in STAGES},
    "otif": "share of opened requirements closed in full by the end of their need-by date",
    "fill_rate": "units delivered / units required",
    "last_delivery_day": "day of the last delivery",
    "delivered_units": "units delivered to the unit (node)",
    "delivered_lots": "lots delivered to the unit (node)",
    "stockout_days": "days with unmet consumption at the unit",
    "units_short": "units of consumption not met at the unit",
    "throughput_lots": "lots served: produced (supplier), serviced (handling), delivered (unit)",
    "throughput_units": "units served, as throughput_lots",
    "arrivals_lots": "lots entering the node: produced (supplier) or arrived (handling)",
    "wip_mean_lots": "time-average lots at the node (entered .. loaded out)",
    "wip_max_lots": "largest number of lots at the node",
    "sojourn_mean_days": "mean days from entering the node to being loaded out (completed sojourns)",
    "capacity": "servers (handling), vehicles (link) or contracting staff (agency), nominal",
    "busy_mean": "time-average busy servers / vehicles away / tenders running",
    "utilisation": "busy_mean / capacity",
    "queue_mean": "time-average lots waiting (handling: for service; link: for a vehicle; agency: requirements)",
    "queue_max": "largest queue",
    "wait_mean_days": "mean wait of those that left the queue (service start, loading, tender start)",
    "wait_max_days": "longest wait of those that left the queue",
    "tenders": "tenders started by the agency",
    "budget_added_eur": "budget opened plus tranches received by the donor",
    "budget_committed_eur": "EUR the donor committed",
    "budget_left_eur": "budget_added_eur - budget_committed_eur + budget_released_eur (null if unlimited)",
    "trips": "vehicle departures on the link",
    "lots_carried": "lots loaded on the link",
    "units_carried": "units on departing vehicles of the link",
    "lost_lots": "lots lost on the link",
    "lost_units": "units lost on the link",
    "transit_mean_days": "mean days from loading to arrival of a lot on the link (incl. waiting to depart)",
    **COST_KPI_NAMES,
    **INVENTORY_KPI_NAMES,
}
"""Every ``kpi`` string and what it measures."""

_EVENT_COLUMNS = ("seq", "t", "kind", "lot", "item", "qty", "node", "link", "vehicle", "ref", "value")


def _arrays(table: pa.Table | EventArrays, scenario: Scenario | None = None) -> EventArrays:
    return table if isinstance(table, EventArrays) else event_arrays(table, scenario)


def _pools_of(ev: EventArrays) -> tuple[CodePool, CodePool, CodePool]:
    """Code pools that give ``ev``'s codes (to feed it to a stream)."""
    return CodePool(ev.items), CodePool(ev.nodes), CodePool(ev.links)


# --------------------------------------------------------------------------- counters, deliveries


def end_counters(table: pa.Table | EventArrays) -> dict[str, int | float]:
    """The engine's end-of-run counters (``RunResult.counters``), recomputed from the log.

    Every key of ``COUNTER_KEYS`` is present (the engine omits keys it never bumped, so
    compare with ``counters.get(key, 0)``). ``eur_committed`` and ``eur_released`` are floats, the rest ints.
    """
    counters = Counters()
    counters.add(_arrays(table))
    return counters.result()


def deliveries(table: pa.Table | EventArrays) -> pa.Table:
    """Deliveries over time: ``t, item, unit, qty, cum_qty`` (cumulative per item and unit).

    Example:
        >>> from scenarios.load import load
        >>> from sim.run import run
        >>> d = deliveries(run(load("scenarios/small_routers.yaml"))[0].table())
        >>> d.column_names
        ['t', 'item', 'unit', 'qty', 'cum_qty']
    """
    ev = _arrays(table)
    rows = ev.of(DELIVERED)
    item, unit, qty = ev.item[rows], ev.node[rows], ev.qty[rows]
    key = item * (len(ev.nodes) + 1) + unit
    cum = np.zeros(len(rows), dtype=np.int64)
    if len(rows):
        order = np.argsort(key, kind="stable")
        ks, qs = key[order], qty[order]
        cs = np.cumsum(qs)
        new = np.r_[True, ks[1:] != ks[:-1]]
        base = (cs - qs)[new][np.cumsum(new) - 1]
        cum[order] = cs - base

    return pa.table(
        {
            "t": pa.array(ev.t[rows]),
            "item": names_array(item, ev.items),
            "unit": names_array(unit, ev.nodes),
            "qty": pa.array(qty),
            "cum_qty": pa.array(cum),
        }
    )


# --------------------------------------------------------------------------- lead times


def lot_lead_times(table: pa.Table | EventArrays) -> pa.Table:
    """One row per delivered lot: its lead time and the days it spent in each stage.

    Stages (they add up to the lead time, requirement opened -> lot delivered):

    - ``funding``: opened -> first ``funds_committed`` of the requirement (a later one is the
      top-up at its award);
    - ``tender``: -> ``contract_awarded`` of the lot's (requirement, supplier) contract
      (agency pooling, queue for staff and tender, or the bilateral lead time);
    - ``production``: -> ``lot_produced`` (the line's queue of orders and making the lot);
    - ``handling``: time at nodes — waiting at the supplier or a handling node for a vehicle
      (``queued`` -> ``loaded``) and queueing and service at handling nodes;
    - ``transit``: ``loaded`` -> ``arrived`` on each link (includes waiting in a loading
      vehicle for departure).

    Lots lost in transit or not delivered by the end are not in the table.
    """
    ev = _arrays(table)
    stream = LeadStream(_pools_of(ev))
    stream.feed(ev)
    a = stream.finish()
    cols: dict[str, Any] = {
        "lot": pa.array(a["lot"]),
        "item": names_array(a["item"], ev.items),
        "unit": names_array(a["unit"], ev.nodes),
        "ref": pa.array(a["ref"]),
        "qty": pa.array(a["qty"]),
    }
    for key in ("opened_day", "delivered_day", "lead_time_days", *(f"{s}_days" for s in STAGES)):
        cols[key] = pa.array(a[key], type=pa.float64())
    return pa.table(cols)


# --------------------------------------------------------------------------- compute_kpis


def compute_kpis(
    table: pa.Table | EventArrays, scenario: Scenario, end: float | None = None
) -> dict[KpiKey, float | None]:
    """Every KPI of one replication, keyed by ``(kpi, item, node, link)``.

    Args:
        table: The replication's event table (or its ``event_arrays``).
        scenario: The resolved scenario the replication ran (capacities, channels, kinds).
        end: End of the observation window, in days (``RunResult.end_day``); by default
            the scenario horizon, or the last event's day if later.

    Lead-time statistics are per delivered **unit**: each delivered lot counts with its
    quantity (percentiles are weighted, inverted-CDF quantiles). Stage shares are the
    stage's days summed over delivered units divided by the lead-time days summed likewise,
    so they add up to 1 per item. OTIF is over the opened requirements: closed with every
    required unit delivered by the end of the need-by date (``requirement_opened.value`` is the
    date's day ``d``; on time while ``t <= d + 1``, ``scenarios.schema.due_day``).

    A lot's rows are paired in ``seq`` order (queued -> service_started at a node, loaded ->
    arrived on a link...): a leaving row pairs with the first entering row of the same lot
    and place since the previous leaving row. The table is fed as one chunk to
    ``results.kpis.stream.KpiStream``, the implementation ``kpi_table_of_part`` feeds batch by batch.
    """
    ev = _arrays(table, scenario)
    for got, want in ((ev.items, scenario.items), (ev.nodes, scenario.nodes), (ev.links, scenario.links)):
        if got[: len(want)] != [x.id for x in want]:
            raise ValueError("event arrays were not built for this scenario: use event_arrays(table, scenario)")
    stream = KpiStream(scenario, end, _pools_of(ev))
    stream.feed(ev)
    return stream.finish()


# --------------------------------------------------------------------------- tables


def _resolve(scenario: Scenario, strategy: str) -> Scenario:
    if strategy != "baseline" and any(st.name == strategy for st in scenario.strategies):
        return scenario.with_strategy(strategy)
    return scenario


def _long(kpis: dict[KpiKey, float | None], strategy: str, replication: int) -> pa.Table:
    keys = list(kpis)
    n = len(keys)
    return pa.table(
        {
            "kpi": pa.array([k[0] for k in keys], type=pa.string()),
            "item": pa.array([k[1] for k in keys], type=pa.string()),
            "node": pa.array([k[2] for k in keys], type=pa.string()),
            "link": pa.array([k[3] for k in keys], type=pa.string()),
            "value": pa.array([kpis[k] for k in keys], type=pa.float64()),
            "strategy": pa.array([strategy] * n, type=pa.string()),
            "replication": pa.array([replication] * n, type=pa.int64()),
        }
    )


def kpi_table(
    table: pa.Table | EventArrays,
    scenario: Scenario,
    strategy: str = "baseline",
    replication: int = 0,
    end: float | None = None,
) -> pa.Table:
    """``compute_kpis`` in long format: ``kpi, item, node, link, value, strategy, replication``.

    ``scenario`` is the base scenario: a strategy it defines is applied here (for its
    capacities); any other name is taken as already resolved. Tables of several
    replications and strategies concatenate (``pyarrow.concat_tables``) for ``summarise``.
    """
    return _long(compute_kpis(table, _resolve(scenario, strategy), end), strategy, replication)


def kpi_table_of_part(
    run_dir: str | Path,
    scenario: Scenario,
    strategy: str = "baseline",
    replication: int = 0,
    end: float | None = None,
) -> pa.Table:
    """``kpi_table`` of one part of a run directory, read one row group at a time.

    The same table as ``kpi_table(read_events(run_dir, strategy, replication), scenario,
    strategy, replication, end)``, with memory bounded by the row-group size plus a few
    numbers per lot and per requirement (``results.kpis.stream``).

    Raises:
        results.store.StoreError: no such part, or it cannot be read.
    """
    from results.store import iter_event_batches

    stream = KpiStream(_resolve(scenario, strategy), end)
    for batch in iter_event_batches(run_dir, strategy, replication, columns=_EVENT_COLUMNS):
        stream.feed(batch)
    return _long(stream.finish(), strategy, replication)


def kpi_table_of_stream(
    stream: KpiStream, strategy: str = "baseline", replication: int = 0, end: float | None = None
) -> pa.Table:
    """``kpi_table`` of a log already fed to ``stream`` (``results.kpis.live``: while its run went).

    ``stream`` holds the resolved scenario; ``end`` is the run's end day when the stream was
    made without one (``KpiStream.finish``).
    """
    return _long(stream.finish(end), strategy, replication)


def summarise(kpi_tables: pa.Table | Iterable[pa.Table]) -> pa.Table:
    """Across replications: ``mean, std, n, ci95_low, ci95_high`` per (kpi, item, node, link, strategy).

    Null values are left out (``n`` counts the rest); ``std`` is the sample standard
    deviation; the 95% interval (null when ``n < 2``) stays in the KPI's range
    (``results.stats.kpi_interval``): Wilson for a share of replications (every value 0 or
    1), else Student's t ``mean ± t(0.975, n - 1) * std / sqrt(n)`` clipped to the range;
    ``ci_method`` ("t", "wilson") and ``ci_clipped`` say which. Groups keep their
    first-seen order.
    """
    from results.stats import kpi_interval  # scipy.special's t quantile only when n > 1

    tables = [kpi_tables] if isinstance(kpi_tables, pa.Table) else list(kpi_tables)
    groups: dict[tuple[Any, ...], list[float]] = {}
    for tb in tables:
        cols = [tb.column(c).to_pylist() for c in ("kpi", "item", "node", "link", "strategy", "value")]
        for kpi, item, node, link, strategy, value in zip(*cols, strict=True):
            vals = groups.setdefault((kpi, item, node, link, strategy), [])
            if value is not None and math.isfinite(value):
                vals.append(float(value))
    names = ("kpi", "item", "node", "link", "strategy", "mean", "std", "n", "ci95_low", "ci95_high")
    out: dict[str, list[Any]] = {c: [] for c in (*names, "ci_method", "ci_clipped")}
    for key, vals in groups.items():
        for c, v in zip(("kpi", "item", "node", "link", "strategy"), key, strict=True):
            out[c].append(v)
        ci = kpi_interval(key[0], vals)  # within the KPI's range; t quantile only for n > 1
        out["mean"].append(ci.mean)
        out["std"].append(ci.std)
        out["n"].append(ci.n)
        out["ci95_low"].append(ci.low)
        out["ci95_high"].append(ci.high)
        out["ci_method"].append(ci.method or None)
        out["ci_clipped"].append(ci.clipped)
    types = dict.fromkeys(("kpi", "item", "node", "link", "strategy", "ci_method"), pa.string())
    types.update(dict.fromkeys(("mean", "std", "ci95_low", "ci95_high"), pa.float64()))
    types["n"] = pa.int64()
    types["ci_clipped"] = pa.bool_()
    return pa.table({c: pa.array(v, type=types[c]) for c, v in out.items()})


assert len(KINDS) == len(KIND_CODE)
