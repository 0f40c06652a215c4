"""KPIs: pure functions from one replication's event table to numbers a planner reads.

Input is the event table of ``sim.log.arrow_schema`` (as written to, and read back from, a
Parquet part), rows in ``seq`` order; nothing here runs or imports the engine. Pass the
*resolved* scenario (strategy applied) where capacities are needed; ``kpi_table`` resolves a
strategy by name itself.

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
  ``fill_rate``, ``last_delivery_day``.
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from results.costs import COST_KPI_NAMES, cost_kpis
from scenarios.schema import Agency, Border, Depot, Donor, Hub, Scenario, Supplier, Unit, due_day, effective_channel
from sim.events import (
    ARRIVED,
    BUDGET_ADDED,
    CONTRACT_AWARDED,
    DELIVERED,
    DEPARTED,
    FUNDS_COMMITTED,
    KIND_CODE,
    KINDS,
    LOADED,
    LOST,
    LOT_PRODUCED,
    QUEUED,
    REQUIREMENT_FILLED,
    REQUIREMENT_OPENED,
    RETURNED,
    SERVICE_FINISHED,
    SERVICE_STARTED,
    STOCKOUT,
    TENDER_FINISHED,
    TENDER_STARTED,
)

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
    "lot_lead_times",
    "summarise",
    "time_weighted",
    "weighted_quantile",
]

KpiKey = tuple[str, str | None, str | None, str | None]
"""``(kpi, item, node, link)``."""

HANDLING_KINDS = ("hub", "border", "depot")

COUNTER_KEYS: tuple[str, ...] = (
    "eur_committed",
    "eur_released",
    "lots_done",
    "lots_produced",
    "requirements_closed",
    "requirements_opened",
    "units_delivered",
    "units_lost",
    "units_ordered",
    "units_produced",
    "units_required",
)
"""Keys of ``end_counters`` (the engine's ``RunResult.counters``; it omits a key never bumped)."""

STAGES: tuple[str, ...] = ("funding", "tender", "production", "handling", "transit")
"""Stages of a delivered lot's lead time, in order (see ``lot_lead_times``)."""

KPI_COLUMNS: tuple[str, ...] = ("kpi", "item", "node", "link", "value", "strategy", "replication")
"""Columns of ``kpi_table``."""

KPI_NAMES: dict[str, str] = {
    "eur_committed": "EUR committed by donors (sum of funds_committed)",
    "eur_released": "EUR given back to donors (sum of funds_released)",
    "lots_done": "lots delivered or lost",
    "lots_produced": "lots produced",
    "requirements_closed": "requirements closed (requirement_filled)",
    "requirements_opened": "requirements opened",
    "units_delivered": "units delivered",
    "units_lost": "units lost in transit",
    "units_ordered": "units under contract",
    "units_produced": "units produced",
    "units_required": "units required by the opened requirements",
    "lead_time_mean_days": "mean lead time of a delivered unit (requirement opened -> lot delivered)",
    "lead_time_p50_days": "median lead time of a delivered unit",
    "lead_time_p90_days": "90th percentile lead time of a delivered unit",
    "lead_time_p95_days": "95th percentile lead time of a delivered unit",
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
}
"""Every ``kpi`` string and what it measures."""

_NO_CODE = -1


# --------------------------------------------------------------------------- columns -> numpy


@dataclass(frozen=True)
class EventArrays:
    """The event table as numpy columns (nulls: -1 codes, 0 qty, NaN value).

    ``item``, ``node`` and ``link`` are codes into ``items``, ``nodes`` and ``links``; ``kind``
    holds ``sim.events`` kind codes.
    """

    t: np.ndarray
    kind: np.ndarray
    lot: np.ndarray
    item: np.ndarray
    qty: np.ndarray
    node: np.ndarray
    link: np.ndarray
    vehicle: np.ndarray
    ref: np.ndarray
    value: np.ndarray
    items: list[str]
    nodes: list[str]
    links: list[str]

    def __len__(self) -> int:
        return len(self.t)

    def of(self, kind: int) -> np.ndarray:
        """Row positions of one kind."""
        return np.flatnonzero(self.kind == kind)


def _chunks(col: Any) -> list[Any]:
    return list(col.chunks) if isinstance(col, pa.ChunkedArray) else [col]


def _codes(col: Any, seed: Sequence[str] = ()) -> tuple[np.ndarray, list[str]]:
    """Integer codes of a (dictionary) string column; ``seed`` names get codes 0.. first."""
    pos: dict[str, int] = {}
    names: list[str] = []
    for s in seed:
        if s not in pos:
            pos[s] = len(names)
            names.append(s)
    parts: list[np.ndarray] = []
    for chunk in _chunks(col):
        if pa.types.is_dictionary(chunk.type):
            dictionary, indices = chunk.dictionary, chunk.indices
        else:
            enc = chunk.dictionary_encode()
            dictionary, indices = enc.dictionary, enc.indices
        mapping = []
        for s in dictionary.to_pylist():
            if s not in pos:
                pos[s] = len(names)
                names.append(s)
            mapping.append(pos[s])
        m = np.array([*mapping, _NO_CODE], dtype=np.int64)
        idx = np.asarray(indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        parts.append(m[idx])
    codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return codes, names


def _num(col: Any, fill: float | int, dtype: Any) -> np.ndarray:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return np.asarray(arr.fill_null(fill).to_numpy(zero_copy_only=False), dtype=dtype)


def event_arrays(table: pa.Table, scenario: Scenario | None = None) -> EventArrays:
    """Numpy columns of an event table, in ``seq`` order.

    With ``scenario`` the item, node and link codes are the scenario's list positions (names
    the scenario does not know get codes after them).

    Raises:
        ValueError: the table holds several replications (a ``replication`` or ``strategy``
            column with more than one value), or an unknown kind.
    """
    for extra in ("strategy", "replication"):
        if extra in table.column_names and table.num_rows and len(table.column(extra).unique()) > 1:
            raise ValueError(f"the table holds several values of {extra!r}: filter one replication first")
    if "seq" in table.column_names and table.num_rows > 1:
        seq = _num(table.column("seq"), 0, np.int64)
        if np.any(np.diff(seq) <= 0):
            table = table.take(pa.array(np.argsort(seq, kind="stable")))
    kind_codes, kind_names = _codes(table.column("kind"))
    try:
        kind_map = np.array([KIND_CODE[k] for k in kind_names] + [_NO_CODE], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"unknown event kind {exc.args[0]!r}") from None
    items = [i.id for i in scenario.items] if scenario is not None else []
    nodes = [n.id for n in scenario.nodes] if scenario is not None else []
    links = [lk.id for lk in scenario.links] if scenario is not None else []
    item, items = _codes(table.column("item"), items)
    node, nodes = _codes(table.column("node"), nodes)
    link, links = _codes(table.column("link"), links)
    return EventArrays(
        t=_num(table.column("t"), math.nan, np.float64),
        kind=kind_map[kind_codes],
        lot=_num(table.column("lot"), -1, np.int64),
        item=item,
        qty=_num(table.column("qty"), 0, np.int64),
        node=node,
        link=link,
        vehicle=_num(table.column("vehicle"), -1, np.int64),
        ref=_num(table.column("ref"), -1, np.int64),
        value=_num(table.column("value"), math.nan, np.float64),
        items=items,
        nodes=nodes,
        links=links,
    )


def _arrays(table: pa.Table | EventArrays, scenario: Scenario | None = None) -> EventArrays:
    return table if isinstance(table, EventArrays) else event_arrays(table, scenario)


# --------------------------------------------------------------------------- small tools


def time_weighted(
    group: np.ndarray, t: np.ndarray, delta: np.ndarray, n_groups: int, end: float
) -> tuple[np.ndarray, np.ndarray]:
    """Integral over ``[0, end]`` and maximum of step functions, one per group.

    Each group's level starts at 0 and changes by ``delta`` at ``t`` (rows in time order
    within a group). The maximum is over the level after each instant (changes at one
    instant are summed first). Changes after ``end`` are ignored.

    Returns:
        ``(integral, maximum)``, arrays of ``n_groups``.

    Example:
        >>> g = np.array([0, 0, 0]); t = np.array([1.0, 2.0, 2.0]); d = np.array([1, 1, -1])
        >>> time_weighted(g, t, d, 1, 4.0)
        (array([3.]), array([1.]))
    """
    integral = np.zeros(n_groups)
    maximum = np.zeros(n_groups)
    keep = t <= end
    group, t, delta = group[keep], t[keep], delta[keep]
    if len(t) == 0:
        return integral, maximum
    order = np.argsort(group, kind="stable")
    g, tt, d = group[order], t[order], np.asarray(delta[order], dtype=np.int64)
    new = np.r_[True, g[1:] != g[:-1]]
    starts = np.flatnonzero(new)
    csum = np.cumsum(d)
    offset = (csum[starts] - d[starts])[np.cumsum(new) - 1]
    level = csum - offset
    last = np.r_[g[1:] != g[:-1], True]
    tnext = np.r_[tt[1:], end]
    tnext[last] = end
    dt = tnext - tt
    integral += np.bincount(g, weights=level * dt, minlength=n_groups)[:n_groups]
    settled = last | (tnext > tt)
    np.maximum.at(maximum, g[settled], level[settled].astype(np.float64))
    return integral, maximum


def _level(
    key: np.ndarray, t: np.ndarray, up: np.ndarray, down: np.ndarray, n_groups: int, end: float
) -> tuple[np.ndarray, np.ndarray]:
    """``time_weighted`` of a level per ``key`` that rises by 1 at rows ``up`` and falls by 1 at ``down``."""
    rows = np.concatenate([up, down])
    delta = np.concatenate([np.ones(len(up), np.int64), -np.ones(len(down), np.int64)])
    order = np.argsort(rows, kind="stable")
    return time_weighted(key[rows][order], t[rows][order], delta[order], n_groups, end)


def _match(key_a: np.ndarray, key_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each key of ``b``: whether ``a`` has it, and (where it does) the first such row of ``a``."""
    if len(key_a) == 0 or len(key_b) == 0:
        return np.zeros(len(key_b), dtype=bool), np.zeros(0, dtype=np.int64)
    order = np.argsort(key_a, kind="stable")
    ks = key_a[order]
    pos = np.minimum(np.searchsorted(ks, key_b), len(ks) - 1)
    ok = ks[pos] == key_b
    return ok, order[pos[ok]]


def _pair(key_a: np.ndarray, t_a: np.ndarray, key_b: np.ndarray, t_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row b with a row a of the same key: ``(mask over b, t_b - t_a)``."""
    ok, ia = _match(key_a, key_b)
    return ok, t_b[ok] - t_a[ia]


def _names(codes: np.ndarray, pool: list[str]) -> pa.Array:
    """Codes -> a string array (code -1 -> null)."""
    idx = pa.array(np.asarray(codes, dtype=np.int32), mask=np.asarray(codes) < 0)
    return pa.DictionaryArray.from_arrays(idx, pa.array(pool, type=pa.string())).cast(pa.string())


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value whose cumulative weight reaches ``q`` of the total (inverted CDF).

    Example:
        >>> weighted_quantile(np.array([3.0, 1.0, 2.0]), np.array([1, 1, 2]), 0.5)
        2.0
    """
    if len(values) == 0:
        return math.nan
    order = np.argsort(values, kind="stable")
    v, cw = values[order], np.cumsum(np.asarray(weights, dtype=np.float64)[order])
    i = int(np.searchsorted(cw, q * cw[-1], side="left"))
    return float(v[min(i, len(v) - 1)])


def _default_end(ev: EventArrays, scenario: Scenario | None) -> float:
    last = float(ev.t[-1]) if len(ev) else 0.0
    return max(scenario.horizon_days, last) if scenario is not None else last


def _nan_to_none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


# --------------------------------------------------------------------------- counters, deliveries


def end_counters(table: pa.Table | EventArrays) -> dict[str, int | float]:
    """The engine's end-of-run counters (``RunResult.counters``), recomputed from the log.

    Every key of ``COUNTER_KEYS`` is present (the engine omits keys it never bumped, so
    compare with ``counters.get(key, 0)``). ``eur_committed`` and ``eur_released`` are floats, the rest ints.
    """
    ev = _arrays(table)
    k, q = ev.kind, ev.qty
    prod, dlv, lost = k == LOT_PRODUCED, k == DELIVERED, k == LOST
    return {
        "eur_committed": math.fsum(ev.value[k == FUNDS_COMMITTED].tolist()),
        "eur_released": math.fsum(ev.value[k == KIND_CODE.get("funds_released", -99)].tolist()),
        "lots_done": int(np.count_nonzero(dlv) + np.count_nonzero(lost & (ev.lot >= 0))),  # not lost stock
        "lots_produced": int(np.count_nonzero(prod)),
        "requirements_closed": int(np.count_nonzero(k == REQUIREMENT_FILLED)),
        "requirements_opened": int(np.count_nonzero(k == REQUIREMENT_OPENED)),
        "units_delivered": int(q[dlv].sum()),
        "units_lost": int(q[lost].sum()),
        "units_ordered": int(q[k == CONTRACT_AWARDED].sum()),
        "units_produced": int(q[prod].sum()),
        "units_required": int(q[k == REQUIREMENT_OPENED].sum()),
    }


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
            "item": _names(item, ev.items),
            "unit": _names(unit, ev.nodes),
            "qty": pa.array(qty),
            "cum_qty": pa.array(cum),
        }
    )


# --------------------------------------------------------------------------- lead times


def _lead_arrays(ev: EventArrays) -> dict[str, np.ndarray]:
    """Per delivered lot: ids and stage durations (see ``lot_lead_times``)."""
    t = ev.t
    dl = ev.of(DELIVERED)
    lots = ev.lot[dl]
    n_lots = int(max(ev.lot.max(initial=-1), -1)) + 1
    n_ref = int(max(ev.ref.max(initial=-1), -1)) + 1
    n_nodes = len(ev.nodes) + 1

    opened = np.full(n_ref, np.nan)
    op = ev.of(REQUIREMENT_OPENED)
    opened[ev.ref[op]] = t[op]
    funded = np.full(n_ref, -np.inf)
    fc = ev.of(FUNDS_COMMITTED)
    np.maximum.at(funded, ev.ref[fc], t[fc])

    produced = np.full(n_lots, np.nan)
    supplier = np.full(n_lots, -1, dtype=np.int64)
    pr = ev.of(LOT_PRODUCED)
    produced[ev.lot[pr]] = t[pr]
    supplier[ev.lot[pr]] = ev.node[pr]

    # contract of the lot: (requirement, supplier)
    ca = ev.of(CONTRACT_AWARDED)
    refs = ev.ref[dl]
    award = np.full(len(dl), -np.inf)
    ok, ia = _match(ev.ref[ca] * n_nodes + ev.node[ca], refs * n_nodes + supplier[lots])
    award[ok] = t[ca][ia]

    # transit: loaded -> arrived on each link of the lot's route
    n_links = len(ev.links) + 1
    ld, ar = ev.of(LOADED), ev.of(ARRIVED)
    ok_ar, dur = _pair(ev.lot[ld] * n_links + ev.link[ld], t[ld], ev.lot[ar] * n_links + ev.link[ar], t[ar])
    transit = np.bincount(ev.lot[ar][ok_ar], weights=dur, minlength=n_lots)[:n_lots] if n_lots else np.zeros(0)

    o = opened[refs]
    f = np.maximum(funded[refs], o)
    a = np.maximum(award, f)
    p = np.maximum(produced[lots], a)
    d = t[dl]
    logistics = d - p
    tr = np.clip(transit[lots], 0.0, logistics) if len(dl) else np.zeros(0)
    return {
        "lot": lots,
        "item": ev.item[dl],
        "unit": ev.node[dl],
        "ref": refs,
        "qty": ev.qty[dl],
        "opened_day": o,
        "delivered_day": d,
        "lead_time_days": d - o,
        "funding_days": f - o,
        "tender_days": a - f,
        "production_days": p - a,
        "handling_days": logistics - tr,
        "transit_days": tr,
    }


def lot_lead_times(table: pa.Table | EventArrays) -> pa.Table:
    """One row per delivered lot: its lead time and the days it spent in each stage.

    Stages (they add up to the lead time, requirement opened -> lot delivered):

    - ``funding``: opened -> last ``funds_committed`` of the requirement (0 if domestic);
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
    a = _lead_arrays(ev)
    cols: dict[str, Any] = {
        "lot": pa.array(a["lot"]),
        "item": _names(a["item"], ev.items),
        "unit": _names(a["unit"], ev.nodes),
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
    """
    ev = _arrays(table, scenario)
    for got, want in ((ev.items, scenario.items), (ev.nodes, scenario.nodes), (ev.links, scenario.links)):
        if got[: len(want)] != [x.id for x in want]:
            raise ValueError("event arrays were not built for this scenario: use event_arrays(table, scenario)")
    T = float(end) if end is not None else _default_end(ev, scenario)
    out: dict[KpiKey, float | None] = {}

    def put(
        kpi: str, value: float | None, item: str | None = None, node: str | None = None, link: str | None = None
    ) -> None:
        out[(kpi, item, node, link)] = None if value is None else _nan_to_none(float(value))

    # whole run
    for key, val in end_counters(ev).items():
        put(key, val)

    _item_kpis(ev, scenario, put)
    _unit_kpis(ev, scenario, put)
    _node_kpis(ev, scenario, T, put)
    _link_kpis(ev, scenario, T, put)
    cost_kpis(ev, scenario, put)
    return out


def _item_kpis(ev: EventArrays, s: Scenario, put: Any) -> None:
    la = _lead_arrays(ev)
    items = [(i.id, k) for k, i in enumerate(s.items)]
    extra = sorted(set(la["item"].tolist()) - {k for _, k in items})
    items += [(ev.items[k], k) for k in extra if k >= 0]
    op = ev.of(REQUIREMENT_OPENED)
    fl = ev.of(REQUIREMENT_FILLED)
    n_ref = int(max(ev.ref.max(initial=-1), -1)) + 1
    req_item = np.full(n_ref, -1, dtype=np.int64)
    req_qty = np.zeros(n_ref, dtype=np.int64)
    need_by = np.full(n_ref, np.nan)
    req_item[ev.ref[op]] = ev.item[op]
    req_qty[ev.ref[op]] = ev.qty[op]
    need_by[ev.ref[op]] = ev.value[op]
    ok = np.zeros(n_ref, dtype=bool)
    fr = ev.ref[fl]
    ok[fr] = (ev.qty[fl] == req_qty[fr]) & (ev.t[fl] <= due_day(need_by[fr]) + 1e-9)  # by the end of the date
    opened_mask = np.zeros(n_ref, dtype=bool)
    opened_mask[ev.ref[op]] = True
    dl = ev.of(DELIVERED)

    for name, code in [*items, (None, None)]:
        sel = np.ones(len(la["lot"]), dtype=bool) if code is None else la["item"] == code
        w = la["qty"][sel].astype(np.float64)
        lead = la["lead_time_days"][sel]
        if len(lead):
            put("lead_time_mean_days", float(np.dot(lead, w) / w.sum()), name)
            for q in (50, 90, 95):
                put(f"lead_time_p{q}_days", weighted_quantile(lead, w, q / 100), name)
        else:
            for kpi in ("lead_time_mean_days", "lead_time_p50_days", "lead_time_p90_days", "lead_time_p95_days"):
                put(kpi, None, name)
        totals = {st: float(np.dot(la[f"{st}_days"][sel], w)) for st in STAGES}
        grand = sum(totals.values())
        for st in STAGES:
            put(f"stage_share_{st}", totals[st] / grand if grand > 0 else None, name)
            put(f"stage_mean_days_{st}", totals[st] / w.sum() if len(w) else None, name)
        rsel = opened_mask if code is None else opened_mask & (req_item == code)
        n_open = int(rsel.sum())
        put("otif", float(ok[rsel].sum()) / n_open if n_open else None, name)
        dsel = dl if code is None else dl[ev.item[dl] == code]
        required = int(req_qty[rsel].sum())
        put("fill_rate", float(ev.qty[dsel].sum()) / required if required else None, name)
        put("last_delivery_day", float(ev.t[dsel].max()) if len(dsel) else None, name)


def _unit_kpis(ev: EventArrays, s: Scenario, put: Any) -> None:
    n_items = len(ev.items) + 1
    dl = ev.of(DELIVERED)
    key = ev.node[dl] * n_items + ev.item[dl]
    so = ev.of(STOCKOUT)
    so_key = ev.node[so] * n_items + ev.item[so]
    pairs: list[tuple[int, int]] = []
    consuming: set[tuple[int, int]] = set()
    for k, n in enumerate(s.nodes):
        if isinstance(n, Unit):
            for r in s.requirements:
                if r.unit == n.id:
                    pairs.append((k, ev.items.index(r.item)))
            for item_id, per_day in n.consumption_per_day.items():
                if per_day > 0:
                    consuming.add((k, ev.items.index(item_id)))
    seen = set(pairs)
    logged = sorted({(int(x) // n_items, int(x) % n_items) for x in key.tolist()} - seen)
    for node, item in [*dict.fromkeys(pairs), *logged]:
        m = key == node * n_items + item
        put("delivered_units", int(ev.qty[dl][m].sum()), ev.items[item], ev.nodes[node])
        put("delivered_lots", int(m.sum()), ev.items[item], ev.nodes[node])
    stock_pairs = sorted(consuming | {(int(x) // n_items, int(x) % n_items) for x in so_key.tolist()})
    for node, item in stock_pairs:
        m = so_key == node * n_items + item
        put("stockout_days", len(np.unique(np.floor(ev.t[so][m]))), ev.items[item], ev.nodes[node])
        put("units_short", int(ev.qty[so][m].sum()), ev.items[item], ev.nodes[node])


def _wait_stats(
    ok: np.ndarray, dur: np.ndarray, group: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: count, mean and max of the matched waits."""
    g = group[ok]
    cnt = np.bincount(g, minlength=n)[:n].astype(np.float64)
    tot = np.bincount(g, weights=dur, minlength=n)[:n]
    mx = np.full(n, -np.inf)
    np.maximum.at(mx, g, dur)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, tot / np.where(cnt > 0, cnt, 1), np.nan)
    return cnt, mean, np.where(cnt > 0, mx, np.nan)


def _node_kpis(ev: EventArrays, s: Scenario, T: float, put: Any) -> None:
    t = ev.t
    n_nodes = len(ev.nodes)
    node_kind = {n.id: n.kind for n in s.nodes}
    kinds = [node_kind.get(x, "") for x in ev.nodes]
    # indexed by node code; the extra last entry answers code -1 (no node)
    handling = np.array([kd in HANDLING_KINDS for kd in kinds] + [False])
    is_supplier = np.array([kd == "supplier" for kd in kinds] + [False])

    def cnt(rows: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(ev.node[rows], weights=w, minlength=n_nodes)[:n_nodes]

    pr, sf, dl = ev.of(LOT_PRODUCED), ev.of(SERVICE_FINISHED), ev.of(DELIVERED)
    ar_all, ld = ev.of(ARRIVED), ev.of(LOADED)
    ar = ar_all[handling[ev.node[ar_all]]]
    thr_lots = cnt(pr) + cnt(sf) + cnt(dl)
    thr_units = (
        cnt(pr, ev.qty[pr].astype(float)) + cnt(sf, ev.qty[sf].astype(float)) + cnt(dl, ev.qty[dl].astype(float))
    )
    arrivals = cnt(pr) + cnt(ar)

    # WIP: entered (produced at a supplier / arrived at a handling node) .. loaded out
    enter = np.concatenate([pr, ar])
    lost_here = ev.of(LOST)
    lost_here = lost_here[(ev.node[lost_here] >= 0) & (ev.lot[lost_here] >= 0)]  # lots destroyed at a node
    leave = np.concatenate([ld[(handling | is_supplier)[ev.node[ld]]], lost_here])
    wip_int, wip_max = _level(ev.node, t, enter, leave, n_nodes, T)
    nk = n_nodes + 1
    ok, soj = _pair(ev.lot[enter] * nk + ev.node[enter], t[enter], ev.lot[leave] * nk + ev.node[leave], t[leave])
    _, soj_mean, _ = _wait_stats(ok, soj, ev.node[leave], n_nodes)

    # stations: queue (queued .. service_started) and busy servers (.. service_finished)
    qd = ev.of(QUEUED)
    qn = qd[ev.link[qd] < 0]
    ss = ev.of(SERVICE_STARTED)
    # a lot destroyed in a station's queue leaves it without service (lost at the node, no link, never started)
    lq = lost_here[ev.link[lost_here] < 0]
    lq = lq[~_match(ev.lot[ss] * nk + ev.node[ss], ev.lot[lq] * nk + ev.node[lq])[0]]
    q_int, q_max = _level(ev.node, t, qn, np.concatenate([ss, lq]), n_nodes, T)
    # a server per job: rows with value 0 ride along in a per-vehicle job (sim.model.handling)
    b_int, _ = _level(ev.node, t, ss[ev.value[ss] != 0], sf[ev.value[sf] != 0], n_nodes, T)
    ok, w = _pair(ev.lot[qn] * nk + ev.node[qn], t[qn], ev.lot[ss] * nk + ev.node[ss], t[ss])
    _, w_mean, w_max = _wait_stats(ok, w, ev.node[ss], n_nodes)

    # agencies: tenders (distinct by node, item, start, days) and funded requirements waiting
    ag_int, ag_max, ag_busy, ag_wmean, ag_wmax, ag_tenders = _agency_stats(ev, s, T)

    # donors
    ba, fc = ev.of(BUDGET_ADDED), ev.of(FUNDS_COMMITTED)
    added = np.bincount(ev.node[ba], weights=ev.value[ba], minlength=n_nodes)[:n_nodes]
    committed = np.bincount(ev.node[fc], weights=ev.value[fc], minlength=n_nodes)[:n_nodes]
    fr = ev.of(KIND_CODE.get("funds_released", -99))  # older logs have none
    released = np.bincount(ev.node[fr], weights=ev.value[fr], minlength=n_nodes)[:n_nodes]

    inv_T = 1.0 / T if T > 0 else math.nan
    for c, n in enumerate(s.nodes):
        nid = n.id
        if isinstance(n, Supplier) or n.kind in HANDLING_KINDS or isinstance(n, Unit):
            put("throughput_lots", thr_lots[c], node=nid)
            put("throughput_units", thr_units[c], node=nid)
        if isinstance(n, Supplier) or n.kind in HANDLING_KINDS:
            put("arrivals_lots", arrivals[c], node=nid)
            put("wip_mean_lots", wip_int[c] * inv_T, node=nid)
            put("wip_max_lots", wip_max[c], node=nid)
            put("sojourn_mean_days", soj_mean[c], node=nid)
        if isinstance(n, (Hub, Border, Depot)):
            servers = float(n.servers)
            put("capacity", servers, node=nid)
            put("busy_mean", b_int[c] * inv_T, node=nid)
            put("utilisation", b_int[c] * inv_T / servers, node=nid)
            put("queue_mean", q_int[c] * inv_T, node=nid)
            put("queue_max", q_max[c], node=nid)
            put("wait_mean_days", w_mean[c], node=nid)
            put("wait_max_days", w_max[c], node=nid)
        elif isinstance(n, Agency):
            staff = float(n.staff)
            put("capacity", staff, node=nid)
            put("busy_mean", ag_busy[c] * inv_T, node=nid)
            put("utilisation", ag_busy[c] * inv_T / staff, node=nid)
            put("queue_mean", ag_int[c] * inv_T, node=nid)
            put("queue_max", ag_max[c], node=nid)
            put("wait_mean_days", ag_wmean[c], node=nid)
            put("wait_max_days", ag_wmax[c], node=nid)
            put("tenders", ag_tenders[c], node=nid)
        elif isinstance(n, Donor):
            put("budget_added_eur", added[c], node=nid)
            put("budget_committed_eur", committed[c], node=nid)
            unlimited = getattr(n, "budget_eur", None) == "unlimited"  # a state budget without limit
            put("budget_left_eur", None if unlimited else added[c] - committed[c] + released[c], node=nid)


def _agency_stats(ev: EventArrays, s: Scenario, T: float) -> tuple[np.ndarray, ...]:
    """Per node code: queue integral, queue max, busy integral, wait mean, wait max, tenders."""
    n_nodes = len(ev.nodes)
    t = ev.t
    ts, tf = ev.of(TENDER_STARTED), ev.of(TENDER_FINISHED)

    def distinct(rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return rows
        keys = np.stack([ev.node[rows].astype(np.float64), ev.item[rows].astype(np.float64), t[rows], ev.value[rows]])
        order = np.lexsort(keys[::-1])
        sk = keys[:, order]
        first = np.r_[True, np.any(sk[:, 1:] != sk[:, :-1], axis=0)]
        return np.sort(rows[order][first])

    s_rows, f_rows = distinct(ts), distinct(tf)
    busy, _ = _level(ev.node, t, s_rows, f_rows, n_nodes, T)
    tenders = np.bincount(ev.node[s_rows], minlength=n_nodes)[:n_nodes].astype(np.float64)

    # queue: agency-channel requirements from funded (last funds_committed) to tender_started
    agencies = [n.id for n in s.nodes if isinstance(n, Agency)]
    n_ref = len(s.requirements)
    agency_of = np.full(n_ref, -1, dtype=np.int64)
    for i, r in enumerate(s.requirements):
        if effective_channel(s, r) == "agency":
            a = r.agency if r.agency is not None else (agencies[0] if len(agencies) == 1 else None)
            if a is not None and a in ev.nodes:
                agency_of[i] = ev.nodes.index(a)
    fc = ev.of(FUNDS_COMMITTED)
    fc = fc[(ev.ref[fc] >= 0) & (ev.ref[fc] < n_ref)]
    funded = np.full(n_ref, -np.inf)
    np.maximum.at(funded, ev.ref[fc], t[fc])
    started = np.full(n_ref, np.nan)
    ts_in = ts[(ev.ref[ts] >= 0) & (ev.ref[ts] < n_ref)]
    started[ev.ref[ts_in]] = t[ts_in]
    refs = np.flatnonzero((agency_of >= 0) & np.isfinite(funded))
    go = refs[np.isfinite(started[refs])]
    q_t = np.concatenate([funded[refs], started[go]])
    q_g = np.concatenate([agency_of[refs], agency_of[go]])
    q_d = np.concatenate([np.ones(len(refs), np.int64), -np.ones(len(go), np.int64)])
    order = np.lexsort((-q_d, q_t))  # by time; at one instant, entries before exits
    q_int, q_max = time_weighted(q_g[order], q_t[order], q_d[order], n_nodes, T)
    waits = started[go] - funded[go]
    ok = np.ones(len(go), dtype=bool)
    _, w_mean, w_max = _wait_stats(ok, waits, agency_of[go], n_nodes)
    return q_int, q_max, busy, w_mean, w_max, tenders


def _link_kpis(ev: EventArrays, s: Scenario, T: float, put: Any) -> None:
    t = ev.t
    n_links = len(ev.links)
    nl = n_links + 1

    def cnt(rows: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(ev.link[rows], weights=w, minlength=n_links)[:n_links]

    dep, ret, ld, ar, lo = ev.of(DEPARTED), ev.of(RETURNED), ev.of(LOADED), ev.of(ARRIVED), ev.of(LOST)
    # a lost row on no vehicle is a lot destroyed at the node while it waited for this link (a strike)
    lo, lo_waiting = lo[ev.vehicle[lo] >= 0], lo[(ev.vehicle[lo] < 0) & (ev.link[lo] >= 0)]
    qd = ev.of(QUEUED)
    ql = qd[ev.link[qd] >= 0]
    busy, _ = _level(ev.link, t, dep, ret, n_links, T)
    q_int, q_max = _level(ev.link, t, ql, np.concatenate([ld, lo_waiting]), n_links, T)
    ok, w = _pair(ev.lot[ql] * nl + ev.link[ql], t[ql], ev.lot[ld] * nl + ev.link[ld], t[ld])
    _, w_mean, w_max = _wait_stats(ok, w, ev.link[ld], n_links)
    ok, tr = _pair(ev.lot[ld] * nl + ev.link[ld], t[ld], ev.lot[ar] * nl + ev.link[ar], t[ar])
    _, tr_mean, _ = _wait_stats(ok, tr, ev.link[ar], n_links)
    trips, lots, units = cnt(dep), cnt(ld), cnt(dep, ev.qty[dep].astype(float))
    lost_lots, lost_units = cnt(lo), cnt(lo, ev.qty[lo].astype(float))
    inv_T = 1.0 / T if T > 0 else math.nan
    for c, lk in enumerate(s.links):
        if not lk.enabled:
            continue
        lid = lk.id
        vehicles = float(lk.vehicles)
        put("capacity", vehicles, link=lid)
        put("busy_mean", busy[c] * inv_T, link=lid)
        put("utilisation", busy[c] * inv_T / vehicles, link=lid)
        put("queue_mean", q_int[c] * inv_T, link=lid)
        put("queue_max", q_max[c], link=lid)
        put("wait_mean_days", w_mean[c], link=lid)
        put("wait_max_days", w_max[c], link=lid)
        put("trips", trips[c], link=lid)
        put("lots_carried", lots[c], link=lid)
        put("units_carried", units[c], link=lid)
        put("lost_lots", lost_lots[c], link=lid)
        put("lost_units", lost_units[c], link=lid)
        put("transit_mean_days", tr_mean[c], link=lid)


# --------------------------------------------------------------------------- tables


def _resolve(scenario: Scenario, strategy: str) -> Scenario:
    if strategy != "baseline" and any(st.name == strategy for st in scenario.strategies):
        return scenario.with_strategy(strategy)
    return scenario


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
    kpis = compute_kpis(table, _resolve(scenario, strategy), end)
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
