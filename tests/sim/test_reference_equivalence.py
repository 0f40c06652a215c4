"""aidflow and the plain-SimPy reference model give statistically the same lead times on the core workload.

The benchmark's baseline (``benchmarks/reference_simpy.py``, one SimPy process per lot) and
the engine run the same model (``benchmarks/workload.py``) with independent random numbers.
Over ``REPS`` replications of each, the mean, median and 90th percentile of the lots' lead
times (delivered - produced, read from the written log for aidflow) must agree: the 95%
Welch confidence interval of each difference of replication means contains 0. The seeds are
fixed, so the test is deterministic; a sensitivity check shows the comparison does detect a
real difference (the reference with 25% slower service at every station).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the benchmarks package
    sys.path.insert(0, str(ROOT))

from benchmarks.core import lead_times  # noqa: E402
from benchmarks.reference_simpy import run_reference  # noqa: E402
from benchmarks.workload import CoreSpec, core_scenario  # noqa: E402

REPS = 8
SPEC = CoreSpec(
    suppliers=2, hubs=2, units=2, lots=3000, lots_per_day=500.0, rho=0.85, transit_days=0.05, return_days=0.05
)
STATS: dict[str, Callable[[np.ndarray], float]] = {
    "mean": lambda x: float(np.mean(x)),
    "p50": lambda x: float(np.percentile(x, 50)),
    "p90": lambda x: float(np.percentile(x, 90)),
}


def welch_ci(a: list[float], b: list[float], level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of mean(a) - mean(b) (Welch)."""
    xa, xb = np.asarray(a), np.asarray(b)
    va, vb = xa.var(ddof=1) / len(xa), xb.var(ddof=1) / len(xb)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(xa) - 1) + vb**2 / (len(xb) - 1))
    h = float(stats.t.ppf(0.5 + level / 2, df)) * se
    d = float(xa.mean() - xb.mean())
    return d - h, d + h


@pytest.fixture(scope="module")
def aidflow_stats(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[float]]:
    """Per replication of the engine: lead-time statistics from the log read back from Parquet."""
    import pyarrow.parquet as pq

    from results.store.part_writer import PartWriter
    from sim.run import run

    scenario = core_scenario(SPEC)
    out: dict[str, list[float]] = {k: [] for k in STATS}
    d = tmp_path_factory.mktemp("core")
    for rep in range(REPS):
        path = d / f"rep{rep}.parquet"
        writer = PartWriter(path)
        _, result = run(scenario, "baseline", rep, sink=writer)
        writer.close()
        assert result.status == "completed"
        _, lead = lead_times(pq.read_table(path))
        assert len(lead) == SPEC.lots
        for k, f in STATS.items():
            out[k].append(f(lead))
    return out


def reference_stats(spec: CoreSpec) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in STATS}
    for rep in range(REPS):
        res = run_reference(spec, seed=1000 + rep)
        assert res.lots == spec.lots
        lead = np.asarray(res.lead_days)
        for k, f in STATS.items():
            out[k].append(f(lead))
    return out


@pytest.mark.parametrize("stat", list(STATS))
def test_lead_times_agree_with_plain_simpy(stat: str, aidflow_stats: dict[str, list[float]]) -> None:
    ref = reference_stats(SPEC)
    lo, hi = welch_ci(aidflow_stats[stat], ref[stat])
    assert lo <= 0.0 <= hi, (stat, lo, hi, np.mean(aidflow_stats[stat]), np.mean(ref[stat]))
    # and the difference is small against the lead time itself (a tight interval, not a vague one)
    assert hi - lo < 0.1 * np.mean(ref[stat]), (stat, lo, hi)


def test_the_comparison_detects_slower_service(aidflow_stats: dict[str, list[float]]) -> None:
    slower = replace(SPEC, rho=SPEC.rho * 1.1)  # 10% longer services at every station
    ref = reference_stats(slower)
    lo, hi = welch_ci(aidflow_stats["mean"], ref["mean"])
    assert hi < 0.0, (lo, hi)


def test_core_log_keeps_every_invariant(run_logged: Callable, invariants: Callable) -> None:
    """The core workload's log (inline dispatch, lazy returns, 31 rows a lot) passes the engine's invariants."""
    lg = run_logged(core_scenario(replace(SPEC, lots=1000)), rows_per_batch=4096)
    assert lg.result.status == "completed"
    invariants(lg)
    f = lg.frame
    lots = lg.result.counters["lots_produced"]
    per_lot = {k: int(np.sum(f.kind == k)) / lots for k in ("queued", "loaded", "departed", "arrived", "returned")}
    assert per_lot == {"queued": 7.0, "loaded": 4.0, "departed": 4.0, "arrived": 4.0, "returned": 4.0}
    assert np.sum(f.lot >= 0) / lots == 23.0  # + departed and returned rows: 31 rows a lot
    # the same model as the reference: no lot ever waits for a vehicle (links are pure delays)
    queued = {(int(f.lot[i]), f.link[i]): f.t[i] for i in f.where("queued") if f.link[i] is not None}
    loaded = {(int(f.lot[i]), f.link[i]): f.t[i] for i in f.where("loaded")}
    assert queued.keys() == loaded.keys() and all(queued[k] == loaded[k] for k in queued)
