"""A capacity factor f in (0, 1] leaves f of the capacity; only 0 closes (issue 12, item 1).

Rule (scenarios/LANGUAGE.md, "Capacity factors"): n servers (vehicles) at factor f keep
ceil(n·f) of them, and every service (trip and return) started while the factor holds takes
ceil(n·f) / (n·f) times as long, so the throughput is exactly f of the undisrupted one.

The chain ``sup -> depot -> unit`` keeps the depot (or the link) saturated: the supplier makes
lots far faster than they can be served. Hand-computed throughputs over the 120-day window:

- a 1-server depot with a fixed 1-day service clears 1 lot a day, so 120 lots; at 0.9, 108;
- a 3-server depot at 0.5 keeps 2 servers at 4/3 days a lot: 1.5 lots a day, 180 lots;
- a 1-vehicle link (1 lot a trip, 1 day out, 1 day back) makes 60 trips; at 0.9, 54.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from scenarios.schema import Scenario

START = dt.date(2025, 1, 1)
D0, DAYS = 20, 120


def scenario(servers: int, factor: float | None, target: str, vehicles: int = 50) -> Scenario:
    d: dict[str, Any] = {
        "name": "fraction",
        "start": START,
        "horizon_days": 400,
        "seed": 5,
        "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.01, "lot_size": 1, "priority": 5}],
        "nodes": [
            {"id": "sup", "kind": "supplier", "products": [{"item": "box", "rate_per_day": 50, "unit_price_eur": 1}]},
            {"id": "depot", "kind": "depot", "servers": servers, "service_days": 1.0},
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
                "vehicles": 50,
                "capacity_m3": 0.01,
            },
            {
                "id": "out",
                "from": "depot",
                "to": "unit",
                "mode": "road",
                "transit_days": 1.0,
                "return_days": 1.0,
                "vehicles": vehicles,
                "capacity_m3": 0.01,
            },
        ],
        "requirements": [
            {"id": "R1", "unit": "unit", "item": "box", "qty": 600, "need_by": START, "funders": ["donor"]}
        ],
    }
    if factor is not None:
        d["disruptions"] = [
            {
                "kind": "scheduled",
                "id": "cut",
                "target": target,
                "start": START + dt.timedelta(days=D0),
                "duration_days": DAYS,
                "capacity_factor": factor,
            }
        ]
    return Scenario.model_validate(copy.deepcopy(d))


def in_window(f: Any, kind: str, **eq: Any) -> int:
    rows = f.where(kind, **eq)
    t = f.t[rows]
    return int(np.count_nonzero((t >= D0) & (t < D0 + DAYS)))


@pytest.mark.parametrize(("servers", "factor", "expected"), [(1, None, 120), (1, 0.9, 108), (3, 0.5, 180)])
def test_depot_keeps_its_share(
    run_logged: Callable, invariants: Callable, servers: int, factor: float | None, expected: int
) -> None:
    lg = run_logged(scenario(servers, factor, "depot"))
    invariants(lg)
    served = in_window(lg.frame, "service_finished", node="depot")
    assert served == pytest.approx(expected, rel=0.02, abs=1)


@pytest.mark.parametrize(("factor", "expected"), [(None, 60), (0.9, 54)])
def test_one_vehicle_link_keeps_its_share(
    run_logged: Callable, invariants: Callable, factor: float | None, expected: int
) -> None:
    lg = run_logged(scenario(100, factor, "out", vehicles=1))
    invariants(lg)
    trips = in_window(lg.frame, "departed", link="out")
    assert trips == pytest.approx(expected, rel=0.02, abs=1)


def test_zero_still_closes(run_logged: Callable) -> None:
    lg = run_logged(scenario(1, 0.0, "depot"))
    assert in_window(lg.frame, "service_started", node="depot") == 0


def test_bottleneck_reader_counts_the_servers_left(run_logged: Callable) -> None:
    """3 servers at 0.5 keep 2: one lot every 2 days (1 in service at most) never saturates the depot.

    By hand: a lot arrives every 2 days and takes 4/3 days, so at most 1 of the 2 servers left is
    busy; the "saturated" rule (busy >= servers left, work present) finds no active period in the
    window. Flooring 1.5 to 1 server would call it saturated whenever a lot is in service.
    """
    from results.bottlenecks.active_period import active_periods

    d = scenario(3, 0.5, "depot")
    slow = d.model_copy(
        update={
            "nodes": [
                n.model_copy(update={"products": [n.products[0].model_copy(update={"rate_per_day": 0.5})]})  # type: ignore[union-attr]
                if n.kind == "supplier"
                else n
                for n in d.nodes
            ]
        }
    )
    lg = run_logged(slow)
    f = lg.frame
    assert in_window(f, "service_finished", node="depot") == pytest.approx(DAYS / 2, abs=1)
    periods = active_periods(lg.table, slow, end=lg.result.end_day)["node:depot"]
    inside = np.clip(periods, D0, D0 + DAYS)
    assert float((inside[:, 1] - inside[:, 0]).sum()) == 0.0
