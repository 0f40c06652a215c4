"""The SimPy contract the engine's hot path relies on, pinned; and what its shortcuts must not change.

The engine schedules its own reusable events through SimPy's public ``env.schedule`` instead
of a ``Timeout`` (or a process, or a ``Resource`` request) per lot event:

- a ``Lot`` is a ``simpy.Event`` subclass that always succeeds (``_ok``/``_value`` are class
  constants, as ``Timeout`` sets them for itself) and is re-armed for each service and trip;
- a ``Rearm`` (vehicles carrying several lots, dispatch kicks, wake-ups) is built by SimPy's
  own ``Timeout`` constructor and re-armed the same way;
- a production line yields one ``Timeout`` re-armed for every lot.

This relies on how SimPy 4.1.2 processes an event (``Environment.step`` takes the callbacks
off the event, sets them to None, calls each, then checks ``_ok``), so the version is pinned
and the behaviour tested here. The engine's two shortcuts are checked too: inline dispatch on
one-lot vehicles gives the same rows as dispatch at the end of the instant, and lazy vehicle
returns keep the log in time order with each vehicle back at its return time.
"""

from __future__ import annotations

import inspect
import math
import sys
from collections import Counter
from collections.abc import Callable
from importlib import metadata
from typing import Any

import numpy as np
import simpy
from hypothesis import HealthCheck, given, settings
from simpy.events import NORMAL, URGENT
from strategies import scenarios

import sim.model.transport as transport
from scenarios.schema import Scenario
from sim.model.context import Lot, Rearm
from sim.run import run

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the benchmarks package (the core workload)
    sys.path.insert(0, str(ROOT))


def test_simpy_version_is_pinned() -> None:
    assert metadata.version("simpy") == "4.1.2"
    deps = metadata.requires("aidflow") or []
    assert any(d.replace(" ", "").startswith("simpy==4.1.2") for d in deps), deps


def test_environment_step_protocol_is_the_one_relied_on() -> None:
    """``step`` pops (time, priority, eid, event), swaps the callbacks for None, calls them, checks ``_ok``."""
    src = inspect.getsource(simpy.Environment.step)
    assert "heappop(self._queue)" in src
    assert "callbacks, event.callbacks = event.callbacks, None" in src
    assert "for callback in callbacks:" in src
    assert "if not event._ok" in src
    sched = inspect.getsource(simpy.Environment.schedule)
    assert "heappush(self._queue, (self._now + delay, priority, next(self._eid), event))" in sched
    timeout = inspect.getsource(simpy.Timeout.__init__)
    assert "self._ok = True" in timeout and "env.schedule(self, NORMAL, delay)" in timeout


def _lot(env: simpy.Environment, lot_id: int = 0) -> Lot:
    return Lot(env, lot_id, 0, 1, 0, 5, 0.01, ())


def test_a_lot_is_rearmed_for_each_hop_without_allocating() -> None:
    env = simpy.Environment()
    seen: list[tuple[float, int]] = []
    hops = [1.5, 0.25, 2.0]

    def hop(lot: Lot) -> None:
        seen.append((env.now, lot.hop))
        assert lot.callbacks is None  # SimPy took them off before calling us
        lot.hop += 1
        if lot.hop < len(hops):
            lot.callbacks = shared
            env.schedule(lot, NORMAL, hops[lot.hop])

    shared = [hop]
    lot = _lot(env)
    lot.callbacks = shared
    env.schedule(lot, NORMAL, hops[0])
    env.run()
    assert seen == [(1.5, 0), (1.75, 1), (3.75, 2)]
    assert shared == [hop]  # the shared callback list is never changed by SimPy
    assert lot.ok and lot.value is None and lot.triggered and lot.processed


def test_rearmed_events_order_like_fresh_timeouts() -> None:
    """Same (time, priority, insertion) order as ``env.timeout``: ties go first-scheduled first."""
    env = simpy.Environment()
    order: list[str] = []
    a, b = _lot(env, 1), _lot(env, 2)
    a.callbacks = [lambda e: order.append("lot a")]
    env.schedule(a, NORMAL, 1.0)
    env.timeout(1.0).callbacks.append(lambda e: order.append("timeout"))
    b.callbacks = [lambda e: order.append("lot b")]
    env.schedule(b, NORMAL, 1.0)
    r = Rearm(env, 1.0, lambda e: order.append("rearm"))
    u = _lot(env, 3)
    u.callbacks = [lambda e: order.append("urgent")]
    env.schedule(u, URGENT, 1.0)  # an URGENT event at the same time comes first (as env.run's until)
    env.run()
    assert order == ["urgent", "lot a", "timeout", "lot b", "rearm"]
    # and a Rearm is re-armed with its own callback list
    r.callbacks = r.cbs
    env.schedule(r, NORMAL, 0.5)
    env.run()
    assert order[-1] == "rearm" and env.now == 1.5


def test_a_process_can_wait_on_a_rearmed_timeout() -> None:
    """The production line yields one Timeout re-armed per lot."""
    env = simpy.Environment()
    times: list[float] = []

    def line() -> Any:
        tick = simpy.Timeout(env, 0.5)
        yield tick
        times.append(env.now)
        for d in (0.25, 1.0):
            tick.callbacks = []
            env.schedule(tick, NORMAL, d)
            yield tick
            times.append(env.now)

    env.process(line())
    env.run()
    assert times == [0.5, 0.75, 1.75]


# --------------------------------------------------------------------------- the engine's shortcuts


def _one_lot_vehicles(s: Scenario) -> Scenario | None:
    """``s`` with every vehicle exactly one lot (one lot size, whole lots, money enough for whole contracts) and FIFO queues."""
    d = s.model_dump(by_alias=True)
    size = d["items"][0]["lot_size"]
    for it in d["items"]:
        it["volume_m3"], it["lot_size"] = 0.01, size
    for lk in d["links"]:
        lk["capacity_m3"] = 0.01 * size
    for r in d["requirements"]:
        r["qty"] = max(1, math.ceil(r["qty"] / size)) * size
    d["policy"]["queue_discipline"] = "fifo"
    # whole lots need whole contracts: a donor short of money shrinks an award to what it can
    # pay (issue 13), which makes part lots that share a vehicle
    for n in d["nodes"]:
        if n["kind"] == "donor" and n["budget_eur"] != "unlimited":
            n["budget_eur"] = 1e12
    try:
        return Scenario.model_validate(d)
    except ValueError:
        return None


def _rows(scenario: Scenario) -> tuple[str, Counter[tuple[Any, ...]], dict[str, Any]]:
    log, result = run(scenario, max_events=100_000)
    table = log.table().drop(["seq"])
    rows = Counter(tuple((k, str(v)) for k, v in row.items()) for row in table.to_pylist())
    return result.status, rows, result.end


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenario=scenarios())
def test_inline_dispatch_gives_the_same_rows_as_dispatch_at_end_of_instant(scenario: Scenario) -> None:
    """On one-lot vehicles, leaving in the queueing callback or at the end of the instant is the same trip."""
    s = _one_lot_vehicles(scenario)
    if s is None:
        return
    transport.INLINE = False
    try:
        kicked = _rows(s)
    finally:
        transport.INLINE = True
    inline = _rows(s)
    assert inline[0] == kicked[0]
    assert inline[1] == kicked[1]  # the same rows, only their order within an instant may differ
    assert inline[2] == kicked[2]


def test_lazy_returns_keep_time_order_and_return_times(run_logged: Callable, invariants: Callable) -> None:
    """A vehicle's ``returned`` row carries its return time, whenever the engine noticed it."""
    from benchmarks.workload import CoreSpec, core_scenario

    spec = CoreSpec(lots=2000, return_days=0.3)
    lg = run_logged(core_scenario(spec), rows_per_batch=997)  # many batches: returns collected at flushes too
    invariants(lg)
    f = lg.frame
    assert np.all(np.diff(f.t) >= 0)
    arrived = f.where("arrived")
    returned = f.where("returned")
    assert len(returned) == len(arrived)  # every vehicle came back within the horizon
    # each return is exactly return_days after that vehicle's arrival, per (link, vehicle), in order
    arr: dict[tuple[str, int], list[float]] = {}
    for i in arrived:
        arr.setdefault((f.link[i], int(f.vehicle[i])), []).append(float(f.t[i]))
    back: dict[tuple[str, int], list[float]] = {}
    for i in returned:
        back.setdefault((f.link[i], int(f.vehicle[i])), []).append(float(f.t[i]))
    assert arr.keys() == back.keys()
    for key, ts in arr.items():
        assert np.allclose(np.asarray(back[key]) - np.asarray(ts), spec.return_days, rtol=0, atol=1e-9), key
