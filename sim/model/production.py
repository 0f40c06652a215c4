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
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import NORMAL

from sim.model.context import Lot

if TYPE_CHECKING:
    from sim.model.context import Context
    from sim.model.transport import Carrier

__all__ = ["Line", "line_process", "ramp_factor"]


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
        self.making = False

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
    """Make lots for the most urgent order, one at a time, for ever.

    Each lot's making is one reusable ``Timeout`` re-armed with ``env.schedule`` (the line is a
    long-lived process, not a process per lot); the finished lot is logged with its queueing
    on the first link of its route as one record.
    """
    env = ctx.env
    item = line.item
    lot_size = ctx.lot_size[item]
    unit_m3 = ctx.unit_volume_m3[item]
    log = ctx.log
    records = log.records
    lot_item, lot_qty, lot_req = log.lot_item, log.lot_qty, log.lot_req
    reqs = ctx.requirements
    routes: dict[int, tuple[Carrier, ...]] = {}
    tick: simpy.Timeout | None = None
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
            rate = line.rate(env.now) if line.ramp else line.rate_per_day * line.factor
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
            line.making = True
            if tick is None:
                tick = simpy.Timeout(env, duration)
            else:
                tick.callbacks = []
                env.schedule(tick, NORMAL, duration)
            yield tick
            line.making = False
            need = 0
        order[1] -= qty
        line.backlog -= qty
        if order[1] == 0:
            line.orders = [o for o in line.orders if o[2] is not order]
            heapq.heapify(line.orders)
        route = routes.get(req)
        r = reqs[req]
        if route is None:
            route = routes[req] = ctx.route_carriers[(line.supplier, r.unit)]
        lot_id = len(lot_item)
        lot_item.append(item)
        lot_qty.append(qty)
        lot_req.append(req)
        ctx.lots_produced += 1
        ctx.units_produced += qty
        c = route[0]
        c.enqueue(Lot(env, lot_id, item, qty, req, r.priority, unit_m3 * qty, route), c.c_prod_wait, c.c_prod_go)
        if ctx.max_events is not None and log.rows > ctx.max_events:
            ctx.over_budget()
        if len(records) >= log.check_at:
            log.maybe_flush()
