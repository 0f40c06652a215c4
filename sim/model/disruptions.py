"""Disruptions: scheduled and random outages that scale a node's or link's capacity, and strikes.

A target (station, carrier or supplier line) keeps the list of its active disruptions; its
capacity factor is the smallest factor among them (1 when none), so overlapping outages do not
restore capacity early. A scheduled disruption is one process; a random one is a process with
Poisson arrivals (``rate_per_year``) and sampled durations from its own stream.

Losses. On a link, ``loss_probability`` is the chance that a lot departing while the
disruption lasts is lost in transit (``sim.model.transport``). On a hub, border, depot or
supplier it is a strike: when the disruption starts, each lot at the node — waiting for a
server, in service, or stored waiting for a vehicle on a link out of the node — is destroyed
independently with that probability, and so is each unit of a supplier's finished stock (its
initial stock not yet shipped: a binomial draw). The draws come from the ``disruption``
stream of that disruption (resource ``LOSS_RESOURCE + index``). Lots already loaded on a
vehicle are on the vehicle, not at the node.

Rows of a strike, at its start, each with ``value`` = the disruption's index in the scenario:
a destroyed lot is one ``lost`` row at the node (``ref`` is its requirement, as on links, so
the requirement's lost quantity shows what needs replacing; ``link`` is set when it was
waiting for that link's vehicle); a lot destroyed in service first gets its
``service_finished`` row (with ``value`` 1 when that frees the server, 0 when the rest of its
per-vehicle job goes on); destroyed stock is one ``lost`` row with ``lot`` -1, ``ref`` -1 and
the units destroyed. A destroyed lot counts in ``units_lost`` and towards closing its
requirement (delivered + lost = ordered), exactly like a lot lost in transit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy

from sim.events import DISRUPTION_ENDED, DISRUPTION_STARTED, LOST, SERVICE_FINISHED
from sim.model.context import Context
from sim.model.units import lot_lost
from sim.rng import Sampler

if TYPE_CHECKING:
    import numpy as np

    from sim.model.context import Lot
    from sim.model.handling import Station
    from sim.model.queues import LotQueue

__all__ = ["LOSS_RESOURCE", "Target", "random_disruption", "scheduled_disruption", "strike"]

NAN = math.nan

LOSS_RESOURCE = 1 << 20
"""Resource offset of the loss draws of disruption k on the ``disruption`` stream (k's gaps and durations use 2k, 2k+1)."""


class Target:
    """The active disruptions of one resource and how to apply their combined effect."""

    def __init__(self, apply: Callable[[float, float], None], node: int = -1, link: int = -1) -> None:
        self.apply = apply
        self.node = node
        self.link = link
        self.active: list[tuple[float, float]] = []

    def push(self, factor: float, loss: float) -> None:
        """A disruption starts."""
        self.active.append((factor, loss))
        self._apply()

    def pop(self, factor: float, loss: float) -> None:
        """A disruption ends."""
        self.active.remove((factor, loss))
        self._apply()

    def _apply(self) -> None:
        if self.active:
            self.apply(min(f for f, _ in self.active), max(p for _, p in self.active))
        else:
            self.apply(1.0, 0.0)


def _outage(
    ctx: Context, target: Target, factor: float, loss: float, days: float, index: int
) -> Generator[simpy.Event, Any, None]:
    env = ctx.env
    log = ctx.log
    started = log.code(DISRUPTION_STARTED, node=target.node, link=target.link)
    ended = log.code(DISRUPTION_ENDED, node=target.node, link=target.link)
    ctx.put(started, -1, 0, -1, -1, factor)
    ctx.active_disruptions += 1
    if loss > 0 and target.node >= 0:
        strike(ctx, target.node, loss, index)
    target.push(factor, loss)
    yield env.timeout(days)
    ctx.put(ended, -1, 0, -1, -1, factor)
    ctx.active_disruptions -= 1
    target.pop(factor, loss)


def scheduled_disruption(
    ctx: Context, target: Target, start_day: float, days: float, factor: float, loss: float, index: int = -1
) -> Generator[simpy.Event, Any, None]:
    """One known outage (``index``: the disruption's position in the scenario)."""
    env = ctx.env
    if start_day > env.now:
        yield env.timeout(start_day - env.now)
    yield from _outage(ctx, target, factor, loss, days, index)


def random_disruption(
    ctx: Context, target: Target, gap: Sampler, duration: Sampler, factor: float, loss: float, index: int = -1
) -> Generator[simpy.Event, Any, None]:
    """Outages with exponential gaps (Poisson arrivals) for ever."""
    env = ctx.env
    while True:
        yield env.timeout(gap())
        env.process(_outage(ctx, target, factor, loss, duration(), index))


# --------------------------------------------------------------------------- strikes


def strike(ctx: Context, node: int, p: float, index: int) -> None:
    """Destroy each lot at ``node`` (and each unit of its suppliers' stock) with probability ``p``."""
    gen = ctx.streams.generator("disruption", LOSS_RESOURCE + max(index, 0))
    value = float(index)

    def lost_row(lot: Lot, link: int = -1) -> None:
        ctx.put(ctx.log.code(LOST, item=lot.item, node=node, link=link), lot.id, lot.qty, -1, lot.req, value)
        lot.lost = True
        lot_lost(ctx, lot)

    st = ctx.stations.get(node)
    if st is not None:
        _strike_station(ctx, st, gen, p, lost_row)
    for c in ctx.carriers.values():
        if c.origin != node or not c.queue:
            continue
        capped = c.origin_station is not None and c.origin_station.cap != math.inf
        for lot in _take(c.queue, gen, p):
            lost_row(lot, c.link)
            if capped:
                c.origin_station.release()  # type: ignore[union-attr]
    for (supplier, item), line in ctx.lines.items():
        if supplier != node or line.stock <= 0:
            continue
        units = int(gen.binomial(line.stock, p))
        if units:
            line.stock -= units
            ctx.put(ctx.log.code(LOST, item=item, node=node), -1, units, -1, -1, value)
            ctx.units_lost += units


def _take(q: LotQueue, gen: np.random.Generator, p: float) -> list[Lot]:
    """Draw each queued lot's fate in queue order; keep the survivors in order and return the destroyed."""
    order = [q.popleft() for _ in range(len(q))]
    gone = [lot for lot in order if gen.random() < p]
    dead = {id(x) for x in gone}
    for lot in order:
        if id(lot) not in dead:
            q.append(lot)
    return gone


def _strike_station(
    ctx: Context, st: Station, gen: np.random.Generator, p: float, lost_row: Callable[[Lot], None]
) -> None:
    """Destroy lots in the station's queue and in service (each with probability ``p``)."""
    capped = st.cap != math.inf
    # waiting for a server, in queue order (each lot of a per-vehicle job on its own)
    order = [st.queue.popleft() for _ in range(len(st.queue))]
    for first in order:
        job = st.jobs.pop(first.id, None) or [first]
        alive = []
        for lot in job:
            if gen.random() < p:
                lost_row(lot)
                if capped:
                    st.release()
            else:
                alive.append(lot)
        if alive:
            st.queue_job(alive)
    # in service, in order of start
    ins = st.in_service
    if ins is None:  # the station was not built to lose lots (no lossy disruption targets it)
        return
    for first in list(ins.values()):
        job = st.jobs.get(first.id) or [first]
        doomed = [gen.random() < p for _ in job]
        if not any(doomed):
            continue
        whole = all(doomed)
        weight = 1.0 if whole else 0.0
        for lot, dead in zip(job, doomed, strict=True):
            if not dead:
                continue
            ctx.put(ctx.log.code(SERVICE_FINISHED, item=lot.item, node=st.node), lot.id, lot.qty, -1, lot.req, weight)
            weight = 0.0
            lost_row(lot)
            if capped:
                st.release()
        if whole:  # the job is gone: its server is free now; its service event fires for nothing
            st.busy -= 1
            del ins[first.id]
            st.jobs.pop(first.id, None)
            first.callbacks = [st._ended]
    st._start_next()
