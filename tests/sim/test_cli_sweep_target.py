"""``aidflow sweep --target`` end to end: points labelled everywhere, the smallest value meeting a target.

A sweep of ``small_routers`` over the Riga–Rzeszów rail wagons (1..3, 2 replications) through
the console entry point. Checked against the files the run wrote, read independently here:

- every printed table row, ``sweep.parquet`` (``point_label`` and one column per parameter
  next to the ``point`` index), the manifest and the report name points by their values;
- the answer is the smallest wagon count whose mean last router delivery falls on or before
  the target date (a date is the whole day: run day ``t`` is ``start + floor(t)``), and its
  verdict follows its CI's upper end; the gain against the scenario's 2 wagons is the mean of
  the per-replication differences in ``kpis.parquet``;
- a date no point reaches prints "no point meets the target"; a bad target exits 2 before
  anything runs, naming ``--target``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
PATH = "links.rail_lv_pl.vehicles"
START = dt.date(2025, 5, 1)  # small_routers' start
SWEEP = ["sweep", str(SMALL), "--param", f"{PATH}=1..3", "-n", "2", "-q"]


def aidflow(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"COLUMNS": "120", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}  # the code next to this test
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sweep, run once (a target every point meets: it is after the horizon)."""
    folder = tmp_path_factory.mktemp("sweep")
    proc = aidflow([*SWEEP, "--out", "run", "--target", "last_delivery_date[router] <= 2025-12-31"], folder)
    assert proc.returncode == 0, proc.stderr
    assert "smallest: links.rail_lv_pl.vehicles=1 (point 0)" in proc.stdout, proc.stdout
    return folder / "run"


def router_days(run: Path) -> dict[int, tuple[float, float]]:
    """Wagons -> (mean, CI high) of the last router delivery day, from sweep.parquet."""
    rows = pq.read_table(run / "sweep.parquet").to_pylist()
    return {
        r[PATH]: (r["mean"], r["ci95_high"])
        for r in rows
        if r["kpi"] == "last_delivery_day" and r["item"] == "router" and r["node"] is None and r["link"] is None
    }


def test_points_carry_their_parameter_values_in_the_table_file_and_manifest(swept: Path) -> None:
    table = pq.read_table(swept / "sweep.parquet")
    assert {"point", PATH, "point_label"} <= set(table.column_names)
    pairs = {(r["point"], r[PATH], r["point_label"]) for r in table.select(["point", PATH, "point_label"]).to_pylist()}
    assert pairs == {(k, k + 1, f"{PATH}={k + 1}") for k in range(3)}
    manifest = json.loads((swept / "manifest.json").read_text())
    assert manifest["sweep"]["params"] == [PATH]
    assert [p["label"] for p in manifest["sweep"]["points"]] == [f"{PATH}={k}" for k in (1, 2, 3)]
    assert manifest["sweep"]["target"] == "last_delivery_date[router] <= 2025-12-31"


def test_the_smallest_value_meeting_a_target_date_and_its_gain(swept: Path) -> None:
    days = router_days(swept)
    # a target between the points: the date of the earliest mean last delivery
    earliest = min(m for m, _ in days.values())
    date = START + dt.timedelta(days=math.floor(earliest))
    limit = (date - START).days + 1  # <= date: delivered before the end of that day
    want = min(v for v, (m, _) in days.items() if m < limit)
    confident = days[want][1] < limit
    target = f"last_delivery_date[router] <= {date.isoformat()}"
    proc = aidflow([*SWEEP, "--out", str(swept), "--resume", "--target", target], swept.parent)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for v in (1, 2, 3):  # every table row names its point by value
        assert re.search(rf"│ {v - 1} +│ {re.escape(PATH)}={v} +│", out), out
    verdict = "met with confidence" if confident else "met on the mean only"
    assert f"Target: {target}" in out
    assert f"smallest: {PATH}={want} (point {want - 1}), {verdict}" in out, out
    mean_date = START + dt.timedelta(days=math.floor(days[want][0]))
    assert f"mean {mean_date.isoformat()}, 95% CI [" in out
    if want != 2:  # the scenario has 2 wagons on rail_lv_pl
        kpis = pq.read_table(swept / "kpis.parquet").to_pylist()
        per = {
            (r["strategy"], r["replication"]): r["value"]
            for r in kpis
            if r["kpi"] == "last_delivery_day" and r["item"] == "router" and r["node"] is None and r["link"] is None
        }
        gain = sum(per[("baseline-pt001", r)] - per[(f"baseline-pt{want - 1:03d}", r)] for r in (0, 1)) / 2
        word = "earlier" if gain >= 0 else "later"
        delta = f"+{want - 2}" if want >= 2 else f"{want - 2}"
        assert f"vs the scenario's {PATH}=2 ({delta}): {abs(gain):.1f} days {word}" in out, out
        assert "paired over 2 replications" in out


def test_no_point_meets_an_impossible_date_and_json_says_so(swept: Path) -> None:
    target = "last_delivery_date[router] <= 2025-05-01"  # the first day: no router is there yet
    proc = aidflow([*SWEEP, "--out", str(swept), "--resume", "--target", target], swept.parent)
    assert proc.returncode == 0, proc.stderr
    assert "no point meets the target; the closest is" in proc.stdout, proc.stdout
    proc = aidflow([*SWEEP, "--out", str(swept), "--resume", "--target", target, "--format", "json"], swept.parent)
    doc = json.loads(proc.stdout)
    assert doc["target"]["met"] is False and doc["target"]["smallest"] is None
    assert doc["target"]["kpi"] == "last_delivery_day" and doc["target"]["item"] == "router"
    assert {r["point_label"] for r in doc["response"]} == {f"{PATH}={v}" for v in (1, 2, 3)}


def test_the_report_has_a_sweep_section_with_labels_answer_and_chart(swept: Path) -> None:
    from results.report import build_report

    html = build_report(swept).read_text()
    section = html[html.index('<section id="sweep">') :]
    section = section[: section.index("</section>")]
    for v in (1, 2, 3):
        assert f"<td>{PATH}={v}</td>" in section
    assert 'id="fig-sweep"' in section and "Target: last_delivery_date[router]" in section
    assert '"fig-sweep"' in html.split('id="aidflow-figures"', 1)[1]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("last_delivery_date[router] before 2025-08-31", "expected KPI[SELECTOR] OP VALUE"),
        ("last_delivery_date[routers] <= 2025-08-31", "no item, node or link 'routers', did you mean 'router'?"),
        ("last_delivery_date[router] <= 31.08.2025", "takes a date YYYY-MM-DD"),
    ],
)
def test_a_bad_target_exits_2_before_running(tmp_path: Path, target: str, message: str) -> None:
    proc = aidflow([*SWEEP, "--out", "never", "--target", target], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"error: --target {target!r}: " in proc.stderr and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "never").exists()
