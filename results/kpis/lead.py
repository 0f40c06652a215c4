"""Counters, lead times, item and unit KPIs, accumulated chunk by chunk (``results.kpis.stream``).

State kept between chunks is a few numbers per lot (produced day, supplier, transit days),
per requirement (opened, funded, filled, lost...) and per delivered lot (its ids, quantity and
day); the statistics over delivered lots (weighted percentiles...) are taken at the end.
Definitions are in ``results.kpis`` (``compute_kpis``, ``lot_lead_times``); the KPIs over
every required unit (Kaplan–Meier lead times, lateness) in ``results.kpis.late``.

The requirement KPIs (OTIF, fill rate, undelivered and late units, lateness, Kaplan–Meier lead
times) are over the requirements of **units**. A depot's replenishment orders (a stock policy
at a depot, issue 14) open requirements whose node is the depot; their lots end in its stock
(``stock_received``), never ``delivered``, and the units they serve have requirements of their
own, so counting them would count as undelivered what is only on the shelf (fill 48.3 % on
``tests/sim/inventory/depot_chain.yaml`` instead of 100 %). They are left out here and
measured by the inventory KPIs (``results.kpis.inventory``: orders placed and received at the
depot). The engine's counters (``units_required``, ``requirements_opened``) still count them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from results.kpis.arrays import EventArrays
from results.kpis.late import fulfilment, km_quantiles
from results.kpis.levels import KEY_SHIFT, MERGE_MIN_ROWS, KeyedSums, grow, pair_key
from scenarios.schema import Depot, Scenario, Unit, due_day
from sim.events import (
    CONTRACT_AWARDED,
    DELIVERED,
    FUNDS_COMMITTED,
    KIND_CODE,
    LOST,
    LOT_PRODUCED,
    REQUIREMENT_FILLED,
    REQUIREMENT_OPENED,
    STOCKOUT,
)

__all__ = ["COUNTER_KEYS", "STAGES", "Counters", "ItemUnits", "LeadTimes", "weighted_quantile"]

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
"""Stages of a delivered lot's lead time, in order (see ``results.kpis.lot_lead_times``)."""

_RELEASED = KIND_CODE.get("funds_released", -99)  # older logs have none


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


class Counters:
    """The engine's end-of-run counters, recomputed from the rows (``results.kpis.end_counters``)."""

    def __init__(self) -> None:
        self.ints: dict[str, int] = dict.fromkeys(COUNTER_KEYS[2:], 0)
        self.committed: list[np.ndarray] = []
        self.released: list[np.ndarray] = []

    def add(self, ev: EventArrays) -> None:
        """Count one chunk."""
        k, q = ev.kind, ev.qty
        prod, dlv, lost = k == LOT_PRODUCED, k == DELIVERED, k == LOST
        self.committed.append(ev.value[k == FUNDS_COMMITTED])
        self.released.append(ev.value[k == _RELEASED])
        c = self.ints
        c["lots_done"] += int(np.count_nonzero(dlv) + np.count_nonzero(lost & (ev.lot >= 0)))  # not lost stock
        c["lots_produced"] += int(np.count_nonzero(prod))
        c["requirements_closed"] += int(np.count_nonzero(k == REQUIREMENT_FILLED))
        c["requirements_opened"] += int(np.count_nonzero(k == REQUIREMENT_OPENED))
        c["units_delivered"] += int(q[dlv].sum())
        c["units_lost"] += int(q[lost].sum())
        c["units_ordered"] += int(q[k == CONTRACT_AWARDED].sum())
        c["units_produced"] += int(q[prod].sum())
        c["units_required"] += int(q[k == REQUIREMENT_OPENED].sum())

    def result(self) -> dict[str, int | float]:
        """Every key of ``COUNTER_KEYS``: ``eur_*`` floats (exactly rounded sums), the rest ints."""
        out: dict[str, int | float] = {
            "eur_committed": math.fsum(np.concatenate([np.zeros(0), *self.committed]).tolist()),
            "eur_released": math.fsum(np.concatenate([np.zeros(0), *self.released]).tolist()),
        }
        out.update(self.ints)
        return out


_DELIVERED_COLS = ("lot", "item", "unit", "ref", "qty", "delivered_day")


class LeadTimes:
    """Per delivered lot: ids and stage durations (``results.kpis.lot_lead_times``).

    Kept per lot id: produced day, supplier and transit days; per requirement: opened and
    first funded day; per delivered lot: its ids, quantity and day (growing arrays, about
    60 bytes a lot). Stages are worked out at the end, when every row is known.
    """

    def __init__(self) -> None:
        self.max_lot = -1
        self.max_ref = -1
        self.produced = np.zeros(0)
        self.supplier = np.zeros(0, dtype=np.int32)
        self.transit = np.zeros(0)
        self.opened = np.zeros(0)
        self.funded = np.zeros(0)
        self._award_key = np.zeros(0, dtype=np.int64)  # first contract_awarded per (ref, supplier)
        self._award_t = np.zeros(0)
        self._award_pending: list[tuple[np.ndarray, np.ndarray]] = []  # (keys, days) not merged yet
        self._award_pending_rows = 0
        self.delivered: list[dict[str, np.ndarray]] = []  # one entry per chunk (no copies as it grows)

    def add(self, ev: EventArrays, arrived_lots: np.ndarray, transit_days: np.ndarray) -> None:
        """One chunk; ``arrived_lots``/``transit_days``: its loaded -> arrived pairs (lot, days)."""
        t = ev.t
        if len(ev):
            self.max_lot = max(self.max_lot, int(ev.lot.max()))
            self.max_ref = max(self.max_ref, int(ev.ref.max()))
        n_lot, n_ref = self.max_lot + 1, self.max_ref + 1
        self.produced = grow(self.produced, n_lot, np.nan)
        self.supplier = grow(self.supplier, n_lot, -1)
        self.transit = grow(self.transit, n_lot, 0.0)
        self.opened = grow(self.opened, n_ref, np.nan)
        self.funded = grow(self.funded, n_ref, np.inf)

        op = ev.of(REQUIREMENT_OPENED)
        op = op[ev.ref[op] >= 0]
        self.opened[ev.ref[op]] = t[op]
        fc = ev.of(FUNDS_COMMITTED)
        fc = fc[ev.ref[fc] >= 0]
        # the first commit funds it; a later one is the award's top-up, after the tender
        np.minimum.at(self.funded, ev.ref[fc], t[fc])
        pr = ev.of(LOT_PRODUCED)
        pr = pr[ev.lot[pr] >= 0]
        self.produced[ev.lot[pr]] = t[pr]
        self.supplier[ev.lot[pr]] = ev.node[pr]
        ok = arrived_lots >= 0
        m = len(self.transit)
        self.transit += np.bincount(arrived_lots[ok], weights=transit_days[ok], minlength=m)[:m]

        ca = ev.of(CONTRACT_AWARDED)
        if len(ca):
            self._award_pending.append((pair_key(ev.ref[ca], ev.node[ca]), t[ca]))
            self._award_pending_rows += len(ca)
            if self._award_pending_rows >= max(len(self._award_key), MERGE_MIN_ROWS):
                self._merge_awards()
        dl = ev.of(DELIVERED)
        if len(dl):
            cols = (
                ev.lot[dl],
                ev.item[dl].astype(np.int32),
                ev.node[dl].astype(np.int32),
                ev.ref[dl],
                ev.qty[dl],
                t[dl],
            )
            self.delivered.append(dict(zip(_DELIVERED_COLS, cols, strict=True)))

    def _merge_awards(self) -> None:
        """Merge the pending awards into the sorted (ref, supplier) keys, keeping each key's first day.

        Merged when the pending rows are as many as the keys (or ``MERGE_MIN_ROWS``) and before
        they are read, not every chunk: a merge costs the keys' number (one per requirement).
        The first row of a key in log order wins, as when merging every chunk.
        """
        if not self._award_pending:
            return
        keys = np.concatenate([self._award_key, *(k for k, _ in self._award_pending)])
        ts = np.concatenate([self._award_t, *(d for _, d in self._award_pending)])
        self._award_key, first = np.unique(keys, return_index=True)
        self._award_t = ts[first]
        self._award_pending, self._award_pending_rows = [], 0

    @property
    def award_key(self) -> np.ndarray:
        """Keys ``pair_key(ref, supplier)`` of the contracts awarded, sorted and distinct."""
        self._merge_awards()
        return self._award_key

    @property
    def award_t(self) -> np.ndarray:
        """Day of each key's first ``contract_awarded`` (in the order of ``award_key``)."""
        self._merge_awards()
        return self._award_t

    def _stages(self, dl: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Stage days of delivered lots (one entry of ``self.delivered``)."""
        lots, refs, d = dl["lot"], dl["ref"], dl["delivered_day"]
        n_lot, n_ref = self.max_lot + 1, self.max_ref + 1
        # [:n] views: a lot or ref of -1 reads the last entry, as numpy indexing does
        produced = grow(self.produced, n_lot, np.nan)[:n_lot]
        supplier = grow(self.supplier, n_lot, -1)[:n_lot]
        transit = grow(self.transit, n_lot, 0.0)[:n_lot]
        opened = grow(self.opened, n_ref, np.nan)[:n_ref]
        funded = grow(self.funded, n_ref, np.inf)[:n_ref]
        award = np.full(len(lots), -np.inf)
        if len(lots) and len(self.award_key):
            want = pair_key(refs, supplier[lots])
            pos = np.minimum(np.searchsorted(self.award_key, want), len(self.award_key) - 1)
            hit = self.award_key[pos] == want
            award[hit] = self.award_t[pos[hit]]
        o = opened[refs]
        fr = funded[refs]
        f = np.maximum(np.where(fr < np.inf, fr, o), o)  # never committed: no funding stage
        a = np.maximum(award, f)
        p = np.maximum(produced[lots], a)
        logistics = d - p
        tr = np.clip(transit[lots], 0.0, logistics) if len(lots) else np.zeros(0)
        return {
            "opened_day": o,
            "lead_time_days": d - o,
            "funding_days": f - o,
            "tender_days": a - f,
            "production_days": p - a,
            "handling_days": logistics - tr,
            "transit_days": tr,
        }

    def result(self) -> dict[str, np.ndarray]:
        """Per delivered lot: ``lot, item, unit, ref, qty`` and the days of ``results.kpis.lot_lead_times``."""
        dl = {
            name: np.concatenate([np.zeros(0, np.int64), *(c[name] for c in self.delivered)]).astype(np.int64)
            for name in _DELIVERED_COLS[:5]
        }
        dl["delivered_day"] = np.concatenate([np.zeros(0), *(c["delivered_day"] for c in self.delivered)])
        return {**dl, **self._stages(dl)}

    def refs_days(self) -> tuple[np.ndarray, np.ndarray]:
        """Requirement and delivery day of each delivered lot, in the order of ``summary``."""
        ref = np.concatenate([np.zeros(0, np.int64), *(c["ref"] for c in self.delivered)]).astype(np.int64)
        return ref, np.concatenate([np.zeros(0), *(c["delivered_day"] for c in self.delivered)])

    def summary(self, n_items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What item KPIs need, in slices: ``(item, qty, lead days, stage day-units)``.

        ``item`` and ``qty`` per delivered lot; ``lead`` its lead time; ``stage day-units`` a
        ``(n_items + 1, len(STAGES))`` array of stage days times units, row ``code + 1`` per
        item code (row 0: no item).
        """
        item = np.concatenate([np.zeros(0, np.int64), *(c["item"] for c in self.delivered)]).astype(np.int64)
        qty = np.concatenate([np.zeros(0, np.int64), *(c["qty"] for c in self.delivered)])
        lead = np.zeros(len(item))
        totals = np.zeros((n_items + 1, len(STAGES)))
        lo = 0
        for c in self.delivered:
            st = self._stages(c)
            hi = lo + len(c["lot"])
            lead[lo:hi] = st["lead_time_days"]
            w = c["qty"].astype(np.float64)
            for j, name in enumerate(STAGES):
                totals[:, j] += np.bincount(c["item"] + 1, weights=st[f"{name}_days"] * w, minlength=n_items + 1)
            lo = hi
        return item, qty, lead, totals


class ItemUnits:
    """Per requirement and per (unit, item) state for OTIF, fill rate, deliveries and stockouts."""

    def __init__(self) -> None:
        self.max_ref = -1
        self.req_item = np.zeros(0, dtype=np.int64)
        self.req_qty = np.zeros(0, dtype=np.int64)
        self.req_node = np.zeros(0, dtype=np.int64)  # node code of each requirement (-1: none)
        self.node_names: list[str] = []  # names of the node codes (the chunks' pool)
        self.need_by = np.zeros(0)
        self.opened = np.zeros(0, dtype=bool)
        self.fill_qty = np.zeros(0, dtype=np.int64)
        self.fill_t = np.zeros(0)
        self.filled = np.zeros(0, dtype=bool)
        self.lost_qty = np.zeros(0, dtype=np.int64)  # units lost per requirement
        self.item_qty = np.zeros(0, dtype=np.int64)  # delivered units by item code + 1
        self.item_last = np.zeros(0)  # last delivery day by item code + 1
        self.unit_deliveries = KeyedSums(2)  # (unit, item) -> units, lots
        self.stockouts = KeyedSums(1)  # (unit, item) -> units short
        self.stockout_days: set[tuple[int, int, float]] = set()

    def add(self, ev: EventArrays) -> None:
        """One chunk."""
        if len(ev):
            self.max_ref = max(self.max_ref, int(ev.ref.max()))
        n = self.max_ref + 1
        self.req_item, self.req_qty = grow(self.req_item, n, -1), grow(self.req_qty, n, 0)
        self.req_node = grow(self.req_node, n, -1)
        self.need_by, self.opened = grow(self.need_by, n, np.nan), grow(self.opened, n, False)
        self.fill_qty, self.fill_t = grow(self.fill_qty, n, 0), grow(self.fill_t, n, np.nan)
        self.filled, self.lost_qty = grow(self.filled, n, False), grow(self.lost_qty, n, 0)
        op = ev.of(REQUIREMENT_OPENED)
        op = op[ev.ref[op] >= 0]
        r = ev.ref[op]
        self.req_item[r], self.req_qty[r], self.need_by[r] = ev.item[op], ev.qty[op], ev.value[op]
        self.req_node[r] = ev.node[op]
        self.node_names = ev.nodes
        self.opened[r] = True
        fl = ev.of(REQUIREMENT_FILLED)
        fl = fl[ev.ref[fl] >= 0]
        r = ev.ref[fl]
        self.fill_qty[r], self.fill_t[r] = ev.qty[fl], ev.t[fl]
        self.filled[r] = True
        ls = ev.of(LOST)
        ls = ls[ev.ref[ls] >= 0]  # destroyed stock (ref -1) belongs to no requirement
        np.add.at(self.lost_qty, ev.ref[ls], ev.qty[ls])

        dl = ev.of(DELIVERED)
        it = ev.item[dl] + 1
        m = max(len(self.item_qty), len(ev.items) + 1)
        self.item_qty, self.item_last = grow(self.item_qty, m, 0), grow(self.item_last, m, -np.inf)
        m = len(self.item_qty)
        self.item_qty += np.bincount(it, weights=ev.qty[dl], minlength=m)[:m].astype(np.int64)
        np.maximum.at(self.item_last, it, ev.t[dl])
        w = np.stack([ev.qty[dl].astype(np.float64), np.ones(len(dl))], axis=1)
        self.unit_deliveries.add(pair_key(ev.node[dl], ev.item[dl]), w)
        so = ev.of(STOCKOUT)
        if len(so):
            self.stockouts.add(pair_key(ev.node[so], ev.item[so]), ev.qty[so].astype(np.float64))
            days = np.unique(np.stack([ev.node[so], ev.item[so], np.floor(ev.t[so])], axis=1), axis=0)
            self.stockout_days.update((int(a), int(b), float(c)) for a, b, c in days.tolist())

    def item_kpis(
        self, lead_times: LeadTimes, ev_items: list[str], s: Scenario, put: Callable[..., None], end: float
    ) -> None:
        """Lead times, stage shares, OTIF, fill rate, last delivery, lateness per item and overall.

        ``end`` is the end of the run (days): required units undelivered then are censored
        there (``results.kpis.late``).
        """
        item_of, qty, lead, stage_totals = lead_times.summary(len(ev_items))
        lot_ref, lot_day = lead_times.refs_days()
        items: list[tuple[str | None, int | None]] = [(i.id, k) for k, i in enumerate(s.items)]
        extra = sorted(set(np.unique(item_of).tolist()) - {k for _, k in items})
        items += [(ev_items[k], k) for k in extra if k >= 0]
        n = self.max_ref + 1
        req_item, req_qty = self.req_item[:n], self.req_qty[:n]
        ok = np.zeros(n, dtype=bool)
        fr = np.flatnonzero(self.filled[:n])
        need_by: Any = self.need_by[:n]  # due_day applies elementwise
        ok[fr] = (self.fill_qty[fr] == req_qty[fr]) & (self.fill_t[fr] <= due_day(need_by[fr]) + 1e-9)
        node_code = {name: c for c, name in enumerate(self.node_names)}
        depots = [node_code[d.id] for d in s.nodes if isinstance(d, Depot) and d.id in node_code]
        opened_mask = self.opened[:n] & ~np.isin(self.req_node[:n], depots)  # units' requirements only
        item_qty = grow(self.item_qty, len(ev_items) + 1, 0)
        item_last = grow(self.item_last, len(ev_items) + 1, -np.inf)
        opened_day = grow(lead_times.opened, n, np.nan)[:n]
        due: np.ndarray = np.asarray(due_day(need_by), dtype=np.float64)
        ful = fulfilment(req_qty, opened_day, due, self.lost_qty[:n], end, lot_ref, qty, lot_day)
        del lot_ref, lot_day  # two arrays a delivered lot fewer while the curves below are drawn

        for name, code in [*items, (None, None)]:
            if code is None:
                w, ld, day_units = qty.astype(np.float64), lead, stage_totals.sum(axis=0)
            else:
                sel = item_of == code
                w, ld, day_units = qty[sel].astype(np.float64), lead[sel], stage_totals[code + 1]
            if len(ld):
                put("lead_time_mean_days", float(np.dot(ld, w) / w.sum()), name)
                for q in (50, 90, 95):
                    put(f"lead_time_p{q}_days", weighted_quantile(ld, w, q / 100), name)
            else:
                for kpi in ("lead_time_mean_days", "lead_time_p50_days", "lead_time_p90_days", "lead_time_p95_days"):
                    put(kpi, None, name)
            totals = {st: float(day_units[j]) for j, st in enumerate(STAGES)}
            grand = sum(totals.values())
            for st in STAGES:
                put(f"stage_share_{st}", totals[st] / grand if grand > 0 else None, name)
                put(f"stage_mean_days_{st}", totals[st] / w.sum() if len(w) else None, name)
            rsel = opened_mask if code is None else opened_mask & (req_item == code)
            n_open = int(rsel.sum())
            put("otif", float(ok[rsel].sum()) / n_open if n_open else None, name)
            units = int(item_qty.sum()) if code is None else int(item_qty[code + 1])
            last = float(item_last.max(initial=-np.inf)) if code is None else float(item_last[code + 1])
            required = int(req_qty[rsel].sum())
            put("fill_rate", float(units) / required if required else None, name)
            put("last_delivery_day", last if math.isfinite(last) else None, name)
            if code is not None:  # over all items: the counter of the same name
                put("units_delivered", units, name)
            never = int(ful.never[rsel].sum())
            censor_days = np.concatenate([ful.censor_day[rsel], [math.inf]])
            censor_units = np.concatenate([ful.censored[rsel], [never]])
            for q, v in zip((50, 90), km_quantiles(ld, w, censor_days, censor_units, (0.5, 0.9)), strict=True):
                put(f"lead_time_km_p{q}_days", None if math.isnan(v) else v, name)
            put("units_undelivered", int(ful.undelivered[rsel].sum()), name)
            put("units_late", int(ful.late[rsel].sum()), name)
            put("lateness_unit_days", float(ful.lateness_unit_days[rsel].sum()), name)

    def unit_kpis(self, ev_items: list[str], ev_nodes: list[str], s: Scenario, put: Callable[..., None]) -> None:
        """Deliveries per (unit, item); stockout days and units short where units consume."""
        pairs: list[tuple[int, int]] = []
        consuming: set[tuple[int, int]] = set()
        for k, n in enumerate(s.nodes):
            if isinstance(n, Unit):
                for r in s.requirements:
                    if r.unit == n.id:
                        pairs.append((k, ev_items.index(r.item)))
                for item_id, per_day in n.consumption_per_day.items():
                    if per_day > 0:
                        consuming.add((k, ev_items.index(item_id)))

        def decode(keys: np.ndarray) -> list[tuple[int, int]]:
            return [(int(x) // KEY_SHIFT, int(x) % KEY_SHIFT - 1) for x in keys.tolist()]

        got = dict(zip(decode(self.unit_deliveries.keys), self.unit_deliveries.sums.tolist(), strict=True))
        logged = sorted(set(got) - set(pairs))
        for node, item in [*dict.fromkeys(pairs), *logged]:
            units, lots = got.get((node, item), (0.0, 0.0))
            put("delivered_units", int(units), ev_items[item], ev_nodes[node])
            put("delivered_lots", int(lots), ev_items[item], ev_nodes[node])
        short = dict(zip(decode(self.stockouts.keys), self.stockouts.sums[:, 0].tolist(), strict=True))
        days: dict[tuple[int, int], int] = {}
        for node, item, _ in self.stockout_days:
            days[(node, item)] = days.get((node, item), 0) + 1
        for node, item in sorted(consuming | set(short)):
            put("stockout_days", days.get((node, item), 0), ev_items[item], ev_nodes[node])
            put("units_short", int(short.get((node, item), 0.0)), ev_items[item], ev_nodes[node])
