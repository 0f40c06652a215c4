"""Daily on-hand stock and backorders per (node, item) of a run's parts, for the report (issue 14).

``InventorySeries`` projects one part, fed the report's chunks (whole instants in time order,
``results.part_stream``): for every (node, item) of the scenario, the daily time averages of
its on-hand stock and of its backorders not yet filled. The levels are those of the inventory
KPIs (``results.kpis.inventory``, the same ``InventoryDeltas``), so a day's mean here is that
day's share of ``on_hand_mean_units``. ``InventoryAcross`` sums the parts of one strategy for
their mean. Memory: two numbers per (node, item) and daily bin. Pairs are shown (``result``)
when they have inventory rows, or a consumption or a stock policy in the scenario, as for the KPIs.

Example:
    >>> import datetime as dt
    >>> s = Scenario.model_validate({"name": "s", "start": dt.date(2025, 1, 1), "horizon_days": 2,
    ...     "items": [{"id": "x", "unit_value_eur": 1, "volume_m3": 0.01, "lot_size": 1}],
    ...     "nodes": [{"id": "u", "kind": "unit", "consumption_per_day": {"x": 1}, "initial_stock": {"x": 2}}],
    ...     "links": []})
    >>> across = InventoryAcross(s, np.array([0.0, 1.0, 2.0]))
    >>> across.add(across.part())  # a part without rows: the opening stock all along
    >>> across.result()[("u", "x")].tolist()
    [[2.0, 2.0], [0.0, 0.0]]
"""

from __future__ import annotations

import numpy as np

from results.kpis.arrays import EventArrays
from results.kpis.inventory import INVENTORY_KINDS, InventoryDeltas
from results.part_stream import StepAverage
from scenarios.schema import Scenario

__all__ = ["InventoryAcross", "InventorySeries"]


class InventorySeries:
    """Daily time-average on-hand stock and backorders of every (node, item) of one part.

    Args:
        scenario: The part's resolved scenario (codes are its positions).
        day_edges: Edges of the daily bins (days).
    """

    def __init__(self, scenario: Scenario, day_edges: np.ndarray) -> None:
        self.s = scenario
        self.n_items = len(scenario.items)
        self.n_pairs = len(scenario.nodes) * self.n_items
        self.deltas = InventoryDeltas(scenario)
        self.steps = StepAverage(2 * self.n_pairs, day_edges)
        self.shown = np.zeros(self.n_pairs, dtype=bool)
        for node, item in self.deltas.consuming | self.deltas.stocked:
            self.shown[node * self.n_items + item] = True

    def feed(self, ev: EventArrays | None) -> None:
        """One chunk of whole instants, after the previous one (None: the end of an empty part)."""
        rows, pid, t, d_oh, d_bo = self.deltas.deltas(ev)
        if len(pid) == 0:
            return
        pairs = np.array(self.deltas.pairs, dtype=np.int64).reshape(-1, 2)[pid]
        ok = (pairs[:, 0] < len(self.s.nodes)) & (pairs[:, 1] < self.n_items)  # names the scenario lacks: left out
        flat = pairs[:, 0] * self.n_items + pairs[:, 1]
        if ev is not None:
            real = ok & (rows >= 0)
            marks = real.copy()
            marks[real] = np.isin(ev.kind[rows[real]], INVENTORY_KINDS)
            self.shown[flat[marks]] = True
        g = np.stack([2 * flat[ok], 2 * flat[ok] + 1], axis=1).ravel()
        self.steps.add(g, np.repeat(t[ok], 2), np.stack([d_oh[ok], d_bo[ok]], axis=1).ravel())

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(shown, levels)``: a mask over ``node * items + item`` and (pairs x 2 x bins) daily means."""
        if not self.deltas.started:
            self.feed(None)
        out = self.steps.result()
        return self.shown, out.reshape(self.n_pairs, 2, -1)


class InventoryAcross:
    """The inventory series of several parts of one strategy, summed for their mean.

    Args:
        scenario: The strategy's resolved scenario.
        day_edges: Edges of the daily bins (days).
    """

    def __init__(self, scenario: Scenario, day_edges: np.ndarray) -> None:
        self.s = scenario
        self.day_edges = day_edges
        self.parts = 0
        self.shown = np.zeros(len(scenario.nodes) * len(scenario.items), dtype=bool)
        self.total = np.zeros((len(self.shown), 2, max(len(day_edges) - 1, 0)))

    def part(self) -> InventorySeries:
        """A fresh projection for the next part."""
        return InventorySeries(self.s, self.day_edges)

    def add(self, series: InventorySeries) -> None:
        """Add one part's projection (fed to its end)."""
        shown, levels = series.result()
        self.shown |= shown
        self.total += levels
        self.parts += 1

    def result(self) -> dict[tuple[str, str], np.ndarray]:
        """``(node, item)`` -> (2 x bins): mean on-hand units and mean backorders per daily bin."""
        n_items = len(self.s.items)
        return {
            (self.s.nodes[p // n_items].id, self.s.items[p % n_items].id): self.total[p] / max(self.parts, 1)
            for p in np.flatnonzero(self.shown).tolist()
        }
