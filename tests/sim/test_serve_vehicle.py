"""``serve: vehicle``: the whole load of one arriving vehicle is one job (issue 12, item 4).

30 lots of 1 m3 are in stock at the supplier when the contract is awarded; 10 trucks of 3 m3
take them at once (3 lots each) and reach a border with one lane and a fixed 1-day service,
all at the same time t0. By hand:

- per vehicle: 10 jobs of 1 day in a row: clearances start at t0, t0+1, ..., t0+9 (3 lots
  each, together) and the last ends at t0+10; the lane is busy 10 days;
- per lot: 30 jobs of 1 day: the last ends at t0+30; the lane is busy 30 days.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from results.kpis import compute_kpis
from scenarios.schema import Scenario

START = dt.date(2025, 1, 1)


def scenario(serve: str | None) -> Scenario:
    border: dict[str, Any] = {"id": "border", "kind": "border", "servers": 1, "service_days": 1.0}
    if serve is not None:
        border["serve"] = serve
    d: dict[str, Any] = {
        "name": "per_vehicle",
        "start": START,
        "horizon_days": 200,
        "seed": 11,
        "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10, "priority": 5}],
        "nodes": [
            {
                "id": "sup",
                "kind": "supplier",
                "products": [{"item": "box", "rate_per_day": 1, "unit_price_eur": 1, "initial_stock": 300}],
            },
            border,
            {"id": "unit", "kind": "unit"},
            {"id": "donor", "kind": "donor", "budget_eur": 1e9},
            {"id": "agency", "kind": "agency", "staff": 1, "tender_days": 1},
        ],
        "links": [
            {
                "id": "in",
                "from": "sup",
                "to": "border",
                "mode": "road",
                "transit_days": 1.0,
                "vehicles": 10,
                "capacity_m3": 3.0,
            },
            {
                "id": "out",
                "from": "border",
                "to": "unit",
                "mode": "road",
                "transit_days": 1.0,
                "vehicles": 30,
                "capacity_m3": 1.0,
            },
        ],
        "requirements": [
            {"id": "R1", "unit": "unit", "item": "box", "qty": 300, "need_by": START, "funders": ["donor"]}
        ],
    }
    return Scenario.model_validate(copy.deepcopy(d))


def test_serve_defaults_to_lot() -> None:
    assert scenario(None).node("border").serve == "lot"  # type: ignore[union-attr]


@pytest.mark.parametrize(("serve", "jobs", "lots_per_job"), [("lot", 30, 1), ("vehicle", 10, 3)])
def test_one_job_per_vehicle(
    run_logged: Callable, invariants: Callable, serve: str, jobs: int, lots_per_job: int
) -> None:
    s = scenario(serve)
    lg = run_logged(s)
    invariants(lg)
    assert lg.result.status == "completed"
    f = lg.frame
    t0 = float(f.t[f.where("arrived", node="border")].min())
    assert np.all(f.t[f.where("arrived", node="border")] == t0)  # every truck arrives together
    starts = f.t[f.where("service_started", node="border")]
    ends = f.t[f.where("service_finished", node="border")]
    assert Counter(starts.tolist()) == {t0 + k: lots_per_job for k in range(jobs)}
    assert float(ends.max()) == t0 + jobs
    k = compute_kpis(lg.table, s, end=lg.result.end_day)
    busy_days = k[("busy_mean", None, "border", None)] * lg.result.end_day  # type: ignore[operator]
    assert busy_days == pytest.approx(jobs)


def test_bottleneck_reader_sees_one_lane_per_truck(run_logged: Callable) -> None:
    """2 lanes, one truck of 3 lots: one lane clears it, the other stays idle, so the border is never saturated.

    Counting each lot in service as a busy lane would read 3 busy lanes out of 2 for a day.
    """
    from results.bottlenecks.active_period import active_periods

    d = scenario("vehicle").model_dump(by_alias=True)
    border = next(n for n in d["nodes"] if n["id"] == "border")
    border["servers"] = 2
    d["requirements"][0]["qty"] = 30
    d["links"][0]["vehicles"] = 1
    s = Scenario.model_validate(d)
    lg = run_logged(s)
    f = lg.frame
    starts = f.t[f.where("service_started", node="border")]
    assert len(starts) == 3 and len(set(starts.tolist())) == 1  # one job of 3 lots
    periods = active_periods(lg.table, s, end=lg.result.end_day)["node:border"]
    assert len(periods) == 0


def test_report_utilisation_counts_jobs(tmp_path: Any) -> None:
    """The report's weekly utilisation of the 1-lane border: 10 busy days per vehicle (30 per lot), by hand."""
    import sys
    from pathlib import Path

    from results.report_data import load_run

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from rundirs import make_run_dir

    for serve, busy_days in (("vehicle", 10), ("lot", 30)):
        s = scenario(serve)
        data = load_run(make_run_dir(tmp_path / serve, s))
        ((res, util),) = [(r, u) for r, u in data.detail.util.items() if r.id == "border"]
        weeks = np.diff(data.week_edges)
        assert float((util[0] * weeks).sum()) * res.capacity == pytest.approx(busy_days), serve
