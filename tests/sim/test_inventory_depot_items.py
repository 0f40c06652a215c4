"""A depot with stock policies for several items keeps each item's receipts apart (issue 14).

Every route into a depot with stock ends in an intake that hands the lot to the depot's stock.
Before, one intake per item was installed on the same routes, the last one winning: every lot
entered the stock of the depot's last item (in the FPV flagship, a million domestic drones
became shells at the Dnipro depot). ``inventory/two_items_depot.yaml``, by hand: the depot
orders 10 shells and 20 drones on day 0 and receives them on day 1.
"""

from __future__ import annotations

from pathlib import Path

from scenarios.load import load
from tests.sim.conftest import Runner

HERE = Path(__file__).resolve().parent / "inventory"


def test_each_item_enters_its_own_stock(run_logged: Runner) -> None:
    lg = run_logged(load(HERE / "two_items_depot.yaml"))
    f = lg.frame
    received = sorted((float(f.t[i]), str(f.item[i]), int(f.qty[i])) for i in f.where("stock_received", node="depot"))
    assert received == [(0.0, "drone", 0), (0.0, "shell", 0), (1.0, "drone", 20), (1.0, "shell", 10)]
    assert lg.result.end["stock"] == {"depot/shell": 10, "depot/drone": 20}
