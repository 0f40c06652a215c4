"""Variability and release streams: lot-time distributions, requirement streams, small memory.

- A line's ``lot_time`` draws each lot's work content around ``lot size / rate``: the mean and
  the coefficient of variation of the lot times of a busy line match the distribution's.
- A requirement with a ``stream`` opens one requirement per arrival: their count, ids,
  quantities and need-by days follow the stream's definition.
- M/M/1 through a stream-released line: Poisson arrivals of one-lot requirements into a line
  with exponential lot times; the mean time from opening to ``lot_produced`` matches
  ``1 / (mu - lambda)`` within a 99% confidence interval over replications.
- A requirement's bilateral lead time is drawn lazily: 10^3 bilateral requirements no longer
  hold a pre-drawn block of 4,096 numbers each.
"""

from __future__ import annotations

import datetime as dt
import math
import tracemalloc
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats

from scenarios.schema import Scenario
from sim.run import run

START = dt.date(2025, 1, 1)
Runner = Any
"""The ``run_logged`` fixture of ``tests/sim/conftest.py``."""


def day(n: float) -> dt.date:
    return START + dt.timedelta(days=n)


def flow(
    rate: float,
    lot: int,
    requirements: list[dict[str, Any]],
    horizon: float,
    seed: int = 11,
    donors: list[dict[str, Any]] | None = None,
    **product: Any,
) -> Scenario:
    """One line (``rate``/day, lots of ``lot``) with a fast road to one unit; the given requirements."""
    prod: dict[str, Any] = {"item": "box", "rate_per_day": rate, "unit_price_eur": 1}
    prod.update(product)
    return Scenario.model_validate(
        {
            "name": "flow",
            "start": START,
            "horizon_days": horizon,
            "seed": seed,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.001, "lot_size": lot}],
            "nodes": [
                {"id": "sup", "kind": "supplier", "domestic": True, "products": [prod]},
                {"id": "unit", "kind": "unit"},
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
                *(donors or []),
            ],
            "links": [
                {
                    "id": "road",
                    "from": "sup",
                    "to": "unit",
                    "mode": "road",
                    "transit_days": 0.1,
                    "vehicles": 100,
                    "capacity_m3": 1e6,
                    "return_days": 0,
                }
            ],
            "requirements": requirements,
        }
    )


def stream_req(gap: Any, until: float, qty: int = 1, **kw: Any) -> dict[str, Any]:
    """A domestic stream of ``qty`` per arrival every ``gap`` until day ``until``, all needed by ``until + 10``."""
    out: dict[str, Any] = {
        "id": "S",
        "unit": "unit",
        "item": "box",
        "qty": qty,
        "need_by": day(until + 10),
        "channel": "domestic",
        "stream": {"interarrival_days": gap, "until": day(until)},
    }
    out.update(kw)
    return out


# --------------------------------------------------------------------------- lot times


@pytest.mark.parametrize(("lot_time", "cv"), [("exponential", 1.0), ({"dist": "lognormal", "cv": 0.5}, 0.5)])
def test_lot_times_have_the_mean_of_the_rate_and_the_cv_of_their_distribution(
    run_logged: Runner, invariants: Any, lot_time: Any, cv: float
) -> None:
    lots, lot, rate = 4000, 10, 20.0  # mean lot time 0.5 days; the line is busy from day 0
    req = {"id": "R", "unit": "unit", "item": "box", "qty": lots * lot, "need_by": day(10), "channel": "domestic"}
    lg = run_logged(flow(rate, lot, [req], horizon=3 * lots * lot / rate, lot_time=lot_time))
    f = lg.frame
    t = f.t[f.where("lot_produced")]
    assert len(t) == lots
    gaps = np.diff(np.concatenate([[0.0], t]))
    mean, sd = float(gaps.mean()), float(gaps.std(ddof=1))
    half = float(stats.norm.ppf(0.995)) * sd / math.sqrt(lots)
    assert abs(mean - lot / rate) <= half, (mean, half)
    assert sd / mean == pytest.approx(cv, rel=0.1)
    invariants(lg)


def test_fixed_lot_time_is_exactly_lot_size_over_rate(run_logged: Runner) -> None:
    req = {"id": "R", "unit": "unit", "item": "box", "qty": 50, "need_by": day(10), "channel": "domestic"}
    lg = run_logged(flow(20.0, 10, [req], horizon=30, lot_time="fixed"))
    f = lg.frame
    assert f.t[f.where("lot_produced")] == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.5], abs=1e-12)


# --------------------------------------------------------------------------- streams


def check_arrivals(lg: Any) -> None:
    """Each arrival (ref >= the scenario's requirements) opens once, then is funded, ordered, delivered, closed.

    (The shared ``invariants`` of ``tests/sim/conftest.py`` look each ref up in the scenario's
    requirement list, which holds the stream, not its arrivals.)
    """
    f = lg.frame
    assert np.array_equal(f.seq, np.arange(len(f)))
    assert np.all(np.diff(f.t) >= 0)
    first = len(lg.scenario.requirements)
    opened = f.where("requirement_opened")
    refs = f.ref[opened]
    assert refs.tolist() == list(range(first, first + len(opened)))
    for i, ref in zip(opened.tolist(), refs.tolist(), strict=True):
        mine = np.flatnonzero(f.ref == ref)
        assert mine[0] == i, "a row before requirement_opened"
        qty = int(f.qty[i])
        ordered = int(f.qty[mine[f.kind[mine] == "contract_awarded"]].sum())
        produced = int(f.qty[mine[f.kind[mine] == "lot_produced"]].sum())
        delivered = int(f.qty[mine[f.kind[mine] == "delivered"]].sum())
        assert ordered in (0, qty) and delivered <= produced <= ordered
        filled = mine[f.kind[mine] == "requirement_filled"]
        assert len(filled) == (1 if delivered == qty else 0)
        if len(filled):
            assert filled[0] == mine[-1]


def test_a_fixed_stream_opens_one_requirement_per_arrival_until_its_date(run_logged: Runner) -> None:
    # one arrival every 0.75 days from day 0 (the first after one gap) until the end of day 9:
    # days 0.75, 1.5, ..., 9.75 -> 13 arrivals of 3 units, each needed by the date 5 days after
    # it opens (the need-by day logged is that date's day number, floor(t + 5)).
    req = stream_req(0.75, until=9, qty=3)
    req["stream"]["need_within_days"] = 5
    lg = run_logged(flow(100.0, 1, [req], horizon=40))
    f = lg.frame
    opened = f.where("requirement_opened")
    arrivals = [0.75 * k for k in range(1, 14)]
    assert f.t[opened] == pytest.approx(arrivals, abs=1e-9)
    assert f.qty[opened].tolist() == [3] * 13
    assert f.ref[opened].tolist() == list(range(1, 14))  # after the stream's own entry (0)
    assert f.value[opened].tolist() == [math.floor(t + 5) for t in arrivals]
    assert len(f.where("requirement_filled")) == 13
    assert int(f.qty[f.where("delivered")].sum()) == 39
    assert lg.result.status == "completed"
    assert lg.result.end["requirements"] == {"S": {"ordered": 0, "delivered": 0, "lost": 0, "closed": False}}
    check_arrivals(lg)


def test_a_need_by_date_caps_the_need_by_of_each_arrival(run_logged: Runner) -> None:
    req = stream_req(1.0, until=4)
    req["need_by"] = day(6)
    req["stream"]["need_within_days"] = 3
    lg = run_logged(flow(100.0, 1, [req], horizon=20))
    f = lg.frame
    opened = f.where("requirement_opened")
    assert f.t[opened] == pytest.approx([1, 2, 3, 4], abs=1e-9)
    assert f.value[opened] == pytest.approx([4, 5, 6, 6], abs=1e-9)


def test_poisson_stream_counts_match_the_poisson_law() -> None:
    # 20 replications of Exp(0.5) gaps over 100 days (until the end of day 99): 200 arrivals
    # expected in each, Poisson. Their total over the replications is Poisson(4,000).
    s = flow(1000.0, 1, [stream_req({"dist": "exponential", "mean": 0.5}, until=99)], horizon=120)
    counts = [run(s, replication=rep)[1].counters["requirements_opened"] for rep in range(20)]
    lo, hi = stats.poisson.ppf([0.0005, 0.9995], 20 * 200)
    assert lo <= sum(counts) <= hi, sum(counts)
    assert len(set(counts)) > 1  # random, not fixed


def test_stream_of_bilateral_requirements_funds_each_arrival(run_logged: Runner) -> None:
    donor = {"id": "don", "kind": "donor", "budget_eur": 10, "bilateral_lead_days": {"dist": "exponential", "mean": 2}}
    req = stream_req(1.0, until=19, qty=1, channel="bilateral", funders=["don"])
    lg = run_logged(flow(100.0, 1, [req], horizon=80, donors=[donor]))
    f = lg.frame
    # arrivals on days 1..19 (day 20 is past the end of day 19), 1 EUR each; the budget covers
    # 10, the other 9 wait for funds for ever
    assert len(f.where("requirement_opened")) == 19
    assert len(f.where("funds_committed")) == 10
    assert len(f.where("funds_short")) == 9
    assert len(f.where("requirement_filled")) == 10
    assert lg.result.status in ("deadlocked", "incomplete")
    check_arrivals(lg)


def _problems(req: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        flow(1.0, 1, [req], horizon=30)
    return str([e.get("ctx", {}).get("problems", e["msg"]) for e in info.value.errors()])


def test_stream_validation_names_the_field() -> None:
    assert "interarrival_days must have a mean > 0" in _problems(stream_req(0, until=5))
    late = stream_req(1, until=5)
    late["need_by"] = day(3)
    assert "('requirements', 0, 'stream', 'until'), 'until 2025-01-06 is after need_by 2025-01-04'" in _problems(late)
    assert "arrivals expected" in _problems(stream_req(1e-7, until=5))


# --------------------------------------------------------------------------- M/M/1

ARRIVALS = 5_000
REPS = 10


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_mm1_through_a_stream_released_line_matches_theory(rho: float) -> None:
    """Sojourn (opened -> produced) of M/M/1: W = 1 / (mu - lambda)."""
    lam = 1.0
    mu = lam / rho
    lot = 1
    req = stream_req({"dist": "exponential", "mean": 1 / lam}, until=ARRIVALS / lam)
    s = flow(mu * lot, lot, [req], horizon=ARRIVALS / lam * 1.2 + 50, lot_time="exponential")
    means = []
    for rep in range(REPS):
        log, res = run(s, replication=rep, max_events=10**8)
        assert res.status == "completed"
        t = log.table()
        kind = np.array(t.column("kind").to_pylist(), dtype=object)
        ref = t.column("ref").fill_null(-1).to_numpy()
        time = t.column("t").to_numpy()
        op = np.flatnonzero(kind == "requirement_opened")
        pr = np.flatnonzero(kind == "lot_produced")
        opened = dict(zip(ref[op].tolist(), time[op].tolist(), strict=True))
        sojourn = [time[i] - opened[r] for i, r in zip(pr.tolist(), ref[pr].tolist(), strict=True)]
        assert len(sojourn) >= 0.9 * ARRIVALS
        means.append(float(np.mean(sojourn)))
    m, sd = float(np.mean(means)), float(np.std(means, ddof=1))
    half = float(stats.t.ppf(0.995, REPS - 1)) * sd / math.sqrt(REPS)
    expected = 1 / (mu - lam)
    assert abs(m - expected) <= half, f"W {m:.4f} ± {half:.4f}, M/M/1 {expected:.4f}"
    assert half < 0.25 * expected  # the interval is informative


# --------------------------------------------------------------------------- memory


def test_bilateral_requirements_hold_no_block_of_random_numbers() -> None:
    """10^3 bilateral requirements open at once: their lead times are drawn lazily, one each.

    Before, each requirement's lead-time sampler pre-drew 4,096 numbers (about 130 kB as Python
    floats) and held them while the requirement waited: about 130 MB here.
    """
    n = 1000
    donor = {"id": "don", "kind": "donor", "budget_eur": 1e9, "bilateral_lead_days": {"dist": "exponential", "mean": 5}}
    reqs = [
        {"id": f"R{k}", "unit": "unit", "item": "box", "qty": 1, "need_by": day(30), "channel": "bilateral"}
        | {"funders": ["don"]}
        for k in range(n)
    ]
    s = flow(1e4, 1, reqs, horizon=200, donors=[donor])
    tracemalloc.start()
    try:
        _, res = run(s)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.status == "completed"
    assert res.counters["requirements_closed"] == n
    assert peak / n < 30_000, f"{peak / n:,.0f} bytes per requirement at peak"
