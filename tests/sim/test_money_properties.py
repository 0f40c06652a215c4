"""Money binds on random scenarios (``tests/strategies.py``), checked on the log read back from disk.

For every donor at every row: what it committed less what it got back never exceeds the budget
and tranches it received so far (an unlimited state budget has no bound). For every
requirement: the money held for it covers its contracts plus fees, and equals them once it is
wholly under contract; an agency contract's fee is the agency's share of its value.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from strategies import scenarios

from scenarios.schema import Agency, Donor, Scenario

MAX_EVENTS = 200_000
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def tol(x: float) -> float:
    return 1e-6 + 1e-9 * abs(x)


@SETTINGS
@given(scenario=scenarios())
def test_spending_stays_within_budget_and_tranches(scenario: Scenario, run_logged_shared: Callable) -> None:
    lg = run_logged_shared(scenario, max_events=MAX_EVENTS)
    assert lg.result.status != "failed", lg.result.error
    f = lg.frame
    s = lg.scenario
    unlimited = {n.id for n in s.nodes if isinstance(n, Donor) and n.budget_eur == "unlimited"}
    received: dict[str, float] = defaultdict(float)
    spent: dict[str, float] = defaultdict(float)
    held: dict[int, float] = defaultdict(float)  # per requirement: committed - released
    for i in np.flatnonzero(np.isin(f.kind, ["budget_added", "funds_committed", "funds_released"])):
        kind, donor, v = f.kind[i], f.node[i], float(f.value[i])
        assert math.isfinite(v) and v >= 0, (kind, v)
        if kind == "budget_added":
            received[donor] += v
            continue
        sign = 1.0 if kind == "funds_committed" else -1.0
        spent[donor] += sign * v
        held[int(f.ref[i])] += sign * v
        assert held[int(f.ref[i])] >= -tol(v), "released more than was committed"
        if donor not in unlimited:
            assert spent[donor] <= received[donor] + tol(received[donor]), (
                donor,
                f.t[i],
                spent[donor],
                received[donor],
            )

    fee_share = next((n.fee_share for n in s.nodes if isinstance(n, Agency)), 0.0)
    contracts: dict[int, float] = defaultdict(float)
    fees: dict[int, float] = defaultdict(float)
    ordered: dict[int, int] = defaultdict(int)
    for i in f.where("contract_awarded"):
        contracts[int(f.ref[i])] += float(f.value[i])
        ordered[int(f.ref[i])] += int(f.qty[i])
    for i in f.where("fee_charged"):
        fees[int(f.ref[i])] += float(f.value[i])
    for ref, value in contracts.items():
        if fees.get(ref):
            assert math.isclose(fees[ref], value * fee_share, rel_tol=1e-9, abs_tol=1e-6)
        cost = value + fees.get(ref, 0.0)
        assert cost <= held[ref] + tol(cost), (ref, cost, held[ref])
        if ordered[ref] == s.requirements[ref].qty:  # wholly under contract: the rest was released
            assert math.isclose(cost, held[ref], rel_tol=1e-9, abs_tol=1e-6), (ref, cost, held[ref])
