"""aidflow and the plain-SimPy reference model give statistically the same lead times on ``many_requirements``.

The ``many_requirements`` benchmark's baseline (``benchmarks/reference_requirements.py``: a
process per requirement stream, per line and per lot; priority order books on the lines; a
closed border and a cut link as gates) and the engine run the same model
(``benchmarks/workloads_requirements.py``: Poisson requirement streams per unit and item with
need-by dates and unit priorities, domestic awards, three stations, scheduled border closures
and link outages) with independent random numbers. The lead time here is a lot's days from its
requirement's opening to its delivery, so the lines' priority queues and the closures both
count. Over ``REPS`` replications of each, the 95% Welch confidence interval of the difference
in mean, median and 90th percentile contains 0 and is narrow (under 10% of the lead time); the
same comparison flags a reference whose services and transits are all 10% slower. Seeds are
fixed: the test is deterministic.
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
import test_streams  # noqa: E402  (check_arrivals)

from benchmarks.core import order_lead_times  # noqa: E402
from benchmarks.reference_requirements import run_reference_requirements  # noqa: E402
from benchmarks.workloads_requirements import RequirementsSpec, requirements_scenario  # noqa: E402

REPS = 8
SLOW_REPS = 4
# 16 days of arrivals, so that the border closes five times and the link is cut four times while lots flow
SPEC = RequirementsSpec(
    lots=4000,
    lots_per_day=250.0,
    closure_first_day=1,
    closure_every_days=3,
    outage_first_day=2,
    outage_every_days=4,
)


def _stats(lead: np.ndarray, out: dict[str, list[float]]) -> None:
    for k, f in core_eq.STATS.items():
        out[k].append(f(lead))


@pytest.fixture(scope="module")
def aidflow_stats(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[float]]:
    """Per replication of the engine: lead-time statistics from the log read back from Parquet."""
    import pyarrow.parquet as pq

    from results.store.part_writer import PartWriter
    from sim.run import run

    scenario = requirements_scenario(SPEC)
    out: dict[str, list[float]] = {k: [] for k in core_eq.STATS}
    d = tmp_path_factory.mktemp("reqs")
    for rep in range(REPS):
        path = d / f"rep{rep}.parquet"
        writer = PartWriter(path)
        _, result = run(scenario, "baseline", rep, sink=writer)
        writer.close()
        assert result.status == "completed"
        lead = order_lead_times(pq.read_table(path))
        assert 0.8 * SPEC.lots < len(lead) < 1.2 * SPEC.lots
        assert result.counters["lots_done"] == len(lead)
        _stats(lead, out)
    return out


def reference_stats(reps: int, time_scale: float = 1.0) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in core_eq.STATS}
    for rep in range(reps):
        res = run_reference_requirements(SPEC, seed=1000 + rep, time_scale=time_scale)
        assert 0.8 * SPEC.lots < res.lots < 1.2 * SPEC.lots
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


def test_closures_hold_service_and_departures(run_logged: Callable) -> None:
    """No border service starts and no lot leaves the border on the cut link while the closures last.

    (The stream arrivals' own checks: ``test_streams.check_arrivals``; the shared ``invariants``
    look refs up in the scenario's requirement list, which holds the streams, not their arrivals.)
    """
    spec = replace(SPEC, lots=1500)  # 6 days of arrivals: two closures and two cuts while lots flow
    lg = run_logged(requirements_scenario(spec), rows_per_batch=4096)
    assert lg.result.status == "completed"
    test_streams.check_arrivals(lg)
    f = lg.frame
    starts = f.t[(f.kind == "service_started") & (f.node == "border")]
    departs = f.t[(f.kind == "departed") & (f.link == "border_depot")]
    closures = [(d, d + spec.closure_days) for d in spec.closures()]
    outages = [(d, d + spec.outage_days) for d in spec.outages()]
    for times, spans in ((starts, closures), (departs, outages)):
        for a, b in spans:
            assert not np.any((times > a + 1e-9) & (times < b - 1e-9)), (a, b)
    # and each reopening releases what waited: starts (departures) at the very instant it ends
    flow_end = float(spec.arrival_days)
    assert all(np.any(np.isclose(starts, b)) for _, b in closures if b < flow_end)
    assert all(np.any(np.isclose(departs, b)) for _, b in outages if b < flow_end)
    # requirements: one per stream arrival, each with its need-by within need_within_days of opening
    opened = np.flatnonzero(f.kind == "requirement_opened")
    assert len(opened) > 200
    assert np.all(f.value[opened] <= np.floor(f.t[opened] + spec.need_within_days))
