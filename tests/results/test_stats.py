"""Issue 17 item 6: intervals of fractions and counts stay inside their range; numbers print by kind.

Wilson bounds are computed by hand from the formula (z = 1.959964, the normal 0.975 quantile);
the t interval of ``units_lost`` over replications (0, 0, 3) is mean 1 ± t(0.975, 2) · √3 / √3
= [-3.303, 5.303], and a count cannot be negative, so the lower bound is clipped to 0.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from results import fmt
from results.compare import paired_differences
from results.kpis import summarise
from results.stats import difference_domain, kpi_domain, kpi_interval, wilson_interval

Z = 1.959964  # normal 0.975 quantile, printed tables
T975_2 = 4.302653  # Student's t(0.975, 2)


def kpi_rows(kpi: str, values: list[float], strategy: str = "baseline") -> pa.Table:
    n = len(values)
    return pa.table(
        {
            "kpi": pa.array([kpi] * n, pa.string()),
            "item": pa.array([None] * n, pa.string()),
            "node": pa.array([None] * n, pa.string()),
            "link": pa.array([None] * n, pa.string()),
            "value": pa.array(values, pa.float64()),
            "strategy": pa.array([strategy] * n, pa.string()),
            "replication": pa.array(list(range(n)), pa.int64()),
        }
    )


def wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [(3, 4, (0.300641, 0.954413)), (0, 10, (0.0, 0.277533)), (10, 10, (0.722467, 1.0)), (1, 2, (0.094531, 0.905469))],
)
def test_wilson_bounds_match_the_formula(k: int, n: int, expected: tuple[float, float]) -> None:
    lo, hi = wilson_interval(k, n)
    assert (lo, hi) == pytest.approx(expected, abs=2e-6)
    assert (lo, hi) == pytest.approx(wilson_by_hand(k, n), abs=1e-6)


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="k must be in"):
        wilson_interval(5, 4)
    with pytest.raises(ValueError, match="n must be positive"):
        wilson_interval(0, 0)


def test_a_share_of_replications_gets_a_wilson_interval_in_summarise() -> None:
    """otif 1, 1, 1, 0: the t interval would be [0.75 ± 3.182·0.5/2] = [-0.046, 1.546]."""
    (row,) = summarise(kpi_rows("otif", [1.0, 1.0, 1.0, 0.0])).to_pylist()
    assert row["mean"] == 0.75
    assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((0.300641, 0.954413), abs=2e-6)
    assert (row["ci_method"], row["ci_clipped"]) == ("wilson", False)


def test_every_replication_met_is_not_a_certainty() -> None:
    """All 10 replications at 100% on time: t gives [1, 1]; Wilson says at least 72.2%."""
    (row,) = summarise(kpi_rows("pledge_on_time_share", [1.0] * 10)).to_pylist()
    assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((0.722467, 1.0), abs=2e-6)


def test_a_count_interval_that_t_would_take_below_zero_is_clipped() -> None:
    (row,) = summarise(kpi_rows("units_lost", [0.0, 0.0, 3.0])).to_pylist()
    assert row["mean"] == 1.0 and row["std"] == pytest.approx(math.sqrt(3))
    assert row["ci95_low"] == 0.0  # t: 1 - 4.303 = -3.303
    assert row["ci95_high"] == pytest.approx(1 + T975_2, abs=1e-5)
    assert (row["ci_method"], row["ci_clipped"]) == ("t", True)


def test_a_fraction_that_is_not_binary_is_clipped_at_one() -> None:
    """fill_rate 0.9, 1.0, 1.0: mean 0.9667, s = 0.0577, t half-width 0.1434 -> [0.823, 1.110] -> 1."""
    (row,) = summarise(kpi_rows("fill_rate", [0.9, 1.0, 1.0])).to_pylist()
    s = math.sqrt(((0.9 - 2.9 / 3) ** 2 + 2 * (1 - 2.9 / 3) ** 2) / 2)
    assert row["ci95_low"] == pytest.approx(2.9 / 3 - T975_2 * s / math.sqrt(3), abs=1e-5)
    assert (row["ci95_high"], row["ci_clipped"]) == (1.0, True)


def test_an_unbounded_kpi_and_an_interval_inside_its_range_are_left_alone() -> None:
    lead = summarise(kpi_rows("lead_time_mean_days", [30.0, 31.0, 32.0])).to_pylist()[0]
    assert (lead["ci95_low"], lead["ci95_high"]) == pytest.approx(
        (31 - T975_2 / math.sqrt(3), 31 + T975_2 / math.sqrt(3))
    )
    assert (lead["ci_method"], lead["ci_clipped"]) == ("t", False)
    other = kpi_interval("some_signed_score", [-1.0, 0.0, 4.0])
    assert other.low is not None and other.low < -1 and not other.clipped


def test_a_difference_of_fractions_is_clipped_to_plus_minus_one_and_others_keep_their_sign() -> None:
    """fill_rate pairs (0.2, 0.9), (0.9, 0.2): d = +0.7, -0.7, t half-width 12.706 · 0.99 / √2 = 8.9."""
    base = kpi_rows("fill_rate", [0.2, 0.9])
    other = kpi_rows("fill_rate", [0.9, 0.2], strategy="b")
    (d,) = paired_differences(pa.concat_tables([base, other]))
    assert d.mean == pytest.approx(0.0, abs=1e-12)
    assert (d.ci_low, d.ci_high, d.ci_clipped) == (-1.0, 1.0, True)
    assert d.as_row()["ci_clipped"] is True
    base = kpi_rows("units_delivered", [100.0, 110.0, 90.0])
    other = kpi_rows("units_delivered", [90.0, 112.0, 70.0], strategy="b")
    (d,) = paired_differences(pa.concat_tables([base, other]))
    # d = -10, +2, -20: mean -9.333, s = √121.33 = 11.015, half-width 4.303 · 11.015 / √3 = 27.363
    assert (d.ci_low, d.ci_high) == pytest.approx((-36.697, 18.030), abs=1e-3)
    assert not d.ci_clipped  # a difference of counts may be negative


def test_kpi_domains_by_name() -> None:
    for kpi in ("otif", "fill_rate", "utilisation", "stage_share_transport", "pledge_on_time_share"):
        assert (kpi_domain(kpi).kind, kpi_domain(kpi).low, kpi_domain(kpi).high) == ("fraction", 0.0, 1.0), kpi
    for kpi in ("units_delivered", "lots_done", "trips", "stockout_days", "delivered_units", "lost_lots"):
        assert (kpi_domain(kpi).kind, kpi_domain(kpi).low) == ("count", 0.0), kpi
    for kpi in ("lead_time_p90_days", "wait_mean_days", "last_delivery_day", "stage_mean_days_tender"):
        assert (kpi_domain(kpi).kind, kpi_domain(kpi).low) == ("days", 0.0), kpi
    for kpi in ("total_cost_eur", "cost_per_delivered_unit_eur_agency", "budget_left_eur", "eur_committed"):
        assert (kpi_domain(kpi).kind, kpi_domain(kpi).low) == ("money", 0.0), kpi
    assert kpi_domain("lateness_mean_days").low == -math.inf  # a suffix alone does not bound
    assert (difference_domain("otif").low, difference_domain("otif").high) == (-1.0, 1.0)
    assert difference_domain("units_delivered").low == -math.inf


@pytest.mark.parametrize(
    ("kpi", "x", "difference", "text"),
    [
        ("otif", 0.973, False, "97.3%"),
        ("fill_rate", 1.0, False, "100.0%"),
        ("otif", -0.0123, True, "-1.2 pp"),
        ("units_delivered", 1318.4, False, "1,318"),
        ("units_delivered", 12.6, True, "+13"),
        ("units_lost", -0.2, True, "0"),
        ("otif", 0.0, True, "0.0 pp"),
        ("stockout_days", 3.0, False, "3"),
        ("total_cost_eur", 575670.0, False, "€575,670"),
        ("total_cost_eur", -1234.4, True, "-€1,234"),
        ("cost_per_delivered_unit_eur", 12.345, False, "€12.35"),
        ("lead_time_p50_days", 35.89, False, "35.9"),
        ("lead_time_mean_days", 0.44, True, "+0.4"),
        ("queue_mean", 0.4321, False, "0.43"),
    ],
)
def test_values_print_by_kind(kpi: str, x: float, difference: bool, text: str) -> None:
    assert fmt.value(kpi, x, difference=difference) == text


def test_intervals_print_with_their_marks() -> None:
    assert fmt.interval("units_lost", 0.0, 5.3, clipped=True) == "[0, 5]*"
    assert fmt.interval("otif", 0.3006, 0.9544, method="wilson") == "[30.1%, 95.4%]†"
    assert fmt.interval("otif", -1.0, 0.034, difference=True, clipped=True) == "[-100.0, +3.4] pp*"
    assert fmt.interval("otif", None, None) == "" and fmt.value("otif", None) == ""
    assert fmt.ci_note(False, False) == []
    assert [n[0] for n in fmt.ci_note(True, True)] == ["*", "†"]
