"""Groups ``core`` and ``core-build``: the engine on the synthetic core network, and plain SimPy.

``core``: one replication of the core workload (``benchmarks/workload.py``) at lot size 1,
the full event log written to Parquet (``benchmarks/core.py``), next to the same model in
plain SimPy (``benchmarks/reference_simpy.py``) at the same sizes. ``core-build``: generating
and validating the scenario and compiling it into a ready context (no simulation).

The aidflow / plain-SimPy *ratio* is measured by ``benchmarks/compare_table.py`` (pairs run
back to back in fresh processes, with peak RSS); these tests keep the history for
``--benchmark-compare``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from benchmarks.core import run_core
from benchmarks.reference_simpy import run_reference
from benchmarks.workload import CoreSpec, core_scenario, synthetic
from sim.run import build_context

SIZES = [10_000, 100_000]
if os.environ.get("AIDFLOW_BENCH_LARGE"):
    SIZES.append(300_000)


@pytest.mark.parametrize("lots", SIZES)
def test_core_aidflow(benchmark: Any, lots: int, tmp_path: Any) -> None:
    benchmark.group = f"core-{lots}"
    spec = CoreSpec(lots=lots)
    runs = []

    def once() -> None:
        runs.append(run_core(spec, tmp_path))

    benchmark.pedantic(once, rounds=3, iterations=1, warmup_rounds=0)
    r = runs[-1]
    assert r.status == "completed" and r.lots == lots, (r.status, r.lots)
    best = min(x.wall_s for x in runs)
    benchmark.extra_info.update(
        {
            "engine": "aidflow",
            "lots": lots,
            "events": r.rows,
            "events_per_lot": round(r.rows / lots, 2),
            "events_per_s": round(r.rows / best),
            "lots_per_s": round(lots / best),
            "build_s": round(min(x.build_s for x in runs), 3),
            "parquet": True,
        }
    )


@pytest.mark.parametrize("lots", SIZES)
def test_core_plain_simpy(benchmark: Any, lots: int) -> None:
    benchmark.group = f"core-{lots}"
    spec = CoreSpec(lots=lots)
    res = benchmark.pedantic(run_reference, args=(spec,), rounds=3, iterations=1, warmup_rounds=0)
    assert res.lots == lots
    best = benchmark.stats.stats.min
    benchmark.extra_info.update(
        {"engine": "plain SimPy", "lots": lots, "lots_per_s": round(lots / best), "event_log": False}
    )


@pytest.mark.parametrize("lots", [10_000, 100_000])
def test_core_build(benchmark: Any, lots: int) -> None:
    benchmark.group = "core-build"
    ctx = benchmark.pedantic(lambda: build_context(core_scenario(CoreSpec(lots=lots))), rounds=3, iterations=1)
    assert ctx.requirements


def test_synthetic_build(benchmark: Any) -> None:
    """The older generator (agency, split awards, 20-lot vehicles), 50,000 lots of 1."""
    benchmark.group = "core-build"
    ctx = benchmark.pedantic(lambda: build_context(synthetic(8, 4, 8, 50_000, 1)), rounds=3, iterations=1)
    assert ctx.requirements
