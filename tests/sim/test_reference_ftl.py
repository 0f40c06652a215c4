"""aidflow and the plain-SimPy reference model give statistically the same lead times on the ``ftl`` workload.

The ``ftl`` benchmark's baseline (``benchmarks/reference_ftl.py``: a process per lot, a
dispatcher process for the full-truck-load leg, a ``simpy.Resource`` per station and per
single-vehicle last mile) and the engine run the same model (``benchmarks/workloads_ftl.py``:
Poisson lots, three stations at utilisation 0.78, four trucks of ``dispatch: full``, five
one-vehicle clerks) with independent random numbers. Over ``REPS`` replications of each, the
95% Welch confidence interval of the difference in mean, median and 90th percentile of the
lots' lead times (delivered - produced, read from the written log for aidflow) contains 0 and
is narrow (under 10% of the lead time); the same comparison flags a reference whose services,
transits and returns are all 10% slower. Seeds are fixed: the test is deterministic.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the benchmarks package
    sys.path.insert(0, str(ROOT))

import test_reference_equivalence as core_eq  # noqa: E402  (welch_ci, STATS: one definition)

from benchmarks.core import lead_times  # noqa: E402
from benchmarks.reference_ftl import run_reference_ftl  # noqa: E402
from benchmarks.workloads_ftl import FtlSpec, ftl_scenario  # noqa: E402

REPS = 8
SLOW_REPS = 4
# short truck round trips, so that one replication holds ~150 truckloads (the benchmark's trucks
# carry 1,250 lots on 4-day round trips); everything else as in the benchmark
SPEC = FtlSpec(lots=4000, transit_days=0.05, truck_transit_days=0.05, truck_return_days=0.05, max_wait_days=0.5)


def _stats(lead: np.ndarray, out: dict[str, list[float]]) -> None:
    for k, f in core_eq.STATS.items():
        out[k].append(f(lead))


@pytest.fixture(scope="module")
def aidflow_stats(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[float]]:
    """Per replication of the engine: lead-time statistics from the log read back from Parquet."""
    import pyarrow.parquet as pq

    from results.store.part_writer import PartWriter
    from sim.run import run

    scenario = ftl_scenario(SPEC)
    out: dict[str, list[float]] = {k: [] for k in core_eq.STATS}
    d = tmp_path_factory.mktemp("ftl")
    for rep in range(REPS):
        path = d / f"rep{rep}.parquet"
        writer = PartWriter(path)
        _, result = run(scenario, "baseline", rep, sink=writer)
        writer.close()
        assert result.status == "completed"
        _, lead = lead_times(pq.read_table(path))
        assert len(lead) == SPEC.lots
        _stats(lead, out)
    return out


def reference_stats(reps: int, time_scale: float = 1.0) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in core_eq.STATS}
    for rep in range(reps):
        res = run_reference_ftl(SPEC, seed=1000 + rep, time_scale=time_scale)
        assert res.lots == SPEC.lots
        _stats(np.asarray(res.lead_days), out)
    return out


@pytest.fixture(scope="module")
def ref_stats() -> dict[str, list[float]]:
    return reference_stats(REPS)


@pytest.mark.parametrize("stat", list(core_eq.STATS))
def test_lead_times_agree_with_plain_simpy(
    stat: str, aidflow_stats: dict[str, list[float]], ref_stats: dict[str, list[float]]
) -> None:
    lo, hi = core_eq.welch_ci(aidflow_stats[stat], ref_stats[stat])
    assert lo <= 0.0 <= hi, (stat, lo, hi, np.mean(aidflow_stats[stat]), np.mean(ref_stats[stat]))
    assert hi - lo < 0.1 * np.mean(ref_stats[stat]), (stat, lo, hi)


def test_the_comparison_detects_a_slower_system(aidflow_stats: dict[str, list[float]]) -> None:
    slower = reference_stats(SLOW_REPS, time_scale=1.1)
    for stat in core_eq.STATS:
        lo, hi = core_eq.welch_ci(aidflow_stats[stat], slower[stat])
        assert hi < 0.0, (stat, lo, hi)


def test_trucks_leave_full_or_after_max_wait(run_logged: Callable, invariants: Callable) -> None:
    """Every truck leaves with exactly ``truck_lots`` lots, except ones that waited ``max_wait_days`` (the tail)."""
    spec = replace(SPEC, lots=1000)
    lg = run_logged(ftl_scenario(spec), rows_per_batch=4096)
    assert lg.result.status == "completed"
    invariants(lg)
    f = lg.frame
    link = f.link == "border_depot"
    dep = np.flatnonzero((f.kind == "departed") & link)
    loads = f.qty[dep]
    assert loads.sum() == spec.lots
    short = np.flatnonzero(loads < spec.truck_lots)
    assert np.all(loads <= spec.truck_lots)
    # a short truck started loading max_wait_days before it left: its first lot's loaded row
    for i in short:
        veh, t_dep = f.vehicle[dep[i]], f.t[dep[i]]
        ld = np.flatnonzero((f.kind == "loaded") & link & (f.vehicle == veh) & (f.t <= t_dep))
        first = f.t[ld][f.t[ld] >= t_dep - spec.max_wait_days - 1e-9].min()
        assert t_dep == pytest.approx(first + spec.max_wait_days)
    assert len(short) <= 2  # only the end of the run leaves trucks short
