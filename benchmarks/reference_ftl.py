"""The ``ftl`` workload written as the simplest plain-SimPy model: the baseline of the ``ftl`` benchmark.

One process per lot, one ``simpy.Resource`` per station and per last-mile clerk, feeder links
as plain delays, and one dispatcher process for the full-truck-load leg, no event log::

    lot:  timeout(transit); hub; timeout(transit); border; wait for a truck to carry it to the
          depot; depot; clerk.request(); timeout(transit); delivered; timeout(return); release
    trucks: while True: wait for a waiting lot and a free truck; load what waits (up to the
          truck's lots); until full or max_wait_days after loading began, load each lot that
          comes; send it (a process: transit, wake its lots, return, free the truck)

One source per unit makes its lots as a Poisson process (exponential gaps of mean
``spec.production_days``), like the aidflow line of the unit's item with
``lot_time: exponential``. Random numbers come from one ``random.Random`` per station, link
and the source. The result is each lot's lead time (delivered - produced).

Run: ``python benchmarks/reference_ftl.py 100000`` prints lots, wall seconds and lots/s.
"""

from __future__ import annotations

import random
import sys
import time
from collections import deque
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import simpy

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.reference_simpy import ReferenceResult
from benchmarks.workloads_ftl import FtlSpec

__all__ = ["run_reference_ftl"]


def run_reference_ftl(spec: FtlSpec, seed: int | None = None, time_scale: float = 1.0) -> ReferenceResult:
    """Simulate ``spec`` in plain SimPy; lots, lead times and wall time.

    ``time_scale`` stretches every service, transit and return (not production): the
    deliberately slower system of the equivalence test's sensitivity check.
    """
    t0 = time.perf_counter()
    seed = spec.seed if seed is None else seed
    env = simpy.Environment()
    counter = iter(range(10**6))

    def expo(mean: float, scale: float = time_scale) -> Callable[[], float]:
        rnd = random.Random(seed * 1_000_003 + next(counter))
        rate = 1.0 / (mean * scale)
        return lambda: rnd.expovariate(rate)

    service = spec.service_days
    hub = (simpy.Resource(env, spec.servers), expo(service))
    border = (simpy.Resource(env, spec.servers), expo(service))
    depot = (simpy.Resource(env, spec.servers), expo(service))
    to_hub = expo(spec.transit_days)
    to_border = expo(spec.transit_days)
    truck_transit = expo(spec.truck_transit_days)
    clerks = [(simpy.Resource(env, 1), expo(spec.clerk_transit_days)) for _ in range(spec.units)]
    clerk_back = spec.clerk_return_days * time_scale
    truck_back = spec.truck_return_days * time_scale

    lead: list[float] = []
    produced: list[float] = []
    waiting: deque[simpy.Event] = deque()  # lots at the border waiting for a truck (their wake-up events)
    trucks = simpy.Resource(env, spec.trucks)
    cap = spec.truck_lots
    arrived: list[simpy.Event | None] = [None]  # the dispatcher's wake-up when a lot arrives

    def station(st: tuple[simpy.Resource, Callable[[], float]]) -> Generator[simpy.Event, Any, None]:
        resource, draw = st
        with resource.request() as req:
            yield req
            yield env.timeout(draw())

    def lot(unit: int) -> Generator[simpy.Event, Any, None]:
        start = env.now
        yield env.timeout(to_hub())
        yield from station(hub)
        yield env.timeout(to_border())
        yield from station(border)
        ride = env.event()
        waiting.append(ride)
        wake = arrived[0]
        if wake is not None and not wake.triggered:
            wake.succeed()
        yield ride
        yield from station(depot)
        clerk, transit = clerks[unit]
        req = clerk.request()
        yield req
        yield env.timeout(transit())
        lead.append(env.now - start)
        produced.append(start)
        yield env.timeout(clerk_back)
        clerk.release(req)

    def trip(load: list[simpy.Event], req: simpy.resources.resource.Request) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(truck_transit())
        for ride in load:
            ride.succeed()
        yield env.timeout(truck_back)
        trucks.release(req)

    def dispatcher() -> Generator[simpy.Event, Any, None]:
        while True:
            while not waiting:
                wake = arrived[0] = env.event()
                yield wake
            req = trucks.request()
            yield req
            load = [waiting.popleft() for _ in range(min(cap, len(waiting)))]
            deadline = env.now + spec.max_wait_days
            while len(load) < cap and env.now < deadline:
                wake = arrived[0] = env.event()
                yield wake | env.timeout(deadline - env.now)
                while waiting and len(load) < cap:
                    load.append(waiting.popleft())
            arrived[0] = None
            env.process(trip(load, req))

    def source(unit: int, lots: int) -> Generator[simpy.Event, Any, None]:
        make = expo(spec.production_days, 1.0)
        for _ in range(lots):
            yield env.timeout(make())
            env.process(lot(unit))

    per_unit = [0] * spec.units
    for unit, n in spec.requirements():
        per_unit[unit] += n
    for unit, n in enumerate(per_unit):
        env.process(source(unit, n))
    env.process(dispatcher())
    env.run()
    return ReferenceResult(lead, produced, float(env.now), time.perf_counter() - t0)


if __name__ == "__main__":  # pragma: no cover
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    res = run_reference_ftl(FtlSpec(lots=n))
    print(f"{res.lots} lots  {res.wall_s:.2f} s  {res.lots / res.wall_s:,.0f} lots/s")
