"""A carrier's dispatch kick is scheduled at most once at a time (found by tests/network/test_bounds.py).

Three lines at one supplier, one with stock: the stock lot and the first made lots reach the
hub's outbound link while a kick is pending; an inline dispatch (waiting for a vehicle) used to
clear the "kick pending" flag, so the next lot scheduled the same reusable event again and SimPy
processed it twice (``TypeError: 'NoneType' object is not iterable``).
"""

from __future__ import annotations

import datetime as dt

from scenarios.schema import Scenario
from sim.run import run

START = dt.date(2025, 1, 1)


def three_lines() -> Scenario:
    items = [
        {"id": "i0", "unit_value_eur": 1, "volume_m3": 0.01, "lot_size": 9},
        {"id": "i1", "unit_value_eur": 1, "volume_m3": 0.01, "lot_size": 1},
        {"id": "i2", "unit_value_eur": 1, "volume_m3": 0.01, "lot_size": 1},
    ]
    products = [
        {"item": "i0", "rate_per_day": 36, "unit_price_eur": 1},
        {"item": "i1", "rate_per_day": 1, "unit_price_eur": 1},
        {"item": "i2", "rate_per_day": 1, "unit_price_eur": 1, "initial_stock": 50},
    ]
    road = {"mode": "road", "vehicles": 1, "capacity_m3": 0.09}
    need_by = START + dt.timedelta(days=7)
    return Scenario.model_validate(
        {
            "name": "kick",
            "start": START,
            "horizon_days": 8,
            "items": items,
            "nodes": [
                {"id": "s0", "kind": "supplier", "domestic": True, "products": products},
                {"id": "hub", "kind": "hub", "servers": 1, "service_days": 0.0},
                {"id": "u", "kind": "unit"},
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
            ],
            "links": [
                {"id": "in", "from": "s0", "to": "hub", "transit_days": 0.5, "return_days": 0.5, **road},
                {"id": "out", "from": "hub", "to": "u", "transit_days": 0.2, "return_days": 0.2, **road},
            ],
            "requirements": [
                {"id": f"R{k}", "unit": "u", "item": f"i{k}", "qty": q, "need_by": need_by, "channel": "domestic"}
                for k, q in enumerate([36, 1, 1])
            ],
        }
    )


def test_a_pending_kick_is_not_scheduled_twice() -> None:
    log, result = run(three_lines())
    assert result.status == "completed", result.error
    d = log.table().to_pydict()
    delivered = sum(q for k, q in zip(d["kind"], d["qty"], strict=True) if k == "delivered")
    assert delivered == 36 + 1 + 1
