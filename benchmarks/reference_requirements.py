"""The ``many_requirements`` workload written as the simplest plain-SimPy model: its benchmark baseline.

One process per requirement stream, per production line, per lot and per disruption; a
``simpy.Resource`` per station; links as plain delays (so many vehicles that none is waited
for); no event log::

    stream(u, i): every exponential gap until the end of the arrivals: heappush(orders[i], (priority, n, order))
    line(i):      while True: take the most urgent order; timeout(lot work / rate); spawn lot(unit)
    lot(unit):    timeout(transit); hub; timeout(transit); border (a closed border serves no one);
                  wait while the border -> depot link is cut; timeout(transit); depot;
                  timeout(last mile); delivered

A closed border: a lot that gets a server waits for the border to reopen before its service
starts (service under way when it closes finishes), which is aidflow's "no service starts".
A cut link: a lot waits at the border for the reopening, then leaves.

The result is each lot's lead time from its *requirement's opening* to its delivery (so the
lines' priority queues count), and the wall time.

Run: ``python benchmarks/reference_requirements.py 100000`` prints lots, wall seconds and lots/s.
"""

from __future__ import annotations

import heapq
import random
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import simpy

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.reference_simpy import ReferenceResult
from benchmarks.workloads_requirements import RequirementsSpec

__all__ = ["run_reference_requirements"]


class Gate:
    """Open or closed; while closed, ``reopen`` is the event that fires when it opens again."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.reopen: simpy.Event | None = None

    def close(self) -> None:
        """Close (a disruption starts; the workload's closures of one target never overlap)."""
        if self.reopen is not None:
            raise ValueError("overlapping closures")
        self.reopen = self.env.event()

    def open(self) -> None:
        """Open (the disruption ends): everyone waiting goes on."""
        ev, self.reopen = self.reopen, None
        if ev is not None:
            ev.succeed()


def run_reference_requirements(
    spec: RequirementsSpec, seed: int | None = None, time_scale: float = 1.0
) -> ReferenceResult:
    """Simulate ``spec`` in plain SimPy; ``time_scale`` stretches every service and transit (tests)."""
    t0 = time.perf_counter()
    seed = spec.seed if seed is None else seed
    env = simpy.Environment()
    counter = iter(range(10**6))

    def expo(mean: float, scale: float = time_scale) -> Callable[[], float]:
        rnd = random.Random(seed * 1_000_003 + next(counter))
        rate = 1.0 / (mean * scale)
        return lambda: rnd.expovariate(rate)

    hubs = [
        (simpy.Resource(env, spec.servers), expo(spec.service_days(spec.hub_lots_per_day(h))))
        for h in range(spec.hub_count)
    ]
    border = simpy.Resource(env, spec.servers)
    border_service = expo(spec.service_days(spec.lots_per_day))
    depot = (simpy.Resource(env, spec.servers), expo(spec.service_days(spec.lots_per_day)))
    to_hub = [expo(spec.transit_days) for _ in range(spec.items)]
    hub_to_border = [expo(spec.transit_days) for _ in range(spec.hub_count)]
    border_to_depot = expo(spec.transit_days)
    last_mile = [expo(spec.last_mile_days(u)) for u in range(spec.units)]
    border_gate = Gate(env)
    link_gate = Gate(env)
    orders: list[list[tuple[int, int, list[Any]]]] = [[] for _ in range(spec.items)]
    wake: list[simpy.Event | None] = [None] * spec.items
    seq = iter(range(10**9))

    lead: list[float] = []
    produced: list[float] = []

    def station(st: tuple[simpy.Resource, Callable[[], float]]) -> Generator[simpy.Event, Any, None]:
        resource, draw = st
        with resource.request() as req:
            yield req
            yield env.timeout(draw())

    def lot(item: int, unit: int, opened: float) -> Generator[simpy.Event, Any, None]:
        start = env.now
        h = spec.hub_of(item)
        yield env.timeout(to_hub[item]())
        yield from station(hubs[h])
        yield env.timeout(hub_to_border[h]())
        with border.request() as req:
            yield req
            while border_gate.reopen is not None:
                yield border_gate.reopen
            yield env.timeout(border_service())
        while link_gate.reopen is not None:
            yield link_gate.reopen
        yield env.timeout(border_to_depot())
        yield from station(depot)
        yield env.timeout(last_mile[unit]())
        lead.append(env.now - opened)
        produced.append(start)

    def line(item: int) -> Generator[simpy.Event, Any, None]:
        work = expo(spec.lot_size / spec.rate_per_day, 1.0)
        heap = orders[item]
        while True:
            while not heap:
                w = wake[item] = env.event()
                yield w
            order = heap[0][2]  # [unit, lots left, opened]
            yield env.timeout(work())
            order[1] -= 1
            if order[1] == 0:  # done: drop it (a more urgent order may have come in while the lot was made)
                if heap[0][2] is order:
                    heapq.heappop(heap)
                else:
                    heap[:] = [o for o in heap if o[2] is not order]
                    heapq.heapify(heap)
            env.process(lot(item, order[0], order[2]))

    def stream(unit: int, item: int) -> Generator[simpy.Event, Any, None]:
        gap = expo(spec.mean_gap_days, 1.0)
        end = float(spec.arrival_days)
        prio = spec.priority(unit)
        heap = orders[item]
        t = gap()
        while t < end:
            yield env.timeout(t - env.now)
            heapq.heappush(heap, (prio, next(seq), [unit, spec.lots_per_requirement, env.now]))
            w = wake[item]
            if w is not None and not w.triggered:
                w.succeed()
            t += gap()

    def outage(gate: Gate, day: float, days: float) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(day)
        gate.close()
        yield env.timeout(days)
        gate.open()

    for u in range(spec.units):
        for i in range(spec.items):
            env.process(stream(u, i))
    for i in range(spec.items):
        env.process(line(i))
    for d in spec.closures():
        env.process(outage(border_gate, d, spec.closure_days))
    for d in spec.outages():
        env.process(outage(link_gate, d, spec.outage_days))
    env.run()
    return ReferenceResult(lead, produced, float(env.now), time.perf_counter() - t0)


if __name__ == "__main__":  # pragma: no cover
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    res = run_reference_requirements(RequirementsSpec(lots=n))
    print(f"{res.lots} lots  {res.wall_s:.2f} s  {res.lots / res.wall_s:,.0f} lots/s")
