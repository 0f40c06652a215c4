"""Common random numbers: strategies that differ downstream of production share everything upstream.

The library's ``small_routers`` has no strategy left that acts downstream of production and
changes anything: its border clears per truck (``serve: vehicle``), its ten router lots cross in
three or four trucks, and ``more_lanes`` (five lanes instead of three) leaves every replication's
log identical. So two scenarios are built here from that file (Python dict -> ``Scenario`` ->
YAML), each with a strategy ``one_lane`` that leaves the border a single clearance lane, where
that lane binds:

- ``vehicle_one_lane``: the library's per-truck clearance, but the hub-to-border trucks are vans
  of one pallet (1 m3, six of them), so a rail delivery reaches the border as several jobs;
- ``lot_one_lane``: the library's trucks, but the border clears each pallet (``serve: lot``).

Both touch only a handling node downstream of the suppliers, so in every replication

- the requirement and production rows (requirement_opened, funds_committed, tender_started,
  tender_finished, contract_awarded, lot_produced) are identical — same t, qty, ref, node,
  item, lot and value — while the rows downstream do differ;
- the paired difference of the mean lead time (``lead_time_mean_days``, all items, from
  ``kpis.parquet``) varies much less than the difference of independent runs would:
  var(s - b) < var(s) + var(b).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from ruamel.yaml import YAML

from results.compare import paired_differences
from results.store.hashing import table_sha256
from results.store.reading import read_events
from results.store.run_store import read_manifest
from scenarios.load import load
from scenarios.schema import Border, Scenario

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
BIN = Path(sys.executable).parent
AIDFLOW = [str(BIN / "aidflow")] if (BIN / "aidflow").exists() else [sys.executable, "-m", "sim.cli"]
ENV = {k: v for k, v in os.environ.items() if k != "AIDFLOW_DEBUG"}
REPS = 10
BORDER = "korczowa_krakovets"
UPSTREAM = (
    "requirement_opened",
    "funds_committed",
    "tender_started",
    "tender_finished",
    "contract_awarded",
    "lot_produced",
)
COLUMNS = ("t", "kind", "lot", "item", "qty", "node", "ref", "value")
HUB_TO_BORDER = "road_hub_border"
STRATEGY = "one_lane"
CASES = ("vehicle_one_lane", "lot_one_lane")


def one_lane_scenario(folder: Path, case: str) -> Path:
    """small_routers changed so that the border's lanes bind, plus ``one_lane``, as a YAML file.

    Args:
        folder: Where to write the file.
        case: ``vehicle_one_lane`` (per-truck clearance, one-pallet vans from the hub) or
            ``lot_one_lane`` (per-pallet clearance, the library's trucks).

    Returns:
        The path of the scenario file.
    """
    data: dict[str, Any] = load(SMALL).model_dump(mode="json", by_alias=True, exclude_none=True)
    (border,) = [n for n in data["nodes"] if n["id"] == BORDER]
    (vans,) = [x for x in data["links"] if x["id"] == HUB_TO_BORDER]
    assert border["serve"] == "vehicle" and border["servers"] == 3
    if case == "vehicle_one_lane":
        vans["capacity_m3"] = 1.0  # one router lot (100 x 0.01 m3): a van leaves full with one pallet
        vans["vehicles"] = 6
    else:
        border["serve"] = "lot"
    data["strategies"].append(
        {
            "name": STRATEGY,
            "description": "One clearance lane at the border instead of three.",
            "overrides": {f"nodes.{BORDER}.servers": 1},
        }
    )
    scenario = Scenario.model_validate(data)
    (lanes,) = [n for n in scenario.with_strategy(STRATEGY).nodes if n.id == BORDER]
    assert isinstance(lanes, Border) and lanes.servers == 1
    path = folder / f"small_routers_{case}.yaml"
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with open(path, "w", encoding="utf-8") as f:
        yaml.dump(data, f)
    assert load(path).model_dump() == scenario.model_dump()
    return path


@pytest.fixture(scope="module")
def compares(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Both comparisons, run at once: case -> (run directory, the JSON the command printed)."""
    folder = tmp_path_factory.mktemp("crn")
    procs = {
        case: subprocess.Popen(
            [
                *AIDFLOW,
                *("compare", str(one_lane_scenario(folder, case)), "--strategy", "baseline", "--strategy", STRATEGY),
                *("-n", str(REPS), "--out", str(folder / case), "--format", "json", "--quiet"),
            ],
            cwd=folder,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for case in CASES
    }
    out: dict[str, tuple[Path, dict[str, Any]]] = {}
    try:
        for case, p in procs.items():
            stdout, stderr = p.communicate(timeout=120)
            assert p.returncode == 0, stderr[-3000:]
            out[case] = (folder / case, json.loads(stdout))
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
    return out


def rows(table: pa.Table, kinds: tuple[str, ...]) -> list[tuple[Any, ...]]:
    t = table.filter(pc.is_in(table["kind"].cast(pa.string()), pa.array(kinds)))
    cols = [t[c].to_pylist() for c in COLUMNS]
    return list(zip(*cols, strict=True))


def lead_times(kpis: pa.Table, strategy: str) -> np.ndarray:
    """Per replication (0..REPS-1): lead_time_mean_days over all items."""
    by_rep = {
        r["replication"]: r["value"]
        for r in kpis.to_pylist()
        if r["kpi"] == "lead_time_mean_days"
        and r["strategy"] == strategy
        and r["item"] is None
        and r["node"] is None
        and r["link"] is None
    }
    assert sorted(by_rep) == list(range(REPS))
    return np.array([by_rep[r] for r in range(REPS)], dtype=float)


@pytest.mark.parametrize("case", CASES)
def test_upstream_rows_identical_per_replication(compares: dict, case: str) -> None:
    run_dir, _ = compares[case]
    assert read_manifest(run_dir)["status"] == "completed"
    differing = 0
    for r in range(REPS):
        base, other = read_events(run_dir, "baseline", r), read_events(run_dir, STRATEGY, r)
        up_b, up_s = rows(base, UPSTREAM), rows(other, UPSTREAM)
        assert {x[1] for x in up_b} == set(UPSTREAM), f"rep {r}: an upstream kind is missing"
        assert up_b == up_s, f"rep {r}: requirement/production rows differ between baseline and {STRATEGY}"
        if table_sha256(base) != table_sha256(other):
            differing += 1
    # the strategy does change the flow downstream (otherwise the test would prove nothing)
    assert differing >= REPS // 3, f"only {differing} replications differ downstream"


@pytest.mark.parametrize("case", CASES)
def test_paired_variance_below_unpaired(compares: dict, case: str) -> None:
    run_dir, doc = compares[case]
    kpis = pq.read_table(run_dir / "kpis.parquet")
    b, s = lead_times(kpis, "baseline"), lead_times(kpis, STRATEGY)
    d = s - b
    var_paired = float(np.var(d, ddof=1))
    var_unpaired = float(np.var(s, ddof=1) + np.var(b, ddof=1))
    print(f"{case}: mean diff {d.mean():+.4f} d, var paired {var_paired:.6g}, unpaired {var_unpaired:.6g}")
    assert var_paired > 0, "degenerate: the strategy never changes the lead time"
    assert var_paired < var_unpaired
    assert var_paired < 0.05 * var_unpaired  # CRN makes the comparison far tighter
    # results.compare computes the same figures, and the command printed the same mean difference
    (diff,) = [
        x
        for x in paired_differences(kpis, "baseline", only=["lead_time_mean_days"])
        if x.item is None and x.node is None and x.link is None
    ]
    assert diff.var_paired == pytest.approx(var_paired) and diff.var_unpaired == pytest.approx(var_unpaired)
    (printed,) = [
        x for x in doc["differences"] if x["kpi"] == "lead_time_mean_days" and x["item"] is None and x["n"] == REPS
    ]
    assert printed["diff_mean"] == pytest.approx(d.mean())


@pytest.mark.parametrize("case", CASES)
def test_crn_detects_a_small_difference(compares: dict, case: str) -> None:
    """One lane at the border costs a fraction of a day: the paired CI sees it, an unpaired one could not."""
    run_dir, doc = compares[case]
    (printed,) = [x for x in doc["differences"] if x["kpi"] == "lead_time_mean_days" and x["item"] is None]
    assert printed["verdict"] == "worse"
    assert 0 < printed["ci95_low"] <= printed["diff_mean"] <= printed["ci95_high"]
    from scipy.stats import t

    kpis = pq.read_table(run_dir / "kpis.parquet")
    b, s = lead_times(kpis, "baseline"), lead_times(kpis, STRATEGY)
    unpaired_half = float(t.ppf(0.975, 2 * REPS - 2)) * float(np.sqrt((np.var(s, ddof=1) + np.var(b, ddof=1)) / REPS))
    assert unpaired_half > abs(printed["diff_mean"]), "an unpaired CI would span zero"
