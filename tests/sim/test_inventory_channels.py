"""Stock policies ordering through a channel, and depot stock behind capped per-vehicle handling (issue 14, item 2).

A policy's order is a requirement like any other: funded by its donors, tendered by the agency,
made and carried; the lead time is the tender plus the trip. A depot's stock arrives through its
handling whatever the station's mode: per vehicle and under a storage cap, every place it
held is given back.
"""

from __future__ import annotations

from pathlib import Path

from scenarios.load import load
from tests.sim.conftest import Runner

AGENCY = """
name: agency_orders
start: 2025-01-01
horizon_days: 40
items:
  - {id: shell, unit_value_eur: 100, volume_m3: 0.01, lot_size: 1000}
nodes:
  - {id: donor, kind: donor, budget_eur: 100000}
  - {id: nspa, kind: agency, staff: 1, tender_days: 5, fee_share: 0.1}
  - id: maker
    kind: supplier
    products:
      - {item: shell, rate_per_day: 1, unit_price_eur: 80, initial_stock: 1000000}
  - id: brigade
    kind: unit
    initial_stock: {shell: 30}
    consumption:
      shell: {dist: fixed, mean_per_day: 5, every_days: 2}
    stock_policies:
      shell: {rule: R_Q, reorder_point: 20, order_qty: 40, channel: agency, funders: [donor], need_within_days: 10}
links:
  - {id: road, from: maker, to: brigade, mode: road, transit_days: 2, vehicles: 10, capacity_m3: 100}
"""


def test_an_agency_order_is_funded_tendered_made_and_carried(run_logged: Runner, tmp_path: Path) -> None:
    """30 on hand, 10 every 2 days: day 2 leaves 20 <= R: order 40 (position 20). Estimate 40 x 100 x 1.1 =
    4,400 committed; tender days 2-7; contract 40 x 80 = 3,200 + fee 320; 880 released; delivered
    on day 9 (the trip: 2 days), needed by day 12. Meanwhile day 4: 10, day 6: 0, day 8: 10 short."""
    path = tmp_path / "agency.yaml"
    path.write_text(AGENCY, encoding="utf-8")
    lg = run_logged(load(path))
    f = lg.frame
    ref = int(f.ref[f.where("order_placed", node="brigade")[0]])
    mine = [i for i in range(len(f)) if f.ref[i] == ref]
    got = [(str(f.kind[i]), float(f.t[i])) for i in mine if f.lot[i] < 0]
    assert got[:8] == [
        ("order_placed", 2.0),
        ("requirement_opened", 2.0),
        ("funds_committed", 2.0),
        ("tender_started", 2.0),
        ("tender_finished", 7.0),
        ("contract_awarded", 7.0),
        ("fee_charged", 7.0),
        ("funds_released", 7.0),
    ]
    row = {str(f.kind[i]): i for i in mine}
    assert f.value[row["order_placed"]] == 20.0
    assert f.value[row["requirement_opened"]] == 12.0
    assert abs(f.value[row["funds_committed"]] - 4400.0) < 1e-9
    assert f.value[row["contract_awarded"]] == 3200.0
    assert abs(f.value[row["funds_released"]] - 880.0) < 1e-9
    assert f.t[row["delivered"]] == 9.0 and f.qty[row["delivered"]] == 40
    first_short, first_fill = f.where("stockout")[0], f.where("backorder_filled")[0]
    assert (f.t[first_short], f.qty[first_short]) == (8.0, 10)
    assert (f.t[first_fill], f.qty[first_fill]) == (9.0, 10)


def test_depot_stock_through_capped_per_vehicle_handling(run_logged: Runner) -> None:
    """depot_chain with the depot serving per vehicle, 1 lot of storage: the same orders, and no place kept."""
    from scenarios.strategies import apply_overrides

    base = load(Path(__file__).resolve().parent / "inventory" / "depot_chain.yaml")
    s = apply_overrides(base, {"nodes.depot.serve": "vehicle", "nodes.depot.storage_cap_lots": 1})
    lg = run_logged(s)
    f = lg.frame
    assert [float(t) for t in f.t[f.where("stock_received", node="depot")]] == [0.0, 3.0, 11.0, 19.0, 27.0]
    assert [float(t) for t in f.t[f.where("delivered", node="brigade")]] == [float(d) for d in range(3, 28, 4)]
    assert lg.result.end["at_stations"] == {"depot": 0}
    assert lg.result.status == "completed"


def test_the_event_budget_counts_the_lots_policies_may_order() -> None:
    """rq_poisson: 1,200 days, 4 a day in lots of 1,000, one link: 100 x 1,200 x (1 + 0.004) x 3 more events."""
    from scenarios.strategies import apply_overrides
    from sim.budget import default_event_budget

    s = load(Path(__file__).resolve().parent / "inventory" / "rq_poisson.yaml")
    without = apply_overrides(s, {"nodes.brigade.stock_policies": {}})
    assert default_event_budget(s) - default_event_budget(without) == round(100 * 1200 * (1 + 4 / 1000) * 3)


def test_the_log_rebuilds_the_engine_end_state_with_stock_policies(run_logged: Runner) -> None:
    """``--verify``: the replay folds consumed, backorder_filled, stock_issued and stock_received
    (lot -1: the opening stock) into stock, so it rebuilds units' and depots' stock and counters."""
    from results.replay.fold import end_state_from_log
    from results.replay.verify import diff_end_states

    here = Path(__file__).resolve().parent / "inventory"
    for name in ("s_s_every_two_days", "depot_chain", "depot_scarcity"):
        lg = run_logged(load(here / f"{name}.yaml"))
        assert diff_end_states(lg.result.end, end_state_from_log(lg.table, lg.scenario)) == [], name


def test_a_depot_that_cannot_reach_its_unit_is_named() -> None:
    """No enabled link from the depot to the unit: the run refuses to start, naming the policy."""
    import pytest

    from scenarios.errors import NetworkError
    from scenarios.strategies import apply_overrides
    from sim.run import run

    s = load(Path(__file__).resolve().parent / "inventory" / "depot_chain.yaml")
    with pytest.raises(NetworkError, match="unit brigade: its stock policy for shell orders from depot depot"):
        run(apply_overrides(s, {"links.road_out.enabled": False}))
