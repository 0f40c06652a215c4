"""Invariants of the event log of the library's small scenario, under every strategy, read from disk."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from scenarios.schema import Scenario
from sim.events import LOT_KINDS

STRATEGIES = ["baseline", "bilateral", "more_lanes"]


def test_strategies_listed(small: Scenario) -> None:
    assert ["baseline", *(s.name for s in small.strategies)] == STRATEGIES


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_small_invariants(strategy: str, small_logs: dict, invariants: Callable) -> None:
    lg = small_logs[strategy]
    assert lg.result.status == "completed", (lg.result.status, lg.result.blocked, lg.result.error)
    invariants(lg)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_small_seq_and_time(strategy: str, small_logs: dict) -> None:
    f = small_logs[strategy].frame
    assert f.seq[0] == 0 and np.all(np.diff(f.seq) == 1)
    assert np.all(np.isfinite(f.t)) and np.all(np.diff(f.t) >= 0)
    assert f.t.min() >= 0 and f.t.max() <= small_logs[strategy].scenario.horizon_days
    assert np.all(f.qty[~f.qty_null] > 0)
    lot_rows = np.isin(f.kind, sorted(LOT_KINDS))
    assert np.all(f.lot[lot_rows] >= 0) and np.all(f.lot[~lot_rows] == -1)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_small_conservation(strategy: str, small_logs: dict, small: Scenario) -> None:
    """Every router and charger ordered is delivered (nothing lost, nothing left in the network)."""
    f = small_logs[strategy].frame
    for item, required in (("router", 1000), ("charger", 318)):
        mi = f.item == item
        ordered = int(f.qty[mi & (f.kind == "contract_awarded")].sum())
        produced = int(f.qty[mi & (f.kind == "lot_produced")].sum())
        delivered = int(f.qty[mi & (f.kind == "delivered")].sum())
        lost = int(f.qty[mi & (f.kind == "lost")].sum())
        assert ordered == produced == required
        assert delivered + lost == ordered


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_small_node_wip_never_negative(strategy: str, small_logs: dict, wip: Callable) -> None:
    nodes, links, units = wip(small_logs[strategy])
    for place, cum in (*nodes.items(), *links.items()):
        assert len(cum) == 0 or (cum.min() >= 0 and cum[-1] == 0), place
    assert all(q == 0 for q in units.values())


def test_small_every_lot_delivered(small_logs: dict) -> None:
    f = small_logs["baseline"].frame
    lots = np.unique(f.lot[f.lot >= 0])
    done = np.concatenate([f.lot[f.kind == "delivered"], f.lot[f.kind == "lost"]])
    assert sorted(done.tolist()) == lots.tolist()
    # routers cross the hub, the border and the depot; chargers only the depot
    for lot in lots:
        nodes = {n for n in f.node[(f.lot == lot) & (f.kind == "service_started")]}
        item = f.item[(f.lot == lot)][0]
        expected = {"rzeszow_hub", "korczowa_krakovets", "lviv_depot"} if item == "router" else {"lviv_depot"}
        assert nodes == expected, (lot, item, nodes)


def test_small_many_batches(small: Scenario, run_logged: Callable, invariants: Callable, small_logs: dict) -> None:
    """Flushing every 7 rows gives the same table (seq runs on across record batches)."""
    lg = run_logged(small, rows_per_batch=7)
    invariants(lg)
    assert lg.table.equals(small_logs["baseline"].table)
    assert lg.sha256 == small_logs["baseline"].sha256
