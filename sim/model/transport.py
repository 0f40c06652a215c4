"""Transport links: a vehicle pool, a dispatcher under the link's rule, transit and return.

Each link is a ``Carrier``: a queue of lots waiting at the link's origin, a deque of free
vehicles and one long-lived dispatcher process (a generator taking the context, as in SimPy's
examples). A vehicle is loaded with whole lots while they fit by volume and while the next
station has room (storage cap), then departs; its arrival and empty return are single
timeouts with callbacks, one per trip, not per lot.

Dispatch rules:
    immediate: a free vehicle takes what waits and leaves at once.
    full: a vehicle waits to be full by volume, or ``max_wait_days`` after its first lot.
    scheduled: convoys leave every ``every_days`` from ``first_day`` with what waits.

A disruption scales the usable vehicles (``floor(vehicles * factor)``; 0 stops departures) and
may add a loss probability for lots departing while it lasts.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from scenarios.errors import RunError
from sim.events import ARRIVED, DEPARTED, LOADED, LOST, QUEUED, RETURNED
from sim.model.queues import make_queue
from sim.model.units import lot_lost
from sim.rng import Sampler

if TYPE_CHECKING:
    from sim.model.context import Context
    from sim.model.handling import Station

__all__ = ["Carrier", "dispatcher"]

NAN = math.nan


class Carrier:
    """A link's vehicle pool and waiting lots."""

    def __init__(
        self,
        ctx: Context,
        link: int,
        origin: int,
        dest: int,
        vehicles: int,
        capacity_m3: float,
        transit: Sampler,
        back: Sampler,
        loss: Sampler,
        loss_probability: float,
        rule: str,
        max_wait_days: float = 0.0,
        every_days: float = 0.0,
        first_day: float = 0.0,
    ) -> None:
        self.ctx = ctx
        self.link = link
        self.origin = origin
        self.dest = dest
        self.vehicles = vehicles
        self.usable = vehicles
        self.capacity_m3 = capacity_m3
        self.transit = transit
        self.back = back
        self.loss = loss
        self.loss_probability = loss_probability
        self.extra_loss = 0.0
        self.rule = rule
        self.max_wait_days = max_wait_days
        self.every_days = every_days
        self.first_day = first_day
        self.free: deque[int] = deque(range(vehicles))
        self.queue = make_queue(ctx.priority_queues)
        self.wake: simpy.Event | None = None
        self.station: Station | None = None  # set when dest is a handling node
        self.deliver: Any = None  # set when dest is a unit
        log = ctx.log
        self.c_queued = log.code(QUEUED, node=origin, link=link)
        self.c_loaded = log.code(LOADED, node=origin, link=link)
        self.c_departed = log.code(DEPARTED, node=origin, link=link)
        self.c_arrived = log.code(ARRIVED, node=dest, link=link)
        self.c_lost = log.code(LOST, link=link)
        self.c_returned = log.code(RETURNED, node=origin, link=link)
        self.busy_vehicle_days = 0.0

    # ------------------------------------------------------------------ state

    def set_factor(self, factor: float, loss_probability: float = 0.0) -> None:
        """Scale the usable vehicles and set the extra loss probability (a disruption)."""
        self.usable = math.floor(self.vehicles * factor + 1e-9)
        self.extra_loss = loss_probability
        self.poke()

    def poke(self) -> None:
        """Wake the dispatcher (a lot came, a vehicle returned, room was made)."""
        w = self.wake
        if w is not None and not w.triggered:
            w.succeed()

    def vehicle_ready(self) -> bool:
        """A free vehicle may be used under the current capacity factor."""
        return bool(self.free) and (self.vehicles - len(self.free)) < self.usable

    def room(self) -> bool:
        """The next station can take one more lot."""
        st = self.station
        return st is None or st.has_room()

    def enqueue(self, lot: int) -> None:
        """A lot waits at the origin for a vehicle of this link."""
        ctx = self.ctx
        ctx.rec((ctx.env.now, self.c_queued, lot, ctx.lot_qty[lot], -1, ctx.lot_req[lot], NAN))
        self.queue.push(lot, ctx.lot_priority[lot])
        self.poke()

    # ------------------------------------------------------------------ loading and trips

    def fill(self, vehicle: int, load: list[int], volume_m3: float) -> float:
        """Load waiting lots onto ``vehicle`` while they fit and the next station has room."""
        ctx = self.ctx
        q = self.queue
        vol = ctx.unit_volume_m3
        now = ctx.env.now
        origin_station = ctx.stations.get(self.origin)
        while q and self.room():
            lot = q.peek()
            v = vol[ctx.log.lot_item[lot]] * ctx.lot_qty[lot]
            if volume_m3 + v > self.capacity_m3 + 1e-9:
                if not load:  # an empty vehicle cannot take it: it never will (no empty trips)
                    raise RunError(
                        f"link {ctx.link_ids[self.link]}: a lot of {v:g} m3 does not fit a vehicle of "
                        f"{self.capacity_m3:g} m3"
                    )
                break
            q.pop()
            volume_m3 += v
            load.append(lot)
            if self.station is not None:
                self.station.reserve()
            if origin_station is not None:
                origin_station.release()
            ctx.rec((now, self.c_loaded, lot, ctx.lot_qty[lot], vehicle, ctx.lot_req[lot], NAN))
        return volume_m3

    def depart(self, vehicle: int, load: list[int]) -> None:
        """Send ``vehicle`` with ``load``; arrival and return are callbacks."""
        ctx = self.ctx
        env = ctx.env
        qty = 0
        for lot in load:
            qty += ctx.lot_qty[lot]
        ctx.rec((env.now, self.c_departed, -1, qty, vehicle, -1, NAN))
        p = 1.0 - (1.0 - self.loss_probability) * (1.0 - self.extra_loss)
        lost = [self.loss() < p for _ in load] if p > 0 else None
        duration = self.transit()
        self.busy_vehicle_days += duration
        ctx.pending += 1
        ev = env.timeout(duration, (vehicle, load, lost))
        ev.callbacks.append(self._arrive)

    def _arrive(self, ev: simpy.Event) -> None:
        ctx = self.ctx
        env = ctx.env
        vehicle, load, lost = ev.value  # type: ignore[misc]
        now = env.now
        ctx.pending -= 1
        for i, lot in enumerate(load):
            ctx.lot_hop[lot] += 1
            if lost is not None and lost[i]:
                ctx.rec((now, self.c_lost, lot, ctx.lot_qty[lot], vehicle, ctx.lot_req[lot], NAN))
                if self.station is not None:
                    self.station.release()
                lot_lost(ctx, lot)
                continue
            ctx.rec((now, self.c_arrived, lot, ctx.lot_qty[lot], vehicle, ctx.lot_req[lot], NAN))
            if self.station is not None:
                self.station.arrive(lot)
            else:
                self.deliver(lot)
        duration = self.back()
        self.busy_vehicle_days += duration
        ctx.pending += 1
        back = env.timeout(duration, vehicle)
        back.callbacks.append(self._returned)

    def _returned(self, ev: simpy.Event) -> None:
        ctx = self.ctx
        ctx.pending -= 1
        vehicle: int = ev.value  # type: ignore[assignment]
        ctx.rec((ctx.env.now, self.c_returned, -1, 0, vehicle, -1, NAN))
        self.free.append(vehicle)
        self.poke()


def dispatcher(ctx: Context, c: Carrier) -> Generator[simpy.Event, Any, None]:
    """The long-lived process of one link: loads vehicles and sends them under its rule."""
    env = ctx.env
    if c.rule == "scheduled":
        next_day = c.first_day
        while True:
            if next_day > env.now:
                yield env.timeout(next_day - env.now)
            next_day += c.every_days
            while c.queue and c.vehicle_ready() and c.room():
                vehicle = c.free.popleft()
                load: list[int] = []
                c.fill(vehicle, load, 0.0)
                if not load:
                    c.free.appendleft(vehicle)
                    break
                c.depart(vehicle, load)
        return
    while True:
        while not (c.queue and c.vehicle_ready() and c.room()):
            c.wake = env.event()
            yield c.wake
        vehicle = c.free.popleft()
        load = []
        volume = c.fill(vehicle, load, 0.0)
        if c.rule == "full":
            deadline = env.now + c.max_wait_days
            ctx.pending += 1
            while env.now < deadline and not _full(ctx, c, volume):
                c.wake = env.event()
                yield env.any_of([c.wake, env.timeout(deadline - env.now)])
                if c.vehicles - len(c.free) <= c.usable:  # no loading while the link is closed
                    volume = c.fill(vehicle, load, volume)
            ctx.pending -= 1
            while c.vehicles - len(c.free) > c.usable:  # closed (or cut) while it loaded: wait to reopen
                c.wake = env.event()
                yield c.wake
        c.wake = None
        c.depart(vehicle, load)


def _full(ctx: Context, c: Carrier, volume_m3: float) -> bool:
    """No waiting lot fits any more (or nothing waits that could)."""
    if not c.queue:
        return False
    lot = c.queue.peek()
    v = ctx.unit_volume_m3[ctx.log.lot_item[lot]] * ctx.lot_qty[lot]
    return volume_m3 + v > c.capacity_m3 + 1e-9
