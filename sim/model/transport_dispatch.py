"""The dispatch of ``full`` and ``scheduled`` links: the loader, the convoy process and their start.

``immediate`` dispatch is the carrier's own (``sim.model.transport``). The other two rules:
    full: a vehicle leaves the moment it is full — no lot of the scenario could fit in the room
        left, or the next waiting lot does not fit (``_full``) — or ``max_wait_days`` after its
        first lot.
    scheduled: convoys leave every ``every_days`` from ``first_day`` with what waits.
A ``scheduled`` link keeps one long-lived dispatcher process (a generator taking the context,
as in SimPy's examples): it acts per convoy, not per lot. A ``full`` link is driven by its
carrier's loader (``FullLoader``, a mixin of ``Carrier``; ``_fl_run``): callbacks on pooled
events, the exact twin of such a process, with no ``Event``, ``Timeout`` or ``AnyOf`` built per
arriving lot. ``start_dispatcher`` starts either.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import NORMAL, URGENT

from sim.model.context import Rearm

if TYPE_CHECKING:
    from sim.model.context import Context, Lot
    from sim.model.queues import LotQueue
    from sim.model.transport import Carrier

__all__ = ["LOADER_SLOTS", "FullLoader", "dispatcher", "start_dispatcher"]

LOADER_SLOTS = (
    "_fl_armed", "_fl_deadline", "_fl_fired", "_fl_gen", "_fl_has_wake", "_fl_load", "_fl_phase", "_fl_resume",
    "_fl_timers", "_fl_vehicle", "_fl_volume", "_fl_wait", "_fl_wakes",
)  # fmt: skip
"""The carrier's attributes that ``FullLoader`` owns (set by ``_init_loader``)."""

# the phases of a ``full`` link's loader (``FullLoader._fl_steps``)
_A = 0  # waiting for lots, a vehicle and room
_B = 1  # loading a vehicle: check full / deadline
_B_RESUMED = 2  # loading: woken by a lot or the deadline
_C = 3  # loaded: waiting for the link to reopen, then leaving


class _Tick(Rearm):
    """A pooled wake-up or deadline of a ``full`` link's loader, tagged with the wait it belongs to."""

    gen = 0


class FullLoader:
    """The loader of a ``full`` link (a mixin of ``Carrier``).

    It is the callback twin of a long-lived SimPy process (kept as such in
    ``tests/sim/test_full_loader.py``)::

        while True:
            while not (queue and vehicle_ready() and room()):        # A
                if queue and room(): _await_return()
                yield wake
            vehicle = free.popleft(); volume = fill(vehicle, load)
            deadline = now + max_wait_days; pending += 1
            while now < deadline and not _full(volume):              # B
                yield any_of([wake, timeout(deadline - now)])
                if away_count() <= usable: volume = fill(vehicle, load, volume)
            pending -= 1
            while away_count() > usable: _await_return(); yield wake  # C
            depart(vehicle, load)

    with a fresh ``wake`` event at each wait that ``poke`` succeeds once. It keeps every
    event of that process at the same place in SimPy's queue (a wake is one event; the end
    of an ``any_of`` wait is one more, after the wake or the deadline that ended it; each
    wait of B schedules its own deadline), so the log is the process's, row for row — but
    its events are reused (``_Tick`` pools), and no ``Event``, ``Timeout``, ``AnyOf`` or
    generator resumption is paid per arriving lot.
    """

    # no slots of its own: only one base of a class may add slots, so ``Carrier.__slots__`` lists
    # them (with ``LOADER_SLOTS``); a call, not a literal, so that mypy lets the mixin set the carrier's
    # attributes
    __slots__ = tuple[str, ...]()

    if TYPE_CHECKING:  # what the mixin uses of ``Carrier`` (declared for the type checker only)
        ctx: Context
        env: simpy.Environment
        queue: LotQueue
        usable: int
        fits_m3: float
        min_lot_m3: float
        max_wait_days: float
        _free: deque[int]
        poke: Callable[[], None]

        def vehicle_ready(self) -> bool: ...
        def room(self) -> bool: ...
        def away_count(self) -> int: ...
        def fill(self, vehicle: int, load: list[Lot], volume_m3: float) -> float: ...
        def depart(self, vehicle: int, load: list[Lot]) -> None: ...
        def _await_return(self) -> None: ...

    def _init_loader(self) -> None:
        """The loader's state before it starts (see ``_fl_run``)."""
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


def _full(c: FullLoader, volume_m3: float) -> bool:
    """The vehicle is full: no lot of the scenario could fit in what is left, or the next waiting lot does not.

    A vehicle holding its capacity is full at once, without waiting for a lot that does not
    fit (``min_lot_m3`` is the smallest lot any vehicle may see; at least a hair of room is needed).
    """
    if volume_m3 + max(c.min_lot_m3, 2e-9) > c.fits_m3:
        return True
    q = c.queue
    return bool(q) and volume_m3 + q[0].vol > c.fits_m3
