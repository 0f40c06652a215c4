"""Group ``frequent``: what the engine does per row or per lot, timed in loops of ``LOOP``.

- ``append``: one hot record ``records.extend((t, code, lot, vehicle))`` (one record stands for
  up to four rows);
- ``draw``: one number from a block sampler of a stream (exponential);
- ``route``: a lot's next carrier (``lot.route[lot.hop]``), and a route looked up by
  (supplier, unit) as production does once per requirement;
- ``flush``: records of one row group (2^19 rows) to an Arrow record batch.

``extra_info["ns_per_op"]`` is the best round divided by ``LOOP``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks.workload import CoreSpec, core_scenario
from scenarios.schema import Exponential
from sim.events import DEPARTED, LOADED, QUEUED, SERVICE_FINISHED
from sim.log import EventLog
from sim.rng import Streams
from sim.run import build_context

LOOP = 100_000


def _per_op(benchmark: Any, loop: int = LOOP) -> None:
    benchmark.extra_info["ns_per_op"] = round(benchmark.stats.stats.min / loop * 1e9, 1)
    benchmark.extra_info["ops_per_s"] = round(loop / benchmark.stats.stats.min)


def test_append(benchmark: Any) -> None:
    benchmark.group = "frequent"
    log = EventLog(["box"], ["hub", "border"], ["hub_border"])
    code = log.lot_code((SERVICE_FINISHED, 0, -1), (QUEUED, 0, 0), (LOADED, 0, 0), (DEPARTED, 0, 0))
    ext = log.records.extend

    def appends() -> None:
        log.records.clear()
        t = 1.5
        for lot in range(LOOP):
            ext((t, code, lot, 7))

    benchmark.pedantic(appends, rounds=5, iterations=1)
    _per_op(benchmark)
    benchmark.extra_info["rows_per_record"] = 4


def test_draw(benchmark: Any) -> None:
    benchmark.group = "frequent"
    draw = Streams(seed=1, replication=0).sampler("transit", 0, Exponential(dist="exponential", mean=0.5))

    def draws() -> None:
        for _ in range(LOOP):
            draw()

    benchmark.pedantic(draws, rounds=5, iterations=1)
    _per_op(benchmark)


@pytest.fixture(scope="module")
def small_core() -> Any:
    return build_context(core_scenario(CoreSpec(lots=4000)))


def test_route_next_carrier(benchmark: Any, small_core: Any) -> None:
    benchmark.group = "frequent"
    route = next(iter(small_core.route_carriers.values()))

    class _Lot:
        __slots__ = ("hop", "route")

    lot = _Lot()
    lot.route, lot.hop = route, 2

    def lookups() -> None:
        for _ in range(LOOP):
            lot.route[lot.hop]

    benchmark.pedantic(lookups, rounds=5, iterations=1)
    _per_op(benchmark)


def test_route_by_supplier_and_unit(benchmark: Any, small_core: Any) -> None:
    benchmark.group = "frequent"
    routes = small_core.route_carriers
    keys = list(routes) * (LOOP // len(routes) + 1)
    keys = keys[:LOOP]

    def lookups() -> None:
        for k in keys:
            routes[k]

    benchmark.pedantic(lookups, rounds=5, iterations=1)
    _per_op(benchmark)


def test_flush_row_group(benchmark: Any) -> None:
    """2^19 rows of core-like records (four rows per record on average is the upper end) to Arrow."""
    benchmark.group = "frequent"
    rows_target = 2**19
    log = EventLog(["box"], ["sup", "hub"], ["sup_hub"], sink=lambda b: None, rows_per_batch=rows_target)
    go = log.lot_code((SERVICE_FINISHED, 1, -1), (QUEUED, 1, 0), (LOADED, 1, 0), (DEPARTED, 1, 0))
    q = log.lot_code((QUEUED, 1, -1))
    n_lots = rows_target // 5
    for _ in range(n_lots):
        log.new_lot(0, 1, 0)
    rng = np.random.default_rng(1)
    t = np.sort(rng.random(n_lots * 2))

    def fill_and_flush() -> None:
        ext = log.records.extend
        for i in range(n_lots):
            ext((float(t[2 * i]), go, i, 3))
            ext((float(t[2 * i + 1]), q, i, -1))
        log.flush()

    benchmark.pedantic(fill_and_flush, rounds=3, iterations=1)
    benchmark.extra_info["rows"] = n_lots * 5
    benchmark.extra_info["ns_per_row"] = round(benchmark.stats.stats.min / (n_lots * 5) * 1e9, 1)
