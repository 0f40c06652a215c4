"""Random consumption per (unit, item) (issue 14, item 1).

Moments of each distribution against their formulas, the intensity profile by hand, and
common random numbers: a strategy that changes something else leaves the draws alone.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from scenarios.load import load
from scenarios.schema_inventory import Consumption
from scenarios.strategies import apply_overrides
from sim.model.consumption import demand_draw
from tests.sim.conftest import Runner

HERE = Path(__file__).resolve().parent / "inventory"
N = 20_000


def draws(spec: dict[str, Any], n: int = N, seed: int = 1) -> np.ndarray:
    draw = demand_draw(np.random.default_rng(seed), Consumption.model_validate(spec), [])
    return np.array([draw(float(k)) for k in range(n)])


def inside(x: np.ndarray, mean: float, var: float) -> None:
    """The sample mean lies in the 99.9% interval of its normal approximation."""
    half = stats.norm.ppf(0.9995) * math.sqrt(var / len(x))
    assert abs(x.mean() - mean) <= half, (x.mean(), mean, half)


def test_poisson_mean_and_variance() -> None:
    x = draws({"dist": "poisson", "mean_per_day": 7.5})
    inside(x, 7.5, 7.5)
    assert x.var() == pytest.approx(7.5, rel=0.05)


def test_negative_binomial_mean_and_variance() -> None:
    """Variance mean + mean^2 / k: 20 + 400 / 4 = 120."""
    x = draws({"dist": "negative_binomial", "mean_per_day": 20.0, "dispersion": 4.0})
    inside(x, 20.0, 120.0)
    assert x.var() == pytest.approx(120.0, rel=0.06)


def test_truncated_normal_carries_fractions() -> None:
    """cv 0.2 at mean 10: truncation at 0 is 5 sd away, so the long-run mean is 10 per day."""
    x = draws({"dist": "truncated_normal", "mean_per_day": 10.0, "cv": 0.2})
    assert np.all(x >= 0) and np.all(x == np.floor(x))
    assert abs(x.sum() - 10.0 * N) <= 1 + stats.norm.ppf(0.9995) * 2.0 * math.sqrt(N)


def test_empirical_values_and_every_days() -> None:
    """Values 0 and 30 equally likely, drawn every 2 days: 0 or 60 per draw, mean 30."""
    x = draws({"dist": "empirical", "values": [0.0, 30.0], "every_days": 2})
    assert set(np.unique(x)) == {0, 60}
    inside(x, 30.0, 900.0)


def test_fixed_is_the_deterministic_rate() -> None:
    assert draws({"dist": "fixed", "mean_per_day": 2.5}, n=4).tolist() == [2, 3, 2, 3]


def test_intensity_profile_by_hand(run_logged: Runner) -> None:
    """10 a day, factor 2 from day 5 (2025-01-06), 0 from day 8: the demand of day k is drawn at
    its end (k + 1): 10 on days 1..5, 20 on days 6..8, nothing after."""
    s = load(HERE / "s_s_every_two_days.yaml")
    s = apply_overrides(
        s,
        {
            "nodes.brigade.consumption.shell": {
                "dist": "fixed",
                "mean_per_day": 10.0,
                "intensity": [{"from": "2025-01-06", "factor": 2.0}, {"from": "2025-01-09", "factor": 0.0}],
            },
            "nodes.brigade.initial_stock.shell": 1000,
        },
    )
    f = run_logged(s).frame
    ix = f.where("consumed", node="brigade")
    assert [(float(f.t[i]), int(f.qty[i])) for i in ix] == [(float(d), 10) for d in range(1, 6)] + [
        (float(d), 20) for d in range(6, 9)
    ]


def test_common_random_numbers_across_strategies(run_logged: Runner) -> None:
    """A slower link changes the receipts, not the demand drawn (the consumption stream is its own)."""
    s = apply_overrides(
        load(HERE / "rq_poisson.yaml"),
        {"horizon_days": 200.0, "nodes.brigade.stock_policies.shell.shortage": "lost_sales"},
    )
    slow = apply_overrides(s, {"links.road.transit_days": 6.0})

    def demand(lg: Any) -> np.ndarray:
        f = lg.frame
        out = np.zeros(201, dtype=np.int64)
        for kind in ("consumed", "stockout"):
            ix = f.where(kind, node="brigade")
            np.add.at(out, f.t[ix].astype(np.int64), f.qty[ix])
        return out

    a, b = run_logged(s), run_logged(slow)
    assert np.array_equal(demand(a), demand(b))
    assert a.frame.where("stockout").size < b.frame.where("stockout").size  # the runs do differ
