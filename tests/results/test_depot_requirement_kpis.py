"""A depot's replenishment order is not a unit's requirement in the requirement KPIs (issue 14).

A stock policy at a depot opens requirements whose node is the depot; their lots end in the
depot's stock (``stock_received``), never ``delivered``. The requirement KPIs (fill rate,
OTIF, undelivered and late units, lateness, Kaplan-Meier lead times) are about what reaches
the units, so they leave depot orders out; the depot's orders and receipts are the inventory
KPIs' (``units_order_placed`` / ``units_order_received`` at the depot). Before, the 150
shells the depot of ``tests/sim/inventory/depot_chain.yaml`` ordered and received counted as
undelivered: fill rate 140 / 290 = 48.3 %, 150 units late.

By hand (``tests/sim/test_inventory_policies.py``): the unit orders 20 shells on days 2, 6,
..., 26 (7 orders, 140 units), each issued from the depot's stock at once and delivered a day
later, before the horizon's last day (their need-by date): fill 1, OTIF 1, nothing late.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from results.headline import item_headline
from results.kpis import compute_kpis, kpi_table
from scenarios.load import load
from scenarios.strategies import apply_overrides
from sim.run import run

DEPOT_CHAIN = Path(__file__).resolve().parents[1] / "sim" / "inventory" / "depot_chain.yaml"


def test_depot_orders_are_not_undelivered_unit_requirements() -> None:
    s = load(DEPOT_CHAIN)
    log, result = run(s)
    k = compute_kpis(log.table(), s, end=result.end_day)
    assert k[("fill_rate", "shell", None, None)] == pytest.approx(1.0)
    assert k[("fill_rate", None, None, None)] == pytest.approx(1.0)
    assert k[("otif", "shell", None, None)] == pytest.approx(1.0)
    assert k[("units_delivered", "shell", None, None)] == 140
    assert k[("units_undelivered", "shell", None, None)] == 0
    assert k[("units_late", "shell", None, None)] == 0
    assert k[("lateness_unit_days", "shell", None, None)] == 0.0
    # the engine's counter still counts the depot's 150 (4 orders: 30 + 40 + 40 + 40)
    assert k[("units_required", None, None, None)] == 290


def test_a_late_depot_order_does_not_make_unit_requirements_late() -> None:
    """The depot's maker takes 40 days (beyond the 30-day horizon), so the depot's orders
    (days 2, 10, 18, 26) never arrive. The unit still orders 20 on days 2, 6, ..., 26 (its
    position, on hand + on order - backorders, falls by 10 every 2 days from 25 to 5 whatever
    arrives): 7 orders, 140 units. The depot's opening 30 serves the first (20, delivered day
    3) and half the second (10, day 7); the rest waits at the depot. Fill = 30 / 140, 110
    units undelivered and late, 1 of 7 orders on time; the depot's 140 undelivered units are
    not counted anywhere in the requirement KPIs."""
    s = apply_overrides(load(DEPOT_CHAIN), {"links.road_in.transit_days": 40})
    log, result = run(s)
    k = compute_kpis(log.table(), s, end=result.end_day)
    assert k[("units_delivered", "shell", None, None)] == 30
    assert k[("fill_rate", "shell", None, None)] == pytest.approx(30 / 140)
    assert k[("units_undelivered", "shell", None, None)] == 110
    assert k[("units_late", "shell", None, None)] == 110
    assert k[("otif", "shell", None, None)] == pytest.approx(1 / 7)


def test_headline_required_units_are_the_units_orders() -> None:
    """The headline's "delivered of required" is 140 of 140, not 140 of 290."""
    s = load(DEPOT_CHAIN)
    log, result = run(s)
    table = kpi_table(log.table(), s, strategy="base", replication=0, end=result.end_day)
    (row,) = item_headline(table, s)
    assert row.delivered_units.mean == 140
    assert row.required_units is not None and math.isclose(row.required_units, 140)
