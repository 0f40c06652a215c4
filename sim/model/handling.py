"""Handling at hubs, border crossings and depots: servers, service time per lot, storage cap.

A ``Station`` is a counter of busy servers and a lot queue: a service is the lot itself
(``sim.model.context.Lot``, a reusable SimPy event) scheduled for the end of its service;
the callback hands the lot to its next link and lets the next waiting lot take the server —
no process, no ``Resource`` request and no new ``Timeout`` per lot. The storage cap counts lots from the moment a vehicle is loaded towards
the station until they are loaded out of it: a full station blocks its senders, who keep their
lots until room is made. A disruption at factor f in (0, 1] keeps ``ceil(servers * f)`` servers
and stretches every service started while it holds by ``ceil(servers * f) / (servers * f)``, so
the station clears exactly f of its undisrupted rate (``scale``); 0 closes the station. Lots in
service when the factor changes keep their service time; surplus servers finish, then idle.

Rows: a lot arriving is logged by its carrier together with ``queued`` here (and
``service_started`` if a server is free) as one record; a finishing lot's ``service_finished``
is logged by the next carrier with its ``queued`` (and ``loaded``/``departed`` when it leaves
at once); a lot taken from the queue later is one ``service_started`` record.

Per vehicle (``serve: vehicle``): the lots one vehicle brings are one job — one place in the
queue (at the rank of its most urgent lot), one server, one service time. Every lot of the
job still has its own ``queued``, ``service_started`` and ``service_finished`` rows, at the
job's times; the job's rows are written with ``value`` 1 on its first lot (the row that takes
or frees the server) and 0 on the others, so busy servers read from the log count jobs
(rows with ``value`` 0 take no server; per-lot rows carry no value and count 1 each).

Losses (``sim.model.disruptions``): a station that some disruption may strike with a loss
probability keeps its lots in service by id (``in_service``), so a strike can find them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simpy.events import NORMAL

from sim.events import SERVICE_FINISHED, SERVICE_STARTED
from sim.model.queues import make_queue
from sim.rng import Sampler

if TYPE_CHECKING:
    from sim.model.context import Context, Lot
    from sim.model.transport import Carrier

__all__ = ["Station", "scale", "stretched"]


def scale(units: int, factor: float) -> tuple[int, float]:
    """``units`` servers (or vehicles) at capacity ``factor``: how many stay, and the time stretch of their work.

    Only 0 closes; otherwise ``ceil(units * factor)`` stay, each working ``stretch`` times
    slower, so together they give exactly ``factor`` of the capacity.

    Example:
        >>> scale(1, 0.9)
        (1, 1.1111111111111112)
        >>> scale(3, 0.5)
        (2, 1.3333333333333333)
        >>> scale(4, 0.0)
        (0, 1.0)
    """
    if factor <= 0:
        return 0, 1.0
    x = units * factor
    kept = max(1, math.ceil(x - 1e-9))
    return kept, (kept / x if kept > x + 1e-9 else 1.0)


def stretched(sampler: Sampler, stretch: float) -> Sampler:
    """``sampler`` with every draw multiplied by ``stretch`` (the same draws: common random numbers hold)."""
    return lambda: sampler() * stretch


class Station:
    """A handling node with ``servers`` parallel servers, serving per lot or per vehicle."""

    def __init__(
        self,
        ctx: Context,
        node: int,
        servers: int,
        service: Sampler,
        storage_cap_lots: int | None,
        serve: str = "lot",
        lossy: bool = False,
    ) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.node = node
        self.servers = servers
        self.capacity = servers
        self.factor = 1.0
        self.busy = 0
        self.service = service
        self.service_base = service
        """The undisrupted sampler; ``service`` is it, stretched while a fractional factor holds."""
        self.cap = storage_cap_lots if storage_cap_lots is not None else math.inf
        self.reserved = 0
        """Lots loaded towards the station and not yet loaded out of it (kept only under a storage cap)."""
        self.queue = make_queue(ctx.priority_queues)
        self.feeders: list[Carrier] = []
        self.cbs: list[Callable[[Any], None]] = [self._finish]
        self.c_start = ctx.log.lot_code((SERVICE_STARTED, node, -1))
        self.busy_time = 0.0
        self.per_vehicle = serve == "vehicle"
        self.jobs: dict[int, list[Lot]] = {}
        """Per vehicle: the lots of each job of several lots, keyed by the id of its first lot (the job's event)."""
        self.cbs_job: list[Callable[[Any], None]] = [self._finish_job]
        self._c_job: dict[tuple[int, int], int] = {}
        self.in_service: dict[int, Lot] | None = {} if lossy else None
        """Lots (jobs' first lots) in service by id, kept only where a disruption may destroy lots."""

    # ------------------------------------------------------------------ capacity

    def set_factor(self, factor: float) -> None:
        """Scale the servers (a disruption, see ``scale``); restart work if capacity came back."""
        self.factor = factor
        self.capacity, stretch = scale(self.servers, factor)
        self.service = self.service_base if stretch == 1.0 else stretched(self.service_base, stretch)
        self._start_next()

    def lots_held(self) -> int:
        """Lots queued or in service here (not jobs: a per-vehicle job is one queue place or one
        server but holds several lots; a lot of a job in service destroyed by a strike stays in
        the job, lost, and is not counted)."""
        return len(self.queue) + self.busy + sum(sum(not x.lost for x in job) - 1 for job in self.jobs.values())

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
            if self.in_service is not None:
                self.in_service[lot.id] = lot
            self.env.schedule(lot, NORMAL, d)
        else:
            self.ctx.rec((now, c_queued, lot.id, vehicle))
            self.queue.append(lot)
            self._start_next()

    def arrive_vehicle(self, lots: list[Lot], now: float, c_queued: int, vehicle: int) -> None:
        """Per vehicle: the ``lots`` of one vehicle arrived and queue as one job (``c_queued``: arrived + queued)."""
        rec = self.ctx.rec
        for lot in lots:
            rec((now, c_queued, lot.id, vehicle))
        self.queue_job(lots)
        self._start_next()

    def queue_job(self, lots: list[Lot]) -> None:
        """Queue ``lots`` as one job, at the rank of its most urgent lot (the job's first lot)."""
        first = min(lots, key=_prio) if self.ctx.priority_queues else lots[0]
        if len(lots) > 1:
            if first is not lots[0]:
                lots = [first, *(x for x in lots if x is not first)]
            self.jobs[first.id] = lots
        self.queue.append(first)

    def _job_code(self, kind: int, item: int) -> int:
        key = (kind, item)
        c = self._c_job.get(key)
        if c is None:
            c = self._c_job[key] = self.ctx.log.code(kind, item=item, node=self.node)
        return c

    def _start_next(self) -> None:
        q = self.queue
        rec = self.ctx.rec
        env = self.env
        jobs = self.jobs
        ins = self.in_service
        while q and self.busy < self.capacity:
            lot = q.popleft()
            self.busy += 1
            d = self.service()
            self.busy_time += d
            job = jobs.get(lot.id) if jobs else None
            if job is None:
                rec((env.now, self.c_start, lot.id, -1))
                lot.callbacks = self.cbs
            else:
                put = self.ctx.put
                for k, x in enumerate(job):
                    put(self._job_code(SERVICE_STARTED, x.item), x.id, x.qty, -1, x.req, 0.0 if k else 1.0)
                lot.callbacks = self.cbs_job
            if ins is not None:
                ins[lot.id] = lot
            env.schedule(lot, NORMAL, d)

    def _finish(self, lot: Lot) -> None:
        """``lot``'s service ended: it goes to its next link; a waiting lot takes the server."""
        self.busy -= 1
        if self.in_service is not None:
            del self.in_service[lot.id]
        c = lot.route[lot.hop]
        c.enqueue(lot, c.c_fin_wait, c.c_fin_go)
        if self.queue and self.busy < self.capacity:
            self._start_next()

    def _finish_job(self, first: Lot) -> None:
        """A job of several lots ended: each surviving lot goes to its next link, the first one frees the server."""
        self.busy -= 1
        if self.in_service is not None:
            del self.in_service[first.id]
        put = self.ctx.put
        weight = 1.0
        for lot in self.jobs.pop(first.id):
            if lot.lost:  # destroyed during the service (its rows are written)
                continue
            put(self._job_code(SERVICE_FINISHED, lot.item), lot.id, lot.qty, -1, lot.req, weight)
            weight = 0.0
            c = lot.route[lot.hop]
            c.enqueue(lot, c.c_q_wait, c.c_q_go)
        if self.queue and self.busy < self.capacity:
            self._start_next()

    def _ended(self, ev: Any) -> None:
        """The service event of a job destroyed as a whole: nothing more to do."""


def _prio(lot: Lot) -> int:
    return lot.prio
