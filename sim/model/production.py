"""Production at suppliers: one line per (supplier, item), shared across contracts by priority.

A ``Line`` holds its orders in a heap keyed by (priority, award order) and one long-lived
process makes one lot at a time for the most urgent order: initial stock ships first, then
the line works on the lot until the integral of its rate reaches the lot's work content.

The rate is ``rate_per_day`` times the ramp factor (linearly interpolated between ramp points,
flat outside them) times the capacity factor of the disruptions in force. The lot's finish is
solved in closed form over the ramp's linear pieces (a quadratic within a piece); a disruption
that starts or ends mid-lot (``Line.set_factor``) books the work done so far at the old factor
and reschedules the finish (the waiting line process is interrupted; nothing else is touched).

A lot's work content is its units still to make (``qty`` minus stock), or, with the product's
``lot_time`` distribution, that times a draw of mean 1 from the ``production`` stream
(exponential: a Poisson release while the line is busy; lognormal with its ``cv``).
A finished lot is logged ``lot_produced`` and queued on the first link of its route.

Allocation (issue 14): by default the next lot goes to the most urgent order (priority, then
award order); a product's ``allocation`` may make it ``fifo`` (award order only) or
``fair_share`` (``sim.model.allocation.line_picker``: no order is filled before the others
start).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import NORMAL

from sim.model.context import Lot

if TYPE_CHECKING:
    from sim.model.context import Context
    from sim.model.transport import Carrier
    from sim.rng import Sampler

__all__ = ["Line", "line_process", "ramp_area", "ramp_factor", "ramp_finish"]

INF = math.inf
DONE_REL = 1e-9
"""Work left below this share of a lot after a mid-lot reschedule counts as done (float rounding)."""


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


def _pieces(points: tuple[tuple[float, float], ...], day: float) -> Iterator[tuple[float, float, float, float]]:
    """The ramp from ``day`` on as linear pieces ``(start, end, factor at start, factor at end)``.

    The last piece is flat and ends at infinity.
    """
    t = day
    f = ramp_factor(points, day)
    for d, g in points:
        if d > t:
            yield t, d, f, g
            t = d
        f = g if d >= t else f
    yield t, INF, points[-1][1], points[-1][1]


def ramp_area(points: tuple[tuple[float, float], ...], a: float, b: float) -> float:
    """The integral of the ramp factor from day ``a`` to day ``b >= a`` (days at full rate).

    Example:
        >>> ramp_area(((0.0, 0.0), (60.0, 1.0)), 0.0, 60.0)
        30.0
    """
    if not points:
        return b - a
    area = 0.0
    for s, e, fs, fe in _pieces(points, a):
        if e >= b:
            fb = fs if e == INF else fs + (fe - fs) * (b - s) / (e - s)
            return area + (fs + fb) / 2 * (b - s)
        area += (fs + fe) / 2 * (e - s)
    return area  # pragma: no cover - the last piece is infinite


def ramp_finish(points: tuple[tuple[float, float], ...], start: float, area: float) -> float:
    """The first day ``T >= start`` with ``ramp_area(points, start, T) == area``; inf if never.

    Within a linear piece from ``s`` with factor ``fs`` and slope ``m`` the area after ``x``
    days is ``fs x + m x^2 / 2``; its root is taken as ``2 A / (fs + sqrt(fs^2 + 2 m A))``
    (stable also when ``fs`` is 0 or ``m`` is negative).

    Example:
        >>> round(ramp_finish(((0.0, 0.0), (60.0, 1.0)), 0.0, 30.0), 9)
        60.0
    """
    if not points:
        return start + area
    left = area
    for s, e, fs, fe in _pieces(points, start):
        if e == INF:
            return s + left / fs if fs > 0 else INF
        length = e - s
        piece = (fs + fe) / 2 * length
        if piece >= left:
            m = (fe - fs) / length
            root = fs + math.sqrt(max(fs * fs + 2 * m * left, 0.0))
            return s + (min(2 * left / root, length) if root > 0 else 0.0)
        left -= piece
    return INF  # pragma: no cover - the last piece is infinite


class Line:
    """The production line of one item at one supplier.

    While a lot is being made (``making``), ``left`` is the work (units at full rate) still to
    do from day ``seg_start`` at the current factor; ``proc`` is the line's process.
    """

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
        lot_time: Sampler | None = None,
    ) -> None:
        self.ctx = ctx
        self.supplier = supplier
        self.item = item
        self.rate_per_day = rate_per_day
        self.unit_price_eur = unit_price_eur
        self.stock = initial_stock
        self.ramp = ramp
        self.domestic = domestic
        self.lot_time = lot_time
        self.factor = 1.0
        self.orders: list[tuple[int, int, list[int]]] = []
        self._n = 0
        self.backlog = 0
        self.wake: simpy.Event | None = None
        self.busy_days = 0.0
        self.making = False
        self.left = 0.0
        self.seg_start = 0.0
        self.proc: simpy.Process | None = None
        self.interrupting = False
        self.fifo = False
        """Orders keyed by award order only (allocation ``fifo``), not by priority first."""
        self.pick: Callable[[], list[int]] | None = None
        """Chooses the order of the next lot (allocation ``fifo``/``fair_share``, ``sim.model.allocation``); None: the heap's most urgent."""

    def rate(self, day: float) -> float:
        """Units per day at ``day``."""
        return self.rate_per_day * ramp_factor(self.ramp, day) * self.factor

    def work(self, a: float, b: float) -> float:
        """Units made from day ``a`` to day ``b`` at the current factor."""
        r = self.rate_per_day * self.factor
        return r * (ramp_area(self.ramp, a, b) if self.ramp else b - a)

    def finish_day(self, start: float, units: float) -> float:
        """The day ``units`` of work started on ``start`` are done at the current factor (inf: never)."""
        r = self.rate_per_day * self.factor
        if r <= 0:
            return INF
        return ramp_finish(self.ramp, start, units / r) if self.ramp else start + units / r

    def add_order(self, req: int, qty: int, priority: int) -> None:
        """Queue ``qty`` units for requirement ``req``."""
        self._n += 1
        heapq.heappush(self.orders, (0 if self.fifo else priority, self._n, [req, qty]))
        self.backlog += qty
        self.poke()

    def set_factor(self, factor: float) -> None:
        """Scale the rate (a disruption starts or ends), also in the middle of a lot.

        The work done on the current lot since ``seg_start`` is booked at the old factor, then
        the line process is interrupted to schedule the rest at the new one.
        """
        if self.making:
            now = self.ctx.env.now
            self.left -= self.work(self.seg_start, now)
            self.seg_start = now
            self.factor = factor
            if not self.interrupting and self.proc is not None:
                self.interrupting = True
                self.proc.interrupt()
            return
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
    on the first link of its route as one record. A disruption mid-lot interrupts the wait
    (``Line.set_factor``); the interrupted ``Timeout`` stays scheduled without a callback, so
    the next lot arms a fresh one.
    """
    env = ctx.env
    line.proc = env.active_process
    item = line.item
    lot_size = ctx.lot_size[item]
    unit_m3 = ctx.unit_volume_m3[item]
    log = ctx.log
    records = log.records
    lot_item, lot_qty, lot_req = log.lot_item, log.lot_qty, log.lot_req
    reqs = ctx.requirements
    routes: dict[int, tuple[Carrier, ...]] = {}
    tick: simpy.Timeout | None = None
    draw = line.lot_time
    while True:
        while not line.orders:
            line.wake = env.event()
            yield line.wake
        order = line.orders[0][2] if line.pick is None else line.pick()
        req, remaining = order
        qty = min(lot_size, remaining)
        made = min(line.stock, qty)
        line.stock -= made
        need: float = qty - made
        if need > 0 and draw is not None:
            need *= draw()
        while need > 0:
            now = env.now
            if line.ramp:
                duration = line.finish_day(now, need) - now
            else:
                rate = line.rate_per_day * line.factor
                duration = need / rate if rate > 0 else INF
            if duration == INF:  # closed (or a ramp at 0 for ever): wait for a change
                line.wake = env.event()
                yield line.wake
                continue
            line.left = need
            line.seg_start = now
            line.making = True
            if tick is None:
                tick = simpy.Timeout(env, duration)
            else:
                tick.callbacks = []
                env.schedule(tick, NORMAL, duration)
            try:
                yield tick
            except simpy.Interrupt:  # the factor changed mid-lot: ``left`` is what remains
                line.interrupting = False
                line.making = False
                line.busy_days += env.now - now
                tick = None
                need = line.left if line.left > DONE_REL * qty else 0.0
                continue
            line.making = False
            line.busy_days += duration
            need = 0
        order[1] -= qty
        line.backlog -= qty
        if order[1] == 0:
            if line.orders[0][2] is order:  # still the most urgent (keys are unique: same pops)
                heapq.heappop(line.orders)
            else:
                line.orders = [o for o in line.orders if o[2] is not order]
                heapq.heapify(line.orders)
        r = reqs[req]
        route = routes.get(r.unit)
        if route is None:
            route = routes[r.unit] = ctx.route_carriers[(line.supplier, r.unit)]
        lot_id = len(lot_item)
        lot_item.append(item)
        lot_qty.append(qty)
        lot_req.append(req)
        ctx.lots_produced += 1
        ctx.units_produced += qty
        c = route[0]
        c.enqueue(Lot(env, lot_id, item, qty, req, r.priority, unit_m3 * qty, route), c.c_prod_wait, c.c_prod_go)
        if len(records) >= log.check_at:
            log.maybe_flush()
