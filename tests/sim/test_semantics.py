"""Semantics of the engine, each checked on the log read back from disk.

Most tests build the same steady chain ``sup -> hub -> border -> depot -> unit`` (lots of 10
boxes of 0.1 m3, so 1 m3 per lot; 10 lots a day leave the supplier) and change one thing.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from scenarios.schema import Scenario

START = dt.date(2025, 1, 1)
LOT = 10


def day(n: float) -> dt.date:
    return START + dt.timedelta(days=n)


def link(lid: str, a: str, b: str, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": lid,
        "from": a,
        "to": b,
        "mode": "road",
        "transit_days": 0.5,
        "vehicles": 4,
        "capacity_m3": 10.0,
        "return_days": 0.5,
    }
    out.update(kw)
    return out


def chain(lots: int = 200) -> dict[str, Any]:
    """A steady chain: supplier -> hub -> border -> depot -> unit, immediate dispatch everywhere."""
    return {
        "name": "chain",
        "start": START,
        "horizon_days": 120,
        "seed": 7,
        "items": [{"id": "box", "unit_value_eur": 10, "volume_m3": 0.1, "lot_size": LOT, "priority": 5}],
        "nodes": [
            {"id": "sup", "kind": "supplier", "products": [{"item": "box", "rate_per_day": 100, "unit_price_eur": 10}]},
            {"id": "hub", "kind": "hub", "servers": 2, "service_days": 0.05},
            {"id": "border", "kind": "border", "servers": 2, "service_days": 0.1},
            {"id": "depot", "kind": "depot", "servers": 2, "service_days": 0.05},
            {"id": "unit", "kind": "unit"},
            {"id": "donor", "kind": "donor", "budget_eur": 1e9},
            {"id": "agency", "kind": "agency", "staff": 1, "tender_days": 1},
        ],
        "links": [
            link("sup_hub", "sup", "hub"),
            link("hub_border", "hub", "border"),
            link("border_depot", "border", "depot"),
            link("depot_unit", "depot", "unit"),
        ],
        "requirements": [
            {"id": "R1", "unit": "unit", "item": "box", "qty": lots * LOT, "need_by": day(60), "funders": ["donor"]}
        ],
    }


def part(d: dict[str, Any], pid: str) -> dict[str, Any]:
    """The node, link or requirement ``pid`` of scenario data ``d`` (to edit in place)."""
    for key in ("nodes", "links", "requirements"):
        for x in d.get(key, []):
            if x["id"] == pid:
                return x
    raise KeyError(pid)


def build(d: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(copy.deepcopy(d))


def seq_of(f: Any, kind: str, **eq: Any) -> int:
    (i,) = f.where(kind, **eq)
    return int(i)


# --------------------------------------------------------------------------- disruptions


def test_border_closed_for_ten_days(run_logged: Callable, invariants: Callable, trips: Callable) -> None:
    d = chain()
    d["disruptions"] = [
        {
            "kind": "scheduled",
            "id": "shut",
            "target": "border",
            "start": day(8),
            "duration_days": 10,
            "capacity_factor": 0,
        }
    ]
    lg = run_logged(build(d))
    invariants(lg)
    assert lg.result.status == "completed"
    f = lg.frame
    start, end = seq_of(f, "disruption_started", node="border"), seq_of(f, "disruption_ended", node="border")
    assert f.t[start] == 8.0 and f.t[end] == 18.0
    inside = (f.seq > start) & (f.seq < end)
    # no clearance starts while the border is closed...
    assert not np.any(inside & (f.kind == "service_started") & (f.node == "border"))
    # ...while lots keep arriving and queue there (steady flow through the window)
    assert np.sum(inside & (f.kind == "queued") & (f.node == "border") & (f.link == None)) > 50  # noqa: E711
    assert np.sum((f.seq < start) & (f.kind == "departed") & (f.link == "border_depot")) > 10
    # only lots already in clearance when it closed leave, within one service time
    # the only departures are of lots already in clearance when it closed (2 lanes: at most 2 lots)
    cleared_before = set(f.lot[(f.seq < start) & (f.kind == "service_started") & (f.node == "border")].tolist())
    leaving = [t for t in trips(lg) if t.link == "border_depot" and start < t.seq < end]
    left = {lot for t in leaving for lot in t.lots}
    assert left <= cleared_before and len(left) <= 2
    assert not np.any(inside & (f.kind == "service_finished") & (f.node == "border") & (f.t > 8.0 + 0.1))
    # after it reopens the queue is worked off at once
    after = f.where("service_started", node="border")
    assert f.t[after[after > end][0]] == 18.0


@pytest.mark.parametrize("rule", ["immediate", "full", "scheduled"])
def test_link_closed_stops_departures(rule: str, run_logged: Callable, invariants: Callable) -> None:
    d = chain()
    dispatch = {
        "immediate": {"rule": "immediate"},
        "full": {"rule": "full", "max_wait_days": 2},
        "scheduled": {"rule": "scheduled", "every_days": 0.5},
    }[rule]
    part(d, "hub_border")["dispatch"] = dispatch
    part(d, "hub_border")["capacity_m3"] = 30.0
    d["disruptions"] = [
        {
            "kind": "scheduled",
            "id": "cut",
            "target": "hub_border",
            "start": day(8),
            "duration_days": 5,
            "capacity_factor": 0,
        }
    ]
    lg = run_logged(build(d))
    invariants(lg)
    f = lg.frame
    start, end = seq_of(f, "disruption_started", link="hub_border"), seq_of(f, "disruption_ended", link="hub_border")
    inside = (f.seq > start) & (f.seq < end)
    assert not np.any(inside & (f.kind == "departed") & (f.link == "hub_border"))
    assert not np.any(inside & (f.kind == "loaded") & (f.link == "hub_border") & (f.t > 8.0))
    assert np.any(inside & (f.kind == "queued") & (f.link == "hub_border"))


# --------------------------------------------------------------------------- dispatch rules


def test_full_dispatch_never_over_capacity(run_logged: Callable, invariants: Callable, trips: Callable) -> None:
    d = chain()
    d["items"].append({"id": "crate", "unit_value_eur": 10, "volume_m3": 0.25, "lot_size": 10})
    part(d, "sup")["products"].append({"item": "crate", "rate_per_day": 30, "unit_price_eur": 10})
    d["requirements"].append(
        {"id": "R2", "unit": "unit", "item": "crate", "qty": 600, "need_by": day(60), "funders": ["donor"]}
    )
    hb = part(d, "hub_border")
    hb["dispatch"] = {"rule": "full", "max_wait_days": 1.0}
    hb["capacity_m3"] = 7.0  # 7 box lots (1 m3), 2 crate lots (2.5 m3), or a mix
    lg = run_logged(build(d))
    invariants(lg)
    assert lg.result.status == "completed"
    f = lg.frame
    out = [t for t in trips(lg) if t.link == "hub_border"]
    assert len(out) > 20
    assert max(t.volume_m3 for t in out) <= 7.0 + 1e-9
    waited = 0
    for t in out:
        first_load = min(f.t[(f.kind == "loaded") & (f.lot == lot) & (f.link == "hub_border")][0] for lot in t.lots)
        assert t.t - first_load <= 1.0 + 1e-9, "held longer than max_wait_days"
        if t.t - first_load < 1.0 - 1e-9:  # left early: the next lot (1 or 2.5 m3) did not fit
            assert t.volume_m3 > 7.0 - 2.5, t
        else:
            waited += 1
    assert waited < len(out) // 4  # most left because they were full


def test_scheduled_departs_on_the_timetable(run_logged: Callable, invariants: Callable, trips: Callable) -> None:
    d = chain()
    part(d, "sup_hub")["dispatch"] = {"rule": "scheduled", "every_days": 2.5, "first_day": 1.25}
    part(d, "sup_hub")["capacity_m3"] = 40.0
    lg = run_logged(build(d))
    invariants(lg)
    assert lg.result.status == "completed"
    times = sorted({t.t for t in trips(lg) if t.link == "sup_hub"})
    assert len(times) > 3
    for t in times:
        k = (t - 1.25) / 2.5
        assert k >= -1e-9 and abs(k - round(k)) < 1e-9, t


def test_immediate_never_holds_a_vehicle(run_logged: Callable, invariants: Callable) -> None:
    d = chain()
    part(d, "depot_unit").update(vehicles=2, capacity_m3=2.0, transit_days=1.0, return_days=1.0)
    part(d, "sup_hub").update(vehicles=1, capacity_m3=3.0, transit_days={"dist": "uniform", "low": 0.1, "high": 0.5})
    lg = run_logged(build(d))
    invariants(lg)
    f, s = lg.frame, lg.scenario
    waited = 0
    for lk in s.links:
        assert lk.dispatch.rule == "immediate"
        waiting, away, held = 0, 0, []
        rows = np.flatnonzero(f.link == lk.id)
        for j, i in enumerate(rows):
            k = f.kind[i]
            waiting += (k == "queued") - (k == "loaded")
            away += (k == "departed") - (k == "returned")
            last_of_instant = j + 1 == len(rows) or f.t[rows[j + 1]] > f.t[i]
            if last_of_instant:
                held.append(waiting > 0 and away < lk.vehicles)
                waited += waiting > 0
        assert not any(held), f"{lk.id}: lots waited while a vehicle stood free"
    assert waited > 10  # vehicles were the constraint at times


# --------------------------------------------------------------------------- handling


def test_storage_cap_never_exceeded(
    run_logged: Callable, invariants: Callable, presence: Callable, wip: Callable
) -> None:
    d = chain(lots=80)
    part(d, "hub").update(servers=1, service_days=0.4, storage_cap_lots=3)
    lg = run_logged(build(d))
    invariants(lg)
    assert lg.result.status == "completed"
    held = presence(lg, "hub")
    assert held.max() == 3 and held.min() >= 0  # the cap binds, and holds
    # the simpler view: arrived and not yet loaded out
    nodes, _, _ = wip(lg)
    assert nodes["hub"].min() >= 0 and nodes["hub"].max() <= 3
    # senders were blocked: lots waited at the supplier for room at the hub
    f = lg.frame
    queued = np.sum((f.kind == "queued") & (f.link == "sup_hub"))
    assert queued == 80
    assert np.any(np.diff(f.t[(f.kind == "loaded") & (f.link == "sup_hub")]) > 0.3)


@pytest.mark.parametrize("discipline", ["priority", "fifo"])
def test_priority_served_first_at_shared_hub(discipline: str, run_logged: Callable, invariants: Callable) -> None:
    d = chain(lots=40)
    d["items"].append({"id": "med", "unit_value_eur": 10, "volume_m3": 0.1, "lot_size": LOT, "priority": 5})
    part(d, "sup")["products"] = [
        {"item": "box", "rate_per_day": 40, "unit_price_eur": 10},
        {"item": "med", "rate_per_day": 40, "unit_price_eur": 10},
    ]
    part(d, "R1")["priority"] = 5
    d["requirements"].append(
        {"id": "R2", "unit": "unit", "item": "med", "qty": 400, "need_by": day(60), "funders": ["donor"], "priority": 1}
    )
    part(d, "hub").update(servers=1, service_days=0.5)
    d["policy"] = {"queue_discipline": discipline}
    lg = run_logged(build(d))
    invariants(lg)
    assert lg.result.status == "completed"
    f = lg.frame
    prio = {0: 5, 1: 1}
    waiting: dict[int, set[int]] = {1: set(), 5: set()}
    overtaken = contested = 0
    for i in np.flatnonzero((f.node == "hub") & np.isin(f.kind, ["queued", "service_started"])):
        lot, p = int(f.lot[i]), prio[int(f.ref[i])]
        if f.kind[i] == "queued" and f.link[i] is None:
            waiting[p].add(lot)
        elif f.kind[i] == "service_started":
            waiting[p].discard(lot)
            contested += bool(waiting[1]) and bool(waiting[5])
            overtaken += p == 5 and bool(waiting[1])
    assert contested > 5  # both kinds were waiting together
    if discipline == "priority":
        assert overtaken == 0, "a priority-5 lot was served while a priority-1 lot waited"
    else:
        assert overtaken > 0


# --------------------------------------------------------------------------- money and contracts


def test_requirement_waits_for_tranche(run_logged: Callable, invariants: Callable) -> None:
    d = chain(lots=20)
    donor = part(d, "donor")
    donor["budget_eur"] = 1000.0  # the requirement costs 2,000
    donor["tranches"] = [{"date": day(20), "amount_eur": 5000.0}]
    lg = run_logged(build(d))
    invariants(lg)
    assert lg.result.status == "completed"
    f = lg.frame
    assert f.t[seq_of(f, "funds_short", ref=0)] == 0.0
    assert f.t[seq_of(f, "funds_committed", ref=0)] == 20.0
    assert f.value[seq_of(f, "funds_committed", ref=0)] == 2000.0
    assert f.t[seq_of(f, "tender_started", ref=0)] == 20.0
    assert np.all(f.t[f.kind == "contract_awarded"] >= 20.0)
    assert lg.result.end["budget_eur"]["donor"] == 4000.0


def test_split_award_in_whole_lots(run_logged: Callable, invariants: Callable) -> None:
    d = chain(lots=40)
    part(d, "agency")["award_policy"] = "split"
    part(d, "sup")["products"][0]["rate_per_day"] = 10
    for name, rate in (("sup_b", 20), ("sup_c", 30)):
        d["nodes"].append(
            {"id": name, "kind": "supplier", "products": [{"item": "box", "rate_per_day": rate, "unit_price_eur": 12}]}
        )
        d["links"].append(link(f"{name}_hub", name, "hub"))
    lg = run_logged(build(d))
    invariants(lg)
    assert lg.result.status == "completed"
    f = lg.frame
    awarded = {f.node[i]: int(f.qty[i]) for i in f.where("contract_awarded")}
    assert len(awarded) == len(f.where("contract_awarded")) == 3
    assert all(q % LOT == 0 for q in awarded.values())
    assert sum(awarded.values()) == 400
    assert awarded == {"sup": 60, "sup_b": 130, "sup_c": 210}  # 6, 13 and 21 lots, by rate
    made: dict[str, int] = defaultdict(int)
    for i in f.where("lot_produced"):
        made[f.node[i]] += int(f.qty[i])
        assert f.qty[i] == LOT
    assert made == awarded


def test_lost_lots_still_close_requirement(run_logged: Callable, invariants: Callable) -> None:
    d = chain(lots=15)
    part(d, "depot_unit")["loss_probability"] = 1.0
    lg = run_logged(build(d))
    invariants(lg)
    assert lg.result.status == "completed"
    f = lg.frame
    lost = f.where("lost")
    assert len(lost) == 15 and set(f.link[lost].tolist()) == {"depot_unit"}
    assert len(f.where("delivered")) == 0
    filled = seq_of(f, "requirement_filled", ref=0)
    assert filled > lost.max()
    assert f.qty_null[filled]  # nothing delivered
    assert f.value[filled] == pytest.approx(f.t[filled] - 61.0)  # need-by day 60 ends at day 61
    assert lg.result.counters["units_lost"] == 150


# --------------------------------------------------------------------------- how runs end


def test_deadlock_names_requirement_and_donor(run_logged: Callable, invariants: Callable) -> None:
    d = chain(lots=10)
    d["nodes"].append({"id": "poor", "kind": "donor", "budget_eur": 50.0})
    d["requirements"] = [
        {"id": "STUCK", "unit": "unit", "item": "box", "qty": 100, "need_by": day(60), "funders": ["poor"]},
        {
            "id": "LATER",
            "unit": "unit",
            "item": "box",
            "qty": 100,
            "opens": day(30),
            "need_by": day(60),
            "funders": ["donor"],
        },
    ]
    lg = run_logged(build(d))
    invariants(lg)
    res = lg.result
    assert res.status == "deadlocked"
    assert isinstance(res.blocked, list) and len(res.blocked) == 1
    assert "STUCK" in res.blocked[0] and "poor" in res.blocked[0]
    assert res.end_day < lg.scenario.horizon_days
    f = lg.frame
    # the run did not stop before the later, fundable requirement was delivered
    assert f.t[seq_of(f, "requirement_opened", ref=1)] == 30.0
    assert len(f.where("requirement_filled", ref=1)) == 1
    assert len(f.where("requirement_filled", ref=0)) == 0
    assert len(f.where("funds_short", ref=0)) == 1 and len(f.where("funds_committed", ref=0)) == 0
    assert res.end["budget_eur"]["poor"] == 50.0


def test_event_budget_fails_the_run(small: Scenario, run_logged: Callable) -> None:
    lg = run_logged(small, max_events=50)
    res = lg.result
    assert res.status == "failed"
    assert res.error is not None and "budget" in res.error
    assert res.end_day < small.horizon_days
    f = lg.frame
    # the budget counts engine events (sim.budget), not rows: it fails at the 51st event
    assert res.events == 51 and res.max_events == 50
    assert 0 < len(f) == res.rows
    assert np.array_equal(f.seq, np.arange(len(f))) and np.all(np.diff(f.t) >= 0)
    assert math.isfinite(res.wall_s)


@pytest.mark.parametrize("rule", ["immediate", "full", "scheduled"])
def test_lot_too_big_for_vehicle_fails(rule: str, run_logged: Callable) -> None:
    """A lot that fits no vehicle of its link fails the run, naming the link (no empty trips)."""
    d = chain(lots=5)
    dispatch = {
        "immediate": {"rule": "immediate"},
        "full": {"rule": "full", "max_wait_days": 1},
        "scheduled": {"rule": "scheduled", "every_days": 1},
    }[rule]
    part(d, "border_depot").update(capacity_m3=0.5, dispatch=dispatch)
    lg = run_logged(build(d))
    res, f = lg.result, lg.frame
    assert res.status == "failed"
    assert res.error is not None and "border_depot" in res.error and "does not fit" in res.error
    assert res.end_day < 10
    assert len(f.where("departed", link="border_depot")) == 0
    assert not np.any(f.qty_null[f.kind == "departed"])
