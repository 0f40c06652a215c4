"""The ``many_requirements`` workload: thousands of requirements from Poisson streams, priority lines, closures.

Built so that the *same* model can be written in plain SimPy
(``benchmarks/reference_requirements.py``)::

    supplier_i --> hub_(i % hubs) --> border --> depot --> unit_u     (items i, units u)

- ``items`` items, each made by its own domestic supplier on one line with
  ``lot_time: exponential`` at a rate for line utilisation ``line_rho``; lots of ``lot_size``
  units;
- one requirement stream per (unit, item): Poisson arrivals (exponential gaps) from day 0 to
  the end of the ``until`` date, each arrival a requirement of ``lots_per_requirement`` lots
  with its own need-by date ``need_within_days`` after it opens, priority ``3 + 2 * (u % 3)``
  (so the lines serve units 0 and 3 first, then 1 and 4, then 2), domestic channel paid by an
  unlimited state budget (awarded at once to the item's line). About ``lots /
  lots_per_requirement`` requirements in all (2,000 at 10^4 lots, 200,000 at 10^6);
- each line works on one lot at a time for its most urgent order (priority, then award order);
- hubs, border and depot: ``servers`` servers, exponential service for utilisation ``rho``
  (before closures), FIFO; every link immediate, one-lot vehicles so many that none is waited
  for, exponential transit (mean ``transit_days``; the last mile to unit u ``0.2 + 0.1 u`` days);
- disruptions, all scheduled, capacity factor 0: the border closes for
  ``closure_days`` every ``closure_every_days`` days from day ``closure_first_day`` (work under
  way finishes, no service starts), and the border -> depot link stops departures for
  ``outage_days`` every ``outage_every_days`` days from day ``outage_first_day``.

Agency and bilateral channels (funding waits, tenders, awards across suppliers) are left out:
their plain-SimPy model would be a second implementation of procurement, not a baseline.

The log keeps 31 rows per lot (as ``core``) plus four per requirement (requirement_opened,
funds_committed, contract_awarded, requirement_filled) and two per disruption.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.workload import START
from scenarios.schema import Scenario

__all__ = ["RequirementsSpec", "requirements_scenario"]


@dataclass(frozen=True)
class RequirementsSpec:
    """Parameters of the ``many_requirements`` workload (one plain-data spec for aidflow and plain SimPy)."""

    lots: int = 100_000
    """Expected lots (the streams are random: the run makes about this many)."""
    items: int = 3
    hubs: int = 2
    units: int = 5
    lots_per_day: float = 1000.0
    lots_per_requirement: int = 5
    lot_size: int = 10
    line_rho: float = 0.8
    servers: int = 4
    rho: float = 0.7
    transit_days: float = 0.5
    need_within_days: float = 14.0
    closure_first_day: int = 3
    closure_every_days: int = 7
    closure_days: float = 0.5
    outage_first_day: int = 5
    outage_every_days: int = 11
    outage_days: float = 0.3
    seed: int = 1

    # ------------------------------------------------------------------ derived numbers

    @property
    def hub_count(self) -> int:
        """Hubs in use (at most one per item's supplier)."""
        return min(self.hubs, self.items)

    def hub_of(self, item: int) -> int:
        """The hub the supplier of ``item`` ships to."""
        return item % self.hub_count

    def hub_lots_per_day(self, hub: int) -> float:
        """Lots a day through ``hub``."""
        return self.lots_per_day * sum(1 for i in range(self.items) if self.hub_of(i) == hub) / self.items

    def service_days(self, lots_per_day: float) -> float:
        """Mean service time giving utilisation ``rho`` with ``servers`` servers."""
        return self.rho * self.servers / lots_per_day

    @property
    def rate_per_day(self) -> float:
        """Units a day of each line (utilisation ``line_rho``)."""
        return self.lots_per_day / self.items * self.lot_size / self.line_rho

    @property
    def mean_gap_days(self) -> float:
        """Mean days between two requirements of one (unit, item) stream."""
        return self.units * self.items * self.lots_per_requirement / self.lots_per_day

    @property
    def arrival_days(self) -> int:
        """Requirements arrive in ``[0, arrival_days)``: ``lots / lots_per_day`` days."""
        return max(1, round(self.lots / self.lots_per_day))

    def priority(self, unit: int) -> int:
        """Priority of the requirements of ``unit`` (1 most urgent)."""
        return 3 + 2 * (unit % 3)

    def last_mile_days(self, unit: int) -> float:
        """Mean transit from the depot to ``unit``."""
        return 0.2 + 0.1 * unit

    def horizon_days(self) -> float:
        """Arrivals plus ample time to drain."""
        return float(math.ceil(self.arrival_days * 1.1 + 40 + self.need_within_days))

    def closures(self) -> list[float]:
        """Days the border closes."""
        return [float(d) for d in range(self.closure_first_day, int(self.horizon_days()), self.closure_every_days)]

    def outages(self) -> list[float]:
        """Days the border -> depot link stops."""
        return [float(d) for d in range(self.outage_first_day, int(self.horizon_days()), self.outage_every_days)]

    def vehicles(self, lots_per_day: float) -> int:
        """Vehicles so many that none is ever missed (backlogs after a closure included)."""
        return min(100_000, math.ceil(4 * lots_per_day * (self.transit_days + 1.0)) + 200)

    def as_dict(self) -> dict[str, Any]:
        """The spec as plain data (for JSON)."""
        return asdict(self)


def requirements_scenario(spec: RequirementsSpec) -> Scenario:
    """The ``many_requirements`` workload as an aidflow scenario (see the module docstring)."""
    unit_m3 = 0.001
    lot_m3 = unit_m3 * spec.lot_size
    sup = [f"sup{i}" for i in range(spec.items)]
    hubs = [f"hub{h}" for h in range(spec.hub_count)]
    units = [f"unit{u}" for u in range(spec.units)]

    def station(nid: str, kind: str, lots_per_day: float) -> dict[str, Any]:
        return {
            "id": nid,
            "kind": kind,
            "servers": spec.servers,
            "service_days": {"dist": "exponential", "mean": spec.service_days(lots_per_day)},
        }

    def link(a: str, b: str, lots_per_day: float, transit_days: float) -> dict[str, Any]:
        return {
            "id": f"{a}_{b}",
            "from": a,
            "to": b,
            "mode": "road",
            "transit_days": {"dist": "exponential", "mean": transit_days},
            "return_days": 0.25,
            "vehicles": spec.vehicles(lots_per_day),
            "capacity_m3": lot_m3,
        }

    nodes: list[dict[str, Any]] = [
        {
            "id": s,
            "kind": "supplier",
            "domestic": True,
            "products": [
                {"item": f"kit{i}", "rate_per_day": spec.rate_per_day, "unit_price_eur": 1.0, "lot_time": "exponential"}
            ],
        }
        for i, s in enumerate(sup)
    ]
    nodes.append({"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"})
    nodes += [station(h, "hub", spec.hub_lots_per_day(k)) for k, h in enumerate(hubs)]
    nodes += [station("border", "border", spec.lots_per_day), station("depot", "depot", spec.lots_per_day)]
    nodes += [{"id": u, "kind": "unit"} for u in units]
    per_item = spec.lots_per_day / spec.items
    per_unit = spec.lots_per_day / spec.units
    links = [link(s, hubs[spec.hub_of(i)], per_item, spec.transit_days) for i, s in enumerate(sup)]
    links += [link(h, "border", spec.hub_lots_per_day(k), spec.transit_days) for k, h in enumerate(hubs)]
    links += [link("border", "depot", spec.lots_per_day, spec.transit_days)]
    links += [link("depot", u, per_unit, spec.last_mile_days(k)) for k, u in enumerate(units)]
    last = START + dt.timedelta(days=int(spec.horizon_days()) - 1)
    until = START + dt.timedelta(days=spec.arrival_days - 1)
    requirements = [
        {
            "id": f"S_{u}_{i}",
            "unit": units[u],
            "item": f"kit{i}",
            "qty": spec.lots_per_requirement * spec.lot_size,
            "need_by": last,
            "priority": spec.priority(u),
            "channel": "domestic",
            "stream": {
                "interarrival_days": {"dist": "exponential", "mean": spec.mean_gap_days},
                "until": until,
                "need_within_days": spec.need_within_days,
            },
        }
        for u in range(spec.units)
        for i in range(spec.items)
    ]
    disruptions = [
        {
            "kind": "scheduled",
            "id": f"close{k}",
            "target": "border",
            "start": START + dt.timedelta(days=int(d)),
            "duration_days": spec.closure_days,
        }
        for k, d in enumerate(spec.closures())
    ]
    disruptions += [
        {
            "kind": "scheduled",
            "id": f"cut{k}",
            "target": "border_depot",
            "start": START + dt.timedelta(days=int(d)),
            "duration_days": spec.outage_days,
        }
        for k, d in enumerate(spec.outages())
    ]
    return Scenario.model_validate(
        {
            "name": f"many_requirements_{spec.lots}",
            "start": START,
            "horizon_days": spec.horizon_days(),
            "seed": spec.seed,
            "items": [
                {"id": f"kit{i}", "unit_value_eur": 1.0, "volume_m3": unit_m3, "lot_size": spec.lot_size}
                for i in range(spec.items)
            ],
            "nodes": nodes,
            "links": links,
            "requirements": requirements,
            "disruptions": disruptions,
        }
    )
