"""``trace`` names the real cause of lateness (issue 17, item 2), checked by hand-computed numbers.

Two tiny scenarios, built inline, whose every time is arithmetic:

``truck_and_hub``: a domestic requirement of 20 boxes (two 10-box lots of 1 m3), paid by an
unlimited state budget, is awarded at day 0 to a line making 10 boxes a day: lot 0 is made
over days 0-1, lot 1 waits for it (1 day of production backlog) and is made over days 1-2. One
truck (room for one lot, 3 days out, 3 back) carries lot 0 from day 1 to day 4 and is back at
day 7: lot 1 waits for it from day 2 to day 7 (5 days, link ``truck`` at ``maker``) and
reaches the hub at day 10. The hub's single server takes 8 days a lot: lot 0 is in service
over days 4-12, so lot 1 queues from day 10 to 12 (2 days at ``hub``) and is served over
days 12-20; a van takes 1 day to the unit: delivered at day 21. Need-by day 15 (due by the
end of that date, day 16): 5 days late. With no waiting, lot 1 needs production 1 + transit
3 + service 8 + transit 1 = 13 days: it would have been on time; the waits (1 + 5 + 2 = 8
days) made it late, the truck most.

``short_of_funds``: a requirement of 10 boxes worth 100 EUR, funded by a donor with no money
until a tranche on day 30; the supplier ships from stock on a 2-day link. It waits for funds
from day 0 to day 30 and is delivered at day 32; need-by day 20 (due day 21): 11 days late.
Without the tranche it is never filled: at the end of the 60-day run it is 60 - 21 = 39
days late so far, short of funds.

``part_award``: the same, 20 boxes at a price of 20 EUR against an estimate of 10, the donor
holding 300 EUR: 200 is committed at opening, the award finds 100 more and shrinks to the 15
boxes that 300 EUR pay (``funds_short`` at day 0, on the award); a 10-box lot is made over
days 0-1, a 5-box lot over 1-1.5. The rest, 5 boxes, is contracted when the tranche comes on
day 30, made over days 30-30.5 and delivered at 32.5: filled 11.5 days late, the last lot's
timeline funds 0-30, production 30-30.5, transit 30.5-32.5. Without the tranche: 15 of 20
boxes contracted, short of funds, 39 days late so far.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
from typing import Any

import pytest
from rich.console import Console

from results.replay import end_of_run, lineage, lineages
from scenarios.schema import Scenario
from sim.cli.trace import print_lineage
from sim.run import run

START = dt.date(2025, 1, 1)


def truck_and_hub() -> Scenario:
    """One truck for the supplier's link and one server at the hub (module docstring)."""
    d: dict[str, Any] = {
        "name": "truck_and_hub",
        "start": START,
        "horizon_days": 60,
        "items": [{"id": "box", "unit_value_eur": 10, "volume_m3": 0.1, "lot_size": 10}],
        "nodes": [
            {
                "id": "maker",
                "kind": "supplier",
                "domestic": True,
                "products": [{"item": "box", "rate_per_day": 10, "unit_price_eur": 10}],
            },
            {"id": "hub", "kind": "hub", "servers": 1, "service_days": 8},
            {"id": "u", "kind": "unit"},
            {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
        ],
        "links": [
            {
                "id": "truck",
                "from": "maker",
                "to": "hub",
                "mode": "road",
                "transit_days": 3,
                "return_days": 3,
                "vehicles": 1,
                "capacity_m3": 1,
            },
            {
                "id": "van",
                "from": "hub",
                "to": "u",
                "mode": "road",
                "transit_days": 1,
                "return_days": 1,
                "vehicles": 2,
                "capacity_m3": 1,
            },
        ],
        "requirements": [
            {
                "id": "R",
                "unit": "u",
                "item": "box",
                "qty": 20,
                "need_by": START + dt.timedelta(days=15),
                "channel": "domestic",
            }
        ],
    }
    return Scenario.model_validate(copy.deepcopy(d))


def short_of_funds(tranche: bool = True) -> Scenario:
    """A requirement whose donor has no money until a tranche on day 30 (module docstring)."""
    donor: dict[str, Any] = {"id": "donor", "kind": "donor", "budget_eur": 0}
    if tranche:
        donor["tranches"] = [{"date": START + dt.timedelta(days=30), "amount_eur": 1000}]
    d: dict[str, Any] = {
        "name": "short_of_funds",
        "start": START,
        "horizon_days": 60,
        "items": [{"id": "box", "unit_value_eur": 10, "volume_m3": 0.1, "lot_size": 10}],
        "nodes": [
            {
                "id": "maker",
                "kind": "supplier",
                "domestic": True,
                "products": [{"item": "box", "rate_per_day": 10, "unit_price_eur": 10, "initial_stock": 10}],
            },
            {"id": "u", "kind": "unit"},
            donor,
        ],
        "links": [
            {
                "id": "road",
                "from": "maker",
                "to": "u",
                "mode": "road",
                "transit_days": 2,
                "vehicles": 1,
                "capacity_m3": 1,
                "return_days": 2,
            }
        ],
        "requirements": [
            {
                "id": "R",
                "unit": "u",
                "item": "box",
                "qty": 10,
                "need_by": START + dt.timedelta(days=20),
                "channel": "domestic",
                "funders": ["donor"],
            }
        ],
    }
    return Scenario.model_validate(copy.deepcopy(d))


def part_award(tranche: bool = True) -> Scenario:
    """``short_of_funds`` with a price above the estimate: the award shrinks (module docstring)."""
    d = short_of_funds(tranche).model_dump(by_alias=True)
    d["nodes"][0]["products"][0].update(unit_price_eur=20, initial_stock=0)
    d["nodes"][2]["budget_eur"] = 300
    d["requirements"][0]["qty"] = 20
    return Scenario.model_validate(d)


def _waits(lg: Any) -> list[tuple[str, str, str | None, float]]:
    return [(w.kind, w.resource, w.where, round(w.days, 9)) for w in lg.waits]


def test_the_last_lot_waited_for_the_truck_and_the_hub() -> None:
    s = truck_and_hub()
    log, result = run(s)
    lg = lineage(log.table(), requirement="R", scenario=s, end=result.end_day)
    assert lg.outcome == "filled" and lg.done_day == pytest.approx(21.0)
    assert lg.excess_days == pytest.approx(5.0) and lg.late
    assert lg.critical_lot == 1
    # the timeline of lot 1, step by step (kind, resource, where, start, end)
    got = [(x.kind, x.resource, x.where, x.start, x.end) for x in lg.steps]
    assert got == [
        ("backlog", "line maker/box", None, 0.0, 1.0),
        ("production", "line maker/box", None, 1.0, 2.0),
        ("vehicle", "link truck", "maker", 2.0, 7.0),
        ("transit", "link truck", None, 7.0, 10.0),
        ("queue", "node hub", None, 10.0, 12.0),
        ("service", "node hub", None, 12.0, 20.0),
        ("transit", "link van", None, 20.0, 21.0),
    ]
    assert lg.no_wait_days == pytest.approx(1 + 3 + 8 + 1)  # the lot's own production, transits, service
    assert lg.wait_days == pytest.approx(1 + 5 + 2)
    assert _waits(lg) == [  # largest first
        ("vehicle", "link truck", "maker", 5.0),
        ("queue", "node hub", None, 2.0),
        ("backlog", "line maker/box", None, 1.0),
    ]
    assert lg.culprit is not None and (lg.culprit.kind, lg.culprit.resource) == ("vehicle", "link truck")
    # the first lot waited for nothing: made over days 0-1, delivered at 1 + 3 + 8 + 1 = 13
    first = lineage(log.table(), lot=0, scenario=s, end=result.end_day)
    assert first.done_day == pytest.approx(13.0) and first.wait_days == 0.0 and first.waits == []
    assert first.no_wait_days == pytest.approx(13.0) and not first.late and first.culprit is None


def test_trace_prints_the_waits_at_80_columns() -> None:
    s = truck_and_hub()
    log, result = run(s)
    lg = lineage(log.table(), requirement="R", scenario=s, end=result.end_day)
    buf = io.StringIO()
    print_lineage(lg, s, Console(file=buf, width=80, highlight=False, color_system=None))
    out = buf.getvalue()
    assert max(len(line) for line in out.splitlines()) <= 80 and "…" not in out
    words = " ".join(out.split())
    assert "5.00 days late" in words
    assert "no waiting 13.00 days" in words and "waiting 8.00 days" in words and "Allowed 16.00 days" in words
    assert "it would have been on time (3.00 days to spare)" in words
    waits = words[words.index("Waits, largest first") :]
    assert waits.startswith(  # a table: days, waiting for, resource
        "Waits, largest first days waiting for resource ─"
    ) and ("5.00 a vehicle link truck at maker 2.00 a server node hub 1.00 production line maker/box" in waits)
    assert "What made it late: waiting for a vehicle on link truck at maker, 5.00 days" in words


def test_funds_short_is_not_filled() -> None:
    """The old trace took the ``funds_short`` row for ``requirement_filled``: closed at day 0, on time."""
    s = short_of_funds()
    log, result = run(s)
    lg = lineage(log.table(), requirement="R", scenario=s, end=result.end_day)
    assert lg.done_day == pytest.approx(32.0)  # the old trace: 0.0, the funds_short row
    assert lg.excess_days == pytest.approx(11.0) and lg.late  # the old trace: -21.0, on time
    assert lg.outcome == "filled"
    assert [(x.kind, x.resource, x.start, x.end) for x in lg.steps] == [
        ("funds", "donor donor", 0.0, 30.0),
        ("transit", "link road", 30.0, 32.0),
    ]
    assert lg.culprit is not None and (lg.culprit.kind, lg.culprit.days) == ("funds", 30.0)


def test_never_funded_is_open_and_late_at_the_horizon() -> None:
    s = short_of_funds(tranche=False)
    log, result = run(s)
    assert result.status == "deadlocked" and result.end_day == 1.0  # nothing can happen any more
    lg = lineage(log.table(), requirement="R", scenario=s, end=end_of_run(result.status, result.end_day, 60.0))
    assert lg.done_day is None  # the old trace: 0.0, the funds_short row
    assert lg.excess_days == pytest.approx(60.0 - 21.0) and lg.late
    assert lg.outcome == "short of funds"
    assert lg.critical_lot is None
    assert [(x.kind, x.resource, x.start, x.end, x.days) for x in lg.steps] == [
        ("funds", "donor donor", 0.0, None, 60.0)
    ]
    buf = io.StringIO()
    print_lineage(lg, s, Console(file=buf, width=80, highlight=False, color_system=None))
    words = " ".join(buf.getvalue().split())
    assert "not filled by the end of the run (2025-03-02 00:00): short of funds, 0 of 10 units contracted" in words
    assert "39.00 days late so far" in words and "early" not in words
    assert "What made it late: waiting for funds, donor donor, 60.00 days" in words


@pytest.mark.parametrize("tranche", [True, False])
def test_a_shrunk_award_is_not_filled_at_its_funds_short(tranche: bool) -> None:
    """The old trace closed it at day 0, when the award shrank (``funds_short``), 21 days early."""
    s = part_award(tranche)
    log, result = run(s)
    end = end_of_run(result.status, result.end_day, result.horizon_days)
    lg = lineage(log.table(), requirement="R", scenario=s, end=end)
    if tranche:
        assert lg.done_day == pytest.approx(32.5) and lg.excess_days == pytest.approx(11.5)
        assert (lg.outcome, lg.critical_lot) == ("filled", 2)
        assert [(x.kind, x.start, x.end) for x in lg.steps] == [
            ("funds", 0.0, 30.0),
            ("production", 30.0, 30.5),
            ("transit", 30.5, 32.5),
        ]
        assert lg.no_wait_days == pytest.approx(2.5) and lg.wait_days == pytest.approx(30.0)
    else:
        assert lg.done_day is None and lg.excess_days == pytest.approx(39.0)
        assert (lg.outcome, lg.critical_lot) == ("short of funds", None)
        assert lg.critical == "5 units not contracted by the end of the run"
        assert [(x.kind, x.start, x.end, x.days) for x in lg.steps] == [("funds", 0.0, None, 60.0)]
    assert lg.late and lg.culprit is not None and (lg.culprit.kind, lg.culprit.resource) == ("funds", "donor donor")
    assert lg.units_ordered == (20 if tranche else 15)


def test_lead_time_is_the_sum_of_its_steps_on_a_library_scenario() -> None:
    """Every lot's steps are contiguous from opening to delivery; none is an unexplained hold."""
    from pathlib import Path

    from scenarios.load import load

    s = load(Path(__file__).resolve().parents[2] / "scenarios" / "small_routers.yaml")
    log, result = run(s)
    every = lineages(log.table(), s, end=result.end_day)
    assert every
    for lg in every.values():
        assert lg.steps and lg.opened_day is not None
        assert lg.steps[0].start == pytest.approx(lg.opened_day)
        for a, b in zip(lg.steps, lg.steps[1:], strict=False):
            assert a.end == pytest.approx(b.start), lg.lot
        stop = lg.done_day if lg.done_day is not None else result.end_day
        assert sum(x.days for x in lg.steps) == pytest.approx(stop - lg.opened_day, abs=1e-9)
        assert lg.no_wait_days + lg.wait_days == pytest.approx(stop - lg.opened_day, abs=1e-9)
        assert all(x.kind != "held" for x in lg.steps), lg.lot
