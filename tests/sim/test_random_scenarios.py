"""Property tests on random valid scenarios (``tests/strategies.py``), each log read back from disk.

Any scenario keeps every invariant of the log, never fails, gives the same bytes when run
again, and its vehicles keep their dispatch rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from strategies import scenarios

from scenarios.schema import DispatchFull, DispatchScheduled, Scenario

MAX_EVENTS = 200_000
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@SETTINGS
@given(scenario=scenarios())
def test_random_scenario_invariants(scenario: Scenario, run_logged_shared: Callable, invariants: Callable) -> None:
    lg = run_logged_shared(scenario, max_events=MAX_EVENTS)
    assert lg.result.status != "failed", lg.result.error
    invariants(lg)
    again = run_logged_shared(scenario, max_events=MAX_EVENTS)
    assert again.sha256 == lg.sha256


@SETTINGS
@given(scenario=scenarios())
def test_random_scenario_dispatch_rules(scenario: Scenario, run_logged_shared: Callable, trips: Callable) -> None:
    """Convoys leave on their timetable; a ``full`` vehicle never waits past ``max_wait_days``
    (unless its link was cut while it waited)."""
    lg = run_logged_shared(scenario, max_events=MAX_EVENTS)
    f = lg.frame
    disrupted = {d.target for d in scenario.disruptions}
    spec = {lk.id: lk for lk in scenario.links}
    first_loaded = {(f.link[i], int(f.lot[i])): float(f.t[i]) for i in f.where("loaded")}
    for trip in trips(lg):
        rule = spec[trip.link].dispatch
        if isinstance(rule, DispatchScheduled):
            k = (trip.t - rule.first_day) / rule.every_days
            assert k > -1e-9 and math.isclose(k, round(k), abs_tol=1e-6), (trip, rule)
            assert np.all(f.t[f.where("loaded", link=trip.link)] >= rule.first_day)
        elif isinstance(rule, DispatchFull) and trip.link not in disrupted:
            start = min(first_loaded[(trip.link, lot)] for lot in trip.lots)
            assert trip.t - start <= rule.max_wait_days + 1e-9, (trip, rule)
        else:
            assert all(first_loaded[(trip.link, lot)] == trip.t for lot in trip.lots) or trip.link in disrupted
