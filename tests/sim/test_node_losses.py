"""A disruption's ``loss_probability`` at a node or supplier destroys what is there (issue 12, item 3).

Chain ``sup -> depot -> unit``: 200 lots of 1 box leave the supplier's stock together on day
t0 (contract awarded), reach the 1-server depot (1 day a lot) half a day later and queue
there. A strike on the depot on day 20 destroys each lot at the depot with probability p:

- p = 1: every lot still at the depot (queued, in service, waiting for a vehicle) is lost at
  the strike; the lots served before are delivered; nothing else is lost;
- p = 0.5: about half of the lots at the depot (binomial: 4 standard deviations);
- a supplier strike destroys a binomial share of its finished stock, which the line must make
  again: the last lot is produced lost units / rate days after the award.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from results.kpis import compute_kpis
from results.replay import lineage, state_at
from scenarios.schema import Scenario

START = dt.date(2025, 1, 1)
LOTS = 200
STRIKE = 20


def scenario(target: str, p: float, stock: int = LOTS, opens: int = 0, rate: float = 1000.0) -> Scenario:
    d: dict[str, Any] = {
        "name": "strike",
        "start": START,
        "horizon_days": 600,
        "seed": 21,
        "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.01, "lot_size": 1, "priority": 5}],
        "nodes": [
            {
                "id": "sup",
                "kind": "supplier",
                "products": [{"item": "box", "rate_per_day": rate, "unit_price_eur": 1, "initial_stock": stock}],
            },
            {"id": "depot", "kind": "depot", "servers": 1, "service_days": 1.0},
            {"id": "unit", "kind": "unit"},
            {"id": "donor", "kind": "donor", "budget_eur": 1e9},
            {"id": "agency", "kind": "agency", "staff": 1, "tender_days": 1},
        ],
        "links": [
            {
                "id": "in",
                "from": "sup",
                "to": "depot",
                "mode": "road",
                "transit_days": 0.5,
                "vehicles": 400,
                "capacity_m3": 0.01,
            },
            {
                "id": "out",
                "from": "depot",
                "to": "unit",
                "mode": "road",
                "transit_days": 1.0,
                "vehicles": 400,
                "capacity_m3": 0.01,
            },
        ],
        "requirements": [
            {
                "id": "R1",
                "unit": "unit",
                "item": "box",
                "qty": LOTS,
                "need_by": START + dt.timedelta(days=400),
                "opens": START + dt.timedelta(days=opens),
                "funders": ["donor"],
            }
        ],
        "disruptions": [
            {
                "kind": "scheduled",
                "id": "strike",
                "target": target,
                "start": START + dt.timedelta(days=STRIKE),
                "duration_days": 1,
                "capacity_factor": 1.0,
                "loss_probability": p,
            }
        ],
    }
    return Scenario.model_validate(copy.deepcopy(d))


def test_everything_at_the_depot_is_destroyed(run_logged: Callable, invariants: Callable) -> None:
    s = scenario("depot", 1.0)
    lg = run_logged(s)
    invariants(lg)
    f = lg.frame
    assert lg.result.status == "completed"
    lost = f.where("lost")
    assert np.all(f.t[lost] == STRIKE) and np.all(f.node[lost] == "depot")
    assert np.all(f.value[lost] == 0)  # the disruption's index
    assert np.all(f.ref[lost] == 0)  # the requirement the lots were for
    left = f.where("loaded", link="out")
    assert np.all(f.t[left] <= STRIKE)  # nothing leaves the depot after the strike
    # by hand: one lot served per day from t0 + 0.5 to the strike; every other lot is lost there
    t0 = float(f.t[f.where("lot_produced")].min())
    # services end at t0 + 0.5 + 1, t0 + 0.5 + 2, ...; those ending before the strike leave (no tie here)
    assert (STRIKE - t0 - 0.5) % 1 != 0
    served_before = math.floor(STRIKE - t0 - 0.5)
    assert len(left) == served_before
    assert len(lost) == LOTS - served_before
    assert lg.result.counters["units_lost"] == LOTS - served_before
    # the requirement closes short: its filled row says what arrived; the KPIs see the loss
    (filled,) = f.where("requirement_filled")
    assert int(f.qty[filled]) == served_before
    k = compute_kpis(lg.table, s, end=lg.result.end_day)
    assert k[("units_lost", None, None, None)] == LOTS - served_before
    assert k[("fill_rate", None, None, None)] == pytest.approx(served_before / LOTS)
    # state and trace read it back: the requirement shows its lost units; a lost lot ends at the depot
    st = state_at(lg.table, float(STRIKE), s)
    assert st.requirements["R1"].lost == LOTS - served_before
    assert st.nodes["depot"].wip == 0
    lost_lot = int(f.lot[lost[-1]])
    ln = lineage(lg.table, lot=lost_lot, scenario=s)
    assert ln.outcome == "lost" and ln.done_day == STRIKE
    assert ln.stages[-1].name == "handling depot" and ln.stages[-1].end == STRIKE


def test_half_the_lots_at_the_depot(run_logged: Callable, invariants: Callable) -> None:
    lg = run_logged(scenario("depot", 0.5))
    invariants(lg)
    f = lg.frame
    t0 = float(f.t[f.where("lot_produced")].min())
    at_depot = LOTS - math.floor(STRIKE - t0 - 0.5)
    lost = len(f.where("lost"))
    sd = math.sqrt(at_depot * 0.25)
    assert abs(lost - 0.5 * at_depot) <= 4 * sd, (lost, at_depot)
    assert lg.result.counters["units_lost"] == lost


def test_supplier_stock_is_destroyed_and_made_again(run_logged: Callable, invariants: Callable) -> None:
    """Stock 200, p = 0.3 on day 20, requirement opens on day 30: the line remakes what was lost."""
    s = scenario("sup", 0.3, opens=30, rate=10.0)
    lg = run_logged(s)
    invariants(lg)
    f = lg.frame
    (row,) = f.where("lost")
    assert f.lot[row] == -1 and f.ref[row] == -1 and f.node[row] == "sup" and f.t[row] == STRIKE
    units = int(f.qty[row])
    assert abs(units - 0.3 * LOTS) <= 4 * math.sqrt(LOTS * 0.3 * 0.7)
    assert lg.result.counters["units_lost"] == units
    produced = f.where("lot_produced")
    assert int(f.qty[produced].sum()) == LOTS  # every ordered unit is delivered: stock left + remade
    (award,) = f.where("contract_awarded")
    assert float(f.t[produced].max()) == pytest.approx(float(f.t[award]) + units / 10.0)
    assert lg.result.status == "completed"


def test_zero_loss_destroys_nothing(run_logged: Callable) -> None:
    """A disruption with loss probability 0 destroys nothing."""
    lg = run_logged(scenario("depot", 0.0))
    assert len(lg.frame.where("lost")) == 0
