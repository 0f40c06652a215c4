"""Transport links: a vehicle pool, dispatch under the link's rule, transit and return.

Each link is a ``Carrier``: a queue of lots waiting at the link's origin and a deque of free
vehicle numbers. A vehicle carrying one lot travels as that lot's own event (``Lot``, re-armed
for the trip); a vehicle carrying several is one reusable event per vehicle (``Rearm``). No
process and no new ``Timeout`` per trip or per lot. This module holds the origin's side:
queueing, loading and departing. The destination's side — arrivals, unloading and the lazy
return of empty vehicles — is ``sim.model.transport_arrivals``; the ``full`` and ``scheduled``
rules' dispatch is ``sim.model.transport_dispatch``. Both are mixed into ``Carrier``, and this
module re-exports ``dispatcher`` and ``start_dispatcher``.

Dispatch rules:
    immediate: a free vehicle takes what waits and leaves at once. On a FIFO link whose
        vehicles can never hold two lots, a lot that finds a free vehicle (and room at the next
        station) leaves in the very callback that queued it: ``queued``, ``loaded`` and
        ``departed`` are rows of the lot's one record. Otherwise a reusable "kick" event,
        scheduled when work arrives, loads what waits at the end of the instant — so lots
        released together share vehicles, and the most urgent go first under priority queues.
    full: a vehicle leaves the moment it is full or ``max_wait_days`` after its first lot
        (``sim.model.transport_dispatch``).
    scheduled: convoys leave every ``every_days`` from ``first_day`` with what waits
        (``sim.model.transport_dispatch``).

A disruption at factor f in (0, 1] keeps ``ceil(vehicles * f)`` vehicles usable and stretches
every transit and return drawn while it holds by ``ceil(vehicles * f) / (vehicles * f)``
(``sim.model.handling.scale``), so the link carries exactly f of its undisrupted volume; 0 stops
departures. It may add a loss probability for lots departing while it lasts.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import NORMAL

from scenarios.errors import RunError
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
from sim.model.context import Rearm
from sim.model.handling import scale, stretched
from sim.model.queues import make_queue
from sim.model.transport_arrivals import RETURN_SLOTS, Arrivals
from sim.model.transport_dispatch import LOADER_SLOTS, FullLoader, dispatcher, start_dispatcher
from sim.rng import Sampler

if TYPE_CHECKING:
    from sim.model.context import Context, Lot
    from sim.model.handling import Station

__all__ = ["INLINE", "Carrier", "dispatcher", "start_dispatcher"]

INLINE = True
"""Allow inline dispatch on FIFO immediate links with one-lot vehicles (False: always kick; for tests)."""

INF = math.inf


class Carrier(Arrivals, FullLoader):
    """A link's vehicle pool and waiting lots.

    Arrivals and returns come from ``Arrivals``, the ``full`` rule's loader from ``FullLoader``.
    After construction ``connect`` names what is at both ends (stations, or the unit's
    delivery callback).
    """

    __slots__ = (
        "_back0", "_dispatching", "_free", "_from_capped", "_kick", "_kicked", "_plain", "_to_capped", "_transit0",
        "_veh", "back", "busy_vehicle_days", "c_arr_del", "c_arr_start", "c_arr_wait", "c_departed", "c_fin_go",
        "c_fin_wait", "c_go", "c_loaded", "c_lost", "c_prod_go", "c_prod_wait", "c_q_go", "c_q_wait", "c_returned",
        "capacity_m3", "cbs_one", "ctx", "deliver", "dest", "env", "every_days", "extra_loss", "first_day",
        "fits_m3", "inline", "link", "loss", "loss_probability", "max_lot_m3", "max_wait_days", "min_lot_m3",
        "origin", "origin_station", "p_loss", "poke", "queue", "rec", "rule", "station", "transit", "usable",
        "vehicles", "wake",
        *RETURN_SLOTS,
        *LOADER_SLOTS,
    )  # fmt: skip

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
        back_fixed: bool = False,
        min_lot_m3: float = 0.0,
        max_lot_m3: float = math.inf,
    ) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.rec = ctx.rec
        self.link = link
        self.origin = origin
        self.dest = dest
        self.vehicles = vehicles
        self.usable = vehicles
        self.capacity_m3 = capacity_m3
        self.fits_m3 = capacity_m3 + 1e-9
        self.max_lot_m3 = max_lot_m3
        self.min_lot_m3 = min_lot_m3
        self._plain = False
        self.transit = transit
        self.back = back
        self._transit0 = transit
        self._back0 = back
        self.loss = loss
        self.loss_probability = loss_probability
        self.extra_loss = 0.0
        self.p_loss = 1.0 - (1.0 - loss_probability) * (1.0 - 0.0)
        self.rule = rule
        self.max_wait_days = max_wait_days
        self.every_days = every_days
        self.first_day = first_day
        self._free: deque[int] = deque(range(vehicles))
        self._veh: list[Rearm | None] = [None] * vehicles
        self._init_returns(back_fixed)
        self.queue = make_queue(ctx.priority_queues)
        self.wake: simpy.Event | None = None
        self.station: Station | None = None
        self.origin_station: Station | None = None
        self.deliver: Any = None
        self._to_capped = False
        self._from_capped = False
        # immediate links: dispatch inline when no two lots can share a vehicle (FIFO only)
        self.inline = INLINE and rule == "immediate" and not ctx.priority_queues and self.fits_m3 < 2 * min_lot_m3
        self._dispatching = False
        self._kick: Rearm | None = None
        self._kicked = False
        if rule == "immediate":
            self.poke: Callable[[], None] = self._poke_inline if self.inline else self._poke_kick
        elif rule == "full":
            self.poke = self._fl_poke
        else:
            self.poke = self._poke_wake
        self._init_loader()
        lc = ctx.log.lot_code
        o, d, k = origin, dest, link
        self.c_prod_wait = lc((LOT_PRODUCED, o, -1), (QUEUED, o, k))
        self.c_prod_go = lc((LOT_PRODUCED, o, -1), (QUEUED, o, k), (LOADED, o, k), (DEPARTED, o, k))
        self.c_fin_wait = lc((SERVICE_FINISHED, o, -1), (QUEUED, o, k))
        self.c_fin_go = lc((SERVICE_FINISHED, o, -1), (QUEUED, o, k), (LOADED, o, k), (DEPARTED, o, k))
        self.c_q_wait = lc((QUEUED, o, k))
        self.c_q_go = lc((QUEUED, o, k), (LOADED, o, k), (DEPARTED, o, k))
        self.c_go = lc((LOADED, o, k), (DEPARTED, o, k))
        self.c_loaded = lc((LOADED, o, k))
        self.c_departed = ctx.log.departed_code(o, k)
        self.c_arr_wait = lc((ARRIVED, d, k), (QUEUED, d, -1))
        self.c_arr_start = lc((ARRIVED, d, k), (QUEUED, d, -1), (SERVICE_STARTED, d, -1))
        self.c_arr_del = lc((ARRIVED, d, k), (DELIVERED, d, -1))
        self.c_lost = lc((LOST, -1, k))
        self.c_returned = lc((RETURNED, o, k))
        self.busy_vehicle_days = 0.0
        self.cbs_one: list[Callable[[Any], None]] = [self._arrive_one]

    def connect(
        self, station: Station | None, origin_station: Station | None, deliver: Callable[[Lot], None] | None
    ) -> None:
        """Name the station at the destination (or the unit's ``deliver``) and the one at the origin."""
        self.station = station
        self.origin_station = origin_station
        self.deliver = deliver
        self._to_capped = station is not None and station.cap != INF
        self._from_capped = origin_station is not None and origin_station.cap != INF
        self._set_plain()
        if station is not None:
            station.feeders.append(self)
            if not self._to_capped and station.in_service is None:
                self.cbs_one = [self._arrive_station]
        else:
            self.cbs_one = [self._arrive_unit]

    # ------------------------------------------------------------------ state

    def _set_plain(self) -> None:
        """The inline fast path needs no check but a free vehicle and an empty queue."""
        self._plain = (
            self.inline
            and self.usable == self.vehicles
            and self.p_loss <= 0
            and not self._to_capped
            and not self._from_capped
            and self.max_lot_m3 <= self.fits_m3
        )

    def set_factor(self, factor: float, loss_probability: float = 0.0) -> None:
        """Scale the usable vehicles and set the extra loss probability (a disruption).

        A fractional share keeps ``ceil(vehicles * factor)`` vehicles and stretches trips and
        returns drawn from now on (``sim.model.handling.scale``).
        """
        self.usable, stretch = scale(self.vehicles, factor)
        if stretch == 1.0:
            self.transit, self.back = self._transit0, self._back0
        else:
            self.transit, self.back = stretched(self._transit0, stretch), stretched(self._back0, stretch)
            if self.back_fixed:  # stretched returns may overtake earlier ones: keep returns on the heap
                self._returns_to_heap()
        self.extra_loss = loss_probability
        self.p_loss = 1.0 - (1.0 - self.loss_probability) * (1.0 - self.extra_loss)
        self._set_plain()
        self.poke()

    def _poke_wake(self) -> None:
        w = self.wake
        if w is not None and not w.triggered:
            w.succeed()

    def _poke_kick(self) -> None:
        if not self._kicked:
            self._kicked = True
            k = self._kick
            if k is None:
                self._kick = Rearm(self.env, 0, self._dispatch)
            else:
                k.callbacks = k.cbs
                self.env.schedule(k, NORMAL, 0)

    def _poke_inline(self) -> None:
        if not self._dispatching and self.queue:
            self._dispatch(None)

    @property
    def free(self) -> deque[int]:
        """Free vehicle numbers (returns due by now collected first)."""
        self.collect_returns(self.env.now)
        return self._free

    def vehicle_ready(self) -> bool:
        """A free vehicle may be used under the current capacity factor."""
        free = self.free
        return bool(free) and (self.vehicles - len(free)) < self.usable

    def away_count(self) -> int:
        """Vehicles loading, travelling or coming back."""
        return self.vehicles - len(self.free)

    def room(self) -> bool:
        """The next station can take one more lot."""
        st = self.station
        return st is None or st.reserved < st.cap

    # ------------------------------------------------------------------ lots arriving at the origin

    def enqueue(self, lot: Lot, c_wait: int, c_go: int) -> None:
        """``lot`` is ready at the origin: it leaves at once on an inline link with a free vehicle, else it waits.

        ``c_wait``/``c_go`` are this carrier's codes for the caller's row (``lot_produced`` or
        ``service_finished``) followed by ``queued`` (and ``loaded``, ``departed``).
        """
        env = self.env
        now = env.now
        free = self._free
        if self._plain and free and not self.queue:
            # every vehicle usable, every lot fits, no loss, no storage cap: take a free vehicle
            # (returns due are collected when none is left, or at the next flush)
            vehicle = free.popleft()
            self.rec((now, c_go, lot.id, vehicle))
            d = self.transit()
            self.busy_vehicle_days += d
            lot.vehicle = vehicle
            lot.callbacks = self.cbs_one
            env.schedule(lot, NORMAL, d)
            return
        if not self.inline:
            self.rec((now, c_wait, lot.id, -1))
            self.queue.append(lot)
            self.poke()
            return
        if self.next_return() <= now:
            self.collect_returns(now)
        if (
            free
            and not self.queue
            and self.vehicles - len(free) < self.usable
            and (not self._to_capped or self.station.reserved < self.station.cap)  # type: ignore[union-attr]
        ):
            if lot.vol > self.fits_m3:
                raise self._too_big(lot)
            vehicle = free.popleft()
            self.rec((now, c_go, lot.id, vehicle))
            self._go1(lot, vehicle)
            return
        self.rec((now, c_wait, lot.id, -1))
        self.queue.append(lot)
        if len(self.queue) == 1 and not self._dispatching:
            # waits for a vehicle or room: make sure a wake-up is due (on a plain link no vehicle
            # is free, returns due were just collected, and every station has room: that is all
            # ``_dispatch`` would do)
            if self._plain:
                self._await_return()
            else:
                self._dispatch(None)

    def _too_big(self, lot: Lot) -> RunError:
        return RunError(
            f"link {self.ctx.link_ids[self.link]}: a lot of {lot.vol:g} m3 does not fit a vehicle of "
            f"{self.capacity_m3:g} m3"
        )

    # ------------------------------------------------------------------ loading and trips

    def _dispatch(self, ev: Any) -> None:
        """Immediate rule: load free vehicles with what waits while there is room."""
        if self._plain:
            self._dispatch_plain()
            return
        self._dispatching = True
        try:
            q = self.queue
            while q and self.vehicle_ready() and self.room():
                vehicle = self._free.popleft()
                if self.inline:
                    lot = q[0]
                    if lot.vol > self.fits_m3:
                        raise self._too_big(lot)
                    q.popleft()
                    self.rec((self.env.now, self.c_go, lot.id, vehicle))
                    self._go1(lot, vehicle)
                else:
                    load: list[Lot] = []
                    self.fill(vehicle, load, 0.0)
                    self.depart(vehicle, load)
            if q and self.room():
                self._await_return()
        finally:
            self._dispatching = False
            if ev is not None:  # only the kick's own run clears it: an inline call leaves it pending
                self._kicked = False

    def _dispatch_plain(self) -> None:
        """``_dispatch`` on a plain link (``_set_plain``): what it does there, without its checks.

        Every vehicle is usable, every lot fits one, no station is capped and nothing is lost,
        so ``vehicle_ready`` is "a vehicle is free once returns due are collected", ``room``
        always holds and ``_go1`` is the trip alone. Nothing it calls can call back into the
        carrier, so no ``_dispatching`` guard is needed.
        """
        q = self.queue
        free = self._free
        env = self.env
        now = env.now
        rec = self.rec
        while q:
            self.collect_returns(now)
            if not free:
                self._await_return()
                return
            vehicle = free.popleft()
            lot = q.popleft()
            rec((now, self.c_go, lot.id, vehicle))
            d = self.transit()
            self.busy_vehicle_days += d
            lot.vehicle = vehicle
            lot.callbacks = self.cbs_one
            env.schedule(lot, NORMAL, d)

    def fill(self, vehicle: int, load: list[Lot], volume_m3: float) -> float:
        """Load waiting lots onto ``vehicle`` while they fit and the next station has room."""
        q = self.queue
        now = self.env.now
        cap = self.fits_m3
        st = self.station
        origin_station = self.origin_station
        rec = self.rec
        while q and (st is None or st.reserved < st.cap):
            lot = q[0]
            v = lot.vol
            if volume_m3 + v > cap:
                if not load:  # an empty vehicle cannot take it: it never will (no empty trips)
                    raise self._too_big(lot)
                break
            q.popleft()
            volume_m3 += v
            load.append(lot)
            if self._to_capped:
                st.reserved += 1  # type: ignore[union-attr]
            if self._from_capped:
                origin_station.release()  # type: ignore[union-attr]
            rec((now, self.c_loaded, lot.id, vehicle))
        return volume_m3

    def _go1(self, lot: Lot, vehicle: int) -> None:
        """``vehicle`` leaves with ``lot`` alone (its loaded/departed rows are logged): the lot is the trip's event."""
        if self._to_capped:
            self.station.reserved += 1  # type: ignore[union-attr]
        if self._from_capped:
            self.origin_station.release()  # type: ignore[union-attr]
        p = self.p_loss
        if p > 0:
            lot.lost = self.loss() < p
        d = self.transit()
        self.busy_vehicle_days += d
        lot.vehicle = vehicle
        lot.callbacks = self.cbs_one
        self.env.schedule(lot, NORMAL, d)

    def depart(self, vehicle: int, load: list[Lot]) -> None:
        """Send ``vehicle`` with ``load``; its event's callback unloads at the destination."""
        qty = 0
        for lot in load:
            qty += lot.qty
        self.rec((self.env.now, self.c_departed, qty, vehicle))
        p = self.p_loss
        lost = [self.loss() < p for _ in load] if p > 0 else None
        d = self.transit()
        self.busy_vehicle_days += d
        ve = self._veh[vehicle]
        if ve is None:
            ve = self._veh[vehicle] = Rearm(self.env, d, self._arrive)
            ve.n = vehicle  # type: ignore[attr-defined]
        else:
            ve.callbacks = ve.cbs
            self.env.schedule(ve, NORMAL, d)
        ve.load = load  # type: ignore[attr-defined]
        ve.lost = lost  # type: ignore[attr-defined]
