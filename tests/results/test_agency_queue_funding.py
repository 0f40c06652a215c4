"""An agency's queue and wait start when a requirement is funded, not at its award's top-up.

A requirement is funded once (its estimate committed, ``sim.model.demand``); when its
contract plus fee costs more than the estimate, the award commits the difference in a second
``funds_committed`` row, after the tender (``sim.model.procurement``). The agency's queue
(funded .. tender_started) and the lead-time stages must read the first commit: reading the
last one put requirements into the queue after they had left it (the flagship
fpv_drones_2024_2025 showed a queue of -0.21 and a wait of -32 days at its agency).

The scenario, by hand: routers at catalogue EUR 50 cost EUR 100 (every award tops up); one
agency officer, 30-day tenders, requirements pooled for 7 days; money enough for all.

- R1 opens day 0, is funded day 0, pooled until day 7; its tender runs 7 .. 37: wait 7.
- R2 opens day 10, is funded day 10, pooled until day 17; the officer is busy until 37, so
  its tender runs 37 .. 67: wait 27.
- Waits: mean (7 + 27) / 2 = 17, max 27. Queue: R1 in 0 .. 7, R2 in 10 .. 37, never both:
  integral 7 + 27 = 34 over the 200-day horizon, mean 0.17, max 1.
- Busy (occupied rule): queued or tendering from day 0 to 67 without a gap.
- Lead-time stages of R1's lots: funding 0 days (funded when opened), tender 37 days
  (0 .. 37, pool + tender); R2's: funding 0, tender 57 (10 .. 67).
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rundirs import make_run_dir

from results.bottlenecks import active_periods, analyse
from results.bottlenecks.stream import analyse_part
from results.kpis import compute_kpis, lot_lead_times
from results.replay import lineages
from scenarios.load import load
from scenarios.schema import Scenario
from sim.run import run

START = dt.date(2025, 1, 1)
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def scenario() -> Scenario:
    req: dict[str, Any] = {"unit": "unit", "item": "router", "qty": 100, "funders": ["donor"], "channel": "agency"}
    d: dict[str, Any] = {
        "name": "agency_topup",
        "start": START,
        "horizon_days": 200,
        "seed": 1,
        "items": [{"id": "router", "unit_value_eur": 50.0, "volume_m3": 0.01, "lot_size": 100}],
        "nodes": [
            {
                "id": "maker",
                "kind": "supplier",
                "products": [{"item": "router", "rate_per_day": 1000, "unit_price_eur": 100.0}],
            },
            {"id": "unit", "kind": "unit"},
            {"id": "donor", "kind": "donor", "budget_eur": 10_000_000, "bilateral_lead_days": 10},
            {"id": "agency", "kind": "agency", "staff": 1, "tender_days": 30, "pool_days": 7, "fee_share": 0.02},
        ],
        "links": [
            {
                "id": "road",
                "from": "maker",
                "to": "unit",
                "mode": "road",
                "transit_days": 1,
                "vehicles": 50,
                "capacity_m3": 100.0,
            }
        ],
        "requirements": [
            {"id": "R1", **req, "opens": day(0), "need_by": day(150)},
            {"id": "R2", **req, "opens": day(10), "need_by": day(150)},
        ],
    }
    return Scenario.model_validate(copy.deepcopy(d))


def logged(s: Scenario, tmp_path: Path) -> pa.Table:
    log, _ = run(s)
    path = tmp_path / "log.parquet"
    pq.write_table(log.table(), path, compression="zstd")
    return pq.read_table(path)


def test_the_scenario_tops_up_after_the_tender(tmp_path: Path) -> None:
    """The premise: each requirement has a second commit at its award, after its tender started."""
    table = logged(scenario(), tmp_path)
    kind, t, ref = (table.column(c).to_pylist() for c in ("kind", "t", "ref"))
    commits = sorted((r, x) for k, x, r in zip(kind, t, ref, strict=True) if k == "funds_committed")
    starts = sorted((r, x) for k, x, r in zip(kind, t, ref, strict=True) if k == "tender_started")
    assert commits == [(0, 0.0), (0, 37.0), (1, 10.0), (1, 67.0)]
    assert starts == [(0, 7.0), (1, 37.0)]


def test_agency_queue_and_wait_by_hand(tmp_path: Path) -> None:
    s = scenario()
    k = compute_kpis(logged(s, tmp_path), s)
    assert k[("wait_mean_days", None, "agency", None)] == pytest.approx(17.0)
    assert k[("wait_max_days", None, "agency", None)] == pytest.approx(27.0)
    assert k[("queue_mean", None, "agency", None)] == pytest.approx(34.0 / 200.0)
    assert k[("queue_max", None, "agency", None)] == pytest.approx(1.0)
    assert k[("utilisation", None, "agency", None)] == pytest.approx(60.0 / 200.0)


def test_agency_busy_from_first_funding_to_last_tender(tmp_path: Path) -> None:
    s = scenario()
    p = active_periods(logged(s, tmp_path), s, rule="occupied")["agency:agency"]
    np.testing.assert_allclose(p, [[0.0, 67.0]])


def test_bottleneck_row_of_the_agency(tmp_path: Path) -> None:
    s = scenario()
    ag = analyse(logged(s, tmp_path), s).stat("agency:agency")
    assert ag.queue_mean == pytest.approx(0.17) and ag.wait_mean_days == pytest.approx(17.0)


def test_lead_time_stages_count_the_tender_from_funding(tmp_path: Path) -> None:
    s = scenario()
    lt = lot_lead_times(logged(s, tmp_path)).to_pydict()
    by_ref: dict[int, tuple[float, float]] = {}
    for r, f, td in zip(lt["ref"], lt["funding_days"], lt["tender_days"], strict=True):
        by_ref[r] = (f, td)
    assert by_ref == {0: pytest.approx((0.0, 37.0)), 1: pytest.approx((0.0, 57.0))}


def test_replay_stages_pool_from_funding(tmp_path: Path) -> None:
    """Why-late replay: R1's tender stage runs 0 .. 37 with a 7-day pool, R2's 10 .. 67 with 27."""
    s = scenario()
    got = set()
    for lg in lineages(logged(s, tmp_path), s).values():
        for st in lg.stages:
            if st.kind == "tender":
                got.add((round(st.days, 6), round(st.detail["pool"], 6)))
    assert got == {(37.0, 7.0), (57.0, 27.0)}


def test_chunked_twin_reads_the_first_commit(tmp_path: Path) -> None:
    """The run directory's analysis, 7 rows at a time: the same queue, wait, busy period and shares."""
    s = scenario()
    run_dir = make_run_dir(tmp_path / "run", s)
    a = analyse_part(run_dir, "baseline", 0, s, batch_rows=7)
    ag = a.stat("agency:agency")
    assert ag.queue_mean == pytest.approx(0.17) and ag.wait_mean_days == pytest.approx(17.0)
    whole = analyse(logged(s, tmp_path), s)
    assert ag.lead_time_share == pytest.approx(whole.stat("agency:agency").lead_time_share)
    # each lot: lead time = opened .. delivered; the agency's stage is 37 of R1's, 57 of R2's
    assert ag.lead_time_share > 0
    occupied = analyse_part(run_dir, "baseline", 0, s, rule="occupied", batch_rows=7).stat("agency:agency")
    assert occupied.active_share == pytest.approx(67.0 / 200.0)


@pytest.mark.parametrize("name", ["fpv_drones_2024_2025", "small_routers"])
def test_no_negative_queue_or_wait_on_the_library(name: str, tmp_path: Path) -> None:
    """Invariant: every resource's queue and wait KPIs are >= 0 (a short run of the scenario)."""
    s = load(LIBRARY / f"{name}.yaml")
    k = compute_kpis(logged(s, tmp_path), s)
    bad = {
        key: v
        for key, v in k.items()
        if key[0] in ("queue_mean", "queue_max", "wait_mean_days", "wait_max_days") and v is not None and v < 0
    }
    assert bad == {}
