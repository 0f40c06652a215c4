"""``dispatch: full``: a vehicle leaves the moment it holds its capacity (issue 12, item 9).

One supplier releases one 1-m3 lot every day (lot of 10 boxes of 0.1 m3 at 10 boxes a day,
deterministic) onto a link with one 10-m3 truck under ``full`` dispatch (max wait 30 days).
By hand: the truck is full when the 10th lot is loaded, so it departs at that lot's arrival
time with exactly 10 lots — not one day later, when the 11th lot arrives and does not fit.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np

from scenarios.schema import Scenario

START = dt.date(2025, 1, 1)


def scenario(lots: int = 30) -> Scenario:
    d: dict[str, Any] = {
        "name": "full_truck",
        "start": START,
        "horizon_days": 200,
        "seed": 3,
        "items": [{"id": "box", "unit_value_eur": 10, "volume_m3": 0.1, "lot_size": 10, "priority": 5}],
        "nodes": [
            {"id": "sup", "kind": "supplier", "products": [{"item": "box", "rate_per_day": 10, "unit_price_eur": 10}]},
            {"id": "unit", "kind": "unit"},
            {"id": "donor", "kind": "donor", "budget_eur": 1e9},
            {"id": "agency", "kind": "agency", "staff": 1, "tender_days": 1},
        ],
        "links": [
            {
                "id": "truck",
                "from": "sup",
                "to": "unit",
                "mode": "road",
                "transit_days": 2.0,
                "return_days": 2.0,
                "vehicles": 1,
                "capacity_m3": 10.0,
                "dispatch": {"rule": "full", "max_wait_days": 30},
            }
        ],
        "requirements": [
            {"id": "R1", "unit": "unit", "item": "box", "qty": lots * 10, "need_by": START, "funders": ["donor"]}
        ],
    }
    return Scenario.model_validate(copy.deepcopy(d))


def test_full_truck_leaves_at_its_tenth_lot(run_logged: Callable, invariants: Callable, trips: Callable) -> None:
    lg = run_logged(scenario())
    invariants(lg)
    f = lg.frame
    queued = f.t[(f.kind == "queued") & (f.link == "truck")]
    assert np.allclose(np.diff(queued), 1.0)  # one lot a day, by construction
    first = trips(lg)[0]
    assert len(first.lots) == 10 and first.volume_m3 == 10.0
    assert first.t == queued[9]  # the 10th lot's arrival, not the 11th's (queued[10] = queued[9] + 1)


def test_every_full_trip_leaves_when_its_last_lot_is_loaded(
    run_logged: Callable, invariants: Callable, trips: Callable
) -> None:
    """All three trips of 10 lots: each departs at the time of its own 10th loaded row."""
    lg = run_logged(scenario(30))
    invariants(lg)
    f = lg.frame
    out = trips(lg)
    assert [len(d.lots) for d in out] == [10, 10, 10]
    for d in out:
        last_loaded = max(float(f.t[(f.kind == "loaded") & (f.lot == lot)][0]) for lot in d.lots)
        assert d.t == last_loaded, d
