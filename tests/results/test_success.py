"""The scenario's question answered: per-item headline rows in dates, success criteria met in k of n.

A deterministic scenario (no random duration, stock at day 0, domestic channel): every
replication delivers 10 boxes at day 5.5 (12:00 on 2025-01-06, need-by 2025-01-06: on time)
and 20 crates at day 8.25 (06:00 on 2025-01-09, need-by 2025-01-04: late). So each criterion
is met in every replication or in none, by construction; the Wilson bounds are the formula's
(k = n: lower n / (n + z²); k = 0: upper z² / (n + z²)). The expected numbers are that
arithmetic, not the engine's output.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from statistics import NormalDist

import pyarrow as pa
import pytest

from results.headline import date_of, item_headline
from results.success import ALL_CRITERIA, criterion_met, delivered_by, describe, evaluate_run
from scenarios.schema import Scenario, Success
from tests.rundirs import make_run_dir

START = dt.date(2025, 1, 1)
Z2 = NormalDist().inv_cdf(0.975) ** 2


def _day(d: int) -> str:
    return (START + dt.timedelta(days=d)).isoformat()


def two_items(box_transit: float = 5.5, success: list[dict[str, object]] | None = None) -> Scenario:
    """10 boxes delivered at ``box_transit`` (need-by day 5), 20 crates at 8.25 (need-by day 3)."""
    supplier = [
        {
            "id": f"maker_{item}",
            "kind": "supplier",
            "domestic": True,
            "products": [{"item": item, "rate_per_day": 1000, "unit_price_eur": 1, "initial_stock": qty}],
        }
        for item, qty in (("box", 10), ("crate", 20))
    ]
    return Scenario.model_validate(
        {
            "name": "two_items",
            "start": START,
            "horizon_days": 20,
            "items": [
                {"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10},
                {"id": "crate", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 20},
            ],
            "nodes": [
                *supplier,
                {"id": "u", "kind": "unit"},
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
            ],
            "links": [
                {
                    "id": f"l_{item}",
                    "from": f"maker_{item}",
                    "to": "u",
                    "mode": "road",
                    "transit_days": transit,
                    "vehicles": 1,
                    "capacity_m3": 10,
                    "return_days": 1,
                }
                for item, transit in (("box", box_transit), ("crate", 8.25))
            ],
            "requirements": [
                {"id": "RB", "unit": "u", "item": "box", "qty": 10, "need_by": _day(5), "channel": "domestic"},
                {"id": "RC", "unit": "u", "item": "crate", "qty": 20, "need_by": _day(3), "channel": "domestic"},
            ],
            "success": success or [],
        }
    )


CRITERIA: list[dict[str, object]] = [
    {"item": "box", "delivered_units_at_least": 10, "by": _day(5)},  # day 5 ends at 6.0 > 5.5: met
    {"item": "box", "delivered_units_at_least": 10, "by": _day(4)},  # day 4 ends at 5.0 < 5.5: never
    {"item": "crate", "on_time_share_at_least": 0.5},  # crates are late: never
    {"item": "crate", "last_delivery_by": _day(8)},  # day 8 ends at 9.0 > 8.25, all 20 delivered: met
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scenario]:
    s = two_items(success=CRITERIA)
    return make_run_dir(tmp_path_factory.mktemp("success"), s, reps=3), s


def _kpis(root: Path) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(root / "kpis.parquet")


def test_each_item_gets_its_own_row_in_calendar_dates(run_dir: tuple[Path, Scenario]) -> None:
    root, s = run_dir
    box, crate = item_headline(_kpis(root), s)
    assert (box.item, crate.item) == ("box", "crate")
    assert (box.n, box.n_delivered) == (3, 3)
    assert (box.delivered_units.mean, box.required_units) == (10.0, 10.0)
    assert (crate.delivered_units.mean, crate.required_units) == (20.0, 20.0)
    assert box.last_delivery_day.mean == pytest.approx(5.5)
    assert box.last_delivery_date == "2025-01-06"  # day 5.5 falls on 2025-01-06
    assert (box.last_delivery_low_date, box.last_delivery_high_date) == ("2025-01-06", "2025-01-06")
    assert crate.last_delivery_date == "2025-01-09"  # day 8.25
    assert box.on_time_share.mean == 1.0 and crate.on_time_share.mean == 0.0
    # three replications all on time: Wilson's lower bound n / (n + z²)
    assert box.on_time_share.method == "wilson"
    assert box.on_time_share.low == pytest.approx(3 / (3 + Z2))
    assert crate.on_time_share.high == pytest.approx(Z2 / (3 + Z2))


def test_item_filter_and_strategy_order(run_dir: tuple[Path, Scenario]) -> None:
    root, s = run_dir
    (crate,) = item_headline(_kpis(root), s, items=["crate"])
    assert crate.item == "crate" and crate.delivered_units.mean == 20.0
    assert item_headline(_kpis(root), s, strategies=["other"]) == []


def test_a_day_falls_on_its_date() -> None:
    assert date_of(START, 0.0) == "2025-01-01"
    assert date_of(START, 5.999) == "2025-01-06"
    assert date_of(START, 6.0) == "2025-01-07"
    assert date_of(START, None) == "" and date_of(START, math.nan) == ""


def test_criteria_met_in_every_or_no_replication(run_dir: tuple[Path, Scenario]) -> None:
    root, s = run_dir
    results = evaluate_run(root, s, _kpis(root))
    assert [r.label for r in results] == [*(describe(c) for c in s.success), ALL_CRITERIA]
    assert [(r.k, r.n) for r in results] == [(3, 3), (0, 3), (0, 3), (3, 3), (0, 3)]
    met, never = results[0], results[1]
    assert met.interval() == pytest.approx((3 / (3 + Z2), 1.0))
    assert never.interval() == pytest.approx((0.0, Z2 / (3 + Z2)))
    assert met.text() == (
        "box: at least 10 units delivered by 2025-01-06: met in 3 of 3 replications "
        f"(100.0%, 95% Wilson CI [{100 * 3 / (3 + Z2):.1f}%, 100.0%])"
    )
    assert never.text().endswith(f"met in 0 of 3 replications (0.0%, 95% Wilson CI [0.0%, {100 * Z2 / (3 + Z2):.1f}%])")


def test_deliveries_by_a_date_count_its_whole_day(tmp_path: Path) -> None:
    """A box delivered at exactly 5.0, the end of 2025-01-05 (day 4): delivered by that date."""
    s = two_items(box_transit=5.0)
    root = make_run_dir(tmp_path / "run", s)
    got = delivered_by(root, "baseline", 0, [("box", 5.0), ("box", 4.999), ("crate", 8.25), ("crate", 8.0)])
    assert got == [10, 0, 20, 0]


def test_k_of_n_from_a_kpi_table_that_varies() -> None:
    """OTIF 1, 0.5, 1, 0 in four replications: at least 90% on time in 2 of 4, at least 50% in 3 of 4;
    at least 8 units in 2 of 4 (10 and 8), all three in 2 of 4 (replications 0 and 2)."""
    s = two_items(
        success=[
            {"item": "box", "on_time_share_at_least": 0.9},
            {"item": "box", "on_time_share_at_least": 0.5},
            {"item": "box", "delivered_units_at_least": 8},
        ]
    )
    otif, units = [1.0, 0.5, 1.0, 0.0], [10.0, 5.0, 8.0, 7.0]
    rows = [
        {"kpi": "otif", "item": "box", "node": None, "link": None, "value": v, "strategy": "baseline", "replication": r}
        for r, v in enumerate(otif)
    ] + [
        {
            "kpi": "delivered_units",
            "item": "box",
            "node": "u",
            "link": None,
            "value": v,
            "strategy": "baseline",
            "replication": r,
        }
        for r, v in enumerate(units)
    ]
    results = evaluate_run(Path("/nonexistent"), s, pa.Table.from_pylist(rows))  # no dated criterion: no part read
    assert [(r.k, r.n) for r in results] == [(2, 4), (3, 4), (2, 4), (2, 4)]
    assert results[0].met == [True, False, True, False]
    lo, hi = results[0].interval()
    z = math.sqrt(Z2)
    centre, half = (0.5 + Z2 / 8) / (1 + Z2 / 4), z * math.sqrt(0.25 / 4 + Z2 / 64) / (1 + Z2 / 4)
    assert (lo, hi) == pytest.approx((centre - half, centre + half))


def test_last_delivery_needs_every_required_unit() -> None:
    s = two_items()
    c = Success(item="crate", last_delivery_by=START + dt.timedelta(days=8))
    kw = {"units_by": 0.0, "otif": None}
    assert criterion_met(c, s, fill_rate=1.0, last_delivery_day=8.25, **kw)  # type: ignore[arg-type]
    assert criterion_met(c, s, fill_rate=1.0, last_delivery_day=9.0, **kw)  # type: ignore[arg-type]
    assert not criterion_met(c, s, fill_rate=0.5, last_delivery_day=8.25, **kw)  # type: ignore[arg-type]
    assert not criterion_met(c, s, fill_rate=1.0, last_delivery_day=9.01, **kw)  # type: ignore[arg-type]
    assert not criterion_met(c, s, fill_rate=None, last_delivery_day=None, **kw)  # type: ignore[arg-type]


def test_the_report_summary_leads_with_the_answer(run_dir: tuple[Path, Scenario]) -> None:
    from results.report import render_html, report_context
    from results.report_data import load_run

    root, _ = run_dir
    context = report_context(load_run(root))
    answer = context["answer"]
    assert answer["success"][0].startswith("box: at least 10 units delivered by 2025-01-06: met in 3 of 3 replications")
    assert [(r["item"], r["units"], r["required"], r["last"], r["on_time"]) for r in answer["items"]] == [
        ("box", "10", "10", "2025-01-06", "100.0%"),
        ("crate", "20", "20", "2025-01-09", "0.0%"),
    ]
    html = render_html(context)
    summary = html[html.index('<section id="summary">') :]
    assert summary.index("met in 3 of 3 replications") < summary.index("Per item, in calendar dates")
    assert summary.index("Per item, in calendar dates") < summary.index("Headline KPIs")
