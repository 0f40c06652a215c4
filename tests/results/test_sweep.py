"""Sweep points by their parameter values and the smallest value meeting a target (``results.sweep``).

Hand-built sweep tables with hand-computed answers: which point is the smallest to meet a
target on its mean, which meets it with its whole 95% CI, and the paired gain against the
scenario's own values with its Student-t interval (t(0.975, 2) = 4.302653). The report's
response chart (``results.report_sweep``) is checked on the same kind of table: a band from the
CIs for one parameter, a heatmap in the grid's orientation for two.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from results.report_sweep import response_figure
from results.sweep import (
    BadTarget,
    TargetAnswer,
    answer_lines,
    base_values,
    evaluate,
    format_param,
    paired_gain,
    parse_target,
    point_label,
    reference_point,
    rep_values,
)
from scenarios.load import load

ROOT = Path(__file__).resolve().parents[2]
SMALL = load(ROOT / "scenarios" / "small_routers.yaml")
START = dt.date(2025, 5, 1)
PATH = "links.road_hub_border.vehicles"


# --------------------------------------------------------------------------- labels


def test_labels_name_each_parameter_with_its_value_in_param_order() -> None:
    assert point_label({PATH: 3}) == "links.road_hub_border.vehicles=3"
    assert point_label({"b.x": 2.0, "a.y": 0.25}) == "b.x=2, a.y=0.25"
    assert format_param(1 / 3) == "0.333333"
    assert format_param(1e-7) == "1e-07"
    assert format_param("bilateral") == "bilateral"


def test_base_values_read_the_scenario_at_each_path() -> None:
    got = base_values(SMALL, [PATH, "nodes.korczowa_krakovets.servers", "links.nowhere.vehicles"])
    assert got == {PATH: 4, "nodes.korczowa_krakovets.servers": 3}


# --------------------------------------------------------------------------- parsing


def test_a_date_is_the_whole_day_on_either_side() -> None:
    # 2025-08-31 is day 122 from 2025-05-01: its deliveries are at t in [122, 123)
    cases = {"<=": ("<", 123.0), "<": ("<", 122.0), ">=": (">=", 122.0), ">": (">=", 123.0)}
    for op, (want_op, want) in cases.items():
        t = parse_target(f"last_delivery_date[router] {op} 2025-08-31", START, SMALL)
        assert (t.kpi, t.item, t.op, t.threshold, t.is_date) == ("last_delivery_day", "router", want_op, want, True)
    t = parse_target("last_delivery_date[router] <= 2025-08-31", START)
    assert t.meets(122.999) and not t.meets(123.0) and not t.meets(None) and not t.meets(math.nan)
    assert t.day_date(122.999) == dt.date(2025, 8, 31)


def test_kpis_with_selectors_numbers_and_percentages() -> None:
    t = parse_target("fill_rate[router] >= 0.95", START, SMALL)
    assert (t.kpi, t.item, t.node, t.link, t.op, t.threshold, t.is_date) == (
        "fill_rate",
        "router",
        None,
        None,
        ">=",
        0.95,
        False,
    )
    assert parse_target("fill_rate[router]>=95%", START, SMALL).threshold == pytest.approx(0.95)
    t = parse_target(" lead_time_p90_days[ item=router ] <= 60 ", START, SMALL)
    assert (t.kpi, t.item, t.op, t.threshold) == ("lead_time_p90_days", "router", "<=", 60.0)
    t = parse_target("delivered_units[router, brigade_east] >= 600", START, SMALL)  # bare ids by kind
    assert (t.item, t.node) == ("router", "brigade_east")
    t = parse_target("utilisation[road_hub_border] < 0.8", START, SMALL)
    assert (t.link, t.item, t.node) == ("road_hub_border", None, None)
    t = parse_target("units_delivered > 1,000", START, SMALL)
    assert (t.item, t.node, t.link, t.threshold, t.scope()) == (None, None, None, 1000.0, "")
    assert parse_target("last_delivery_day[router] <= 2025-08-31", START, SMALL).threshold == 123.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("last_delivery_date[router]", "expected KPI[SELECTOR] OP VALUE"),
        ("fill_rate == 0.9", "the operator must be one of <=, >=, <, >"),
        ("fill_rat[router] >= 0.9", "unknown KPI 'fill_rat', did you mean 'fill_rate'?"),
        ("last_delivery_date[router] <= soon", "last_delivery_date takes a date YYYY-MM-DD"),
        ("last_delivery_date[router] <= 2025-02-30", "takes a date YYYY-MM-DD (got '2025-02-30')"),
        ("fill_rate[router] >= 2025-08-31", "fill_rate is not a day KPI"),
        ("fill_rate[router] >= high", "'high' is not a number"),
        ("fill_rate[router] >= nan", "the value must be finite"),
        ("fill_rate[routr] >= 0.9", "no item, node or link 'routr', did you mean 'router'?"),
        ("fill_rate[item=brigade_east] >= 0.9", "no item 'brigade_east'"),
        ("fill_rate[colour=red] >= 0.9", "selector key 'colour' must be item, node or link"),
        ("fill_rate[router, item=charger] >= 0.9", "item is selected twice"),
        ("fill_rate[] >= 0.9", "empty selector"),
    ],
)
def test_bad_targets_name_the_option_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(BadTarget) as exc:
        parse_target(text, START, SMALL)
    assert str(exc.value).startswith(f"--target {text!r}: ")
    assert message in str(exc.value)


# --------------------------------------------------------------------------- evaluation


def _row(
    point: int, vehicles: int, kpi: str, mean: float | None, lo: float | None, hi: float | None, **scope: Any
) -> dict[str, Any]:
    return {
        "point": point,
        PATH: vehicles,
        "kpi": kpi,
        "item": scope.get("item"),
        "node": scope.get("node"),
        "link": scope.get("link"),
        "mean": mean,
        "ci95_low": lo,
        "ci95_high": hi,
    }


# The last router delivery per point (run days), the points listed out of parameter order:
# the smallest parameter value decides, not the point index.
TABLE = [
    _row(0, 5, "last_delivery_day", 100.0, 96.0, 104.0, item="router"),
    _row(1, 2, "last_delivery_day", 130.0, 126.0, 134.0, item="router"),
    _row(2, 4, "last_delivery_day", 110.0, 104.0, 116.0, item="router"),
    _row(3, 3, "last_delivery_day", 120.0, 115.0, 125.0, item="router"),
    _row(0, 5, "last_delivery_day", 50.0, 40.0, 60.0, item="charger"),  # another item: never read
    _row(1, 2, "last_delivery_day", 50.0, 40.0, 60.0, item="charger"),
    _row(2, 4, "last_delivery_day", 50.0, 40.0, 60.0, item="charger"),
    _row(3, 3, "last_delivery_day", 50.0, 40.0, 60.0, item="charger"),
]


def test_smallest_value_meeting_on_the_mean_and_with_confidence() -> None:
    # <= 2025-08-31 is day < 123: vehicles 2 (130) misses; 3 (120, CI up to 125) meets on the
    # mean only; 4 (CI up to 116) is the smallest to meet it with confidence.
    t = parse_target("last_delivery_date[router] <= 2025-08-31", START, SMALL)
    answer = evaluate(TABLE, [PATH], t)
    assert [p.values[0] for p in answer.points] == [2, 3, 4, 5]
    assert [(p.meets, p.confident) for p in answer.points] == [
        (False, False),
        (True, False),
        (True, True),
        (True, True),
    ]
    assert answer.first is not None and (answer.first.point, answer.first.label) == (3, f"{PATH}=3")
    assert answer.first_confident is not None and answer.first_confident.point == 2
    text = "\n".join(answer_lines(answer))
    assert f"smallest: {PATH}=3 (point 3), met on the mean only" in text
    assert "mean 2025-08-29, 95% CI [2025-08-24, 2025-09-03]" in text  # days 120, 115, 125 from 2025-05-01
    assert f"met with confidence from {PATH}=4 (point 2)" in text
    assert answer.as_dict()["smallest"]["point_label"] == f"{PATH}=3"


def test_lower_bound_targets_use_the_low_end_of_the_ci() -> None:
    rows = [
        _row(k, v, "fill_rate", m, lo, hi, item="router")
        for k, v, m, lo, hi in [(0, 1, 0.90, 0.85, 0.95), (1, 2, 0.97, 0.96, 0.98), (2, 3, 0.99, 0.99, 1.0)]
    ]
    answer = evaluate(rows, [PATH], parse_target("fill_rate[router] >= 0.95", START, SMALL))
    assert answer.first is not None and answer.first.point == 1 and answer.first.confident
    answer = evaluate(rows, [PATH], parse_target("fill_rate[router] >= 0.965", START, SMALL))
    assert answer.first is not None and answer.first.point == 1 and not answer.first.confident  # low 0.96


def test_no_point_meets_the_target_names_the_closest() -> None:
    t = parse_target("last_delivery_date[router] <= 2025-06-01", START, SMALL)
    lines = answer_lines(evaluate(TABLE, [PATH], t))
    assert "  no point meets the target; the closest is links.road_hub_border.vehicles=5 (point 0)" in lines
    t = parse_target("stockout_days[router] <= 1", START, SMALL)  # no such row in the table
    assert "no point has a value of stockout_days[item=router]" in "\n".join(answer_lines(evaluate(TABLE, [PATH], t)))


def test_one_replication_meets_on_the_mean_only() -> None:
    rows = [_row(0, 1, "lead_time_p90_days", 50.0, None, None, item="router")]
    answer = evaluate(rows, [PATH], parse_target("lead_time_p90_days[router] <= 60", START, SMALL))
    assert answer.first is not None and not answer.first.confident
    assert "no CI (one replication)" in "\n".join(answer_lines(answer))


def test_two_parameters_order_by_the_first_then_the_second() -> None:
    other = "nodes.rzeszow_hub.servers"
    rows = []
    for k, (v, s, m) in enumerate([(2, 1, 99.0), (1, 2, 99.0), (1, 1, 130.0), (2, 2, 90.0)]):
        rows.append({**_row(k, v, "last_delivery_day", m, m - 1, m + 1, item="router"), other: s})
    answer = evaluate(rows, [PATH, other], parse_target("last_delivery_day[router] < 100", START, SMALL))
    assert [p.values for p in answer.points] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert answer.first is not None and answer.first.label == f"{PATH}=1, {other}=2"


def test_paired_gain_against_the_scenarios_value() -> None:
    # per replication: reference 10, 12, 14; point 7, 10, 10 -> differences 3, 2, 4: mean 3, s 1,
    # half-width t(0.975, 2) * 1 / sqrt(3) = 4.302653 / 1.732051 = 2.484138
    kpis = pa.table(
        {
            "kpi": ["last_delivery_day"] * 7,
            "item": ["router"] * 6 + ["charger"],
            "node": [None] * 7,
            "link": [None] * 7,
            "value": [10.0, 12.0, 14.0, 7.0, 10.0, 10.0, 1.0],
            "strategy": ["baseline-pt003"] * 3 + ["baseline-pt002"] * 3 + ["baseline-pt002"],
            "replication": [0, 1, 2, 0, 1, 2, 3],
        }
    )
    t = parse_target("last_delivery_date[router] <= 2025-08-31", START, SMALL)
    per = rep_values(kpis, t)
    assert per == {3: {0: 10.0, 1: 12.0, 2: 14.0}, 2: {0: 7.0, 1: 10.0, 2: 10.0}}
    answer = evaluate(TABLE, [PATH], t)
    ref, is_base = reference_point(answer, {PATH: 3})
    assert ref is not None and ref.point == 3 and is_base
    assert reference_point(answer, {PATH: 7}) == (answer.points[0], False)  # not swept: the smallest point
    point = next(p for p in answer.points if p.point == 2)
    gain = paired_gain(per, ref, point, is_base)
    assert gain is not None and gain.n == 3
    assert gain.mean == pytest.approx(3.0)
    assert (gain.low, gain.high) == pytest.approx((3 - 2.484138, 3 + 2.484138), abs=1e-6)
    lines = answer_lines(answer, paired_gain(per, ref, answer.first, True) if answer.first else None)
    assert answer.first is ref  # the scenario's own value is the answer: no gain line
    assert not any(line.startswith("  vs ") for line in lines)
    # point 2 (vehicles=4) as the answer, against the scenario's vehicles=3
    forced = TargetAnswer(answer.target, answer.params, [point, ref])
    text = "\n".join(answer_lines(forced, gain))
    assert f"vs the scenario's {PATH}=3 (+1): 3.0 days earlier" in text
    assert "95% CI [0.5, 5.5] days earlier, paired over 3 replications" in text


def test_a_last_delivery_answer_short_of_units_says_so() -> None:
    t = parse_target("last_delivery_date[router] <= 2025-08-31", START, SMALL)
    lines = answer_lines(evaluate(TABLE, [PATH], t), None, {3: 0.8, 2: 1.0})
    assert "  note: 80.0% of the required units delivered by the horizon at this point;" in lines


# --------------------------------------------------------------------------- report chart


def test_response_chart_one_parameter_band_and_target_line() -> None:
    t = parse_target("last_delivery_date[router] <= 2025-08-31", START, SMALL)
    fig = response_figure(evaluate(TABLE, [PATH], t), "last_delivery_date[item=router]", t)
    assert fig is not None
    band, mean = fig["data"]
    assert mean["x"] == [2, 3, 4, 5]
    assert mean["y"] == [
        "2025-09-08T00:00",
        "2025-08-29T00:00",
        "2025-08-19T00:00",
        "2025-08-09T00:00",
    ]  # days 130..100
    assert band["x"] == [2, 3, 4, 5, 5, 4, 3, 2] and band["fill"] == "toself"
    assert band["y"][0] == "2025-09-12T00:00" and band["y"][-1] == "2025-09-04T00:00"  # high of 2: 134; low of 2: 126
    assert fig["layout"]["shapes"][0]["y0"] == "2025-09-01T00:00"  # the end of 2025-08-31
    assert fig["layout"]["yaxis"]["type"] == "date"


def test_response_chart_two_parameters_is_a_heatmap_of_the_grid() -> None:
    other = "nodes.rzeszow_hub.servers"
    rows = [
        {**_row(k, v, "lead_time_mean_days", m, m - 1, m + 1), other: s}
        for k, (v, s, m) in enumerate(
            [(1, 1, 40.0), (2, 1, 30.0), (1, 2, 35.0), (2, 2, 20.0), (1, 3, 33.0), (2, 3, 19.0)]
        )
    ]
    t = parse_target("lead_time_mean_days < 1000", START, SMALL)
    fig = response_figure(evaluate(rows, [PATH, other], t), "lead_time_mean_days", None)
    assert fig is not None
    (heat,) = fig["data"]
    assert heat["type"] == "heatmap" and heat["x"] == [1, 2] and heat["y"] == [1, 2, 3]
    assert heat["z"] == [[40.0, 30.0], [35.0, 20.0], [33.0, 19.0]]  # z[row = servers][column = vehicles]
    assert heat["text"][1][1].startswith(f"{PATH}=2, {other}=2: 20.0")
    lhs = rows[:5]  # not a full grid: markers coloured by the mean
    fig = response_figure(evaluate(lhs, [PATH, other], t), "lead_time_mean_days", None)
    assert fig is not None and fig["data"][0]["type"] == "scatter" and fig["data"][0]["marker"]["showscale"]
    three = [{**r, "x.y": 1} for r in rows]
    assert response_figure(evaluate(three, [PATH, other, "x.y"], t), "k", None) is None
