"""Days and dates: a date means that whole day; need-by is met by a delivery during that day.

Day 0 starts at 00:00 of ``start``; the date ``start + d`` is the interval ``[d, d + 1)``. One
lot of 10 boxes leaves a domestic supplier's stock at day 0 and travels a fixed transit, so
it is delivered at exactly ``transit_days``; its need-by date is ``start + 5`` (day 5, due by
day 6). The numbers below are that arithmetic, not the engine's output.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from results.kpis import compute_kpis
from results.replay import lineage, state_at
from scenarios.schema import Scenario, due_day
from sim.run import run

START = dt.date(2025, 1, 1)
NEED_BY = START + dt.timedelta(days=5)  # 2025-01-06 = day 5, whole day [5, 6)


def one_lot(transit_days: float, need_by: dt.date = NEED_BY, horizon_days: float = 20) -> Scenario:
    """One 10-box lot from stock at day 0, delivered at exactly ``transit_days``."""
    return Scenario.model_validate(
        {
            "name": "day",
            "start": START,
            "horizon_days": horizon_days,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
            "nodes": [
                {
                    "id": "maker",
                    "kind": "supplier",
                    "domestic": True,
                    "products": [{"item": "box", "rate_per_day": 1000, "unit_price_eur": 1, "initial_stock": 10}],
                },
                {"id": "u", "kind": "unit"},
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
            ],
            "links": [
                {
                    "id": "l",
                    "from": "maker",
                    "to": "u",
                    "mode": "road",
                    "transit_days": transit_days,
                    "vehicles": 1,
                    "capacity_m3": 10,
                    "return_days": 1,
                }
            ],
            "requirements": [
                {"id": "R", "unit": "u", "item": "box", "qty": 10, "need_by": need_by, "channel": "domestic"}
            ],
        }
    )


def _filled(table: object) -> tuple[float, float]:
    d = table.to_pydict()  # type: ignore[attr-defined]
    (i,) = [k for k, kind in enumerate(d["kind"]) if kind == "requirement_filled"]
    return d["t"][i], d["value"][i]


def test_the_need_by_date_ends_a_day_after_it_starts() -> None:
    assert due_day(5.0) == 6.0


@pytest.mark.parametrize(
    ("transit_days", "late_days", "on_time"), [(5.5, -0.5, True), (5.0, -1.0, True), (6.5, 0.5, False)]
)
def test_a_lot_delivered_during_its_need_by_date_is_on_time(
    transit_days: float, late_days: float, on_time: bool
) -> None:
    """Delivered at day 5.5 (12:00 on the need-by date): on time, 0.5 days early; at 6.5: 0.5 days late."""
    s = one_lot(transit_days)
    log, result = run(s)
    table = log.table()
    t, value = _filled(table)
    assert t == pytest.approx(transit_days)
    assert value == pytest.approx(late_days)  # requirement_filled: days late against the end of the need-by date
    k = compute_kpis(table, s, end=result.end_day)
    assert k[("otif", "box", None, None)] == (1.0 if on_time else 0.0)
    lg = lineage(table, requirement="R", scenario=s, end=result.end_day)
    assert lg.excess_days == pytest.approx(late_days)
    assert lg.late is (not on_time)


def test_an_open_requirement_is_not_late_before_its_need_by_date_ends() -> None:
    """``state``: the lot arrives at day 6.5; at 18:00 on the need-by date it is not late, at 06:00 next day 0.25."""
    s = one_lot(6.5)
    table = run(s)[0].table()
    (r,) = state_at(table, 5.75, s).open_requirements.values()
    assert r.late_days(5.75) == pytest.approx(-0.25)
    (r,) = state_at(table, 6.25, s).open_requirements.values()
    assert r.late_days(6.25) == pytest.approx(0.25)


def test_the_horizon_covers_its_last_date_whole() -> None:
    """20 days from 2025-01-01 cover 2025-01-01..2025-01-20; 2025-01-21 starts when the run ends."""
    last = START + dt.timedelta(days=19)
    s = one_lot(5.5, need_by=last)
    assert due_day(s.day_of(last)) == s.horizon_days
    with pytest.raises(ValidationError) as exc:
        one_lot(5.5, need_by=START + dt.timedelta(days=20))
    assert "date 2025-01-21 is outside the horizon 2025-01-01..2025-01-20" in str(exc.value.errors())
    # a fractional horizon covers only the dates whose whole day it holds
    with pytest.raises(ValidationError) as exc:
        one_lot(5.5, need_by=last, horizon_days=19.5)
    assert "date 2025-01-20 is outside the horizon 2025-01-01..2025-01-19" in str(exc.value.errors())


def test_the_report_names_the_last_date_the_run_covers(tmp_path: Path) -> None:
    from results.report import last_date

    assert last_date(START, 20) == START + dt.timedelta(days=19)
    assert last_date(START, 19.5) == START + dt.timedelta(days=19)  # partly covered: the run stops at its 12:00
