"""Benchmarks of the engine core on a synthetic network (``make bench``; kept out of ``make test``).

``synthetic(suppliers, hubs, units, lots, lot_size)`` builds a scenario in Python: suppliers ->
a layer of hubs -> one border -> one depot -> units, immediate dispatch everywhere, one rich
donor and an agency that splits every requirement across the suppliers, and enough
requirements to make ``lots`` lots. Capacities are sized from the production rate so that the
whole flow completes well within the horizon: the benchmark measures the engine, not a queue.

Two sizes, as design.md section 7.11 asks: small (2,000 lots of 500, "a million drones") and
large (50,000 lots of 1, the lot-size-1 stress). Building (scenario + compiled context) and
running are timed apart. Each run records events/s and lots/s in ``extra_info``.

Run: ``.venv/bin/python -m pytest benchmarks -p no:xdist --benchmark-only``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from scenarios.schema import Scenario
from sim.run import build_context, run

START = dt.date(2025, 1, 1)
PRODUCTION_DAYS = 20.0
LOTS_PER_VEHICLE = 20
LOTS_PER_REQUIREMENT = 100

SIZES = {
    "small": {"suppliers": 4, "hubs": 2, "units": 4, "lots": 2_000, "lot_size": 500},
    "large": {"suppliers": 8, "hubs": 4, "units": 8, "lots": 50_000, "lot_size": 1},
}


def _servers(lots_per_day: float, service_days: float) -> int:
    """Servers for twice the offered load (utilisation about 0.5)."""
    return max(1, math.ceil(2 * lots_per_day * service_days))


def _vehicles(lots_per_day: float, round_trip_days: float) -> int:
    """Vehicles for twice the offered load of full vehicles."""
    return max(1, math.ceil(2 * lots_per_day * round_trip_days / LOTS_PER_VEHICLE))


def synthetic(suppliers: int, hubs: int, units: int, lots: int, lot_size: int) -> Scenario:
    """A synthetic supply chain making exactly ``lots`` lots of ``lot_size`` units.

    Args:
        suppliers: Supplier count; supplier ``i`` ships to hub ``i % hubs``.
        hubs: Hubs in the first handling layer (at most ``suppliers`` are used).
        units: Receiving units, all served from the depot.
        lots: Total lots (rounded up to whole requirements of ``LOTS_PER_REQUIREMENT``).
        lot_size: Units per lot.

    Returns:
        A validated scenario whose every requirement can be filled before the horizon.
    """
    volume_m3 = 0.01
    lot_m3 = volume_m3 * lot_size
    per_day = lots / PRODUCTION_DAYS  # lots a day through the border and the depot
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
    n_req = math.ceil(lots / LOTS_PER_REQUIREMENT)
    requirements = [
        {
            "id": f"R{k}",
            "unit": unit_ids[k % units],
            "item": "box",
            "qty": LOTS_PER_REQUIREMENT * lot_size,
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


@pytest.mark.parametrize("size", list(SIZES))
def test_build(benchmark: Any, size: str) -> None:
    """Scenario generation, validation and compilation into a ready context (no simulation)."""
    benchmark.group = "core-build"
    ctx = benchmark.pedantic(lambda: build_context(synthetic(**SIZES[size])), rounds=3, iterations=1)
    assert len(ctx.requirements) * LOTS_PER_REQUIREMENT >= SIZES[size]["lots"]


@pytest.mark.parametrize("size", list(SIZES))
def test_run(benchmark: Any, size: str) -> None:
    """One replication of the synthetic scenario, start to finish (the log stays in memory)."""
    benchmark.group = "core"
    params = SIZES[size]
    scenario = synthetic(**params)
    rounds = 3 if params["lots"] <= 10_000 else 2
    _log, result = benchmark.pedantic(run, args=(scenario,), rounds=rounds, iterations=1, warmup_rounds=0)
    assert result.status == "completed", (result.status, result.blocked, result.error)
    lots = result.counters["lots_produced"]
    assert lots == math.ceil(params["lots"] / LOTS_PER_REQUIREMENT) * LOTS_PER_REQUIREMENT
    mean, best = benchmark.stats.stats.mean, benchmark.stats.stats.min
    benchmark.extra_info.update(
        {
            "lots": lots,
            "lot_size": params["lot_size"],
            "events": result.rows,
            "events_per_lot": round(result.rows / lots, 2),
            "events_per_s": round(result.rows / mean),
            "lots_per_s": round(lots / mean),
            "events_per_s_best": round(result.rows / best),
            "lots_per_s_best": round(lots / best),
            "end_day": result.end_day,
        }
    )
