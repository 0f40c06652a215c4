"""``dispatch: full`` runs a callback loader that is the exact twin of a SimPy process (issue 19).

The loader (``Carrier._fl_run``) replaced a long-lived process that built an ``Event``, a
``Timeout`` and an ``AnyOf`` for every lot arriving while a vehicle loaded. It must keep
every event of that process at its place in SimPy's queue, so the log is the same row for
row. The process is kept here as the reference (``reference_full``, the engine's code before
the change); each test runs a scenario with both and compares the whole event table and the
number of engine events.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import simpy
from hypothesis import HealthCheck, given, settings
from strategies import scenarios

import sim.run
from scenarios.load import load
from scenarios.schema import Scenario
from sim.model import transport
from sim.model.context import Context
from sim.model.transport import Carrier
from sim.model.transport_dispatch import _full

ROOT = Path(__file__).resolve().parents[2]
START = dt.date(2025, 1, 1)


def reference_full(ctx: Context, c: Carrier) -> Generator[simpy.Event, Any, None]:
    """The ``full`` dispatcher process as it was (one ``AnyOf`` per lot arriving while a vehicle loads)."""
    env = ctx.env
    while True:
        while not (c.queue and c.vehicle_ready() and c.room()):
            if c.queue and c.room():
                c._await_return()
            c.wake = env.event()
            yield c.wake
        vehicle = c._free.popleft()
        load_: list[Any] = []
        volume = c.fill(vehicle, load_, 0.0)
        deadline = env.now + c.max_wait_days
        ctx.pending += 1
        while env.now < deadline and not _full(c, volume):
            c.wake = env.event()
            yield env.any_of([c.wake, env.timeout(deadline - env.now)])
            if c.away_count() <= c.usable:  # no loading while the link is closed
                volume = c.fill(vehicle, load_, volume)
        ctx.pending -= 1
        while c.away_count() > c.usable:  # closed (or cut) while it loaded: wait to reopen
            c._await_return()
            c.wake = env.event()
            yield c.wake
        c.wake = None
        c.depart(vehicle, load_)


def _start_reference(ctx: Context, c: Carrier) -> None:
    if c.rule == "full":
        c.poke = c._poke_wake
        ctx.env.process(reference_full(ctx, c))
    else:
        transport.start_dispatcher(ctx, c)


def _canonical(table: pa.Table) -> pa.Table:
    cols = []
    for f in table.schema:
        col = table.column(f.name)
        if pa.types.is_dictionary(f.type):
            col = col.cast(pa.string())
        cols.append(col.combine_chunks())
    return pa.Table.from_arrays(cols, names=table.column_names)


def _both(s: Scenario, monkeypatch: pytest.MonkeyPatch, max_events: int | None = None) -> None:
    """Run ``s`` with the loader and with the reference process: the same rows, the same engine events."""
    log, new = sim.run.run(s, max_events=max_events)
    with monkeypatch.context() as m:
        m.setattr(sim.run, "start_dispatcher", _start_reference)
        ref_log, ref = sim.run.run(s, max_events=max_events)
    assert (new.status, new.error, new.end_day) == (ref.status, ref.error, ref.end_day)
    assert new.events == ref.events
    assert new.counters == ref.counters
    assert _canonical(log.table()).equals(_canonical(ref_log.table()))


def truck(lots: int = 40, closed: bool = False) -> Scenario:
    """One lot a day (deterministic: ties at whole days) onto one 10-m3 truck under ``full`` dispatch.

    With ``closed`` the truck's link is shut from day 12.5 to day 19 (``capacity_factor`` 0),
    while a truck loads and while it waits, loaded, for the link to reopen.
    """
    d: dict[str, Any] = {
        "name": "full_truck_ties",
        "start": START,
        "horizon_days": 200,
        "seed": 3,
        "items": [{"id": "box", "unit_value_eur": 10, "volume_m3": 0.1, "lot_size": 10, "priority": 5}],
        "nodes": [
            {"id": "sup", "kind": "supplier", "products": [{"item": "box", "rate_per_day": 10, "unit_price_eur": 10}]},
            {"id": "unit", "kind": "unit"},
            {"id": "donor", "kind": "donor", "budget_eur": 1e9},
            {"id": "agency", "kind": "agency", "staff": 1, "tender_days": 1},
        ],
        "links": [
            {
                "id": "truck",
                "from": "sup",
                "to": "unit",
                "mode": "road",
                "transit_days": 2.0,
                "return_days": 2.0,
                "vehicles": 2,
                "capacity_m3": 10.0,
                "dispatch": {"rule": "full", "max_wait_days": 7},
            }
        ],
        "requirements": [
            {"id": "R1", "unit": "unit", "item": "box", "qty": lots * 10, "need_by": START, "funders": ["donor"]}
        ],
    }
    if closed:
        d["disruptions"] = [
            {
                "kind": "scheduled",
                "id": "shut",
                "target": "truck",
                "start": START + dt.timedelta(days=12),
                "duration_days": 6.5,
                "capacity_factor": 0.0,
            }
        ]
    return Scenario.model_validate(copy.deepcopy(d))


@pytest.mark.parametrize("closed", [False, True])
def test_loader_equals_the_process_with_ties(closed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    _both(truck(closed=closed), monkeypatch)


@pytest.mark.parametrize("name", ["small_routers", "border_disruption", "ramstein_package_2025"])
def test_loader_equals_the_process_on_the_library(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    s = load(ROOT / "scenarios" / f"{name}.yaml")
    for strategy in ["baseline", *[x.name for x in s.strategies][:1]]:
        _both(s.with_strategy(strategy), monkeypatch)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenario=scenarios())
def test_loader_equals_the_process_on_random_scenarios(scenario: Scenario) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _both(scenario, mp, max_events=200_000)
