"""A stock policy whose funders run out of money ends the run as a deadlock, not a runaway (issue 14).

``inventory/funds_run_out.yaml``: 5 shells consumed a day (days 1, 2, ...), (R, Q) = (0, 20)
on the domestic channel paid by a donor holding EUR 30 (1 EUR a shell, no tranches), lead time
1 day. By hand: day 0, position 0 <= 0, order #1 of 20 (EUR 20 committed, 10 left), delivered
on day 1; days 1-4 consume 5 each (20 -> 0); day 4, position 0: order #2 of 20 costs EUR 20,
more than the 10 left: ``funds_short``, it waits for money that never comes. Day 5: 5 short,
backordered (position 0 + 20 - 5 = 15 > 0: no order). On day 5 the deadlock watch finds the
open order #2 that nothing can move: the run ends ``deadlocked`` at day 5, naming it.

Before the fix the watch let the instant settle with zero-delay timeouts of normal priority,
which SimPy runs before the day's demand tick (a later priority) at the same instant: it
re-armed one forever (3 M engine events by day 161 in border_disruption with a depot policy).
"""

from __future__ import annotations

from pathlib import Path

from scenarios.load import load
from tests.sim.conftest import Runner

FUNDS = Path(__file__).resolve().parent / "inventory" / "funds_run_out.yaml"


def test_policy_out_of_money_deadlocks_by_hand(run_logged: Runner) -> None:
    lg = run_logged(load(FUNDS), max_events=20_000)
    r = lg.result
    assert r.status == "deadlocked", (r.status, r.error)
    assert r.end_day == 5.0
    assert r.blocked == ["requirement brigade/shell#2: waits for funds from donor"]
    f = lg.frame
    orders = f.where("order_placed", node="brigade")
    assert [(float(f.t[i]), int(f.qty[i]), float(f.value[i])) for i in orders] == [(0.0, 20, 0.0), (4.0, 20, 0.0)]
    assert [(float(f.t[i]), int(f.qty[i])) for i in f.where("delivered", node="brigade")] == [(1.0, 20)]
    assert [(float(f.t[i]), int(f.qty[i])) for i in f.where("consumed", node="brigade")] == [
        (d, 5) for d in (1.0, 2.0, 3.0, 4.0)
    ]
    short = f.where("stockout", node="brigade")
    assert [(float(f.t[i]), int(f.qty[i]), float(f.value[i])) for i in short] == [(5.0, 5, 1.0)]
    fs = f.where("funds_short")
    assert [(float(f.t[i]), float(f.value[i])) for i in fs] == [(4.0, 20.0)]
    assert r.end["budget_eur"]["donor"] == 10.0
    assert r.events < 1_000  # a few events a day
