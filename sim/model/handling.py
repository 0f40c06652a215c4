"""Handling at hubs, border crossings and depots: servers, service time per lot, storage cap.

A ``Station`` is a counter of busy servers and a lot queue; each service is one timeout whose
callback finishes the lot and starts the next, so there is no process per lot. The storage cap
counts lots from the moment a vehicle is loaded towards the station until they are loaded out
of it: a full station blocks its senders, who keep their lots until room is made.
A disruption scales the number of servers (``floor(servers * factor)``; 0 closes the station;
lots in service finish, new services wait).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.events import QUEUED, SERVICE_FINISHED, SERVICE_STARTED
from sim.model.queues import make_queue
from sim.rng import Sampler

if TYPE_CHECKING:
    import simpy

    from sim.model.context import Context
    from sim.model.transport import Carrier

__all__ = ["Station"]

NAN = math.nan


class Station:
    """A handling node with ``servers`` parallel servers."""

    def __init__(self, ctx: Context, node: int, servers: int, service: Sampler, storage_cap_lots: int | None) -> None:
        self.ctx = ctx
        self.node = node
        self.servers = servers
        self.capacity = servers
        self.factor = 1.0
        self.busy = 0
        self.service = service
        self.cap = storage_cap_lots if storage_cap_lots is not None else math.inf
        self.reserved = 0
        self.queue = make_queue(ctx.priority_queues)
        self.feeders: list[Carrier] = []
        self.c_queued = ctx.log.code(QUEUED, node=node)
        self.c_start = ctx.log.code(SERVICE_STARTED, node=node)
        self.c_finish = ctx.log.code(SERVICE_FINISHED, node=node)
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
        """A vehicle was loaded towards this station with one lot."""
        self.reserved += 1

    def release(self) -> None:
        """A lot left the station; blocked senders may send again."""
        self.reserved -= 1
        if self.cap != math.inf:
            for f in self.feeders:
                f.poke()

    # ------------------------------------------------------------------ flow

    def arrive(self, lot: int) -> None:
        """A lot arrived (the carrier logged ``arrived``); it queues for a server."""
        ctx = self.ctx
        ctx.rec((ctx.env.now, self.c_queued, lot, ctx.lot_qty[lot], -1, ctx.lot_req[lot], NAN))
        self.queue.push(lot, ctx.lot_priority[lot])
        self._start_next()

    def _start_next(self) -> None:
        ctx = self.ctx
        env = ctx.env
        q = self.queue
        while q and self.busy < self.capacity:
            lot = q.pop()
            self.busy += 1
            ctx.pending += 1
            ctx.rec((env.now, self.c_start, lot, ctx.lot_qty[lot], -1, ctx.lot_req[lot], NAN))
            duration = self.service()
            self.busy_time += duration
            ev = env.timeout(duration, lot)
            ev.callbacks.append(self._finish)

    def _finish(self, ev: simpy.Event) -> None:
        ctx = self.ctx
        lot: int = ev.value  # type: ignore[assignment]
        self.busy -= 1
        ctx.pending -= 1
        ctx.rec((ctx.env.now, self.c_finish, lot, ctx.lot_qty[lot], -1, ctx.lot_req[lot], NAN))
        hop = ctx.lot_hop[lot]
        ctx.carriers[ctx.lot_route[lot][hop]].enqueue(lot)
        self._start_next()
