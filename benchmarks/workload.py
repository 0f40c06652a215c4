"""Synthetic workloads of the benchmarks: the ``core`` supply chain and the older ``synthetic`` one.

``core``: the benchmark of the simulation core, built so that the *same* model can be written
in plain SimPy (``benchmarks/reference_simpy.py``)::

    supplier_i --link--> hub_(i % hubs) --link--> border --link--> depot --link--> unit_u

- ``suppliers`` suppliers, each making its own item (``box<i>``) at a fixed rate — one lot
  every ``suppliers / lots_per_day`` days, back to back, from day 0 (domestic contracts: no
  funding, no tender);
- ``hubs`` hubs, one border crossing and one depot, each with ``servers`` servers and
  exponential service times sized for utilisation ``rho``; FIFO queues;
- links with immediate dispatch, exponential transit (mean ``transit_days``), a fixed return
  time, vehicles of exactly one lot, and so many of them that a lot never waits for one
  (plain SimPy therefore models a link as a delay);
- each supplier's lots go, ``LOTS_PER_REQUIREMENT`` at a time, to the units in turn.

The full event log is kept: 31 rows per lot (lot_produced; per link queued, loaded,
departed, arrived, returned; per station queued, service_started, service_finished;
delivered) plus a few rows per requirement.

``synthetic``: the older generator (an agency splitting requirements across suppliers,
vehicles of 20 lots) kept for the ``core-build`` group and for comparisons with earlier runs.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

from scenarios.schema import Scenario

__all__ = ["LOTS_PER_REQUIREMENT", "START", "CoreSpec", "core_scenario", "synthetic"]

START = dt.date(2025, 1, 1)
LOTS_PER_REQUIREMENT = 1000
"""Lots per requirement of the core workload (the units take turns by requirement)."""

UNIT_M3 = 0.01


@dataclass(frozen=True)
class CoreSpec:
    """Parameters of the ``core`` workload (one plain-data spec for aidflow and plain SimPy)."""

    suppliers: int = 4
    hubs: int = 2
    units: int = 4
    lots: int = 100_000
    lot_size: int = 1
    lots_per_day: float = 1000.0
    servers: int = 4
    rho: float = 0.75
    transit_days: float = 0.5
    return_days: float = 0.25
    seed: int = 1

    def __post_init__(self) -> None:
        if self.lots % self.suppliers:
            raise ValueError("lots must be a multiple of suppliers")

    # ------------------------------------------------------------------ derived numbers

    @property
    def hub_count(self) -> int:
        """Hubs in use (at most one per supplier)."""
        return min(self.hubs, self.suppliers)

    @property
    def rate_per_day(self) -> float:
        """Units a day of each supplier's line."""
        return self.lots_per_day / self.suppliers * self.lot_size

    @property
    def production_days(self) -> float:
        """Days to make one lot (``lot_size / rate``, as the engine computes it)."""
        return self.lot_size / self.rate_per_day

    def hub_of(self, supplier: int) -> int:
        """The hub supplier ``supplier`` ships to."""
        return supplier % self.hub_count

    def hub_lots_per_day(self, hub: int) -> float:
        """Lots a day through ``hub``."""
        n = sum(1 for i in range(self.suppliers) if self.hub_of(i) == hub)
        return self.lots_per_day * n / self.suppliers

    def service_days(self, lots_per_day: float) -> float:
        """Mean service time giving utilisation ``rho`` with ``servers`` servers."""
        return self.rho * self.servers / lots_per_day

    def vehicles(self, lots_per_day: float) -> int:
        """Vehicles so many that none is ever missed (mean in use x 3 + 50, at most 100,000)."""
        return min(100_000, math.ceil(3 * lots_per_day * (self.transit_days + self.return_days)) + 50)

    def requirements(self) -> list[tuple[int, int, int]]:
        """``(supplier, unit, lots)`` per requirement, in the order suppliers serve them."""
        per = self.lots // self.suppliers
        out = []
        for i in range(self.suppliers):
            left, j = per, 0
            while left > 0:
                n = min(LOTS_PER_REQUIREMENT, left)
                out.append((i, (i + j) % self.units, n))
                left -= n
                j += 1
        return out

    def horizon_days(self) -> float:
        """Production time plus ample time to drain."""
        return math.ceil(self.lots / self.lots_per_day * 1.05 + 30)

    def as_dict(self) -> dict[str, Any]:
        """The spec as plain data (for ``extra_info`` and JSON)."""
        return asdict(self)


def core_scenario(spec: CoreSpec) -> Scenario:
    """The ``core`` workload as an aidflow scenario (see the module docstring)."""
    lot_m3 = UNIT_M3 * spec.lot_size
    exp = {"dist": "exponential", "mean": spec.transit_days}
    sup = [f"sup{i}" for i in range(spec.suppliers)]
    hubs = [f"hub{h}" for h in range(spec.hub_count)]
    units = [f"unit{u}" for u in range(spec.units)]

    def station(nid: str, kind: str, lots_per_day: float) -> dict[str, Any]:
        return {
            "id": nid,
            "kind": kind,
            "servers": spec.servers,
            "service_days": {"dist": "exponential", "mean": spec.service_days(lots_per_day)},
        }

    def link(a: str, b: str, lots_per_day: float) -> dict[str, Any]:
        return {
            "id": f"{a}_{b}",
            "from": a,
            "to": b,
            "mode": "road",
            "transit_days": exp,
            "return_days": spec.return_days,
            "vehicles": spec.vehicles(lots_per_day),
            "capacity_m3": lot_m3,
        }

    nodes: list[dict[str, Any]] = [
        {
            "id": s,
            "kind": "supplier",
            "domestic": True,
            "products": [{"item": f"box{i}", "rate_per_day": spec.rate_per_day, "unit_price_eur": 1.0}],
        }
        for i, s in enumerate(sup)
    ]
    nodes.append({"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"})  # pays them
    nodes += [station(h, "hub", spec.hub_lots_per_day(k)) for k, h in enumerate(hubs)]
    nodes += [station("border", "border", spec.lots_per_day), station("depot", "depot", spec.lots_per_day)]
    nodes += [{"id": u, "kind": "unit"} for u in units]
    per_sup = spec.lots_per_day / spec.suppliers
    links = [link(s, hubs[spec.hub_of(i)], per_sup) for i, s in enumerate(sup)]
    links += [link(h, "border", spec.hub_lots_per_day(k)) for k, h in enumerate(hubs)]
    links += [link("border", "depot", spec.lots_per_day)]
    links += [link("depot", u, spec.lots_per_day / spec.units) for u in units]
    need_by = START + dt.timedelta(days=int(spec.horizon_days()) - 1)  # the last whole day the run covers
    requirements = [
        {
            "id": f"R{k}",
            "unit": units[u],
            "item": f"box{i}",
            "qty": n * spec.lot_size,
            "need_by": need_by,
            "channel": "domestic",
        }
        for k, (i, u, n) in enumerate(spec.requirements())
    ]
    return Scenario.model_validate(
        {
            "name": f"core_{spec.lots}x{spec.lot_size}",
            "start": START,
            "horizon_days": spec.horizon_days(),
            "seed": spec.seed,
            "items": [
                {"id": f"box{i}", "unit_value_eur": 1.0, "volume_m3": UNIT_M3, "lot_size": spec.lot_size}
                for i in range(spec.suppliers)
            ],
            "nodes": nodes,
            "links": links,
            "requirements": requirements,
        }
    )


# --------------------------------------------------------------------------- the older generator

PRODUCTION_DAYS = 20.0
LOTS_PER_VEHICLE = 20
SYNTHETIC_LOTS_PER_REQUIREMENT = 100


def _servers(lots_per_day: float, service_days: float) -> int:
    """Servers for twice the offered load (utilisation about 0.5)."""
    return max(1, math.ceil(2 * lots_per_day * service_days))


def _vehicles(lots_per_day: float, round_trip_days: float) -> int:
    """Vehicles for twice the offered load of full vehicles."""
    return max(1, math.ceil(2 * lots_per_day * round_trip_days / LOTS_PER_VEHICLE))


def synthetic(suppliers: int, hubs: int, units: int, lots: int, lot_size: int) -> Scenario:
    """A synthetic supply chain making exactly ``lots`` lots of ``lot_size`` units (agency, split awards).

    Suppliers -> a layer of hubs -> one border -> one depot -> units, immediate dispatch
    everywhere, one rich donor and an agency that splits every requirement across the
    suppliers, vehicles of 20 lots; capacities are sized from the production rate so that the
    whole flow completes well within the horizon.
    """
    volume_m3 = 0.01
    lot_m3 = volume_m3 * lot_size
    per_day = lots / PRODUCTION_DAYS
    transit, back = 0.5, 0.5

    def link(lid: str, a: str, b: str, lots_per_day: float) -> dict[str, Any]:
        return {
            "id": lid,
            "from": a,
            "to": b,
            "mode": "road",
            "transit_days": transit,
            "return_days": back,
            "vehicles": _vehicles(lots_per_day, transit + back),
            "capacity_m3": lot_m3 * LOTS_PER_VEHICLE,
        }

    def station(nid: str, kind: str, lots_per_day: float, service_days: float) -> dict[str, Any]:
        return {"id": nid, "kind": kind, "servers": _servers(lots_per_day, service_days), "service_days": service_days}

    sup_ids = [f"sup{i}" for i in range(suppliers)]
    hub_ids = [f"hub{i}" for i in range(min(hubs, suppliers))]
    unit_ids = [f"unit{i}" for i in range(units)]
    rate = lots * lot_size / (suppliers * PRODUCTION_DAYS)
    nodes: list[dict[str, Any]] = [
        {"id": "donor", "kind": "donor", "budget_eur": 1e12},
        {"id": "agency", "kind": "agency", "staff": 4, "tender_days": 1.0, "award_policy": "split"},
    ]
    nodes += [
        {"id": s, "kind": "supplier", "products": [{"item": "box", "rate_per_day": rate, "unit_price_eur": 1.0}]}
        for s in sup_ids
    ]
    hub_load = {
        h: per_day * sum(1 for i in range(suppliers) if i % len(hub_ids) == k) / suppliers
        for k, h in enumerate(hub_ids)
    }
    nodes += [station(h, "hub", hub_load[h], 0.01) for h in hub_ids]
    nodes += [station("border", "border", per_day, 0.005), station("depot", "depot", per_day, 0.005)]
    nodes += [{"id": u, "kind": "unit"} for u in unit_ids]
    links = [
        link(f"{s}_{hub_ids[i % len(hub_ids)]}", s, hub_ids[i % len(hub_ids)], per_day / suppliers)
        for i, s in enumerate(sup_ids)
    ]
    links += [link(f"{h}_border", h, "border", hub_load[h]) for h in hub_ids]
    links += [link("border_depot", "border", "depot", per_day)]
    links += [link(f"depot_{u}", "depot", u, per_day / units) for u in unit_ids]
    n_req = math.ceil(lots / SYNTHETIC_LOTS_PER_REQUIREMENT)
    requirements = [
        {
            "id": f"R{k}",
            "unit": unit_ids[k % units],
            "item": "box",
            "qty": SYNTHETIC_LOTS_PER_REQUIREMENT * lot_size,
            "need_by": START + dt.timedelta(days=30),
            "funders": ["donor"],
        }
        for k in range(n_req)
    ]
    return Scenario.model_validate(
        {
            "name": f"synthetic_{lots}x{lot_size}",
            "start": START,
            "horizon_days": 60,
            "seed": 1,
            "items": [{"id": "box", "unit_value_eur": 1.0, "volume_m3": volume_m3, "lot_size": lot_size}],
            "nodes": nodes,
            "links": links,
            "requirements": requirements,
        }
    )
