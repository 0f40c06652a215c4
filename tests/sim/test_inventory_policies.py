"""Stock policies against hand-computed runs (issue 14, items 2 and 5).

``inventory/s_s_every_two_days.yaml``: 10 shells consumed every 2 days (days 2, 4, ..., 28
within the 30-day horizon: 140 units), opening stock 25, lead time 2 days (a domestic maker
ships from stock over a 2-day link). Within an instant a receipt comes first, then the demand,
then the review. Each test states its hand computation; the figures are read from the log
read back from disk.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from scenarios.load import load
from scenarios.strategies import apply_overrides
from tests.sim.conftest import Logged, Runner

HERE = Path(__file__).resolve().parent / "inventory"
S_S = HERE / "s_s_every_two_days.yaml"


def rows(lg: Logged, kind: str, node: str = "brigade") -> list[tuple[float, int]]:
    """(day, qty) of each ``kind`` row at ``node``."""
    f = lg.frame
    ix = f.where(kind, node=node)
    return [(float(f.t[i]), int(f.qty[i])) for i in ix]


def on_hand(lg: Logged, node: str = "brigade") -> int:
    """Opening + received (delivered / stock_received) - consumed - backorders filled - issued, from the log."""
    f = lg.frame
    total = 0
    for kind, sign in (
        ("stock_received", 1),
        ("delivered", 1),
        ("consumed", -1),
        ("backorder_filled", -1),
        ("stock_issued", -1),
    ):
        total += sign * int(f.qty[f.where(kind, node=node)].sum())
    return total


def policy(run_logged: Runner, **overrides: Any) -> Logged:
    s = apply_overrides(load(S_S), {f"nodes.brigade.stock_policies.shell.{k}": v for k, v in overrides.items()})
    return run_logged(s)


def test_s_S_with_backorders_by_hand(run_logged: Runner) -> None:
    """s = 3, S = 25. Days 2, 4: 25 -> 15 -> 5 (position 5 > 3: no order). Day 6: 5 consumed,
    5 backordered, position -5: order 30. Day 8: 30 arrive, the 5 backorders are filled, 25 - 10
    = 15. The cycle repeats every 6 days: orders on days 6, 12, 18, 24, each of 30 at position
    -5; 120 consumed and 20 short of 140; on hand 5 at the end (day 28: 15 -> 5)."""
    lg = run_logged(load(S_S))
    f = lg.frame
    ix = f.where("order_placed", node="brigade")
    assert [(float(f.t[i]), int(f.qty[i]), float(f.value[i])) for i in ix] == [(d, 30, -5.0) for d in (6, 12, 18, 24)]
    assert rows(lg, "stockout") == [(d, 5) for d in (6.0, 12.0, 18.0, 24.0)]
    assert np.all(f.value[f.where("stockout")] == 1.0)  # backordered
    assert rows(lg, "backorder_filled") == [(d, 5) for d in (8.0, 14.0, 20.0, 26.0)]
    consumed = sum(q for _, q in rows(lg, "consumed"))
    assert consumed == 120
    assert consumed / (consumed + 20) == 120 / 140  # fill rate by volume
    assert rows(lg, "stock_received") == [(0.0, 25)]
    assert on_hand(lg) == 5 == lg.result.end["stock"]["brigade/shell"]
    # each order is a requirement: opened at once on the domestic channel, delivered 2 days later
    assert [r for r in f.ref[f.where("requirement_opened")]] == list(f.ref[ix])
    assert rows(lg, "delivered") == [(d, 30) for d in (8.0, 14.0, 20.0, 26.0)]
    assert lg.result.status == "completed"


def test_s_S_with_lost_sales_by_hand(run_logged: Runner) -> None:
    """As above, but the 5 short on day 6 are lost: position 0, order 25; on day 8, 25 -> 15."""
    lg = policy(run_logged, shortage="lost_sales")
    f = lg.frame
    ix = f.where("order_placed", node="brigade")
    assert [(float(f.t[i]), int(f.qty[i]), float(f.value[i])) for i in ix] == [(d, 25, 0.0) for d in (6, 12, 18, 24)]
    assert rows(lg, "stockout") == [(d, 5) for d in (6.0, 12.0, 18.0, 24.0)]
    assert all(math.isnan(v) for v in f.value[f.where("stockout")])  # lost
    assert rows(lg, "backorder_filled") == []
    assert on_hand(lg) == 5


def test_safety_stock_raises_both_levels(run_logged: Runner) -> None:
    """safety_stock 2: s = 5, S = 27. Day 4: position 5 -> order 22. Day 6: 27 -> 17, day 8: 7.
    Day 10: 7 consumed, 3 backordered, order 30; then every 6 days (16, 22, 28): 30 each.
    End: on hand 0 (the day-28 order arrives on day 30, past the horizon), 3 backordered."""
    lg = policy(run_logged, safety_stock=2)
    assert rows(lg, "order_placed") == [(4.0, 22), (10.0, 30), (16.0, 30), (22.0, 30), (28.0, 30)]
    assert rows(lg, "stockout") == [(d, 3) for d in (10.0, 16.0, 22.0, 28.0)]
    assert on_hand(lg) == 0


def test_periodic_T_S_by_hand(run_logged: Runner) -> None:
    """Every 4 days from day 0, order up to 25. Day 0: position 25, nothing. Day 4 (after its
    demand): 5 -> order 20, here on day 6: 25 -> 15. Reviews on 8, ..., 28 alike: 7 orders of
    20, no stockout; on hand 5 at the end."""
    s = apply_overrides(
        load(S_S), {"nodes.brigade.stock_policies.shell": {"rule": "T_S", "period_days": 4.0, "order_up_to": 25}}
    )
    lg = run_logged(s)
    assert rows(lg, "order_placed") == [(float(d), 20) for d in range(4, 29, 4)]
    assert rows(lg, "stockout") == []
    assert on_hand(lg) == 5


def test_periodic_T_Q_by_hand(run_logged: Runner) -> None:
    """Every 4 days, at or below R = 10 order the smallest multiple of 15 above it.
    Day 4: 5 -> 15 (here day 6: 20 -> 10). Day 8: 0 -> 15 (day 10: 15 -> 5). Day 12: 5 consumed,
    5 short, position -5 -> 30 (day 14: 30, 5 filled, 25 -> 15). Day 16: 5 -> 15; day 20: 0 -> 15;
    day 24: 5 short -> 30; day 28: 5 -> 15. On hand 5 at the end; 130 consumed of 140."""
    s = apply_overrides(
        load(S_S),
        {
            "nodes.brigade.stock_policies.shell": {
                "rule": "T_Q",
                "period_days": 4.0,
                "order_qty": 15,
                "reorder_point": 10,
            }
        },
    )
    lg = run_logged(s)
    assert rows(lg, "order_placed") == [
        (4.0, 15),
        (8.0, 15),
        (12.0, 30),
        (16.0, 15),
        (20.0, 15),
        (24.0, 30),
        (28.0, 15),
    ]
    assert rows(lg, "stockout") == [(12.0, 5), (24.0, 5)]
    assert sum(q for _, q in rows(lg, "consumed")) == 130
    assert on_hand(lg) == 5


def test_a_unit_orders_from_a_depot_that_reorders(run_logged: Runner) -> None:
    """inventory/depot_chain.yaml. Unit: opening 15, s = 5, S = 25, 10 every 2 days, 1 day from
    the depot. Depot: opening 30, s = 10, S = 40, 1 day from the maker.
    Day 2: unit 5 -> orders 20; the depot issues 20 (30 -> 10, position 10: orders 30, in stock
    on day 3: 40). The unit orders 20 every 4 days (2, 6, ..., 26), each issued at once; the
    depot's position after issuing: 20 (day 6), 0 (day 10: orders 40), 20, 0 (day 18: 40),
    20, 0 (day 26: 40). End: unit 15 (day 28), depot 40."""
    lg = run_logged(load(HERE / "depot_chain.yaml"))
    assert rows(lg, "order_placed") == [(float(d), 20) for d in range(2, 27, 4)]
    assert rows(lg, "stock_issued", "depot") == [(float(d), 20) for d in range(2, 27, 4)]
    assert rows(lg, "order_placed", "depot") == [(2.0, 30), (10.0, 40), (18.0, 40), (26.0, 40)]
    assert rows(lg, "stock_received", "depot") == [(0.0, 30), (3.0, 30), (11.0, 40), (19.0, 40), (27.0, 40)]
    assert rows(lg, "delivered") == [(float(d), 20) for d in range(3, 28, 4)]
    assert rows(lg, "stockout") == [] and rows(lg, "stockout", "depot") == []
    assert on_hand(lg) == 15 and on_hand(lg, "depot") == 40
    assert lg.result.end["stock"] == {"brigade/shell": 15, "depot/shell": 40}
    # every issued lot travels on from the depot: queued and loaded on the depot's link, then delivered
    f = lg.frame
    for i in f.where("stock_issued", node="depot"):
        lot = f.lot[i]
        kinds = [k for k, x in zip(f.kind, f.lot, strict=True) if x == lot]
        assert kinds[:3] == ["stock_issued", "queued", "loaded"] and kinds[-2:] == ["arrived", "delivered"]


def test_strategies_override_policy_parameters(run_logged: Runner) -> None:
    """A strategy sets the reorder point by its dotted path: s = 5 orders on day 4 already."""
    s = apply_overrides(load(S_S), {"nodes.brigade.stock_policies.shell.reorder_point": 5})
    assert s.node("brigade").stock_policies["shell"].reorder_point == 5
    lg = run_logged(s)
    assert rows(lg, "order_placed")[0] == (4.0, 20)
