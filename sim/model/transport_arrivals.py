"""A link's far end: vehicles arriving at the destination, unloading, and their lazy way back.

``Arrivals`` is a mixin of ``sim.model.transport.Carrier``: the callbacks of a vehicle that
reaches the link's destination (a station, or the unit's ``deliver``), the loss of a lot in
transit, and the bookkeeping of the empty vehicles coming back. It holds no state of its own
beyond the return lists (``RETURN_SLOTS``, which the carrier's ``__slots__`` include).

Empty returns are kept lazily, without an event: an unloaded vehicle goes on a list of
returns (in order of return when the return time is fixed, else a heap) and becomes free
when the carrier needs it — it looks for returns due only when no vehicle is free, or the
link is constrained — or at the next flush of the log, whichever comes first; its
``returned`` row is appended then, with the return time, and the log puts it in time order
(before a flush every return due is collected: ``collect_returns``). Only when lots wait for
a vehicle does the carrier schedule a wake-up at the earliest return. So a vehicle is back at
the same simulated time as it would be with a return event, with a third fewer events on
busy links; which free vehicle a lot gets may differ, which changes nothing else.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from simpy.events import NORMAL

from sim.model.context import Rearm
from sim.model.units import lot_lost

if TYPE_CHECKING:
    import simpy

    from sim.model.context import Context, Lot
    from sim.model.handling import Station
    from sim.model.queues import LotQueue
    from sim.rng import Sampler

__all__ = ["BULK", "RETURN_SLOTS", "Arrivals"]

INF = math.inf
BULK = 64
"""Returns collected at once from which their rows go to the log as one numpy chunk."""

RETURN_SLOTS = ("_ret_h", "_ret_n", "_ret_seq", "_ret_t", "_returning", "_rwake", "_wake_at", "back_fixed")
"""The carrier's attributes that ``Arrivals`` owns (set by ``_init_returns``)."""


class Arrivals:
    """Arrivals at the destination and the lazy return of empty vehicles (a mixin of ``Carrier``)."""

    # no slots of its own: only one base of a class may add slots, so ``Carrier.__slots__`` lists
    # them (with ``RETURN_SLOTS``); a call, not a literal, so that mypy lets the mixin set the carrier's
    # attributes
    __slots__ = tuple[str, ...]()

    if TYPE_CHECKING:  # what the mixin uses of ``Carrier`` (declared for the type checker only)
        ctx: Context
        env: simpy.Environment
        rec: Callable[[tuple[float, int, int, int]], None]
        rule: str
        queue: LotQueue
        station: Station | None
        deliver: Any
        back: Sampler
        busy_vehicle_days: float
        poke: Callable[[], None]
        _free: deque[int]
        _to_capped: bool
        _dispatching: bool
        c_arr_wait: int
        c_arr_start: int
        c_arr_del: int
        c_lost: int
        c_returned: int

        def room(self) -> bool: ...
        def vehicle_ready(self) -> bool: ...
        def _dispatch(self, ev: Any) -> None: ...

    def _init_returns(self, back_fixed: bool) -> None:
        """No vehicle away yet.

        With a fixed return time vehicles come back in the order they left, so day and vehicle
        go on two lists read from ``_ret_h`` on; otherwise on a heap of (day, seq, vehicle).
        """
        self.back_fixed = back_fixed
        self._ret_t: list[float] = []
        self._ret_n: list[int] = []
        self._ret_h = 0
        self._returning: list[tuple[float, int, int]] = []
        self._ret_seq = 0
        self._wake_at = INF
        self._rwake: Rearm | None = None

    # ------------------------------------------------------------------ lazy returns

    def _returns_to_heap(self) -> None:
        """Move pending returns from the in-order lists to the heap (returns stop being in departure order)."""
        for i in range(self._ret_h, len(self._ret_t)):
            self._ret_seq += 1
            heapq.heappush(self._returning, (self._ret_t[i], self._ret_seq, self._ret_n[i]))
        self._ret_t, self._ret_n, self._ret_h = [], [], 0
        self.back_fixed = False

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
