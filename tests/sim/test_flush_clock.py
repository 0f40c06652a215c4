"""The log is flushed as the run goes, on the engine's clock, not only from production lines (issue 19, item 3).

All the stock exists at day 0: the supplier's line hands out its 12,000 lots at day 0 (from
stock, no production time) and is never called again, so a flush triggered only by
production lines would keep every row in memory until the end of the run. The lots then
take about 120 days to drain through a link of 2 vehicles (round trip 0.02 days: 100 lots a
day). With row groups of 256 rows (about 17 lots, a fifth of a day of flow), row groups must
reach the sink while the simulation runs: by hand, at most one chunk of 8,192 engine events
after their rows were appended — a lot costs about 3.5 events here (two trips and a
service; returns take no event), so a chunk is about 2,300 lots, 23 days of flow.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from scenarios.schema import Scenario
from sim.run import run

START = dt.date(2025, 1, 1)
LOTS = 12_000


def day0_scenario(lots: int = LOTS) -> Scenario:
    """Every lot from a supplier's opening stock at day 0; a hub, then a unit."""
    link = {"mode": "road", "transit_days": 0.01, "return_days": 0.01, "vehicles": 2, "capacity_m3": 0.01}
    return Scenario.model_validate(
        {
            "name": "stock_at_day0",
            "start": START,
            "horizon_days": 200,
            "seed": 7,
            "items": [{"id": "box", "unit_value_eur": 1.0, "volume_m3": 0.01, "lot_size": 1}],
            "nodes": [
                {
                    "id": "sup",
                    "kind": "supplier",
                    "domestic": True,
                    "products": [{"item": "box", "rate_per_day": 1.0, "unit_price_eur": 1.0, "initial_stock": lots}],
                },
                {"id": "state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
                {"id": "hub", "kind": "hub", "servers": 1, "service_days": 0.005},
                {"id": "unit", "kind": "unit"},
            ],
            "links": [
                {"id": "sup_hub", "from": "sup", "to": "hub", **link},
                {"id": "hub_unit", "from": "hub", "to": "unit", **link},
            ],
            "requirements": [
                {"id": "R", "unit": "unit", "item": "box", "qty": lots, "need_by": START, "channel": "domestic"}
            ],
        }
    )


def _canonical(table: pa.Table) -> pa.Table:
    cols = []
    for f in table.schema:
        col = table.column(f.name)
        if pa.types.is_dictionary(f.type):
            col = col.cast(pa.string())
        cols.append(col.combine_chunks())
    return pa.Table.from_arrays(cols, names=table.column_names)


def test_row_groups_reach_the_sink_while_the_run_goes() -> None:
    s = day0_scenario()
    day = [0.0]
    got: list[tuple[float, Any]] = []  # (simulated day when the sink got it, batch)

    def progress(now: float) -> None:
        day[0] = now

    def sink(batch: Any) -> None:
        got.append((day[0], batch))

    _, result = run(s, sink=sink, progress=progress, rows_per_batch=256)
    assert result.status == "completed"
    assert result.counters["lots_done"] == LOTS
    end = result.end_day
    last_t = max(float(np.max(b.column(1).to_numpy())) for _, b in got)
    assert last_t > 115.0  # the flow drains over about 120 days (100 lots a day)
    during = [(d, b) for d, b in got if d < last_t]
    # most row groups are handed on during the run, not at its end (the rows of the last
    # chunk of engine events, about 2,300 lots, may wait for the end)
    assert len(during) >= len(got) // 2, (len(during), len(got), end)
    assert len({d for d, _ in during}) >= 3  # and on several days, as the rows come
    for d, b in during:
        first_t = float(b.column(1).to_numpy()[0])
        assert d - first_t <= 30.0  # a chunk of engine events (about 23 days here) after its rows


def test_streamed_log_equals_the_log_kept_whole() -> None:
    """Flushing on the clock changes nothing in the rows (order, seq, late returns)."""
    s = day0_scenario(1500)
    got: list[Any] = []
    _, r1 = run(s, sink=got.append, rows_per_batch=97)
    log, r2 = run(s)
    whole = log.table()
    streamed = pa.Table.from_batches(got, schema=whole.schema)
    assert r1.rows == r2.rows == whole.num_rows
    assert len(got) > 100
    assert _canonical(streamed).equals(_canonical(whole))
    seq = streamed.column("seq").to_numpy()
    assert np.array_equal(seq, np.arange(len(seq)))
    assert np.all(np.diff(streamed.column("t").to_numpy()) >= 0)
