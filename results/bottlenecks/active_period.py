"""Active periods of every resource (Roser, Nakano & Tanaka), from one replication's event table.

A resource is *active* while it works or is down with work waiting, and inactive while starved
or blocked. Under the rule ``"saturated"`` (default) a pool of several units is active only
while all usable units are busy, or work waits with no unit free; a ``scheduled`` link also
while lots its last convoy left behind wait for the next; a supplier line while it holds open
orders. Under ``"occupied"`` a resource is active while anything is in service or waits. See
``results.bottlenecks`` for the whole method.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa

from results.bottlenecks.resources import resources
from results.kpis import EventArrays, event_arrays
from results.link_queue import QueueLeaves
from scenarios.schema import Agency, DispatchScheduled, Scenario, effective_channel
from sim.events import (
    CONTRACT_AWARDED,
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

__all__ = ["RULES", "Rule", "active_periods"]


Rule = Literal["saturated", "occupied"]
RULES: tuple[str, ...] = ("saturated", "occupied")
"""Names of the activity rules (see the module docstring)."""

_EMPTY = np.zeros((0, 2))
_FIT = 1e-9  # the engine's tolerance in ceil(servers * factor - 1e-9)


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
    rr, rr_link = QueueLeaves().leaves(ev)  # lots rerouted while they waited leave that link's queue
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
                steps(q_link[ev.link[q_link] == c], np.concatenate([ld[ev.link[ld] == c], rr[rr_link == c]])),
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
    funded = np.full(n_ref, np.inf)  # first commit: a later one is the award's top-up, after the tender
    np.minimum.at(funded, ev.ref[fc], ev.t[fc])
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
