"""The report's inventory panel (issue 14 item 4): on-hand stock and backorders per node over time.

Daily means are worked out by hand from hand-built logs and from a run whose consumption is
deterministic; the panel is there only when the run has inventory data.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from rundirs import make_run_dir

from results.inventory_series import InventoryAcross
from results.part_stream import table_chunks
from results.report import build_report, report_context
from results.report_data import load_run
from results.report_inventory import inventory_panel_from
from scenarios.schema import Scenario
from sim.log import arrow_schema

NAN = math.nan


def stock_scenario(consumes: bool = True) -> Scenario:
    """One unit with 3 boxes at the start, consuming 1 a day (ticks at t = 1, 2, ...), for 6 days."""
    unit: dict[str, Any] = {"id": "unit", "kind": "unit"}
    if consumes:
        unit.update(consumption_per_day={"box": 1.0}, initial_stock={"box": 3})
    return Scenario.model_validate(
        {
            "name": "stock",
            "start": dt.date(2025, 1, 1),
            "horizon_days": 6,
            "seed": 1,
            "items": [
                {"id": "box", "unit_value_eur": 1, "volume_m3": 0.001, "lot_size": 10},
                {"id": "can", "unit_value_eur": 1, "volume_m3": 0.001, "lot_size": 10},
            ],
            "nodes": [
                unit,
                {"id": "depot", "kind": "depot", "servers": 1, "service_days": {"dist": "fixed", "value": 0.1}},
            ],
            "links": [],
        }
    )


def table(rows: list[tuple[Any, ...]]) -> pa.Table:
    """Event table from ``(t, kind, lot, item, qty, node, ref, value)`` rows."""
    cols = list(zip(*rows, strict=True))
    data: dict[str, Any] = dict(zip(("t", "kind", "lot", "item", "qty", "node", "ref", "value"), cols, strict=True))
    data.update(seq=list(range(len(rows))), link=[None] * len(rows), vehicle=[-1] * len(rows))
    schema = arrow_schema()
    arrays = [pa.array(list(data[f.name]), type=pa.string() if f.name == "link" else None).cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def test_two_parts_averaged_by_hand() -> None:
    s = stock_scenario(consumes=False)
    edges = np.arange(0.0, 5.0)  # daily bins [0,1) .. [3,4)
    rep0 = [
        (0.0, "stock_received", -1, "can", 4, "depot", -1, NAN),
        (1.0, "stock_issued", 5, "can", 4, "depot", 2, NAN),
        (2.5, "stockout", -1, "box", 2, "unit", -1, 1.0),  # 2 backordered from 2.5
    ]
    rep1 = [
        (0.0, "stock_received", -1, "can", 2, "depot", -1, NAN),
        (0.5, "stock_issued", 6, "can", 2, "depot", 2, NAN),
    ]
    across = InventoryAcross(s, edges)
    for rows in (rep0, rep1):
        part = across.part()
        for ev in table_chunks(table(rows), s, batch_rows=1):
            part.feed(ev)
        across.add(part)
    got = across.result()
    assert set(got) == {("depot", "can"), ("unit", "box")}
    # depot on hand: rep 0 is 4 on [0,1); rep 1 is 2 on [0,.5): daily means (4 + 1) / 2, then 0
    assert got[("depot", "can")][0] == pytest.approx([2.5, 0, 0, 0])
    # unit backorders: rep 0 has 2 on [2.5, 4), rep 1 none: (0, 0, 1, 2) / 2
    assert got[("unit", "box")][1] == pytest.approx([0, 0, 0.5, 1.0])
    assert got[("unit", "box")][0] == pytest.approx([0, 0, 0, 0])
    fig = inventory_panel_from(got, ["d0", "d1", "d2", "d3"], "baseline")
    assert fig is not None
    names = [(tr["xaxis"], tr["name"]) for tr in fig["data"]]
    # one panel per node, in the scenario's order; a backorder line only where there are backorders
    assert names == [("x", "box: on hand"), ("x", "box: backorders"), ("x2", "can: on hand")]
    assert fig["data"][2]["y"] == [2.5, 0, 0, 0]


def test_a_run_with_consumption_shows_its_stock_falling(tmp_path: Path) -> None:
    """3 boxes, 1 consumed a day at t = 1, 2, 3; then short on days 4 and 5 (lost, no policy)."""
    run_dir = make_run_dir(tmp_path / "run", stock_scenario(), reps=2)
    data = load_run(run_dir)
    on_hand = data.detail.inventory[("unit", "box")]
    assert on_hand[0] == pytest.approx([3, 2, 1, 0, 0, 0]) and not on_hand[1].any()
    ctx = report_context(data)
    fig = ctx["figures"]["fig-inventory"]
    assert [tr["name"] for tr in fig["data"]] == ["box: on hand"]
    assert fig["data"][0]["y"] == [3, 2, 1, 0, 0, 0]
    k = {(r["kpi"], r["item"], r["node"]): r["value"] for r in data.kpis.to_pylist() if r["replication"] == 0}
    assert k[("demand_fill_rate", "box", "unit")] == pytest.approx(3 / 5)
    assert k[("ready_rate", "box", "unit")] == pytest.approx(4 / 6)  # stockouts on days 4 and 5 of 6
    assert k[("on_hand_mean_units", "box", "unit")] == pytest.approx((3 + 2 + 1) / 6)
    assert k[("units_lost_sales", "box", "unit")] == 2
    html = build_report(run_dir).read_text()
    assert 'id="inventory"' in html and 'href="#inventory"' in html


def test_no_panel_without_inventory_data(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path / "run", stock_scenario(consumes=False))
    data = load_run(run_dir)
    assert data.detail.inventory == {}
    assert "fig-inventory" not in report_context(data)["figures"]
    html = build_report(run_dir).read_text()
    assert 'id="inventory"' not in html and 'href="#inventory"' not in html
    assert not any(r["kpi"] == "demand_fill_rate" for r in data.kpis.to_pylist())
