"""The ``core`` workload written as the simplest plain-SimPy model: the baseline of the benchmarks.

One process per lot, one ``simpy.Resource`` per handling station, links as plain delays (the
core workload has so many vehicles that none is ever waited for), no event log::

    def lot(route):
        for stage in route:
            if station: with resource.request() as req: yield req; yield env.timeout(service)
            else:       yield env.timeout(transit)

Each supplier is a source process making one lot every ``spec.production_days`` days for its
requirements in turn, exactly like the aidflow line. Random numbers come from one
``random.Random`` per station and link (the standard library, drawn one at a time, as a
plain model would). The result is each lot's lead time (delivered - produced) and the wall
time of the run.

Run: ``python benchmarks/reference_simpy.py 100000`` prints lots, wall seconds and lots/s.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simpy

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.workload import CoreSpec

__all__ = ["ReferenceResult", "run_reference"]


@dataclass
class ReferenceResult:
    """Lead time of every lot (in completion order), the last completion day and the wall time."""

    lead_days: list[float]
    produced_days: list[float]
    end_day: float
    wall_s: float

    @property
    def lots(self) -> int:
        """Lots delivered."""
        return len(self.lead_days)


def run_reference(spec: CoreSpec, seed: int | None = None) -> ReferenceResult:
    """Simulate ``spec`` in plain SimPy (a process per lot); returns lead times and wall time."""
    t0 = time.perf_counter()
    seed = spec.seed if seed is None else seed
    env = simpy.Environment()
    counter = iter(range(10**6))

    def expo(mean: float) -> Callable[[], float]:
        rnd = random.Random(seed * 1_000_003 + next(counter))
        rate = 1.0 / mean
        return lambda: rnd.expovariate(rate)

    hubs = [
        (simpy.Resource(env, spec.servers), expo(spec.service_days(spec.hub_lots_per_day(h))))
        for h in range(spec.hub_count)
    ]
    border = (simpy.Resource(env, spec.servers), expo(spec.service_days(spec.lots_per_day)))
    depot = (simpy.Resource(env, spec.servers), expo(spec.service_days(spec.lots_per_day)))
    to_hub = [expo(spec.transit_days) for _ in range(spec.suppliers)]
    hub_to_border = [expo(spec.transit_days) for _ in range(spec.hub_count)]
    border_to_depot = expo(spec.transit_days)
    to_unit = [expo(spec.transit_days) for _ in range(spec.units)]

    lead: list[float] = []
    produced: list[float] = []

    def lot(route: list[Any]) -> Generator[simpy.Event, Any, None]:
        start = env.now
        for stage in route:
            if isinstance(stage, tuple):
                resource, service = stage
                with resource.request() as req:
                    yield req
                    yield env.timeout(service())
            else:
                yield env.timeout(stage())
        lead.append(env.now - start)
        produced.append(start)

    def source(i: int, orders: list[tuple[int, int]]) -> Generator[simpy.Event, Any, None]:
        h = spec.hub_of(i)
        every = spec.production_days
        for unit, n in orders:
            route = [to_hub[i], hubs[h], hub_to_border[h], border, border_to_depot, depot, to_unit[unit]]
            for _ in range(n):
                yield env.timeout(every)
                env.process(lot(route))

    orders: dict[int, list[tuple[int, int]]] = {i: [] for i in range(spec.suppliers)}
    for i, u, n in spec.requirements():
        orders[i].append((u, n))
    for i in range(spec.suppliers):
        env.process(source(i, orders[i]))
    env.run()
    return ReferenceResult(lead, produced, float(env.now), time.perf_counter() - t0)


if __name__ == "__main__":  # pragma: no cover
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    res = run_reference(CoreSpec(lots=n))
    print(f"{res.lots} lots  {res.wall_s:.2f} s  {res.lots / res.wall_s:,.0f} lots/s")
