"""Production at suppliers: one line per (supplier, item), shared across contracts by priority.

A ``Line`` holds its orders in a heap keyed by (priority, award order) and one long-lived
process makes one lot at a time for the most urgent order: initial stock ships first, then
each lot takes ``qty / rate`` days at the rate in force when it starts (base rate times the
ramp factor, linearly interpolated between ramp points, times a disruption's capacity factor).
A finished lot is logged ``lot_produced`` and queued on the first link of its route.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from sim.events import LOT_PRODUCED

if TYPE_CHECKING:
    from sim.model.context import Context

__all__ = ["Line", "line_process", "ramp_factor"]

NAN = math.nan


def ramp_factor(points: tuple[tuple[float, float], ...], day: float) -> float:
    """The ramp factor at ``day``: 1 without points, linear between points, flat outside.

    Example:
        >>> ramp_factor(((0.0, 0.5), (10.0, 1.0)), 5.0)
        0.75
    """
    if not points:
        return 1.0
    if day <= points[0][0]:
        return points[0][1]
    for (d0, f0), (d1, f1) in itertools.pairwise(points):
        if day < d1:
            return f0 + (f1 - f0) * (day - d0) / (d1 - d0) if d1 > d0 else f1
    return points[-1][1]


class Line:
    """The production line of one item at one supplier."""

    def __init__(
        self,
        ctx: Context,
        supplier: int,
        item: int,
        rate_per_day: float,
        unit_price_eur: float,
        initial_stock: int,
        ramp: tuple[tuple[float, float], ...],
        domestic: bool,
    ) -> None:
        self.ctx = ctx
        self.supplier = supplier
        self.item = item
        self.rate_per_day = rate_per_day
        self.unit_price_eur = unit_price_eur
        self.stock = initial_stock
        self.ramp = ramp
        self.domestic = domestic
        self.factor = 1.0
        self.orders: list[tuple[int, int, list[int]]] = []
        self._n = 0
        self.backlog = 0
        self.wake: simpy.Event | None = None
        self.busy_days = 0.0
        self.c_produced = ctx.log.code(LOT_PRODUCED, item=item, node=supplier)

    def rate(self, day: float) -> float:
        """Units per day at ``day``."""
        return self.rate_per_day * ramp_factor(self.ramp, day) * self.factor

    def add_order(self, req: int, qty: int, priority: int) -> None:
        """Queue ``qty`` units for requirement ``req``."""
        self._n += 1
        heapq.heappush(self.orders, (priority, self._n, [req, qty]))
        self.backlog += qty
        self.poke()

    def set_factor(self, factor: float) -> None:
        """Scale the rate (a disruption)."""
        self.factor = factor
        self.poke()

    def poke(self) -> None:
        """Wake the line."""
        w = self.wake
        if w is not None and not w.triggered:
            w.succeed()

    def next_ramp_day(self, day: float) -> float | None:
        """The next ramp point after ``day`` (when a stopped line may restart)."""
        for d, _ in self.ramp:
            if d > day:
                return d
        return None


def line_process(ctx: Context, line: Line) -> Generator[simpy.Event, Any, None]:
    """Make lots for the most urgent order, one at a time, for ever."""
    env = ctx.env
    lot_size = ctx.lot_size[line.item]
    log = ctx.log
    rec = ctx.rec
    while True:
        while not line.orders:
            line.wake = env.event()
            yield line.wake
        order = line.orders[0][2]
        req, remaining = order
        qty = min(lot_size, remaining)
        need = qty - min(line.stock, qty)
        line.stock -= qty - need
        while need > 0:
            rate = line.rate(env.now)
            if rate <= 0:
                nxt = line.next_ramp_day(env.now)
                line.wake = env.event()
                if nxt is not None:
                    ctx.pending += 1
                    yield env.any_of([line.wake, env.timeout(nxt - env.now)])
                    ctx.pending -= 1
                else:
                    yield line.wake
                continue
            duration = need / rate
            line.busy_days += duration
            ctx.pending += 1
            yield env.timeout(duration)
            ctx.pending -= 1
            need = 0
        order[1] -= qty
        line.backlog -= qty
        if order[1] == 0:
            line.orders = [o for o in line.orders if o[2] is not order]
            heapq.heapify(line.orders)
        lot = log.new_lot(line.item)
        ctx.lot_qty.append(qty)
        ctx.lot_req.append(req)
        r = ctx.requirements[req]
        route = ctx.routes[(line.supplier, r.unit)]
        ctx.lot_route.append(route)
        ctx.lot_hop.append(0)
        ctx.lot_priority.append(r.priority)
        ctx.count("lots_produced")
        ctx.count("units_produced", qty)
        rec((env.now, line.c_produced, lot, qty, -1, req, NAN))
        ctx.carriers[route[0]].enqueue(lot)
        if ctx.max_events is not None and log.rows > ctx.max_events:
            ctx.over_budget()
        log.maybe_flush()
