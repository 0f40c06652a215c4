"""Inventory KPIs from the event log: fill rate, ready rate, on-hand, backorders, orders (issue 14).

Stock is not a column of the log: it is rebuilt from the rows that move it, per (node, item)::

    on_hand(t)    = opening + received - consumed - backorder_filled - stock_issued
    backorders(t) = stockout rows with value 1 (backordered) - backorder_filled

where ``received`` is ``delivered`` (a lot handed to a unit) plus ``stock_received`` (a lot
entering a depot's stock; lot -1 is opening stock at day 0). A unit's opening stock is logged
only when a stock policy holds it (``stock_received``, lot -1); otherwise it is the scenario's
``Unit.initial_stock``, added at day 0 unless the log has such an opening row for the pair.

A pair is reported when it has inventory rows (``consumed``, ``stockout``, ``backorder_filled``,
``order_placed``, ``stock_received``, ``stock_issued``) or the scenario gives it a consumption
(``consumption_per_day``, ``consumption``) or a stock policy (``stock_policies``). Without such a pair no inventory KPI is emitted. Per (item, node),
per item over nodes (node null) and over everything (item and node null):

- ``units_demanded`` = ``units_served_from_stock`` + units short (stockout rows). Demand met at
  once is ``consumed`` at a unit and ``stock_issued`` at a depot (a unit's order served from
  its stock when it arrives; the rest is the depot's stockout, filled later by
  ``backorder_filled``). ``units_backordered`` and ``units_lost_sales`` split the short units
  (stockout ``value`` 1, or NaN: lost); ``units_backorder_filled``: backordered units served
  later from arriving stock.
- ``demand_fill_rate`` = units_served_from_stock / units_demanded: the share of demand met from
  stock on hand when it occurred (fill rate by volume; null without demand).
- ``ready_rate`` = 1 - stockout days / window days. Day ``d`` is the interval ``[d, d + 1)``;
  the window ``[0, end]`` has ``ceil(end)`` days (at least 1) and a pair's stockout days are
  the distinct ``floor(t)`` of its stockout rows (the ``stockout_days`` KPI), at most the
  window's days. A day without demand counts as ready. Only pairs with demand (consumption
  rows, or a consumption in the scenario) have one; over several pairs it is 1 - their stockout days
  / (pairs x window days), the share of (pair, day)s without a stockout.
- ``stockout_node_days``: stockout days summed over the pairs (per item, over everything).
- ``on_hand_mean_units``, ``backorders_mean_units``: time averages over ``[0, end]`` of the
  step functions above (right-continuous: the level after an instant's changes counts);
  ``backorders_max_units``: their largest value after an instant. Over several pairs the
  levels are summed first (the mean of the sum; the maximum of the sum over time).
- ``orders_placed``, ``units_order_placed``: ``order_placed`` rows of the pair and their units;
  ``lots_order_received``, ``units_order_received``: lots (``delivered``, or ``stock_received``
  with a lot) whose requirement an ``order_placed`` row opened, credited to the ordering pair;
  ``orders_received``: orders whose units were all received.

``InventoryKpis`` is fed the same chunks as ``results.kpis.stream.KpiStream`` (whole instants in
time order) and carries a few numbers per pair, per order (requirement) and per lot (the lot's
requirement, when an order opened it, for a ``stock_received`` row without one). ``InventoryDeltas`` turns chunks into
the level changes that both the KPIs and the report's series (``results.report_inventory``) use.

Example:
    >>> import pyarrow as pa
    >>> from results.kpis.arrays import event_arrays
    >>> none = pa.array([None, None], pa.string())
    >>> rows = {"t": [1.0, 2.0], "kind": ["consumed", "stockout"], "lot": [-1, -1], "item": ["x", "x"],
    ...         "qty": [3, 1], "node": ["u", "u"], "link": none, "vehicle": [-1, -1], "ref": [-1, -1],
    ...         "value": [float("nan")] * 2}
    >>> inv = InventoryKpis(None)
    >>> inv.add(event_arrays(pa.table(rows)))
    >>> out = {}
    >>> inv.result(4.0, ["x"], ["u"], lambda k, v, i=None, n=None: out.__setitem__((k, i, n), v))
    >>> out[("demand_fill_rate", "x", "u")], out[("ready_rate", "x", "u")], out[("units_lost_sales", None, None)]
    (0.75, 0.75, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from results.kpis.arrays import EventArrays
from results.kpis.levels import Levels, grow, pair_key
from scenarios.schema import Scenario, Unit
from sim.events import (
    BACKORDER_FILLED,
    CONSUMED,
    DELIVERED,
    KINDS,
    LOT_PRODUCED,
    ORDER_PLACED,
    STOCK_ISSUED,
    STOCK_RECEIVED,
    STOCKOUT,
)

__all__ = ["INVENTORY_KINDS", "INVENTORY_KPI_NAMES", "InventoryDeltas", "InventoryKpis", "window_days"]

INVENTORY_KINDS: tuple[int, ...] = (CONSUMED, STOCKOUT, BACKORDER_FILLED, ORDER_PLACED, STOCK_RECEIVED, STOCK_ISSUED)
"""Kinds whose rows make a (node, item) an inventory pair."""


def _kind_mask(kinds: tuple[int, ...]) -> np.ndarray:
    """A lookup table over kind codes (a gather is cheaper than ``np.isin`` per chunk)."""
    out = np.zeros(len(KINDS), dtype=bool)
    out[list(kinds)] = True
    return out


_IS_STOCK = _kind_mask((DELIVERED, *INVENTORY_KINDS))
_IS_INVENTORY = _kind_mask(INVENTORY_KINDS)
_IS_DEMAND = _kind_mask((CONSUMED, STOCKOUT, STOCK_ISSUED))

INVENTORY_KPI_NAMES: dict[str, str] = {
    "units_demanded": "units demanded at the node (consumption; a depot: units' orders): served from stock plus short",
    "units_served_from_stock": "units of demand met from stock on hand when it occurred (consumed; a depot: stock_issued)",
    "units_backordered": "units of demand not met when it occurred and backordered (stockout, value 1)",
    "units_lost_sales": "units of demand not met when it occurred and lost (stockout, value NaN)",
    "units_backorder_filled": "backordered units served later from arriving stock",
    "demand_fill_rate": "units_served_from_stock / units_demanded: share of demand met from stock on hand (fill rate by volume)",
    "ready_rate": (
        "share of the window's days (day d = [d, d+1), ceil(end) days) without a stockout row; "
        "over several (node, item) pairs, the share of (pair, day)s; only pairs with demand"
    ),
    "stockout_node_days": "stockout days (distinct floor(t) of stockout rows) summed over (node, item) pairs",
    "on_hand_mean_units": "time-average stock on hand over [0, end] (over several pairs: of their sum)",
    "backorders_mean_units": "time-average backordered units not yet filled over [0, end] (of the sum over pairs)",
    "backorders_max_units": "largest backordered units not yet filled after an instant (of the sum over pairs)",
    "orders_placed": "replenishment orders placed by the node's stock policy (order_placed rows)",
    "units_order_placed": "units of the orders placed",
    "lots_order_received": "lots received (delivered, stock_received) against the node's orders",
    "units_order_received": "units received against the node's orders",
    "orders_received": "orders of the node whose units were all received",
}
"""Every inventory ``kpi`` string and what it measures."""


def window_days(end: float) -> int:
    """Days of the window ``[0, end]``: ``ceil(end)``, at least 1 (day ``d`` is ``[d, d + 1)``)."""
    return max(1, math.ceil(end - 1e-9))


class InventoryDeltas:
    """Changes of on-hand stock and backorders per (node, item) pair, chunk by chunk.

    Pairs get dense ids in order of appearance (``pairs``: id -> ``(node code, item code)``).
    The scenario's opening stocks of units enter at day 0 with the first chunk, except for
    pairs whose first chunk has an opening ``stock_received`` row (lot -1).

    Args:
        scenario: Gives units' ``initial_stock`` (codes are the scenario's positions, as with
            ``results.kpis.arrays.scenario_pools``); None: opening stock only from the log.
    """

    def __init__(self, scenario: Scenario | None) -> None:
        self.opening: dict[tuple[int, int], int] = {}
        self.consuming: set[tuple[int, int]] = set()  # demand in the scenario
        self.stocked: set[tuple[int, int]] = set()  # a stock policy in the scenario
        if scenario is not None:
            item_code = {it.id: k for k, it in enumerate(scenario.items)}
            for k, n in enumerate(scenario.nodes):
                if isinstance(n, Unit):
                    for item_id, q in n.initial_stock.items():
                        if q > 0 and item_id in item_code:
                            self.opening[(k, item_code[item_id])] = int(q)
                    for item_id, per_day in n.consumption_per_day.items():
                        if per_day > 0 and item_id in item_code:
                            self.consuming.add((k, item_code[item_id]))
                    self.consuming.update((k, item_code[i]) for i in getattr(n, "consumption", {}) if i in item_code)
                self.stocked.update((k, item_code[i]) for i in getattr(n, "stock_policies", {}) if i in item_code)
        self.pairs: list[tuple[int, int]] = []
        self._id: dict[int, int] = {}
        self.started = False
        ordered = sorted(self.consuming | self.stocked)
        ids = self.pair_ids(
            np.array([p[0] for p in ordered], dtype=np.int64), np.array([p[1] for p in ordered], dtype=np.int64)
        )
        self.shown_ids = ids  # pairs reported whatever the log holds
        self.consuming_ids = ids[[p in self.consuming for p in ordered]] if ordered else ids

    def pair_ids(self, node: np.ndarray, item: np.ndarray) -> np.ndarray:
        """Dense ids of ``(node, item)`` codes (new pairs get the next ids)."""
        if len(node) == 0:
            return np.zeros(0, dtype=np.int64)
        keys = pair_key(node, item)
        uk, inv = np.unique(keys, return_inverse=True)
        ids = np.empty(len(uk), dtype=np.int64)
        for j, key in enumerate(uk.tolist()):
            pid = self._id.get(key)
            if pid is None:
                pid = self._id[key] = len(self.pairs)
                self.pairs.append((int(node[inv == j][0]), int(item[inv == j][0])))
            ids[j] = pid
        return ids[inv]

    def _openings(self, ev: EventArrays | None) -> tuple[np.ndarray, np.ndarray]:
        """Pair ids and quantities of the scenario's opening stocks not logged in ``ev``."""
        logged: set[tuple[int, int]] = set()
        if ev is not None:
            sr = np.flatnonzero((ev.kind == STOCK_RECEIVED) & (ev.lot < 0))
            logged = set(zip(ev.node[sr].tolist(), ev.item[sr].tolist(), strict=True))
        todo = sorted(p for p in self.opening if p not in logged)
        if not todo:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        nodes, items = np.array([p[0] for p in todo]), np.array([p[1] for p in todo])
        return self.pair_ids(nodes, items), np.array([self.opening[p] for p in todo], dtype=np.int64)

    def deltas(self, ev: EventArrays | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The stock rows of one chunk (None: the end of a log that had no chunk).

        Returns:
            ``(rows, pair, t, on_hand_delta, backorder_delta)``: positions in ``ev`` of the
            rows that move stock (-1 for a scenario opening at day 0, first), their pair ids,
            days and changes, in log order.
        """
        open_pid, open_qty = (np.zeros(0, dtype=np.int64),) * 2
        if not self.started:
            self.started = True
            open_pid, open_qty = self._openings(ev)
        if ev is None:
            rows = np.zeros(0, dtype=np.int64)
            pid, t, kind, qty, value = rows, np.zeros(0), rows, rows, np.zeros(0)
        else:
            rows = np.flatnonzero(_IS_STOCK[ev.kind] & (ev.node >= 0) & (ev.item >= 0))
            kind, qty, t, value = ev.kind[rows], ev.qty[rows], ev.t[rows], ev.value[rows]
            pid = self.pair_ids(ev.node[rows], ev.item[rows]) if len(rows) else rows
        sign_oh = np.zeros(len(rows), dtype=np.int64)
        sign_oh[(kind == DELIVERED) | (kind == STOCK_RECEIVED)] = 1
        sign_oh[(kind == CONSUMED) | (kind == BACKORDER_FILLED) | (kind == STOCK_ISSUED)] = -1
        sign_bo = np.zeros(len(rows), dtype=np.int64)
        sign_bo[(kind == STOCKOUT) & (value == 1.0)] = 1
        sign_bo[kind == BACKORDER_FILLED] = -1
        n0 = len(open_pid)
        return (
            np.r_[np.full(n0, -1, dtype=np.int64), rows],
            np.r_[open_pid, pid].astype(np.int64),
            np.r_[np.zeros(n0), t],
            np.r_[open_qty, sign_oh * qty].astype(np.int64),
            np.r_[np.zeros(n0, dtype=np.int64), sign_bo * qty].astype(np.int64),
        )


class InventoryKpis:
    """Inventory KPIs of one replication, fed chunks of whole instants in time order.

    Args:
        scenario: The resolved scenario (opening stocks and consumptions of units); None:
            opening stock only from the log, pairs only from their rows.
        end: End of the window when known (rows after it are not counted in levels).
    """

    def __init__(self, scenario: Scenario | None, end: float | None = None) -> None:
        self.deltas = InventoryDeltas(scenario)
        self.levels = Levels(end)  # group 2 * pair: on hand; 2 * pair + 1: backorders
        self.bo_total = Levels(end)  # group item + 1: backorders of the item; 0: of everything
        self.sums = np.zeros((0, 6))  # per pair: served, lost, backordered, filled, units ordered, orders
        self.inventory = np.zeros(0, dtype=bool)  # pair has inventory rows (or consumes)
        self.demand = np.zeros(0, dtype=bool)  # pair has demand rows (or consumes)
        self.so_days = np.zeros(0, dtype=np.int64)
        self.last_so_day = np.zeros(0)
        self.lot_ref = np.zeros(0, dtype=np.int64)
        self.order_pid = np.zeros(0, dtype=np.int64)
        self.order_qty = np.zeros(0, dtype=np.int64)
        self.recv_qty = np.zeros(0, dtype=np.int64)
        self.recv_lots = np.zeros(0, dtype=np.int64)

    def _size(self, n: int) -> None:
        if len(self.inventory) < n:
            m = max(n, 2 * len(self.inventory), 16)
            sums = np.zeros((m, self.sums.shape[1]))
            sums[: len(self.sums)] = self.sums
            self.sums = sums
            self.inventory, self.demand = grow(self.inventory, m, False), grow(self.demand, m, False)
            self.so_days, self.last_so_day = grow(self.so_days, m, 0), grow(self.last_so_day, m, -np.inf)
        self.inventory[self.deltas.shown_ids] = True
        self.demand[self.deltas.consuming_ids] = True

    def add(self, ev: EventArrays | None) -> None:
        """One chunk (whole instants, after the previous chunk's); None: the end of an empty log."""
        rows, pid, t, d_oh, d_bo = self.deltas.deltas(ev)
        self._size(len(self.deltas.pairs))
        if len(pid):
            g = np.stack([2 * pid, 2 * pid + 1], axis=1).ravel()
            self.levels.add(g, np.repeat(t, 2), np.stack([d_oh, d_bo], axis=1).ravel())
            bo = np.flatnonzero(d_bo)
            if len(bo):
                items = np.array([self.deltas.pairs[p][1] for p in pid[bo].tolist()], dtype=np.int64)
                both = np.stack([items + 1, np.zeros(len(bo), dtype=np.int64)], axis=1).ravel()
                self.bo_total.add(both, np.repeat(t[bo], 2), np.repeat(d_bo[bo], 2))
        if ev is None:
            return
        real = rows >= 0
        rows, pid, t = rows[real], pid[real], t[real]
        kind, qty, value = ev.kind[rows], ev.qty[rows].astype(np.float64), ev.value[rows]
        n = len(self.inventory)
        self.inventory[pid[_IS_INVENTORY[kind]]] = True
        self.demand[pid[_IS_DEMAND[kind]]] = True
        so = kind == STOCKOUT
        back = so & (value == 1.0)
        served = (kind == CONSUMED) | (kind == STOCK_ISSUED)
        cols = (served, so & ~back, back, kind == BACKORDER_FILLED, kind == ORDER_PLACED)
        for j, m in enumerate(cols):
            self.sums[:, j] += np.bincount(pid[m], weights=qty[m], minlength=n)[:n]
        m = kind == ORDER_PLACED
        self.sums[:, 5] += np.bincount(pid[m], minlength=n)[:n]
        if so.any():
            days = np.unique(np.stack([pid[so], np.floor(t[so]).astype(np.int64)], axis=1), axis=0)
            new = days[days[:, 1] > self.last_so_day[days[:, 0]]]
            np.add.at(self.so_days, new[:, 0], 1)
            np.maximum.at(self.last_so_day, days[:, 0], days[:, 1].astype(np.float64))
        self._orders(ev, rows[m], pid[m])

    def _orders(self, ev: EventArrays, placed: np.ndarray, placed_pid: np.ndarray) -> None:
        """Orders opened (by ref) and lots received against them.

        A lot's requirement is remembered only when an order opened it (the order is placed
        before its lots are made or issued), so memory grows with the orders' lots alone.
        """
        ok = ev.ref[placed] >= 0
        placed, placed_pid = placed[ok], placed_pid[ok]
        if len(placed):
            r = ev.ref[placed]
            m = int(r.max()) + 1
            self.order_pid, self.order_qty = grow(self.order_pid, m, -1), grow(self.order_qty, m, 0)
            self.recv_qty, self.recv_lots = grow(self.recv_qty, m, 0), grow(self.recv_lots, m, 0)
            self.order_pid[r], self.order_qty[r] = placed_pid, ev.qty[placed]
        n = len(self.order_pid)
        if n == 0:
            return
        made = (ev.kind == LOT_PRODUCED) | (ev.kind == STOCK_ISSUED) | (ev.kind == BACKORDER_FILLED)
        mk = np.flatnonzero(made & (ev.lot >= 0) & (ev.ref >= 0))
        mk = mk[ev.ref[mk] < n]
        mk = mk[self.order_pid[ev.ref[mk]] >= 0]
        if len(mk):
            self.lot_ref = grow(self.lot_ref, int(ev.lot[mk].max()) + 1, -1)
            self.lot_ref[ev.lot[mk]] = ev.ref[mk]
        rc = np.flatnonzero((ev.kind == DELIVERED) | ((ev.kind == STOCK_RECEIVED) & (ev.lot >= 0)))
        ref = ev.ref[rc].copy()
        via_lot = (ref < 0) & (ev.lot[rc] >= 0) & (ev.lot[rc] < len(self.lot_ref))
        ref[via_lot] = self.lot_ref[ev.lot[rc][via_lot]]
        keep = (ref >= 0) & (ref < n)
        keep[keep] = self.order_pid[ref[keep]] >= 0
        np.add.at(self.recv_qty, ref[keep], ev.qty[rc][keep])
        np.add.at(self.recv_lots, ref[keep], 1)

    def result(self, end: float, items: list[str], nodes: list[str], put: Callable[..., None]) -> None:
        """Put every inventory KPI (``put(kpi, value, item, node)``); nothing without an inventory pair.

        Args:
            end: End of the window ``[0, end]`` (days).
            items: Item names by code.
            nodes: Node names by code.
            put: Receives each KPI.
        """
        if not self.deltas.started:
            self.add(None)
        pairs = self.deltas.pairs
        n = len(pairs)
        self._size(n)
        shown = [p for p in range(n) if self.inventory[p]]
        if not shown:
            return
        integral, maximum = self.levels.result(end, 2 * n)
        bo_int, bo_max = self.bo_total.result(end, len(items) + 1)
        days = window_days(end)
        orders = self._order_sums(n)
        rows: dict[Any, list[int]] = {}
        for p in sorted(shown, key=lambda q: (pairs[q][1], pairs[q][0])):
            node, item = pairs[p]
            rows[(items[item], nodes[node])] = [p]
            rows.setdefault((items[item], None), []).append(p)
            rows.setdefault((None, None), []).append(p)
        for (item_name, node_name), ps in sorted(rows.items(), key=lambda kv: (kv[0][0] is None, kv[0][1] is None)):
            idx = np.array(ps)
            s = self.sums[idx].sum(axis=0)
            served, lost, backordered, filled, units_placed, placed = (float(x) for x in s[:6])
            demanded = served + lost + backordered
            with_demand = idx[self.demand[idx]]
            stockout_days = int(np.minimum(self.so_days[with_demand], days).sum())

            def kpi(name: str, value: float | None, i: str | None = item_name, nd: str | None = node_name) -> None:
                put(name, value, i, nd)

            kpi("units_demanded", demanded)
            kpi("units_served_from_stock", served)
            kpi("units_backordered", backordered)
            kpi("units_lost_sales", lost)
            kpi("units_backorder_filled", filled)
            kpi("demand_fill_rate", served / demanded if demanded > 0 else None)
            kpi("ready_rate", 1.0 - stockout_days / (len(with_demand) * days) if len(with_demand) else None)
            if node_name is None:
                kpi("stockout_node_days", stockout_days)
            kpi("on_hand_mean_units", float(integral[2 * idx].sum()) / end if end > 0 else None)
            if node_name is not None:
                bo_mean, bo_top = float(integral[2 * idx + 1].sum()) / end, float(maximum[2 * idx + 1].max())
            else:
                g = 0 if item_name is None else items.index(item_name) + 1
                bo_mean, bo_top = float(bo_int[g]) / end, float(bo_max[g])
            kpi("backorders_mean_units", bo_mean if end > 0 else None)
            kpi("backorders_max_units", bo_top)
            kpi("orders_placed", placed)
            kpi("units_order_placed", units_placed)
            o = orders[idx].sum(axis=0)
            kpi("lots_order_received", float(o[0]))
            kpi("units_order_received", float(o[1]))
            kpi("orders_received", float(o[2]))

    def _order_sums(self, n: int) -> np.ndarray:
        """Per pair: lots received, units received, orders received in full."""
        out = np.zeros((n, 3))
        has = np.flatnonzero(self.order_pid >= 0)
        if len(has):
            p = self.order_pid[has]
            out[:, 0] = np.bincount(p, weights=self.recv_lots[has], minlength=n)[:n]
            out[:, 1] = np.bincount(p, weights=self.recv_qty[has], minlength=n)[:n]
            full = (self.recv_qty[has] >= self.order_qty[has]).astype(np.float64)
            out[:, 2] = np.bincount(p, weights=full, minlength=n)[:n]
        return out
