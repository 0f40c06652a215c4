"""The ``ftl`` workload: Poisson lots, three busy multi-server stations, a full-truck-load leg, single-clerk last miles.

Built so that the *same* model can be written in plain SimPy (``benchmarks/reference_ftl.py``)::

    supplier --> hub --> border ==FTL==> depot --clerk--> unit_u          (u = 0 .. units-1)

- one supplier makes one item per unit (``box<u>`` for ``unit<u>``); each of its lines has
  ``lot_time: exponential`` and is never idle (all requirements are awarded at day 0,
  domestic, paid by the state budget), so each line releases lots as a Poisson process of rate
  ``lots_per_day / units`` and all together as one of rate ``lots_per_day``
  (``scenarios/LANGUAGE.md``, "Production"). This is how the language expresses Poisson
  arrivals of lots; a requirement stream would make Poisson *requirements* instead, at 2-2.6x
  the cost per lot. One line per unit mixes the units on every truck (one line working through
  one unit's requirement at a time would fill whole trucks for one clerk);
- hub, border and depot have ``servers`` servers each, exponential service sized for
  utilisation ``rho``, FIFO queues;
- supplier -> hub and hub -> border: immediate dispatch, exponential transit, so many one-lot
  vehicles that none is waited for (pure delays, as in the ``core`` workload);
- border -> depot: ``dispatch: full`` with ``trucks`` trucks of ``truck_lots`` lots, exponential
  transit (mean ``truck_transit_days``) and a fixed return (``truck_return_days``). A truck
  starts loading when a lot waits and a truck is free, leaves the moment it holds
  ``truck_lots`` lots or ``max_wait_days`` after it started loading, with what it holds
  (``sim/model/transport_dispatch.py``). The fleet's utilisation is ``truck_rho`` (``truck_lots`` is
  sized from it);
- depot -> unit_u: one vehicle of one lot (a single clerk): exponential transit, fixed return,
  sized so that the clerk is busy ``clerk_rho`` of the time;
- each unit's lots come in requirements of ``LOTS_PER_REQUIREMENT`` lots.

Rows per lot: 29 (lot_produced; per one-lot link queued, loaded, departed, arrived, returned;
on the truck leg queued, loaded, arrived; per station queued, service_started,
service_finished; delivered), plus one departed and one returned row per truck trip and the
requirement rows.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.workload import START, UNIT_M3
from scenarios.schema import Scenario

__all__ = ["LOTS_PER_REQUIREMENT", "FtlSpec", "ftl_scenario"]

LOTS_PER_REQUIREMENT = 1000
"""Lots per requirement (each unit's line works through its requirements in turn)."""


@dataclass(frozen=True)
class FtlSpec:
    """Parameters of the ``ftl`` workload (one plain-data spec for aidflow and plain SimPy)."""

    lots: int = 100_000
    units: int = 5
    lots_per_day: float = 1000.0
    servers: int = 4
    rho: float = 0.78
    transit_days: float = 0.5
    trucks: int = 4
    truck_transit_days: float = 2.0
    truck_return_days: float = 2.0
    truck_rho: float = 0.8
    max_wait_days: float = 3.0
    clerk_rho: float = 0.78
    clerk_return_share: float = 0.25
    lots_per_requirement: int = LOTS_PER_REQUIREMENT
    seed: int = 1

    def __post_init__(self) -> None:
        if self.lots % self.units:
            raise ValueError("lots must be a multiple of units")

    # ------------------------------------------------------------------ derived numbers

    @property
    def production_days(self) -> float:
        """Mean days for one unit's line to make one lot (lot size 1)."""
        return self.units / self.lots_per_day

    @property
    def service_days(self) -> float:
        """Mean service time giving utilisation ``rho`` with ``servers`` servers at ``lots_per_day``."""
        return self.rho * self.servers / self.lots_per_day

    @property
    def truck_lots(self) -> int:
        """Lots a truck holds: the fleet carries ``lots_per_day / truck_rho`` on full round trips."""
        round_trip = self.truck_transit_days + self.truck_return_days
        return max(1, math.ceil(self.lots_per_day * round_trip / (self.trucks * self.truck_rho)))

    @property
    def clerk_round_trip_days(self) -> float:
        """Mean round trip of a last-mile clerk: busy ``clerk_rho`` of the time at ``lots_per_day / units``."""
        return self.clerk_rho * self.units / self.lots_per_day

    @property
    def clerk_transit_days(self) -> float:
        """Mean transit (exponential) of a last-mile trip."""
        return self.clerk_round_trip_days * (1.0 - self.clerk_return_share)

    @property
    def clerk_return_days(self) -> float:
        """Return (fixed) of a last-mile trip."""
        return self.clerk_round_trip_days * self.clerk_return_share

    def vehicles(self) -> int:
        """One-lot vehicles so many that none is ever missed on the feeder links."""
        return min(100_000, math.ceil(3 * self.lots_per_day * (self.transit_days + 0.25)) + 50)

    def requirements(self) -> list[tuple[int, int]]:
        """``(unit, lots)`` per requirement, unit by unit, each unit's in the order its line serves them."""
        out = []
        for u in range(self.units):
            left = self.lots // self.units
            while left > 0:
                n = min(self.lots_per_requirement, left)
                out.append((u, n))
                left -= n
        return out

    def horizon_days(self) -> float:
        """Production time plus ample time to drain."""
        return float(math.ceil(self.lots / self.lots_per_day * 1.1 + 40 + 3 * self.max_wait_days))

    def as_dict(self) -> dict[str, Any]:
        """The spec as plain data (for JSON)."""
        return asdict(self)


def ftl_scenario(spec: FtlSpec) -> Scenario:
    """The ``ftl`` workload as an aidflow scenario (see the module docstring)."""
    exp = {"dist": "exponential", "mean": spec.transit_days}
    units = [f"unit{u}" for u in range(spec.units)]

    def station(nid: str, kind: str) -> dict[str, Any]:
        return {
            "id": nid,
            "kind": kind,
            "servers": spec.servers,
            "service_days": {"dist": "exponential", "mean": spec.service_days},
        }

    def feeder(a: str, b: str) -> dict[str, Any]:
        return {
            "id": f"{a}_{b}",
            "from": a,
            "to": b,
            "mode": "road",
            "transit_days": exp,
            "return_days": 0.25,
            "vehicles": spec.vehicles(),
            "capacity_m3": UNIT_M3,
        }

    nodes: list[dict[str, Any]] = [
        {
            "id": "sup",
            "kind": "supplier",
            "domestic": True,
            "products": [
                {
                    "item": f"box{u}",
                    "rate_per_day": spec.lots_per_day / spec.units,
                    "unit_price_eur": 1.0,
                    "lot_time": "exponential",
                }
                for u in range(spec.units)
            ],
        },
        {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
        station("hub", "hub"),
        station("border", "border"),
        station("depot", "depot"),
    ]
    nodes += [{"id": u, "kind": "unit"} for u in units]
    links = [feeder("sup", "hub"), feeder("hub", "border")]
    links.append(
        {
            "id": "border_depot",
            "from": "border",
            "to": "depot",
            "mode": "road",
            "transit_days": {"dist": "exponential", "mean": spec.truck_transit_days},
            "return_days": spec.truck_return_days,
            "vehicles": spec.trucks,
            "capacity_m3": UNIT_M3 * spec.truck_lots,
            "dispatch": {"rule": "full", "max_wait_days": spec.max_wait_days},
        }
    )
    links += [
        {
            "id": f"depot_{u}",
            "from": "depot",
            "to": u,
            "mode": "road",
            "transit_days": {"dist": "exponential", "mean": spec.clerk_transit_days},
            "return_days": spec.clerk_return_days,
            "vehicles": 1,
            "capacity_m3": UNIT_M3,
        }
        for u in units
    ]
    need_by = START + dt.timedelta(days=int(spec.horizon_days()) - 1)
    requirements = [
        {"id": f"R{k}", "unit": units[u], "item": f"box{u}", "qty": n, "need_by": need_by, "channel": "domestic"}
        for k, (u, n) in enumerate(spec.requirements())
    ]
    return Scenario.model_validate(
        {
            "name": f"ftl_{spec.lots}",
            "start": START,
            "horizon_days": spec.horizon_days(),
            "seed": spec.seed,
            "items": [
                {"id": f"box{u}", "unit_value_eur": 1.0, "volume_m3": UNIT_M3, "lot_size": 1} for u in range(spec.units)
            ],
            "nodes": nodes,
            "links": links,
            "requirements": requirements,
        }
    )
