"""Production is a rate: a lot is finished when the integral of the line's rate reaches its size.

Each case is one supplier line feeding one unit; its lots' ``lot_produced`` times, read back
from the log on disk, are checked against the integral of the rate computed by hand (the
ramp linearly interpolated, a disruption's capacity factor applied from its start to its end,
also in the middle of a lot).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate

from scenarios.schema import Scenario

START = dt.date(2025, 1, 1)
Runner = Any
"""The ``run_logged`` fixture of ``tests/sim/conftest.py``."""


def line_scenario(
    lot: int,
    lots: int,
    rate: float,
    ramp: list[tuple[float, float]] | None = None,
    cuts: list[tuple[int, float, float]] | None = None,
    horizon: float = 400.0,
    **product: Any,
) -> Scenario:
    """One domestic line (``rate`` units/day, optional ramp) making ``lots`` lots of ``lot`` for one unit.

    ``cuts`` are scheduled disruptions of the supplier: (start day, days, capacity factor).
    """
    prod: dict[str, Any] = {"item": "box", "rate_per_day": rate, "unit_price_eur": 1}
    if ramp:
        prod["ramp"] = [{"day": d, "factor": f} for d, f in ramp]
    prod.update(product)
    return Scenario.model_validate(
        {
            "name": "line",
            "start": START,
            "horizon_days": horizon,
            "seed": 3,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.001, "lot_size": lot}],
            "nodes": [
                {"id": "sup", "kind": "supplier", "domestic": True, "products": [prod]},
                {"id": "unit", "kind": "unit"},
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
            ],
            "links": [
                {
                    "id": "road",
                    "from": "sup",
                    "to": "unit",
                    "mode": "road",
                    "transit_days": 0.5,
                    "vehicles": 50,
                    "capacity_m3": 1e6,
                    "return_days": 0,
                }
            ],
            "requirements": [
                {
                    "id": "R",
                    "unit": "unit",
                    "item": "box",
                    "qty": lot * lots,
                    "need_by": START + dt.timedelta(days=horizon - 1),
                    "channel": "domestic",
                }
            ],
            "disruptions": [
                {
                    "kind": "scheduled",
                    "id": f"cut{k}",
                    "target": "sup",
                    "start": START + dt.timedelta(days=d),
                    "duration_days": days,
                    "capacity_factor": f,
                }
                for k, (d, days, f) in enumerate(cuts or [])
            ],
        }
    )


def produced_days(lg: Any) -> np.ndarray:
    """The ``lot_produced`` times, in order."""
    f = lg.frame
    return f.t[f.where("lot_produced")]


def test_a_short_cut_at_the_start_of_a_lot_slows_only_its_two_days(run_logged: Runner, invariants: Any) -> None:
    # 60 units at 10/day; 2 days at 10% make 2 units, the other 58 take 5.8 days at the full rate.
    lg = run_logged(line_scenario(lot=60, lots=1, rate=10, cuts=[(0, 2.0, 0.1)]))
    (t,) = produced_days(lg)
    assert t == pytest.approx(2.0 + 58 / 10, abs=1e-9)  # 7.8, not 60 (a lot at the starting rate)
    invariants(lg)


def test_a_cut_in_the_middle_of_a_lot_is_applied_when_it_starts_and_ends(run_logged: Runner) -> None:
    # 30 units by day 3, 2 units in the 2 cut days, the last 28 take 2.8 days: day 7.8, not 6.
    lg = run_logged(line_scenario(lot=60, lots=2, rate=10, cuts=[(3, 2.0, 0.1)]))
    first, second = produced_days(lg)
    assert first == pytest.approx(7.8, abs=1e-9)
    assert second == pytest.approx(7.8 + 6.0, abs=1e-9)


def test_a_closure_in_the_middle_of_a_lot_stops_it_and_it_resumes_where_it_stopped(run_logged: Runner) -> None:
    # 20 units by day 2, closed days 2..12, 40 more units take 4 days: day 16.
    lg = run_logged(line_scenario(lot=60, lots=1, rate=10, cuts=[(2, 10.0, 0.0)]))
    (t,) = produced_days(lg)
    assert t == pytest.approx(16.0, abs=1e-9)


def test_a_ramp_from_zero_makes_the_integral_of_the_interpolated_rate(run_logged: Runner) -> None:
    # rate 8/day x ramp t/60: made by day T is 8 T^2 / 120 (240 units by day 60).
    # Lots of 100 finish at T = sqrt(120 * 100 k / 8): 38.73 and 54.77; a third one (300 units) at
    # 60 + (300 - 240) / 8 = 67.5. Snapshot rates made nothing before day 60.
    lg = run_logged(line_scenario(lot=100, lots=3, rate=8, ramp=[(0, 0.0), (60, 1.0)]))
    days = produced_days(lg)
    expected = [math.sqrt(120 * 100 / 8), math.sqrt(120 * 200 / 8), 60 + (300 - 240) / 8]
    assert days == pytest.approx(expected, abs=1e-9)


def test_a_ramp_from_two_percent_makes_its_first_lot_within_the_horizon(run_logged: Runner) -> None:
    # rate 10/day x ramp 0.02 -> 1 over 30 days: 10 * (0.02 * 30 + 0.98 * 30 / 2) = 153 units by
    # day 30, then 10/day: a lot of 1,000 is done on day 30 + 84.7 = 114.7 (snapshot: day 5,000).
    lg = run_logged(line_scenario(lot=1000, lots=1, rate=10, ramp=[(0, 0.02), (30, 1.0)], horizon=180))
    (t,) = produced_days(lg)
    assert t == pytest.approx(30 + (1000 - 153) / 10, abs=1e-9)
    assert lg.result.status == "completed"


def test_lots_conserve_the_integral_of_rate_under_ramp_and_cuts(run_logged: Runner, invariants: Any) -> None:
    """Cumulative lots made at each lot's time equal the integral of the rate up to it (busy line)."""
    ramp = [(5.0, 0.5), (25.0, 1.5), (40.0, 1.0)]
    cuts = [(10, 3.0, 0.25), (30, 4.0, 0.0), (31, 1.0, 0.5)]
    lot, lots, rate = 25, 40, 6.0

    def rate_at(t: float) -> float:
        f = float(np.interp(t, [d for d, _ in ramp], [x for _, x in ramp]))
        factor = min([c for d, n, c in cuts if d <= t < d + n], default=1.0)
        return rate * f * factor

    lg = run_logged(line_scenario(lot=lot, lots=lots, rate=rate, ramp=ramp, cuts=cuts))
    days = produced_days(lg)
    assert len(days) == lots
    assert int(lg.frame.qty[lg.frame.where("lot_produced")].sum()) == lot * lots
    breaks = sorted({0.0, *(d for d, _ in ramp), *(x for d, n, _ in cuts for x in (d, d + n))})
    made = 0.0
    prev = 0.0
    for k, t in enumerate(days, start=1):
        edges = [prev, *[x for x in breaks if prev < x < t], t]
        for a, b in itertools.pairwise(edges):
            made += integrate.quad(rate_at, a, b)[0]
        prev = t
        assert made == pytest.approx(k * lot, rel=1e-7), f"lot {k} at day {t}"
    invariants(lg)
