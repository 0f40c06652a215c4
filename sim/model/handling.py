"""Handling at hubs, border crossings and depots: servers, service time per lot, storage cap.

A ``Station`` is a counter of busy servers and a lot queue: a service is the lot itself
(``sim.model.context.Lot``, a reusable SimPy event) scheduled for the end of its service;
the callback hands the lot to its next link and lets the next waiting lot take the server —
no process, no ``Resource`` request and no new ``Timeout`` per lot. The storage cap counts lots from the moment a vehicle is loaded towards
the station until they are loaded out of it: a full station blocks its senders, who keep their
lots until room is made. A disruption scales the number of servers
(``floor(servers * factor)``; 0 closes the station; lots in service finish, new services wait).

Rows: a lot arriving is logged by its carrier together with ``queued`` here (and
``service_started`` if a server is free) as one record; a finishing lot's ``service_finished``
is logged by the next carrier with its ``queued`` (and ``loaded``/``departed`` when it leaves
at once); a lot taken from the queue later is one ``service_started`` record.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simpy.events import NORMAL

from sim.events import SERVICE_STARTED
from sim.model.queues import make_queue
from sim.rng import Sampler

if TYPE_CHECKING:
    from sim.model.context import Context, Lot
    from sim.model.transport import Carrier

__all__ = ["Station"]


class Station:
    """A handling node with ``servers`` parallel servers."""

    def __init__(self, ctx: Context, node: int, servers: int, service: Sampler, storage_cap_lots: int | None) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.node = node
        self.servers = servers
        self.capacity = servers
        self.factor = 1.0
        self.busy = 0
        self.service = service
        self.cap = storage_cap_lots if storage_cap_lots is not None else math.inf
        self.reserved = 0
        """Lots loaded towards the station and not yet loaded out of it (kept only under a storage cap)."""
        self.queue = make_queue(ctx.priority_queues)
        self.feeders: list[Carrier] = []
        self.cbs: list[Callable[[Any], None]] = [self._finish]
        self.c_start = ctx.log.lot_code((SERVICE_STARTED, node, -1))
        self.busy_time = 0.0

    # ------------------------------------------------------------------ capacity

    def set_factor(self, factor: float) -> None:
        """Scale the servers (a disruption); restart work if capacity came back."""
        self.factor = factor
        self.capacity = math.floor(self.servers * factor + 1e-9)
        self._start_next()

    def has_room(self) -> bool:
        """True when one more lot may be sent towards this station."""
        return self.reserved < self.cap

    def reserve(self) -> None:
        """A vehicle was loaded towards this station with one lot (counted only under a storage cap)."""
        self.reserved += 1

    def release(self) -> None:
        """A lot left the station (or was lost on its way in); blocked senders may send again."""
        self.reserved -= 1
        if self.cap != math.inf:
            for f in self.feeders:
                f.poke()

    # ------------------------------------------------------------------ flow

    def arrive(self, lot: Lot, now: float, c_queued: int, c_started: int, vehicle: int) -> None:
        """``lot`` arrived on ``vehicle``; log it with ``queued`` (and ``service_started``) as one record.

        ``c_queued``/``c_started`` are the arriving carrier's codes for
        ``arrived + queued`` and ``arrived + queued + service_started``.
        """
        if self.busy < self.capacity and not self.queue:
            self.ctx.rec((now, c_started, lot.id, vehicle))
            self.busy += 1
            d = self.service()
            self.busy_time += d
            lot.callbacks = self.cbs
            self.env.schedule(lot, NORMAL, d)
        else:
            self.ctx.rec((now, c_queued, lot.id, vehicle))
            self.queue.append(lot)
            self._start_next()

    def _start_next(self) -> None:
        q = self.queue
        rec = self.ctx.rec
        env = self.env
        while q and self.busy < self.capacity:
            lot = q.popleft()
            rec((env.now, self.c_start, lot.id, -1))
            self.busy += 1
            d = self.service()
            self.busy_time += d
            lot.callbacks = self.cbs
            env.schedule(lot, NORMAL, d)

    def _finish(self, lot: Lot) -> None:
        """``lot``'s service ended: it goes to its next link; a waiting lot takes the server."""
        self.busy -= 1
        c = lot.route[lot.hop]
        c.enqueue(lot, c.c_fin_wait, c.c_fin_go)
        if self.queue and self.busy < self.capacity:
            self._start_next()
