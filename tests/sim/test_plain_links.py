"""Plain links take shortcuts that change no row (issue 19: single-vehicle links).

A link is *plain* (``Carrier._set_plain``) when every vehicle is usable, every lot fits a
vehicle alone, nothing is lost and no station at either end is capped. There a lot leaves in
the callback that queued it, and ``_dispatch`` / ``enqueue`` skip the checks that cannot fail
(``_dispatch_plain``). Each test runs a scenario twice — as is, and with no link ever plain
(every shortcut off: the general code) — and compares the whole event table and the number
of engine events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

import sim.run
from benchmarks.workload import CoreSpec, core_scenario
from scenarios.load import load
from scenarios.schema import Scenario
from sim.model.transport import Carrier

ROOT = Path(__file__).resolve().parents[2]
START = dt.date(2025, 1, 1)


def _canonical(table: pa.Table) -> pa.Table:
    cols = []
    for f in table.schema:
        col = table.column(f.name)
        if pa.types.is_dictionary(f.type):
            col = col.cast(pa.string())
        cols.append(col.combine_chunks())
    return pa.Table.from_arrays(cols, names=table.column_names)


def _never_plain(self: Carrier) -> None:
    self._plain = False


def _same_without_shortcuts(s: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    log, fast = sim.run.run(s, rows_per_batch=4096)
    with monkeypatch.context() as m:
        m.setattr(Carrier, "_set_plain", _never_plain)
        general_log, general = sim.run.run(s, rows_per_batch=4096)
    assert (fast.status, fast.end_day, fast.events) == (general.status, general.end_day, general.events)
    assert _canonical(log.table()).equals(_canonical(general_log.table()))


def last_mile(lots: int = 3000, vehicles: int = 1) -> Scenario:
    """Lots arriving about every 0.01 days (exponential service at a depot) onto a last mile of
    ``vehicles`` vehicles with a round trip of 0.008 days on average: the vehicle is busy 80% of
    the time, lots often wait for it, and it is often back exactly when one finishes (fixed returns)."""
    return Scenario.model_validate(
        {
            "name": "last_mile",
            "start": START,
            "horizon_days": 120,
            "seed": 11,
            "items": [{"id": "box", "unit_value_eur": 1.0, "volume_m3": 0.01, "lot_size": 1}],
            "nodes": [
                {
                    "id": "sup",
                    "kind": "supplier",
                    "domestic": True,
                    "products": [{"item": "box", "rate_per_day": 1.0, "unit_price_eur": 1.0, "initial_stock": lots}],
                },
                {"id": "state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
                {"id": "depot", "kind": "depot", "servers": 1, "service_days": {"dist": "exponential", "mean": 0.01}},
                {"id": "unit", "kind": "unit"},
            ],
            "links": [
                {
                    "id": "in",
                    "from": "sup",
                    "to": "depot",
                    "mode": "road",
                    "transit_days": 0.5,
                    "vehicles": 10 * vehicles,
                    "capacity_m3": 0.01,
                },
                {
                    "id": "last",
                    "from": "depot",
                    "to": "unit",
                    "mode": "road",
                    "transit_days": {"dist": "exponential", "mean": 0.004},
                    "return_days": 0.004,
                    "vehicles": vehicles,
                    "capacity_m3": 0.01,
                },
            ],
            "requirements": [
                {"id": "R", "unit": "unit", "item": "box", "qty": lots, "need_by": START, "channel": "domestic"}
            ],
        }
    )


@pytest.mark.parametrize("vehicles", [1, 2])
def test_single_vehicle_last_mile(vehicles: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _same_without_shortcuts(last_mile(vehicles=vehicles), monkeypatch)


def test_core_workload(monkeypatch: pytest.MonkeyPatch) -> None:
    _same_without_shortcuts(core_scenario(replace(CoreSpec(), lots=2000, return_days=0.3)), monkeypatch)


@pytest.mark.parametrize("name", ["small_routers", "fpv_drones_2024_2025"])
def test_library(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _same_without_shortcuts(load(ROOT / "scenarios" / f"{name}.yaml"), monkeypatch)
