"""``compare`` cannot be won by delivering less, and says when strategies deliver different quantities.

Issue 17 item 1, in miniature: ``small_routers`` with one more strategy, ``starved``, whose
router supplier makes half a router a day. Only its 200 routers in stock reach the units (800 of
the 1,000 never come); those 200 travel early, so its mean lead time over *delivered* units is
the shortest (35.2 and 32.6 days against 38.8 and 36.1 in replications 0 and 1) and a ranking by
``lead_time_mean_days`` puts it first. Its 800 undelivered routers are late until the end of the
run, so by the default ranking KPI, ``lateness_unit_days``, it ranks last, and ``compare``
warns that it delivers 800 fewer routers than the baseline (the same 800 in every replication:
a CI of zero width, excluding 0). The chargers come from another supplier: no warning for them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from results.compare import DEFAULT_RANKING_KPI, delivery_warnings, rank

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
BIN = Path(sys.executable).parent
AIDFLOW = [str(BIN / "aidflow")] if (BIN / "aidflow").exists() else [sys.executable, "-m", "sim.cli"]
ENV = {k: v for k, v in os.environ.items() if k not in ("AIDFLOW_DEBUG", "COLUMNS")}  # piped: 160 columns
STARVED = """
  - name: starved
    description: The router supplier makes half a router a day; only its stock is delivered.
    overrides:
      nodes.riga_networks.products.0.rate_per_day: 0.5
"""
STRATEGIES = ("baseline", "more_lanes", "starved")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``compare`` of baseline, more_lanes and starved, as a table and as JSON (3 replications)."""
    folder = tmp_path_factory.mktemp("starved")
    scenario = SMALL.parent / "small_routers.yaml"
    text = scenario.read_text()
    assert text.rstrip().endswith("nodes.korczowa_krakovets.servers: 5")  # strategies come last
    path = folder / "small_routers_starved.yaml"
    path.write_text(text.rstrip() + "\n" + STARVED)
    base = ["compare", str(path), *(a for s in STRATEGIES for a in ("--strategy", s)), "-n", "3", "--quiet"]
    runs = {
        "table": [*base, "--out", str(folder / "table")],
        "json": [*base, "--out", str(folder / "json"), "--format", "json"],
    }
    procs = {
        name: subprocess.Popen(
            [*AIDFLOW, *args], cwd=folder, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, args in runs.items()
    }
    out: dict[str, Any] = {"folder": folder}
    try:
        for name, p in procs.items():
            stdout, stderr = p.communicate(timeout=300)
            out[name] = (p.returncode, stdout, stderr)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
    return out


def test_the_starved_strategy_wins_on_mean_lead_time_but_not_by_default(outputs: dict[str, Any]) -> None:
    kpis = pq.read_table(outputs["folder"] / "json" / "kpis.parquet")
    by_lead = rank(kpis, "lead_time_mean_days")
    assert by_lead[0][0] == "starved", by_lead  # delivered units only: the trap of issue 17
    assert DEFAULT_RANKING_KPI == "lateness_unit_days"
    by_default = rank(kpis)
    assert [s for s, _ in by_default][-1] == "starved", by_default
    # the 200 routers in stock go to R1 (600 by day 75 -> due 76) on time; 400 of R1 and all 400
    # of R2 (by day 92 -> due 93) are late until the end of the run (day 180); chargers on time
    assert dict(by_default)["starved"] == 400 * (180 - 76) + 400 * (180 - 93)  # 76,400 unit-days
    code, out, err = outputs["json"]
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ranked_by"] == "lateness_unit_days"
    assert [r["strategy"] for r in doc["ranking"]][-1] == "starved"


def test_compare_warns_about_the_strategy_that_delivers_fewer_routers(outputs: dict[str, Any]) -> None:
    code, out, err = outputs["json"]
    assert code == 0, err
    warnings = json.loads(out)["warnings"]
    assert [(w["strategy"], w["baseline"], w["item"]) for w in warnings] == [("starved", "baseline", "router")]
    w = warnings[0]
    assert w["diff_mean"] == -800.0 and w["strategy_mean"] == 200.0 and w["baseline_mean"] == 1000.0
    assert w["ci95_high"] < 0
    code, text, err = outputs["table"]
    assert code == 0, err
    lines = [x for x in text.splitlines() if x.startswith("warning:")]
    assert len(lines) == 1, text
    assert "starved delivers 800 fewer units of router than baseline" in lines[0]
    assert "Ranking by lateness_unit_days (best first)" in text


def test_delivery_warnings_need_a_difference_whose_ci_excludes_zero() -> None:
    import pyarrow as pa

    def table(values: dict[str, list[float]]) -> pa.Table:
        rows = [(s, r, v) for s, vs in values.items() for r, v in enumerate(vs)]
        n = len(rows)
        return pa.table(
            {
                "kpi": ["units_delivered"] * n,
                "item": ["router"] * n,
                "node": pa.array([None] * n, pa.string()),
                "link": pa.array([None] * n, pa.string()),
                "value": [v for _, _, v in rows],
                "strategy": [s for s, _, _ in rows],
                "replication": [r for _, r, _ in rows],
            }
        )

    # differences -1, +1, 0: mean 0, the CI spans 0 -> no warning
    assert delivery_warnings(table({"baseline": [10, 10, 10], "b": [9, 11, 10]})) == []
    # differences -2, -3, -1: mean -2, sd 1, t(0.975, 2) = 4.303 -> -2 ± 2.48 spans 0 -> none
    assert delivery_warnings(table({"baseline": [10, 10, 10], "b": [8, 7, 9]})) == []
    # differences -2, -3, -2, -3, -2, -3: mean -2.5, CI about -2.5 ± 0.57 -> a warning
    got = delivery_warnings(table({"baseline": [10] * 6, "b": [8, 7, 8, 7, 8, 7]}))
    assert [(w.strategy, w.item, w.diff.mean) for w in got] == [("b", "router", -2.5)]
    assert "b delivers 2 fewer units of router than baseline" in got[0].text  # 2.5 rounds to 2
    # one replication: no CI, but under common random numbers the difference is the strategy's
    one = delivery_warnings(table({"baseline": [10], "b": [12]}))
    assert len(one) == 1 and "2 more units" in one[0].text and "no CI" in one[0].text


def test_a_zero_width_interval_meets_any_halfwidth_target() -> None:
    """``--target-halfwidth 5%`` on the default KPI when no strategy is late anywhere.

    Every replication's lateness is 0: the paired difference is 0 with a CI [0, 0], narrow by any
    target, although a relative half-width (0 of a baseline mean of 0) is undefined; without this
    the command would widen to the cap for nothing.
    """
    from results.compare import Diff
    from sim.cli.compare import _narrow

    zero = Diff("lateness_unit_days", None, None, None, "b", 0.0, 0.0, 0.0, 0.0, 0.0, 5, 0.0, 0.0)
    assert _narrow(zero, (0.05, True)) and _narrow(zero, (0.5, False))
    wide = Diff("lateness_unit_days", None, None, None, "b", 10.0, 12.0, 2.0, -1.0, 5.0, 5, 1.0, 2.0)
    assert not _narrow(wide, (0.05, True))  # half-width 3 of 10: 30%
    assert _narrow(wide, (0.3, True)) and _narrow(wide, (3.0, False)) and not _narrow(wide, (2.9, False))
