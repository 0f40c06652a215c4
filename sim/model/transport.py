"""Transport links: a vehicle pool, dispatch under the link's rule, transit and return.

Each link is a ``Carrier``: a queue of lots waiting at the link's origin and a deque of free
vehicle numbers. A vehicle carrying one lot travels as that lot's own event (``Lot``, re-armed
for the trip); a vehicle carrying several is one reusable event per vehicle (``Rearm``). No
process and no new ``Timeout`` per trip or per lot.

Empty returns are kept lazily, without an event: an unloaded vehicle goes on a list of
returns (in order of return when the return time is fixed, else a heap) and becomes free
when the carrier needs it — it looks for returns due only when no vehicle is free, or the
link is constrained — or at the next flush of the log, whichever comes first; its
``returned`` row is appended then, with the return time, and the log puts it in time order
(before a flush every return due is collected: ``collect_returns``). Only when lots wait for
a vehicle does the carrier schedule a wake-up at the earliest return. So a vehicle is back at
the same simulated time as it would be with a return event, with a third fewer events on
busy links; which free vehicle a lot gets may differ, which changes nothing else.

Dispatch rules:
    immediate: a free vehicle takes what waits and leaves at once. On a FIFO link whose
        vehicles can never hold two lots, a lot that finds a free vehicle (and room at the next
        station) leaves in the very callback that queued it: ``queued``, ``loaded`` and
        ``departed`` are rows of the lot's one record. Otherwise a reusable "kick" event,
        scheduled when work arrives, loads what waits at the end of the instant — so lots
        released together share vehicles, and the most urgent go first under priority queues.
    full: a vehicle leaves the moment it is full — no lot of the scenario could fit in the room
        left, or the next waiting lot does not fit (``_full``) — or ``max_wait_days`` after its
        first lot.
    scheduled: convoys leave every ``every_days`` from ``first_day`` with what waits.
A ``scheduled`` link keeps one long-lived dispatcher process (a generator taking the context,
as in SimPy's examples): it acts per convoy, not per lot. A ``full`` link is driven by its
carrier's loader (``Carrier._fl_run``): callbacks on pooled events, the exact twin of such a
process, with no ``Event``, ``Timeout`` or ``AnyOf`` built per arriving lot.

A disruption at factor f in (0, 1] keeps ``ceil(vehicles * f)`` vehicles usable and stretches
every transit and return drawn while it holds by ``ceil(vehicles * f) / (vehicles * f)``
(``sim.model.handling.scale``), so the link carries exactly f of its undisrupted volume; 0 stops
departures. It may add a loss probability for lots departing while it lasts.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT

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
from sim.model.units import lot_lost
from sim.rng import Sampler

if TYPE_CHECKING:
    from sim.model.context import Context, Lot
    from sim.model.handling import Station

__all__ = ["INLINE", "Carrier", "dispatcher", "start_dispatcher"]

INLINE = True
"""Allow inline dispatch on FIFO immediate links with one-lot vehicles (False: always kick; for tests)."""

INF = math.inf
BULK = 64
"""Returns collected at once from which their rows go to the log as one numpy chunk."""

# the phases of a ``full`` link's loader (``Carrier._fl_steps``)
_A = 0  # waiting for lots, a vehicle and room
_B = 1  # loading a vehicle: check full / deadline
_B_RESUMED = 2  # loading: woken by a lot or the deadline
_C = 3  # loaded: waiting for the link to reopen, then leaving


class _Tick(Rearm):
    """A pooled wake-up or deadline of a ``full`` link's loader, tagged with the wait it belongs to."""

    gen = 0


class Carrier:
    """A link's vehicle pool and waiting lots.

    After construction ``connect`` names what is at both ends (stations, or the unit's
    delivery callback).
    """

    __slots__ = (
        "_back0", "_dispatching", "_fl_armed", "_fl_deadline", "_fl_fired", "_fl_gen", "_fl_has_wake", "_fl_load",
        "_fl_phase", "_fl_resume", "_fl_timers", "_fl_vehicle", "_fl_volume", "_fl_wait", "_fl_wakes", "_free",
        "_from_capped", "_kick", "_kicked", "_plain", "_ret_h", "_ret_n", "_ret_seq", "_ret_t", "_returning",
        "_rwake", "_to_capped", "_transit0", "_veh", "_wake_at", "back", "back_fixed", "busy_vehicle_days",
        "c_arr_del", "c_arr_start", "c_arr_wait", "c_departed", "c_fin_go", "c_fin_wait", "c_go", "c_loaded",
        "c_lost", "c_prod_go", "c_prod_wait", "c_q_go", "c_q_wait", "c_returned", "capacity_m3", "cbs_one", "ctx",
        "deliver", "dest", "env", "every_days", "extra_loss", "first_day", "fits_m3", "inline", "link", "loss",
        "loss_probability", "max_lot_m3", "max_wait_days", "min_lot_m3", "origin", "origin_station", "p_loss",
        "poke", "queue", "rec", "rule", "station", "transit", "usable", "vehicles", "wake",
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
        # vehicles coming back empty: with a fixed return time they come back in the order they
        # left, so day and vehicle go on two lists read from ``_ret_h`` on; otherwise on a heap
        # of (day, seq, vehicle)
        self.back_fixed = back_fixed
        self._ret_t: list[float] = []
        self._ret_n: list[int] = []
        self._ret_h = 0
        self._returning: list[tuple[float, int, int]] = []
        self._ret_seq = 0
        self._wake_at = INF
        self._rwake: Rearm | None = None
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
        # ``full`` dispatch: the loader's state (see ``_fl_run``)
        self._fl_gen = 0
        self._fl_wait = 0
        self._fl_has_wake = False
        self._fl_fired = False
        self._fl_armed = False
        self._fl_phase = _A
        self._fl_vehicle = -1
        self._fl_load: list[Lot] = []
        self._fl_volume = 0.0
        self._fl_deadline = 0.0
        self._fl_wakes: list[_Tick] = []
        self._fl_timers: list[_Tick] = []
        self._fl_resume: Rearm | None = None
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

    def _returns_to_heap(self) -> None:
        """Move pending returns from the in-order lists to the heap (returns stop being in departure order)."""
        for i in range(self._ret_h, len(self._ret_t)):
            self._ret_seq += 1
            heapq.heappush(self._returning, (self._ret_t[i], self._ret_seq, self._ret_n[i]))
        self._ret_t, self._ret_n, self._ret_h = [], [], 0
        self.back_fixed = False

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

    # ------------------------------------------------------------------ lazy returns

    def next_return(self) -> float:
        """Day of the earliest return still to come (infinity if none)."""
        if self.back_fixed:
            return self._ret_t[self._ret_h] if self._ret_h < len(self._ret_t) else INF
        return self._returning[0][0] if self._returning else INF

    def collect_returns(self, until: float, inclusive: bool = True) -> None:
        """Free every vehicle back by ``until`` (``< until`` unless ``inclusive``), logging ``returned``."""
        if self.back_fixed:
            ts, h = self._ret_t, self._ret_h
            k = (bisect.bisect_right if inclusive else bisect.bisect_left)(ts, until, h)
            if k == h:
                return
            ns = self._ret_n[h:k]
            if k - h >= BULK:  # many at once (a flush): one numpy chunk of records
                recs = np.empty((k - h, 4))
                recs[:, 0] = ts[h:k]
                recs[:, 1] = self.c_returned
                recs[:, 2] = -1
                recs[:, 3] = ns
                self.ctx.log.put_records(recs)
            else:
                rec, code = self.rec, self.c_returned
                for i in range(h, k):
                    rec((ts[i], code, -1, self._ret_n[i]))
            self._free.extend(ns)
            if k > 4096 and 2 * k > len(ts):
                del ts[:k]
                del self._ret_n[:k]
                k = 0
            self._ret_h = k
            return
        rq = self._returning
        rec, code, free = self.rec, self.c_returned, self._free
        while rq and (rq[0][0] <= until if inclusive else rq[0][0] < until):
            t, _, n = heapq.heappop(rq)
            rec((t, code, -1, n))
            free.append(n)

    def _await_return(self) -> None:
        """Lots wait and no vehicle is ready: wake up at the earliest return, if one is coming."""
        if self.rule == "scheduled":  # convoys look for vehicles on their timetable
            return
        t = self.next_return()
        if t == INF:
            return
        now = self.env.now
        if t <= now:  # returns already due (lots waited for room, not vehicles): free them and retry
            self.collect_returns(now)
            self.poke()
            return
        if t >= self._wake_at:
            return
        self._wake_at = t
        d = t - now
        w = self._rwake
        if w is None or w.callbacks is not None:  # none yet, or the one we have is still pending
            w = Rearm(self.env, d, self._woken)
            if self._rwake is None:
                self._rwake = w
        else:
            w.callbacks = w.cbs
            self.env.schedule(w, NORMAL, d)

    def _woken(self, ev: Any) -> None:
        now = self.env.now
        if now >= self._wake_at:
            self._wake_at = INF
        self.collect_returns(now)
        if self.rule == "immediate":
            if not self._dispatching:
                self._dispatch(None)
        else:
            self.poke()
            if self.queue and self.room() and not self.vehicle_ready():
                self._await_return()

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

    # ------------------------------------------------------------------ arrivals

    def _arrive_station(self, lot: Lot) -> None:
        """A vehicle carrying ``lot`` alone reached the (uncapped) station at the destination."""
        now = self.env.now
        lot.hop += 1
        n = lot.vehicle
        if lot.lost:
            self._lost(lot, now, n)
        else:
            st: Station = self.station  # type: ignore[assignment]
            if st.busy < st.capacity and not st.queue:
                self.rec((now, self.c_arr_start, lot.id, n))
                st.busy += 1
                d = st.service()
                st.busy_time += d
                lot.callbacks = st.cbs
                self.env.schedule(lot, NORMAL, d)
            else:  # every server busy (a free server never leaves a lot waiting)
                self.rec((now, self.c_arr_wait, lot.id, n))
                st.queue.append(lot)
        # the vehicle heads back (see _back)
        d = self.back()
        self.busy_vehicle_days += d
        t = now + d
        if self.back_fixed:
            self._ret_t.append(t)
            self._ret_n.append(n)
        else:
            self._ret_seq += 1
            heapq.heappush(self._returning, (t, self._ret_seq, n))
        if self.queue and t < self._wake_at:
            self._await_return()

    def _arrive_unit(self, lot: Lot) -> None:
        """A vehicle carrying ``lot`` alone reached the unit at the destination."""
        now = self.env.now
        lot.hop += 1
        n = lot.vehicle
        if lot.lost:
            self._lost(lot, now, n)
        else:
            self.rec((now, self.c_arr_del, lot.id, n))
            self.deliver(lot)
        self._back(n, now)

    def _arrive_one(self, lot: Lot) -> None:
        """A vehicle carrying ``lot`` alone reached the destination (general case)."""
        now = self.env.now
        lot.hop += 1
        n = lot.vehicle
        st = self.station
        if lot.lost:
            self._lost(lot, now, n)
        elif st is not None:
            st.arrive(lot, now, self.c_arr_wait, self.c_arr_start, n)
        else:
            self.rec((now, self.c_arr_del, lot.id, n))
            self.deliver(lot)
        self._back(n, now)

    def _arrive(self, ve: Rearm) -> None:
        """A vehicle carrying several lots reached the destination."""
        now = self.env.now
        n: int = ve.n  # type: ignore[attr-defined]
        lost = ve.lost  # type: ignore[attr-defined]
        st = self.station
        rec = self.rec
        job: list[Lot] | None = [] if st is not None and st.per_vehicle else None
        for i, lot in enumerate(ve.load):  # type: ignore[attr-defined]
            lot.hop += 1
            if lost is not None and lost[i]:
                self._lost(lot, now, n)
            elif job is not None:
                job.append(lot)
            elif st is not None:
                st.arrive(lot, now, self.c_arr_wait, self.c_arr_start, n)
            else:
                rec((now, self.c_arr_del, lot.id, n))
                self.deliver(lot)
        if job:  # per vehicle: what survived the trip is one job
            st.arrive_vehicle(job, now, self.c_arr_wait, n)  # type: ignore[union-attr]
        ve.load = None  # type: ignore[attr-defined]
        self._back(n, now)

    def _lost(self, lot: Lot, now: float, vehicle: int) -> None:
        self.rec((now, self.c_lost, lot.id, vehicle))
        if self._to_capped:
            self.station.release()  # type: ignore[union-attr]
        lot_lost(self.ctx, lot)

    def _back(self, vehicle: int, now: float) -> None:
        """``vehicle`` is unloaded: it heads back, due at ``now + back()`` (no event: see the module doc)."""
        d = self.back()
        self.busy_vehicle_days += d
        t = now + d
        if self.back_fixed:
            self._ret_t.append(t)
            self._ret_n.append(vehicle)
        else:
            self._ret_seq += 1
            heapq.heappush(self._returning, (t, self._ret_seq, vehicle))
        if self.queue and t < self._wake_at:
            self._await_return()

    # ------------------------------------------------------------------ full dispatch: the loader

    # The loader is the callback twin of a long-lived SimPy process (kept as such in
    # ``tests/sim/test_full_loader.py``)::
    #
    #     while True:
    #         while not (queue and vehicle_ready() and room()):        # A
    #             if queue and room(): _await_return()
    #             yield wake
    #         vehicle = free.popleft(); volume = fill(vehicle, load)
    #         deadline = now + max_wait_days; pending += 1
    #         while now < deadline and not _full(volume):              # B
    #             yield any_of([wake, timeout(deadline - now)])
    #             if away_count() <= usable: volume = fill(vehicle, load, volume)
    #         pending -= 1
    #         while away_count() > usable: _await_return(); yield wake  # C
    #         depart(vehicle, load)
    #
    # with a fresh ``wake`` event at each wait that ``poke`` succeeds once. It keeps every
    # event of that process at the same place in SimPy's queue (a wake is one event; the end
    # of an ``any_of`` wait is one more, after the wake or the deadline that ended it; each
    # wait of B schedules its own deadline), so the log is the process's, row for row — but
    # its events are reused (``_Tick`` pools), and no ``Event``, ``Timeout``, ``AnyOf`` or
    # generator resumption is paid per arriving lot.

    def _fl_start(self, ev: Any) -> None:
        self._fl_run(_A)

    def _fl_poke(self) -> None:
        """Work may move: wake the loader (once per wait, as succeeding the process's ``wake`` would)."""
        if self._fl_has_wake and not self._fl_fired:
            self._fl_fired = True
            pool = self._fl_wakes
            if pool:
                w = pool.pop()
                w.callbacks = w.cbs
                self.env.schedule(w, NORMAL, 0)
            else:
                w = _Tick(self.env, 0, self._fl_woken)
            w.gen = self._fl_gen

    def _fl_woken(self, w: _Tick) -> None:
        self._fl_wakes.append(w)
        if w.gen != self._fl_gen:  # the wake of a wait that is over
            return
        if self._fl_wait == 1:
            self._fl_wait = 0
            self._fl_run(self._fl_phase)
        elif self._fl_wait == 2 and not self._fl_armed:
            self._fl_arm()

    def _fl_timeout(self, tm: _Tick) -> None:
        self._fl_timers.append(tm)
        if tm.gen == self._fl_gen and self._fl_wait == 2 and not self._fl_armed:
            self._fl_arm()

    def _fl_arm(self) -> None:
        """A lot or the deadline ended the loading wait: resume one event later (as ``any_of`` does)."""
        self._fl_armed = True
        r = self._fl_resume
        if r is None:
            self._fl_resume = Rearm(self.env, 0, self._fl_resumed)
        else:
            r.callbacks = r.cbs
            self.env.schedule(r, NORMAL, 0)

    def _fl_resumed(self, ev: Any) -> None:
        self._fl_wait = 0
        self._fl_run(_B_RESUMED)

    def _fl_wait_for(self, kind: int, phase: int) -> None:
        """Wait for a wake (kind 1), or for a wake or the loading deadline (kind 2), then go on at ``phase``."""
        self._fl_gen += 1
        self._fl_wait = kind
        self._fl_phase = phase
        self._fl_has_wake = True
        self._fl_fired = False
        self._fl_armed = False
        if kind == 2:
            d = self._fl_deadline - self.env.now
            pool = self._fl_timers
            if pool:
                tm = pool.pop()
                tm.callbacks = tm.cbs
                self.env.schedule(tm, NORMAL, d)
            else:
                tm = _Tick(self.env, d, self._fl_timeout)
            tm.gen = self._fl_gen

    def _fl_run(self, phase: int) -> None:
        """Run the loader from ``phase`` to its next wait; an error fails the run as a process's would."""
        try:
            self._fl_steps(phase)
        except BaseException as exc:  # handed to SimPy, which raises it from ``step`` (as for a process)
            simpy.Event(self.env).fail(exc)  # type: ignore[arg-type]

    def _fl_steps(self, phase: int) -> None:
        env = self.env
        ctx = self.ctx
        while True:
            if phase == _A:
                if not (self.queue and self.vehicle_ready() and self.room()):
                    if self.queue and self.room():
                        self._await_return()
                    self._fl_wait_for(1, _A)
                    return
                vehicle = self._fl_vehicle = self._free.popleft()
                load: list[Lot] = []
                self._fl_load = load
                self._fl_volume = self.fill(vehicle, load, 0.0)
                self._fl_deadline = env.now + self.max_wait_days
                ctx.pending += 1
                phase = _B
            elif phase == _B:
                if env.now < self._fl_deadline and not _full(self, self._fl_volume):
                    self._fl_wait_for(2, _B_RESUMED)
                    return
                ctx.pending -= 1
                phase = _C
            elif phase == _B_RESUMED:
                if self.away_count() <= self.usable:  # no loading while the link is closed
                    self._fl_volume = self.fill(self._fl_vehicle, self._fl_load, self._fl_volume)
                phase = _B
            else:  # _C: closed (or cut) while it loaded: wait to reopen, then leave
                if self.away_count() > self.usable:
                    self._await_return()
                    self._fl_wait_for(1, _C)
                    return
                self._fl_has_wake = False
                self.depart(self._fl_vehicle, self._fl_load)
                phase = _A


def start_dispatcher(ctx: Context, c: Carrier) -> None:
    """Start the dispatch of a ``full`` or ``scheduled`` link (at the current time, before any process).

    A ``scheduled`` link runs ``dispatcher``'s process; a ``full`` link runs its loader
    (``Carrier._fl_run``), started by one urgent event just as a process would be.
    """
    if c.rule == "full":
        start = simpy.Event(c.env)
        start.callbacks = [c._fl_start]
        start._ok = True
        start._value = None
        c.env.schedule(start, URGENT)
    else:
        c.env.process(dispatcher(ctx, c))


def dispatcher(ctx: Context, c: Carrier) -> Generator[simpy.Event, Any, None]:
    """The long-lived process of a ``scheduled`` link: loads vehicles and sends them."""
    env = ctx.env
    if c.rule == "scheduled":
        next_day = c.first_day
        while True:
            if next_day > env.now:
                yield env.timeout(next_day - env.now)
            next_day += c.every_days
            while c.queue and c.vehicle_ready() and c.room():
                vehicle = c._free.popleft()
                load: list[Lot] = []
                c.fill(vehicle, load, 0.0)
                if not load:
                    c._free.appendleft(vehicle)
                    break
                c.depart(vehicle, load)
        return
    raise ValueError(f"no dispatcher process for rule {c.rule!r}")


def _full(c: Carrier, volume_m3: float) -> bool:
    """The vehicle is full: no lot of the scenario could fit in what is left, or the next waiting lot does not.

    A vehicle holding its capacity is full at once, without waiting for a lot that does not
    fit (``min_lot_m3`` is the smallest lot any vehicle may see; at least a hair of room is needed).
    """
    if volume_m3 + max(c.min_lot_m3, 2e-9) > c.fits_m3:
        return True
    q = c.queue
    return bool(q) and volume_m3 + q[0].vol > c.fits_m3
