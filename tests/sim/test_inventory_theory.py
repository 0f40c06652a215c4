"""(R, Q) continuous review against its closed form (issue 14, item 5).

Scenario ``tests/sim/inventory/rq_poisson.yaml``: one unit consumes Poisson(lambda) units a day,
reviews after each day's demand and orders the smallest multiple of Q lifting its inventory
position above R; the order arrives exactly L days later (a domestic maker ships from stock,
the only link's transit is fixed); unmet demand is backordered.

Closed form (Hadley & Whitin; Zipkin, *Foundations of Inventory Management*, ch. 6, in the
discrete-time form the engine runs: receipts, then the day's demand, then the review):

- the position after a review is uniform on R+1..R+Q (the (R, nQ) chain is doubly stochastic);
- the net inventory at the end of day t+L is IP(t) - D, D ~ Poisson(lambda L) (every order
  placed by t has arrived by t+L, none placed later);
- so the mean on hand is E[(IP - D_L)^+], and the units short on a day are the backorders'
  growth, E[(D_L - IP)^+] - E[(D_{L-1} - IP)^+]: fill rate = 1 - that / lambda.

The engine's figures are read from the log (on hand from ``stock_received``, ``delivered``,
``consumed`` and ``backorder_filled``; fill = consumed / (consumed + stockout)) after a warm-up,
one value per replication; the closed form must lie in the 99% Student-t confidence interval
of their mean. Three parameter points, each in a different regime (fill from ~0.8 to ~1).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from scenarios.load import load
from scenarios.strategies import apply_overrides
from tests.sim.conftest import Runner

SCENARIO = Path(__file__).resolve().parent / "inventory" / "rq_poisson.yaml"
WARMUP_DAYS = 100
REPLICATIONS = 8


def closed_form(lam: float, lead: int, r: int, q: int) -> tuple[float, float]:
    """(mean on hand at the end of a day, fill rate) of the (R, Q) system."""
    hi = int(lam * lead + 12 * math.sqrt(lam * lead + 1) + r + q + 20)
    d = np.arange(hi + 1)
    p_l = stats.poisson.pmf(d, lam * lead)
    p_l1 = stats.poisson.pmf(d, lam * (lead - 1)) if lead > 1 else (d == 0).astype(float)
    on_hand = short = 0.0
    for ip in range(r + 1, r + q + 1):
        on_hand += float(np.sum(np.maximum(ip - d, 0) * p_l))
        short += float(np.sum(np.maximum(d - ip, 0) * p_l) - np.sum(np.maximum(d - ip, 0) * p_l1))
    return on_hand / q, 1.0 - short / q / lam


def measured(lg: object) -> tuple[float, float]:
    """(time-average on hand, fill rate) after the warm-up, from the log read back."""
    f = lg.frame  # type: ignore[attr-defined]
    horizon = int(lg.scenario.horizon_days)  # type: ignore[attr-defined]
    delta = np.zeros(horizon + 1)
    for kind, sign in (("stock_received", 1), ("delivered", 1), ("consumed", -1), ("backorder_filled", -1)):
        ix = f.where(kind, node="brigade")
        np.add.at(delta, f.t[ix].astype(np.int64), sign * f.qty[ix])
    end_of_day = np.cumsum(delta)  # every change happens on whole days: on hand over [k, k + 1)
    assert end_of_day.min() >= 0
    on_hand = float(end_of_day[WARMUP_DAYS:horizon].mean())
    late = f.t >= WARMUP_DAYS
    used = f.qty[np.intersect1d(f.where("consumed", node="brigade"), np.flatnonzero(late))].sum()
    short_ix = np.intersect1d(f.where("stockout", node="brigade"), np.flatnonzero(late))
    assert np.all(f.value[short_ix] == 1.0)  # backordered
    short = f.qty[short_ix].sum()
    return on_hand, float(used / (used + short))


def ci99(xs: list[float]) -> tuple[float, float]:
    """The 99% Student-t confidence interval of the mean of ``xs``."""
    a = np.asarray(xs)
    half = stats.t.ppf(0.995, len(a) - 1) * a.std(ddof=1) / math.sqrt(len(a))
    return float(a.mean() - half), float(a.mean() + half)


@pytest.mark.parametrize(
    ("lam", "lead", "r", "q"),
    [(4.0, 3, 10, 12), (2.0, 2, 2, 5), (6.0, 4, 28, 20)],
)
def test_rq_poisson_matches_the_closed_form(run_logged: Runner, lam: float, lead: int, r: int, q: int) -> None:
    base = load(SCENARIO)
    s = apply_overrides(
        base,
        {
            "nodes.brigade.consumption.shell.mean_per_day": lam,
            "nodes.brigade.stock_policies.shell.reorder_point": r,
            "nodes.brigade.stock_policies.shell.order_qty": q,
            "nodes.brigade.initial_stock.shell": r + q,
            "links.road.transit_days": float(lead),
        },
    )
    on_hand, fill = zip(*(measured(run_logged(s, replication=k)) for k in range(REPLICATIONS)), strict=True)
    want_on_hand, want_fill = closed_form(lam, lead, r, q)
    lo, hi = ci99(list(on_hand))
    assert lo <= want_on_hand <= hi, (want_on_hand, lo, hi)
    lo, hi = ci99(list(fill))
    assert lo <= want_fill <= hi, (want_fill, lo, hi)


def test_the_closed_form_by_hand() -> None:
    """Q = 1, R = 0, L = 1, lambda = 1: IP = 1, on hand = P(D = 0) = e^-1, short = E[(D - 1)^+] - 0."""
    on_hand, fill = closed_form(1.0, 1, 0, 1)
    assert on_hand == pytest.approx(math.exp(-1))
    assert fill == pytest.approx(1.0 - (1.0 - 1.0 + math.exp(-1)))  # E[(D-1)^+] = E[D] - 1 + P(D=0)


def test_the_position_after_each_review_is_uniform(run_logged: Runner) -> None:
    """Orders lift the position into R+1..R+Q: each order's position + qty lands there, each value about equally often."""
    lg = run_logged(load(SCENARIO))
    f = lg.frame
    ix = f.where("order_placed", node="brigade")
    after = f.value[ix] + f.qty[ix]
    assert set(np.unique(after)) <= set(range(11, 23))
    assert np.all(f.value[ix] <= 10)
    assert np.all(f.qty[ix] % 12 == 0)
