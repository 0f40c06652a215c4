"""The engine's requirement records stay bounded by the requirements open at once, not by the run's total.

A requirement opened by a stream (or any requirement opened while the run goes) is dropped by
the engine once it is closed (``requirement_filled``): nothing reads it afterwards (its lots
are all delivered or lost, its orders made, its money settled). Requirements written in the
scenario stay. Four streams, one per way a requirement is ordered (domestic paid by the
unlimited state budget: logged inline; domestic paid by a donor: ordered at once; agency: a
tender pool; bilateral: a process waiting for the lead time), open 2,400 requirements in all.
While the run goes, the ``ReqState`` objects alive in the interpreter (counted by the garbage
collector, whatever holds them) never exceed the scenario's requirements plus those open at
that moment (opened less closed, from the engine's counters) plus one per stream and per
line (the last requirement their long-lived processes still name); at the end, with every
arrival closed, no more than the scenario's requirements and those few names are left.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Generator
from typing import Any

import simpy

from scenarios.schema import Scenario
from sim.model.context import Context, ReqState
from sim.run import build_context

START = dt.date(2025, 1, 1)
GAP_DAYS = 0.25
UNTIL_DAY = 150
CHANNELS = (("D_state", "domestic", None), ("D_donor", "domestic", "donor"), ("A", "agency", "donor"))
BILATERAL = ("B", "bilateral", "donor")
STREAMS = (*CHANNELS, BILATERAL)


def day(n: float) -> dt.date:
    return START + dt.timedelta(days=n)


def scenario() -> Scenario:
    """One fast line to one unit; a stream of one-unit requirements every 0.25 days per channel."""
    reqs = []
    for rid, channel, funder in STREAMS:
        r: dict[str, Any] = {
            "id": rid,
            "unit": "unit",
            "item": "box",
            "qty": 1,
            "need_by": day(UNTIL_DAY + 30),
            "channel": channel,
            "stream": {"interarrival_days": GAP_DAYS, "until": day(UNTIL_DAY)},
        }
        if funder is not None:
            r["funders"] = [funder]
        reqs.append(r)
    return Scenario.model_validate(
        {
            "name": "requirement_memory",
            "start": START,
            "horizon_days": UNTIL_DAY + 60,
            "seed": 5,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.001, "lot_size": 1}],
            "nodes": [
                {
                    "id": "sup",
                    "kind": "supplier",
                    "domestic": True,
                    "products": [{"item": "box", "rate_per_day": 1000, "unit_price_eur": 1}],
                },
                {"id": "unit", "kind": "unit"},
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
                {"id": "donor", "kind": "donor", "budget_eur": 1e9, "bilateral_lead_days": 1},
                {"id": "agency", "kind": "agency", "staff": 1, "tender_days": 0.5, "pool_days": 1, "fee_share": 0.02},
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
            "requirements": reqs,
        }
    )


def live_reqstates() -> int:
    """``ReqState`` objects alive in the interpreter (after a collection)."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is ReqState)


def open_now(ctx: Context) -> int:
    """Requirements opened and not yet closed (the engine's counters)."""
    c = ctx.counters
    return int(c.get("requirements_opened", 0) - c.get("requirements_closed", 0))


def sampler(ctx: Context, every_days: float, out: list[tuple[float, int, int]]) -> Generator[simpy.Event, Any, None]:
    """Every ``every_days``: (day, live ``ReqState`` objects, requirements open)."""
    while True:
        yield ctx.env.timeout(every_days)
        out.append((float(ctx.env.now), live_reqstates(), open_now(ctx)))


def test_closed_streamed_requirements_are_freed() -> None:
    s = scenario()
    before = live_reqstates()
    ctx = build_context(s)
    samples: list[tuple[float, int, int]] = []
    ctx.env.process(sampler(ctx, 10.0, samples))
    ctx.env.run(until=s.horizon_days)

    arrivals = len(STREAMS) * int(UNTIL_DAY / GAP_DAYS)  # 2,400, give or take the last instant
    assert ctx.counters["requirements_opened"] >= arrivals - len(STREAMS)
    assert ctx.counters["requirements_closed"] == ctx.counters["requirements_opened"]  # all closed
    kept = len(s.requirements)
    named = len(STREAMS) + len(ctx.lines)  # a stream's last arrival, a line's last lot's requirement
    assert len(samples) >= UNTIL_DAY // 10
    for t, live, n_open in samples:
        assert live - before <= kept + n_open + named, (t, live - before, n_open)
    assert kept <= live_reqstates() - before <= kept + named
    del ctx
