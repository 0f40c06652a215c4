"""Lead times of delivered lots, and the log's cold rows, gathered chunk by chunk.

:class:`LeadStream` is fed one replication's event log as ``results.part_stream`` chunks
(whole instants, time order). It keeps what is per lot (when and where each lot was made,
its transit days) in flat numpy arrays, the ``delivered`` rows, and every *cold* row — the
rows about requirements, money, tenders and disruptions, a few per requirement rather than
per lot — so that ``cold()`` is a small ``EventArrays`` the whole-table functions
(``results.costs.donor_budget_series``, the agency queue...) can take as they are.

``lead_arrays()`` is ``results.kpis._lead_arrays`` of the whole log (the columns of
``lot_lead_times``). Transit on a link pairs each ``arrived`` row with the first
``loaded`` row of the same lot and link since the lot's previous arrival on that link; for
a lot that crosses each link once (every route of a network) that is the first ``loaded``
row of the pair, as ``lot_lead_times`` takes it.

Example:
    >>> from scenarios.load import load
    >>> from sim.run import run
    >>> from results.part_stream import table_chunks
    >>> from results.kpis import lot_lead_times
    >>> s = load("scenarios/small_routers.yaml")
    >>> table = run(s)[0].table()
    >>> ls = LeadStream()
    >>> for ev in table_chunks(table, s, batch_rows=500):
    ...     ls.feed(ev)
    >>> bool((ls.lead_arrays()["lead_time_days"] == lot_lead_times(table).column("lead_time_days").to_numpy()).all())
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from results.kpis import EventArrays
from sim.events import (
    ARRIVED,
    DELIVERED,
    DEPARTED,
    LOADED,
    LOST,
    LOT_PRODUCED,
    QUEUED,
    RETURNED,
    SERVICE_FINISHED,
    SERVICE_STARTED,
)
from sim.events import (
    CONSUMED as _CONSUMED,
)
from sim.events import (
    FUNDS_COMMITTED as _FC,
)
from sim.events import (
    REQUIREMENT_OPENED as _RO,
)
from sim.events import (
    STOCKOUT as _STOCKOUT,
)

__all__ = ["HOT_KINDS", "LeadStream"]

HOT_KINDS = frozenset(
    {
        LOT_PRODUCED,
        QUEUED,
        SERVICE_STARTED,
        SERVICE_FINISHED,
        LOADED,
        DEPARTED,
        ARRIVED,
        DELIVERED,
        LOST,
        RETURNED,
        _CONSUMED,
        _STOCKOUT,
    }
)
"""Kinds with rows per lot, vehicle or day; every other kind is cold (kept whole)."""

_HOT = np.array(sorted(HOT_KINDS), dtype=np.int64)
_SHIFT = 1 << 24  # pair keys: lot * _SHIFT + link + 1
_COLUMNS = ("t", "kind", "lot", "item", "qty", "node", "link", "vehicle", "ref", "value")


def _match(key_a: np.ndarray, key_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each key of ``b``: whether ``a`` has it, and (where it does) the first such row of ``a``."""
    if len(key_a) == 0 or len(key_b) == 0:
        return np.zeros(len(key_b), dtype=bool), np.zeros(0, dtype=np.int64)
    order = np.argsort(key_a, kind="stable")
    ks = key_a[order]
    pos = np.minimum(np.searchsorted(ks, key_b), len(ks) - 1)
    ok = ks[pos] == key_b
    return ok, order[pos[ok]]


def _grow(arr: np.ndarray, n: int, fill: Any) -> np.ndarray:
    if len(arr) >= n:
        return arr
    out = np.full(max(n, 2 * len(arr), 1024), fill, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


class LeadStream:
    """Per-lot state, delivered rows and cold rows of one replication, fed chunk by chunk."""

    def __init__(self) -> None:
        self.produced = np.zeros(0)
        self.supplier = np.zeros(0, dtype=np.int64)
        self.made_item = np.zeros(0, dtype=np.int64)
        self.transit = np.zeros(0)
        self.pend_key = np.zeros(0, dtype=np.int64)  # loads not yet paired with an arrival
        self.pend_t = np.zeros(0)
        self.max_lot = -1
        self.max_ref = -1
        self.dl: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "lot", "item", "node", "ref", "qty")}
        self.cold_parts: list[EventArrays] = []
        self.last: EventArrays | None = None
        self.rows = 0

    def feed(self, ev: EventArrays) -> None:
        """One chunk of whole instants, in time order."""
        if len(ev) == 0:
            return
        self.last = ev
        self.rows += len(ev)
        self.max_lot = max(self.max_lot, int(ev.lot.max()))
        self.max_ref = max(self.max_ref, int(ev.ref.max()))
        cold = np.flatnonzero(~np.isin(ev.kind, _HOT))
        if len(cold):
            self.cold_parts.append(
                EventArrays(**{c: getattr(ev, c)[cold] for c in _COLUMNS}, items=[], nodes=[], links=[])
            )
        lp = ev.of(LOT_PRODUCED)
        if len(lp):
            n = int(ev.lot[lp].max()) + 1
            self.produced = _grow(self.produced, n, math.nan)
            self.supplier = _grow(self.supplier, n, -1)
            self.made_item = _grow(self.made_item, n, -1)
            self.produced[ev.lot[lp]] = ev.t[lp]
            self.supplier[ev.lot[lp]] = ev.node[lp]
            self.made_item[ev.lot[lp]] = ev.item[lp]
        self._transit(ev)
        dl = ev.of(DELIVERED)
        for k, col in (
            ("t", ev.t),
            ("lot", ev.lot),
            ("item", ev.item),
            ("node", ev.node),
            ("ref", ev.ref),
            ("qty", ev.qty),
        ):
            self.dl[k].append(col[dl])

    def _transit(self, ev: EventArrays) -> None:
        """Pair ``loaded`` (a) with ``arrived`` (b) rows of one lot and link; add the days to the lot."""
        ld, ar = ev.of(LOADED), ev.of(ARRIVED)
        if len(ar) == 0 and len(ld) == 0:
            return
        n_p, n_a = len(self.pend_key), len(ld)
        keys = np.concatenate(
            [self.pend_key, ev.lot[ld] * _SHIFT + ev.link[ld] + 1, ev.lot[ar] * _SHIFT + ev.link[ar] + 1]
        )
        ts = np.concatenate([self.pend_t, ev.t[ld], ev.t[ar]])
        pos = np.concatenate([np.full(n_p, -1, dtype=np.int64), ld, ar])
        order = np.lexsort((pos, keys))
        k, tt = keys[order], ts[order]
        is_b = order >= n_p + n_a
        idx = np.arange(len(k))
        new = np.r_[True, k[1:] != k[:-1]]
        start = np.maximum.accumulate(np.where(new, idx, 0))
        last_b = np.maximum.accumulate(np.where(is_b, idx, -1))
        prev_b = np.maximum(np.r_[-1, last_b[:-1]], start - 1)  # the key's previous b (or before its first row)
        cand = prev_b + 1
        matched = is_b & (cand < idx)
        ends = np.flatnonzero(np.r_[k[1:] != k[:-1], True])
        open_from = np.maximum(last_b[ends], start[ends] - 1) + 1
        keep = open_from <= ends
        self.pend_key, self.pend_t = k[open_from[keep]], tt[open_from[keep]]
        if matched.any():
            b_rows = order[matched] - (n_p + n_a)  # positions in ``ar``
            dur = tt[matched] - tt[cand[matched]]
            seq = np.argsort(b_rows, kind="stable")  # add in row order, as a bincount over the log would
            lots = ev.lot[ar[b_rows[seq]]]
            self.transit = _grow(self.transit, int(lots.max()) + 1, 0.0)
            np.add.at(self.transit, lots, dur[seq])

    # ------------------------------------------------------------------ results

    def names(self) -> tuple[list[str], list[str], list[str]]:
        """Item, node and link names of the codes (the last chunk's pools)."""
        if self.last is None:
            return [], [], []
        return self.last.items, self.last.nodes, self.last.links

    def cold(self) -> EventArrays:
        """Every cold row, in log order, as EventArrays with the run's names."""
        items, nodes, links = self.names()
        if not self.cold_parts:
            empty = {c: np.zeros(0, dtype=np.float64 if c in ("t", "value") else np.int64) for c in _COLUMNS}
            return EventArrays(**empty, items=items, nodes=nodes, links=links)
        cols = {c: np.concatenate([getattr(p, c) for p in self.cold_parts]) for c in _COLUMNS}
        return EventArrays(**cols, items=items, nodes=nodes, links=links)

    def delivered(self) -> dict[str, np.ndarray]:
        """Columns ``t, lot, item, node, ref, qty`` of the ``delivered`` rows, in log order."""
        for k, v in self.dl.items():
            if len(v) != 1:  # joined once, then kept joined
                self.dl[k] = [np.concatenate(v) if v else np.zeros(0, dtype=np.float64 if k == "t" else np.int64)]
        return {k: v[0] for k, v in self.dl.items()}

    @property
    def n_lots(self) -> int:
        """Largest lot id in the log + 1."""
        return self.max_lot + 1

    def per_lot(self, arr: np.ndarray, fill: Any) -> np.ndarray:
        """``arr`` (a per-lot array) sized to ``n_lots``."""
        return _grow(arr, self.n_lots, fill)[: self.n_lots]

    def lead_arrays(self, columns: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """``results.kpis._lead_arrays`` of the whole log: one entry per delivered lot.

        Args:
            columns: The columns wanted (all by default); the others are left out.
        """
        cold = self.cold()
        d = self.delivered()
        lots, refs = d["lot"], d["ref"]
        n_ref = max(self.max_ref, -1) + 1
        n_nodes = len(cold.nodes) + 1
        opened = np.full(n_ref, np.nan)
        op = cold.of(_RO)
        opened[cold.ref[op]] = cold.t[op]
        funded = np.full(n_ref, np.inf)
        fc = cold.of(_FC)
        # the first commit funds it; a later one is the award's top-up, after the tender
        np.minimum.at(funded, cold.ref[fc], cold.t[fc])
        produced = self.per_lot(self.produced, math.nan)
        supplier = self.per_lot(self.supplier, -1)
        from sim.events import CONTRACT_AWARDED

        ca = cold.of(CONTRACT_AWARDED)
        award = np.full(len(lots), -np.inf)
        ok, ia = _match(cold.ref[ca] * n_nodes + cold.node[ca], refs * n_nodes + supplier[lots])
        award[ok] = cold.t[ca][ia]
        transit = self.per_lot(self.transit, 0.0)
        o = opened[refs]
        fr = funded[refs]
        f = np.maximum(np.where(fr < np.inf, fr, o), o)  # never committed: no funding stage
        a = np.maximum(award, f)
        p = np.maximum(produced[lots], a)
        del opened, funded, produced, award
        t = d["t"]
        want = set(columns) if columns is not None else None
        out = {"lot": lots, "item": d["item"], "unit": d["node"], "ref": refs, "qty": d["qty"]}
        out |= {"opened_day": o, "delivered_day": t}
        made: dict[str, Callable[[], np.ndarray]] = {
            "lead_time_days": lambda: t - o,
            "funding_days": lambda: f - o,
            "tender_days": lambda: a - f,
            "production_days": lambda: p - a,
        }
        for k, make in made.items():
            if want is None or k in want:
                out[k] = make()
        if want is None or want & {"handling_days", "transit_days"}:
            logistics = t - p
            tr = np.clip(transit[lots], 0.0, logistics) if len(lots) else np.zeros(0)
            out["handling_days"], out["transit_days"] = logistics - tr, tr
        return out if want is None else {k: v for k, v in out.items() if k in want}
