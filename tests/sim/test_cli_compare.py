"""``aidflow compare`` on a library scenario: the paired-difference table, the ranking, the JSON.

``small_routers`` is compared across its three strategies (baseline first) with 5
replications, once as a table and once with ``--format json`` (both at once, in separate run
directories). The table must show every compared KPI with the paired difference, its 95% CI
and a verdict per strategy, then the ranking by mean lead time (``--kpi lead_time_mean_days``;
the default ranking is tested in ``test_compare_warnings.py``); the JSON document must carry
the same numbers, agreeing with ``results.compare`` applied to the run's ``kpis.parquet``.
Bad compare arguments exit 2 with a message and no traceback.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from results.compare import paired_differences, rank
from results.store.run_store import read_manifest
from sim.cli.compare import COMPARE_KPIS

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
BIN = Path(sys.executable).parent
AIDFLOW = [str(BIN / "aidflow")] if (BIN / "aidflow").exists() else [sys.executable, "-m", "sim.cli"]
ENV = {k: v for k, v in os.environ.items() if k not in ("AIDFLOW_DEBUG", "COLUMNS")}  # piped: 160 columns
REPS = 5
STRATEGIES = ("baseline", "bilateral", "more_lanes")
VERDICTS = ("better", "worse", "no significant difference")


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*AIDFLOW, *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the table and the JSON comparison at once."""
    folder = tmp_path_factory.mktemp("compare")
    base = ["compare", str(SMALL), *(a for s in STRATEGIES for a in ("--strategy", s)), "-n", str(REPS), "--quiet"]
    base += ["--kpi", "lead_time_mean_days"]
    procs = {
        "table": start([*base, "--out", str(folder / "table")], folder),
        "json": start([*base, "--out", str(folder / "json"), "--format", "json"], folder),
    }
    out: dict[str, Any] = {"folder": folder}
    try:
        for name, p in procs.items():
            stdout, stderr = p.communicate(timeout=120)
            out[name] = (p.returncode, stdout, stderr)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
    return out


def number(text: str) -> tuple[float, float]:
    """A printed value (``1,318``, ``97.3%``, ``+1.2 pp``, ``-€1,234``, ``35.9``) and its rounding.

    Shares come back as fractions (97.3% -> 0.973); the rounding is half the last printed digit.
    """
    scale = 0.01 if text.endswith(("%", " pp")) else 1.0
    digits = text.removesuffix(" pp").removesuffix("%").replace("€", "").replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return float(digits) * scale, 0.5 * 10.0**-decimals * scale


def table_rows(text: str) -> list[list[str]]:
    """The cells of every body row of the rich tables in ``text``."""
    return [[c.strip() for c in line.strip().strip("│").split("│")] for line in text.splitlines() if "│" in line]


def test_table_output(outputs: dict[str, Any]) -> None:
    code, out, err = outputs["table"]
    assert code == 0, err
    assert f"Paired differences vs baseline ({REPS} replications, common random numbers)" in out
    for header in ("kpi", "strategy mean", "difference", "95% CI", "verdict"):
        assert header in out
    assert "Ranking by lead_time_mean_days (best first)" in out
    assert f"run directory: {outputs['folder'] / 'table'}" in out
    assert "Traceback" not in out + err
    rows = table_rows(out)
    diff_rows = [r for r in rows if len(r) == 8]
    rank_rows = [r for r in rows if len(r) == 3]
    # one row per (KPI, item, strategy) with a signed difference, a CI around it and a verdict
    seen = {(r[0], r[2]) for r in diff_rows}
    assert seen == {(k, s) for k in COMPARE_KPIS for s in STRATEGIES[1:]}
    for kpi, _item, _strategy, base, mean, diff, ci, verdict in diff_rows:
        assert verdict in VERDICTS
        (d, tol), (m, tol_m), (b, tol_b) = number(diff), number(mean), number(base)
        assert diff[0] in "+-" or d == 0, diff  # a difference is signed unless it is zero
        assert abs(d - (m - b)) <= tol + tol_m + tol_b + 1e-12, (kpi, base, mean, diff)
        bounds = re.fullmatch(r"\[(.+), (.+)\]( pp)?\*?", ci)  # "*": clipped to the KPI's range
        assert bounds, ci
        unit = bounds.group(3) or ""
        (lo, _), (hi, _) = number(bounds.group(1) + unit), number(bounds.group(2) + unit)
        assert lo - tol <= d <= hi + tol, (kpi, ci, diff)
        if verdict == "no significant difference":
            assert lo <= 0 <= hi, (kpi, ci, verdict)
        else:
            assert not lo < 0 < hi, (kpi, ci, verdict)
    # bilateral buying is slower than the agency on average (Latvia's purchase lead, 15-45 days,
    # against the agency's tender); at 5 replications not always significantly (issue 13 item 7)
    lt = next(r for r in diff_rows if r[:3] == ["lead_time_mean_days", "all", "bilateral"])
    assert number(lt[5])[0] > 0 and lt[7] in ("worse", "no significant difference")
    # the ranking: every strategy once, ranks 1..3, means ascending (lower lead time is better)
    assert [r[0] for r in rank_rows] == ["1", "2", "3"]
    assert sorted(r[1] for r in rank_rows) == sorted(STRATEGIES)
    means = [number(r[2])[0] for r in rank_rows]
    assert means == sorted(means)
    expected = rank(pq.read_table(outputs["folder"] / "table" / "kpis.parquet"), "lead_time_mean_days")
    assert [r[1] for r in rank_rows] == [s for s, _ in expected]
    assert rank_rows[-1][1] == "bilateral"


def test_json_output(outputs: dict[str, Any]) -> None:
    code, out, err = outputs["json"]
    assert code == 0, err
    doc = json.loads(out)
    want = {"run", "baseline", "replications", "success", "items", "differences", "ranking", "ranked_by", "warnings"}
    assert set(doc) == want and doc["ranked_by"] == "lead_time_mean_days"
    assert doc["warnings"] == []  # every strategy delivers every unit
    assert doc["baseline"] == "baseline" and doc["replications"] == REPS
    assert Path(doc["run"]) == outputs["folder"] / "json"
    keys = {"kpi", "item", "node", "link", "strategy", "baseline_mean", "strategy_mean", "diff_mean"}
    keys |= {"ci95_low", "ci95_high", "n", "ci_clipped", "verdict"}
    for d in doc["differences"]:
        assert set(d) == keys
        assert d["strategy"] in STRATEGIES[1:] and d["kpi"] in COMPARE_KPIS
        assert d["node"] is None and d["link"] is None and d["n"] == REPS
        assert d["verdict"] in VERDICTS
        assert d["diff_mean"] == pytest.approx(d["strategy_mean"] - d["baseline_mean"], abs=1e-9)
        assert d["ci95_low"] <= d["diff_mean"] + 1e-12 and d["diff_mean"] <= d["ci95_high"] + 1e-12
    assert {(d["kpi"], d["strategy"]) for d in doc["differences"] if d["item"] is None} == {
        (k, s) for k in COMPARE_KPIS for s in STRATEGIES[1:]
    }
    # the numbers are those of results.compare on the run's own KPI table
    kpis = pq.read_table(Path(doc["run"]) / "kpis.parquet")
    expected = {
        (x.kpi, x.item, x.strategy): x
        for x in paired_differences(kpis, "baseline", only=COMPARE_KPIS)
        if x.node is None and x.link is None
    }
    assert len(expected) == len(doc["differences"])
    for d in doc["differences"]:
        x = expected[(d["kpi"], d["item"], d["strategy"])]
        assert d["diff_mean"] == pytest.approx(x.mean)
        if not math.isnan(x.ci_low):
            assert (d["ci95_low"], d["ci95_high"]) == pytest.approx((x.ci_low, x.ci_high))
    ranking = doc["ranking"]
    assert [set(r) for r in ranking] == [{"strategy", "mean"}] * len(STRATEGIES)
    assert [r["strategy"] for r in ranking] == [s for s, _ in rank(kpis, "lead_time_mean_days")]
    assert [r["mean"] for r in ranking] == sorted(r["mean"] for r in ranking)
    m = read_manifest(doc["run"])
    assert m["status"] == "completed" and m["replications"] == REPS
    assert len(m["parts"]) == REPS * len(STRATEGIES)


def test_table_and_json_agree(outputs: dict[str, Any]) -> None:
    """Same inputs, same numbers: the two run directories hold the same parts."""
    a = read_manifest(outputs["folder"] / "table")["parts"]
    b = read_manifest(outputs["folder"] / "json")["parts"]
    assert [(p["strategy"], p["replication"], p["sha256"]) for p in a] == [
        (p["strategy"], p["replication"], p["sha256"]) for p in b
    ]


COMPARE = ["compare", str(SMALL), "--strategy", "baseline", "--strategy", "bilateral", "-n", "2", "--quiet"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", str(SMALL), "--strategy", "baseline"], "name at least two strategies"),
        ([*COMPARE, "--strategy", "teleport"], "no strategy 'teleport'"),
        ([*COMPARE, "--strategy", "baseline"], "each strategy may be named once"),
        ([*COMPARE, "--target-halfwidth", "narrow"], "--target-halfwidth: expected a number or a percentage"),
        ([*COMPARE, "--target-halfwidth", "-5%"], "--target-halfwidth: must be > 0"),
        ([*COMPARE, "--format", "xml"], "--format: must be table or json"),
        ([*COMPARE, "--max-replications", "1"], "greater than or equal to 2"),
    ],
    ids=["one_strategy", "unknown_strategy", "strategy_twice", "bad_halfwidth", "halfwidth_negative", "format", "cap"],
)
def test_bad_arguments_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``sim.cli.main``, the console script's entry point, in this process."""
    from sim.cli import main

    monkeypatch.setattr(sys, "argv", ["aidflow", *args, "--out", str(tmp_path / "run")])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main()
    captured = capsys.readouterr()
    assert exc.value.code == 2, captured
    assert message in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "run").exists()
