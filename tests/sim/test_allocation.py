"""Allocation under scarcity at a depot and at a production line (issue 14, item 3).

``inventory/depot_scarcity.yaml``: north orders 30 and south 10 (priority 1) from an empty
depot on day 0; the depot's 20 arrive on day 1. ``inventory/line_fair_share.yaml``: one line,
10 drones a day in lots of 10, 50 ordered by each of two axes on day 0.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.load import load
from sim.model.allocation import fair_split, split
from tests.sim.conftest import Runner

HERE = Path(__file__).resolve().parent / "inventory"


@pytest.mark.parametrize(
    ("strategy", "north", "south"),
    [
        ("baseline", 20, 0),  # fifo: north ordered first and takes all 20
        ("priority", 10, 10),  # south (priority 1) is served in full first
        ("fair_backorders", 15, 5),  # 20 x 30/40 and 20 x 10/40
        ("fair_consumption", 12, 8),  # rates 3 and 2 a day: 20 x 3/5 and 20 x 2/5
    ],
)
def test_depot_allocation_rules(run_logged: Runner, strategy: str, north: int, south: int) -> None:
    lg = run_logged(load(HERE / "depot_scarcity.yaml"), strategy)
    f = lg.frame
    opened = {str(f.node[i]): int(f.ref[i]) for i in f.where("order_placed") if f.node[i] != "depot"}
    assert [int(q) for q in f.qty[f.where("stockout", node="depot")]] == [30, 10]
    filled = {int(f.ref[i]): int(f.qty[i]) for i in f.where("backorder_filled", node="depot")}
    assert f.t[f.where("backorder_filled", node="depot")].tolist() == [1.0] * len(filled)
    assert filled.get(opened["north"], 0) == north and filled.get(opened["south"], 0) == south
    delivered = {str(f.node[i]): int(f.qty[i]) for i in f.where("delivered")}
    assert delivered == {k: v for k, v in (("north", north), ("south", south)) if v}


def test_line_fills_one_axis_first_by_default_and_alternates_under_fair_share(run_logged: Runner) -> None:
    s = load(HERE / "line_fair_share.yaml")
    for strategy, want in (
        ("baseline", [0] * 5 + [1] * 5),
        ("fifo", [0] * 5 + [1] * 5),
        ("fair_share", [0, 1] * 5),
    ):
        f = run_logged(s, strategy).frame
        ix = f.where("lot_produced")
        assert f.ref[ix].tolist() == want, strategy
        assert f.t[ix].tolist() == [float(d) for d in range(1, 11)]  # one lot a day either way


def test_line_fair_share_by_consumption_follows_the_units_rates() -> None:
    """Weights 1 and 3: of every 4 lots the second unit gets 3 (fewest units per unit of rate first)."""
    from types import SimpleNamespace

    from sim.model.allocation import line_picker

    ctx = SimpleNamespace(requirements=[SimpleNamespace(unit=0), SimpleNamespace(unit=1)], lot_size=[10])
    line = SimpleNamespace(item=0, orders=[(5, 1, [0, 1000]), (5, 2, [1, 1000])])
    pick = line_picker(ctx, line, "consumption", {0: 1.0, 1: 3.0})  # type: ignore[arg-type]
    got = [pick()[0] for _ in range(8)]
    assert got.count(1) == 6 and got.count(0) == 2
    assert got[:4] == [0, 1, 1, 1]


def test_split_rules_by_hand() -> None:
    assert split("fifo", [30, 10], [5, 1], [30.0, 10.0], 20) == [20, 0]
    assert split("priority", [30, 10], [5, 1], [30.0, 10.0], 20) == [10, 10]
    assert split("fair_share", [30, 10], [5, 1], [30.0, 10.0], 20) == [15, 5]
    assert fair_split([3, 100, 100], [1.0, 1.0, 1.0], 30) == [3, 14, 13]  # capped, then shared out
    assert fair_split([5, 5], [0.0, 0.0], 3) == [2, 1]  # no weights: equal
    assert sum(fair_split([7, 9, 11], [0.3, 0.5, 0.2], 20)) == 20
