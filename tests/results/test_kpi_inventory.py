"""Inventory KPIs from the log (issue 14 item 4): fill rate, ready rate, stock on hand, backorders, orders.

A hand-built log of two units, a depot and a supplier (``_ROWS``) has every number worked out
by hand below, from the step functions of on-hand stock and backorders drawn day by day.
The same KPIs must come out however the log is cut into chunks (``KpiStream``, ``LiveKpis``),
and for random consistent logs of one unit (hypothesis) they must equal the accounting of
the little inventory model that wrote the log: fill rate and ready rate in [0, 1], stock on
hand never negative, its time average that of the model.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from results.inventory_series import InventorySeries
from results.kpis import KPI_NAMES, compute_kpis, event_arrays
from results.kpis.inventory import INVENTORY_KPI_NAMES, window_days
from results.kpis.live import LiveKpis
from results.kpis.stream import KpiKey, KpiStream
from results.part_stream import table_chunks
from results.stats import kpi_domain
from scenarios.load import load
from scenarios.schema import Scenario
from sim.log import arrow_schema
from sim.run import run

ROOT = Path(__file__).resolve().parents[2]
NAN = math.nan
END = 10.0

# (t, kind, lot, item, qty, node, ref, value), as the engine logs them (sim.model.inventory)
_ROWS: list[tuple[float, str, int, str | None, int | None, str | None, int, float]] = [
    (0.0, "stock_received", -1, "x", 5, "u", -1, NAN),  # u's policy logs its opening stock
    (0.0, "stock_received", -1, "x", 1, "v", -1, NAN),
    (0.0, "stock_received", -1, "x", 4, "d", -1, NAN),
    (1.0, "consumed", -1, "x", 3, "u", -1, NAN),
    (1.0, "order_placed", -1, "x", 6, "u", 7, 2.0),  # u orders 6 from depot d: d issues its 4 ...
    (1.0, "stock_issued", 11, "x", 4, "d", 7, NAN),
    (1.0, "stockout", -1, "x", 2, "d", 7, 1.0),  # ... and backorders 2
    (1.0, "consumed", -1, "x", 1, "v", -1, NAN),
    (1.0, "stockout", -1, "x", 2, "v", -1, NAN),  # v loses its sales
    (1.0, "order_placed", -1, "x", 20, "d", 8, 0.0),
    (1.5, "stockout", -1, "x", 1, "v", -1, NAN),
    (2.0, "consumed", -1, "x", 2, "u", -1, NAN),
    (2.0, "stockout", -1, "x", 1, "u", -1, 1.0),  # u backorders
    (2.0, "consumed", -1, "z", 1, "w", -1, NAN),  # w: opening stock from the scenario
    (3.0, "stockout", -1, "x", 2, "u", -1, 1.0),
    (3.0, "stockout", -1, "x", 3, "v", -1, NAN),
    (4.0, "delivered", 11, "x", 4, "u", 7, 0.0),
    (4.0, "backorder_filled", -1, "x", 3, "u", -1, NAN),
    (5.0, "consumed", -1, "x", 1, "u", -1, NAN),
    (5.0, "lot_produced", 13, "x", 20, "s", 8, NAN),
    (5.0, "stockout", -1, "y", 2, "u", -1, 1.0),
    (8.0, "stock_received", 13, "x", 20, "d", -1, NAN),  # its order: lot 13's requirement, 8
    (8.0, "backorder_filled", 12, "x", 2, "d", 7, NAN),  # d ships u's backordered 2 as lot 12
    (9.0, "delivered", 12, "x", 2, "u", 7, 0.0),
]


def scenario() -> Scenario:
    """Units u, v, w (w holds 4 z at the start, not logged; u's 99 x are replaced by its logged opening)."""
    units: list[dict[str, Any]] = [
        {"id": "u", "kind": "unit", "initial_stock": {"x": 99}},
        {"id": "v", "kind": "unit"},
        {"id": "w", "kind": "unit", "initial_stock": {"z": 4}},
    ]
    items = [{"id": i, "unit_value_eur": 1, "volume_m3": 0.001, "lot_size": 1} for i in ("x", "y", "z")]
    return Scenario.model_validate(
        {"name": "inv", "start": dt.date(2025, 1, 1), "horizon_days": 10, "items": items, "nodes": units, "links": []}
    )


def table(rows: list[tuple[Any, ...]]) -> pa.Table:
    """An event table of ``arrow_schema`` from ``(t, kind, lot, item, qty, node, ref, value)`` rows."""
    cols: list[Any] = list(zip(*rows, strict=True)) if rows else [()] * 8
    data = {
        "seq": list(range(len(rows))),
        "t": cols[0],
        "kind": cols[1],
        "lot": cols[2],
        "item": cols[3],
        "qty": cols[4],
        "node": cols[5],
        "link": [None] * len(rows),
        "vehicle": [-1] * len(rows),
        "ref": cols[6],
        "value": cols[7],
    }
    schema = arrow_schema()
    return pa.Table.from_arrays(
        [pa.array(data[f.name], type=pa.string() if f.name == "link" else None).cast(f.type) for f in schema],
        schema=schema,
    )


def inventory_only(k: dict[KpiKey, float | None]) -> dict[tuple[str, str | None, str | None], float | None]:
    return {(key[0], key[1], key[2]): v for key, v in k.items() if key[0] in INVENTORY_KPI_NAMES}


@pytest.fixture(scope="module")
def kpis() -> dict[tuple[str, str | None, str | None], float | None]:
    s = scenario()
    return inventory_only(compute_kpis(event_arrays(table(_ROWS), s), s, END))


def test_fill_rate_ready_rate_and_stockout_days_by_hand(kpis: dict[Any, float | None]) -> None:
    # u, x: demand 3+2+1 met, 1 (day 2) + 2 (day 3) backordered: 6 of 9; stockout days {2, 3} of 10
    assert kpis[("units_demanded", "x", "u")] == 9
    assert kpis[("units_served_from_stock", "x", "u")] == 6
    assert kpis[("units_backordered", "x", "u")] == 3 and kpis[("units_lost_sales", "x", "u")] == 0
    assert kpis[("units_backorder_filled", "x", "u")] == 3
    assert kpis[("demand_fill_rate", "x", "u")] == pytest.approx(6 / 9)
    assert kpis[("ready_rate", "x", "u")] == pytest.approx(0.8)
    # v, x: 1 met, 2 + 1 (both day 1) + 3 (day 3) lost: 1 of 7; stockout days {1, 3}
    assert kpis[("units_lost_sales", "x", "v")] == 6 and kpis[("units_backordered", "x", "v")] == 0
    assert kpis[("demand_fill_rate", "x", "v")] == pytest.approx(1 / 7)
    assert kpis[("ready_rate", "x", "v")] == pytest.approx(0.8)
    # u, y: 2 backordered on day 5, nothing met
    assert kpis[("demand_fill_rate", "y", "u")] == 0.0 and kpis[("ready_rate", "y", "u")] == pytest.approx(0.9)
    # the depot's demand is u's order of 6: 4 issued at once, 2 backordered on day 1 (filled on day 8)
    assert kpis[("units_demanded", "x", "d")] == 6 and kpis[("units_served_from_stock", "x", "d")] == 4
    assert kpis[("demand_fill_rate", "x", "d")] == pytest.approx(4 / 6)
    assert kpis[("ready_rate", "x", "d")] == pytest.approx(0.9)
    assert kpis[("units_backorder_filled", "x", "d")] == 2
    # item x over u, v, d: 11 of 22 met; 5 stockout days of 3 pairs x 10 days
    assert kpis[("demand_fill_rate", "x", None)] == pytest.approx(11 / 22)
    assert kpis[("ready_rate", "x", None)] == pytest.approx(1 - 5 / 30)
    assert kpis[("stockout_node_days", "x", None)] == 5
    # everything: 12 of 25 met (w's 1 z too); 6 stockout days of 5 pairs x 10 days
    assert kpis[("units_demanded", None, None)] == 25
    assert kpis[("demand_fill_rate", None, None)] == pytest.approx(12 / 25)
    assert kpis[("ready_rate", None, None)] == pytest.approx(1 - 6 / 50)
    assert kpis[("stockout_node_days", None, None)] == 6
    assert kpis[("units_backordered", None, None)] == 7 and kpis[("units_backorder_filled", None, None)] == 5


def test_on_hand_and_backorders_by_hand(kpis: dict[Any, float | None]) -> None:
    # u, x on hand: 5 on [0,1), 2 on [1,2), 0 on [2,4), 1 on [4,5), 0 on [5,9), 2 on [9,10): 10 unit-days
    # (the scenario's 99 are not added: u logged its opening stock)
    assert kpis[("on_hand_mean_units", "x", "u")] == pytest.approx(10 / 10)
    # v: 1 on [0,1); d: 4 on [0,1), 0 on [1,8), 18 on [8,10): 40 unit-days
    assert kpis[("on_hand_mean_units", "x", "v")] == pytest.approx(0.1)
    assert kpis[("on_hand_mean_units", "x", "d")] == pytest.approx(4.0)
    # w, z: the scenario's 4 from day 0, 3 from day 2: (8 + 24) / 10
    assert kpis[("on_hand_mean_units", "z", "w")] == pytest.approx(3.2)
    assert kpis[("on_hand_mean_units", None, None)] == pytest.approx(1.0 + 0.1 + 4.0 + 3.2)
    # u, x backorders: 1 on [2,3), 3 on [3,4); d, x: 2 on [1,8); u, y: 2 on [5,10)
    assert kpis[("backorders_mean_units", "x", "u")] == pytest.approx(0.4)
    assert kpis[("backorders_max_units", "x", "u")] == 3
    assert kpis[("backorders_mean_units", "x", "d")] == pytest.approx(1.4)
    assert kpis[("backorders_max_units", "x", "d")] == 2
    assert kpis[("backorders_mean_units", "y", "u")] == pytest.approx(1.0)
    assert kpis[("backorders_max_units", "y", "u")] == 2
    # x: 2 on [1,2), 3 on [2,3), 5 on [3,4), 2 on [4,8): 18 unit-days, at most 5
    assert kpis[("backorders_mean_units", "x", None)] == pytest.approx(1.8)
    assert kpis[("backorders_max_units", "x", None)] == 5
    # everything, the levels added up first: x's plus y's 2 from day 5: 28 unit-days, at most 5 (not 3 + 2 + 2)
    assert kpis[("backorders_mean_units", None, None)] == pytest.approx(2.8)
    assert kpis[("backorders_max_units", None, None)] == 5


def test_orders_placed_and_received_by_hand(kpis: dict[Any, float | None]) -> None:
    # u ordered 6 (ref 7): lots 11 (4) and 12 (2) delivered; d ordered 20 (ref 8): lot 13 received
    assert kpis[("orders_placed", "x", "u")] == 1 and kpis[("units_order_placed", "x", "u")] == 6
    assert kpis[("lots_order_received", "x", "u")] == 2 and kpis[("units_order_received", "x", "u")] == 6
    assert kpis[("orders_received", "x", "u")] == 1
    assert kpis[("lots_order_received", "x", "d")] == 1 and kpis[("units_order_received", "x", "d")] == 20
    assert kpis[("orders_placed", None, None)] == 2 and kpis[("units_order_placed", None, None)] == 26
    assert kpis[("lots_order_received", None, None)] == 3 and kpis[("orders_received", None, None)] == 2
    assert kpis[("orders_placed", "z", "w")] == 0


def test_an_order_half_received_is_not_received() -> None:
    s = scenario()
    rows = [r for r in _ROWS if not (r[1] == "delivered" and r[2] == 12)]  # lot 12 never arrives
    k = inventory_only(compute_kpis(event_arrays(table(rows), s), s, END))
    assert k[("units_order_received", "x", "u")] == 4 and k[("orders_received", "x", "u")] == 0


def test_names_are_documented_with_bounded_domains(kpis: dict[Any, float | None]) -> None:
    assert {key[0] for key in kpis} == set(INVENTORY_KPI_NAMES) <= set(KPI_NAMES)
    for name in ("demand_fill_rate", "ready_rate"):
        assert (kpi_domain(name).low, kpi_domain(name).high) == (0.0, 1.0)
    for name in INVENTORY_KPI_NAMES:
        assert kpi_domain(name).low == 0.0, name


def test_no_inventory_kpi_without_stock_rows() -> None:
    s = scenario().model_copy(update={"nodes": [n.model_copy(update={"initial_stock": {}}) for n in scenario().nodes]})
    rows = [(1.0, "delivered", 0, "x", 4, "u", 0, 0.0)]  # a delivery only: no inventory pair
    assert inventory_only(compute_kpis(event_arrays(table(rows), s), s, END)) == {}


def test_the_window_days() -> None:
    assert (window_days(10.0), window_days(9.5), window_days(0.0)) == (10, 10, 1)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, len(_ROWS)])
def test_chunked_equals_whole(size: int, kpis: dict[Any, float | None]) -> None:
    """Cut anywhere (also inside an instant), the KPIs are those of the whole log."""
    s = scenario()
    ks = KpiStream(s, END)
    for batch in table(_ROWS).to_batches(max_chunksize=size):
        ks.feed(batch)
    assert inventory_only(ks.finish()) == kpis
    live = LiveKpis(s, chunk_rows=size)
    for batch in table(_ROWS).to_batches(max_chunksize=2 * size):
        live(batch)
    got = {(r["kpi"], r["item"], r["node"]): r["value"] for r in live.table("baseline", 0, END).to_pylist()}
    assert {k: v for k, v in got.items() if k[0] in INVENTORY_KPI_NAMES} == kpis


# --------------------------------------------------------------------------- random consistent logs


def _model_log(
    opening: int, days: list[tuple[int, int]], backorder: bool
) -> tuple[list[tuple[Any, ...]], dict[str, float], list[float]]:
    """The log of one unit that receives ``days[d][0]`` at ``d + 0.5`` and faces demand ``days[d][1]`` at ``d + 1``.

    Returns the rows, the model's own totals, and its on-hand level on each day ``[d, d + 1)``
    averaged over the day (the figures the KPIs must reproduce).
    """
    end = len(days) + 1.0
    rows: list[tuple[Any, ...]] = [(0.0, "stock_received", -1, "x", opening, "u", -1, NAN)] if opening else []
    on, bo = opening, 0
    area_on = area_bo = 0.0
    max_bo, consumed, short, stockout_days = 0, 0, 0, 0
    daily = [0.0] * int(end)
    last_t, lot = 0.0, 0
    for d, (receive, demand) in enumerate(days):
        for t, what in ((d + 0.5, "receive"), (d + 1.0, "demand")):
            area_on += on * (t - last_t)
            area_bo += bo * (t - last_t)
            last_t = t
            if what == "receive" and receive:
                rows.append((t, "delivered", lot, "x", receive, "u", 0, 0.0))
                lot += 1
                on += receive
                fill = min(bo, on)
                if fill:
                    rows.append((t, "backorder_filled", -1, "x", fill, "u", -1, NAN))
                    on, bo = on - fill, bo - fill
            elif what == "demand" and demand:
                used = min(on, demand)
                if used:
                    rows.append((t, "consumed", -1, "x", used, "u", -1, NAN))
                on -= used
                consumed += used
                if demand > used:
                    rows.append((t, "stockout", -1, "x", demand - used, "u", -1, 1.0 if backorder else NAN))
                    short += demand - used
                    stockout_days += 1
                    bo += (demand - used) if backorder else 0
            max_bo = max(max_bo, bo)
    area_on += on * (end - last_t)
    area_bo += bo * (end - last_t)
    # on-hand on day d: the level before the receipt on [d, d + .5), after it on [d + .5, d + 1)
    level, k = (opening if opening else 0), 0
    events = [r for r in rows if r[1] in ("delivered", "consumed", "backorder_filled")]
    for day in range(int(end)):
        total, t0 = 0.0, float(day)
        while k < len(events) and events[k][0] < day + 1:
            t, kind, qty = events[k][0], events[k][1], events[k][4]
            total += level * (t - t0)
            t0 = t
            level += qty if kind == "delivered" else -qty
            k += 1
        daily[day] = total + level * (day + 1 - t0)
    totals = {
        "end": end,
        "on_hand_mean": area_on / end,
        "backorders_mean": area_bo / end,
        "backorders_max": max_bo,
        "consumed": consumed,
        "short": short,
        "stockout_days": stockout_days,
    }
    return rows, totals, daily


@settings(max_examples=60, deadline=None)
@given(
    opening=st.integers(0, 6),
    days=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4)), min_size=1, max_size=15),
    backorder=st.booleans(),
    size=st.integers(1, 12),
)
def test_random_consistent_logs_match_their_model(
    opening: int, days: list[tuple[int, int]], backorder: bool, size: int
) -> None:
    rows, m, daily = _model_log(opening, days, backorder)
    # u consumes x (in the scenario: its pair has a ready rate even without a row)
    u = scenario().nodes[0].model_copy(update={"initial_stock": {}, "consumption_per_day": {"x": 1.0}})
    s = scenario().model_copy(update={"nodes": [u]})
    ks = KpiStream(s, m["end"])
    for batch in table(rows).to_batches(max_chunksize=size):
        ks.feed(batch)
    k = inventory_only(ks.finish())
    whole = inventory_only(compute_kpis(event_arrays(table(rows), s), s, m["end"]))
    assert k.keys() == whole.keys()
    for key, v in whole.items():
        w = k[key]
        assert v == w or (v is not None and w is not None and math.isclose(v, w, rel_tol=1e-12)), key
    demand = m["consumed"] + m["short"]
    fill, ready = k[("demand_fill_rate", "x", "u")], k[("ready_rate", "x", "u")]
    if demand:
        assert fill is not None and 0.0 <= fill <= 1.0 and fill == pytest.approx(m["consumed"] / demand)
    else:
        assert fill is None
    assert ready is not None and 0.0 <= ready <= 1.0
    assert ready == pytest.approx(1 - m["stockout_days"] / window_days(m["end"]))
    assert k[("on_hand_mean_units", "x", "u")] == pytest.approx(m["on_hand_mean"])
    assert k[("backorders_mean_units", "x", "u")] == pytest.approx(m["backorders_mean"])
    assert k[("backorders_max_units", "x", "u")] == m["backorders_max"]
    assert k[("units_lost_sales", "x", "u")] == (0 if backorder else m["short"])
    # the report's daily series: never negative, the model's daily mean
    series = InventorySeries(s, np.arange(0.0, m["end"] + 1.0))
    for ev in table_chunks(table(rows), s, batch_rows=size):  # the report's chunks: whole instants
        series.feed(ev)
    shown, levels = series.result()
    u_x = 0 * len(s.items) + 0
    assert shown[u_x] and (levels[u_x, 0] >= 0).all()
    assert levels[u_x, 0] == pytest.approx(np.array(daily))


# --------------------------------------------------------------------------- a policy run end to end


def test_the_deterministic_s_S_run_by_hand() -> None:
    """``tests/sim/inventory/s_s_every_two_days.yaml``: 10 shells every 2 days (days 2..28), opening 25,
    (s, S) = (3, 25), lead time 2 (hand-worked in tests/sim/test_inventory_policies.py).

    On hand: 25 on [0,2), 15, 5, then 0 on [6,8) (5 backordered, 30 ordered); on day 8 the 30
    arrive, fill the 5 and meet the 10: 15 on [8,10), 5, 0 on [12,14)... the 6-day cycle
    (15, 5, 0) repeats up to day 30. Unit-days: 25*2 + 15*2 + 5*2 + 4 * (15*2 + 5*2) = 250.
    Backorders: 5 on [6,8), [12,14), [18,20), [24,26): 40 unit-days. Demand 140, 120 from stock;
    stockout days 6, 12, 18, 24 of 30; four orders of 30, each one lot delivered."""
    s = load(ROOT / "tests" / "sim" / "inventory" / "s_s_every_two_days.yaml")
    log, result = run(s)
    assert result.end_day == 30.0
    k = inventory_only(compute_kpis(log.table(), s, result.end_day))
    pair = ("shell", "brigade")

    def at(name: str) -> float | None:
        return k[(name, *pair)]

    assert (at("units_demanded"), at("units_served_from_stock"), at("units_backordered")) == (140, 120, 20)
    assert at("units_backorder_filled") == 20 and at("units_lost_sales") == 0
    assert at("demand_fill_rate") == pytest.approx(120 / 140)
    assert at("ready_rate") == pytest.approx(1 - 4 / 30)
    assert at("on_hand_mean_units") == pytest.approx(250 / 30)
    assert at("backorders_mean_units") == pytest.approx(40 / 30) and at("backorders_max_units") == 5
    assert (at("orders_placed"), at("units_order_placed")) == (4, 120)
    assert (at("lots_order_received"), at("units_order_received"), at("orders_received")) == (4, 120, 4)
