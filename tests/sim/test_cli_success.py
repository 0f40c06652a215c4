"""``run``, ``compare`` and ``sweep`` answer the scenario's question first: success criteria and per-item dates.

The scenario is ``tests/results/test_success.py``'s deterministic two-item one (10 boxes
delivered at day 5.5, 12:00 on 2025-01-06; 20 crates at day 8.25, 06:00 on 2025-01-09), with
a strategy ``slow`` whose boxes travel 7 days (delivered at 00:00 on 2025-01-08). So a box
criterion "by 2025-01-06" is met in every baseline replication and in no ``slow`` one, by
construction; the Wilson bounds are the formula's (k = n: lower n / (n + z²); k = 0: upper
z² / (n + z²)). Everything runs in-process through ``sim.cli.main``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from statistics import NormalDist

import pytest

from sim.cli.execute import resolved_yaml
from tests.results.test_success import two_items

Z2 = NormalDist().inv_cdf(0.975) ** 2
REPS = 3
SUCCESS = """\
success:
  - {item: box, delivered_units_at_least: 10, by: 2025-01-06}
  - {item: crate, on_time_share_at_least: 0.5}
"""


def _yaml(tmp_path: Path, success: str = SUCCESS) -> Path:
    s = two_items()
    text = resolved_yaml(s, None).replace("replications: 1\n", f"replications: {REPS}\n")
    text = text.replace(
        "strategies: []\n", "strategies:\n- name: slow\n  overrides:\n    links.l_box.transit_days: 7\n"
    )
    text = text.replace("success: []\n", "")
    path = tmp_path / "two_items.yaml"
    path.write_text(text + success)
    return path


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from sim.cli import main

    monkeypatch.setattr(sys, "argv", ["aidflow", *args])
    monkeypatch.delenv("COLUMNS", raising=False)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main()
    captured = capsys.readouterr()
    return int(exc.value.code or 0), captured.out, captured.err


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def test_run_prints_the_question_answered_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _yaml(tmp_path)
    code, out, _ = _cli(monkeypatch, capsys, "run", str(path), "--out", str(tmp_path / "run"), "-q")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "The scenario's question (success criteria):"
    lo = _pct(REPS / (REPS + Z2))
    assert lines[1] == (
        f"  box: at least 10 units delivered by 2025-01-06: met in 3 of 3 replications (100.0%, 95% Wilson CI [{lo}, 100.0%])"
    )
    hi = _pct(Z2 / (REPS + Z2))
    assert (
        lines[2]
        == f"  crate: on-time share (OTIF) at least 50%: met in 0 of 3 replications (0.0%, 95% Wilson CI [0.0%, {hi}])"
    )
    assert lines[3].startswith("  all criteria: met in 0 of 3")
    box = next(x for x in lines if x.startswith("│ box "))
    crate = next(x for x in lines if x.startswith("│ crate "))
    assert [c.strip() for c in box.split("│")[1:6]] == ["box", "10", "10", "[10, 10]", "2025-01-06"]
    assert [c.strip() for c in crate.split("│")[1:6]] == ["crate", "20", "20", "[20, 20]", "2025-01-09"]
    assert "0.0%" in crate and "100.0%" in box
    # the whole-run counter says it adds different items up
    assert any("units_delivered" in x and "all items (mixed units)" in x for x in lines)


def test_item_filters_the_per_item_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _yaml(tmp_path, "")
    code, out, _ = _cli(monkeypatch, capsys, "run", str(path), "--out", str(tmp_path / "r"), "-q", "--item", "crate")
    assert code == 0
    assert "success criteria" not in out  # the scenario states none
    assert any(x.startswith("│ crate ") for x in out.splitlines())
    assert not any(x.startswith("│ box ") for x in out.splitlines())
    code, _, err = _cli(monkeypatch, capsys, "run", str(path), "--out", str(tmp_path / "r2"), "-q", "--item", "crat")
    assert code == 2
    assert "--item: no item 'crat'" in err and "did you mean 'crate'?" in err and "Traceback" not in err
    assert not (tmp_path / "r2").exists()


def test_json_carries_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _yaml(tmp_path)
    code, out, _ = _cli(monkeypatch, capsys, "run", str(path), "--out", str(tmp_path / "j"), "-q", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    first = doc["success"][0]
    assert (first["met"], first["replications"], first["share"]) == (3, 3, 1.0)
    assert first["ci95"] == pytest.approx([REPS / (REPS + Z2), 1.0])
    box = next(r for r in doc["items"] if r["item"] == "box")
    assert (box["delivered_units_mean"], box["required_units"], box["last_delivery_date"]) == (10.0, 10.0, "2025-01-06")


def test_compare_prints_the_criteria_per_strategy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _yaml(tmp_path)
    args = ["compare", str(path), "--strategy", "baseline", "--strategy", "slow", "-n", str(REPS), "-q"]
    code, out, _ = _cli(monkeypatch, capsys, *args, "--out", str(tmp_path / "c"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "The scenario's question (success criteria):"
    assert "  baseline: box: at least 10 units delivered by 2025-01-06: met in 3 of 3 replications" in lines[1]
    slow = next(x for x in lines if x.startswith("  slow: box:"))
    assert f"met in 0 of 3 replications (0.0%, 95% Wilson CI [0.0%, {_pct(Z2 / (REPS + Z2))}])" in slow
    rows = [[c.strip() for c in x.split("│")[1:7]] for x in lines if x.startswith("│ box ")]
    assert rows[:2] == [
        ["box", "baseline", "10", "10", "[10, 10]", "2025-01-06"],
        ["box", "slow", "10", "10", "[10, 10]", "2025-01-08"],  # day 7.0 is 00:00 on 2025-01-08
    ]


def test_sweep_prints_per_item_rows_per_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _yaml(tmp_path, "")
    args = ["sweep", str(path), "--param", "links.l_box.transit_days=5.5..7.5:2", "-n", "1", "-q", "--item", "box"]
    code, out, _ = _cli(monkeypatch, capsys, *args, "--out", str(tmp_path / "s"))
    assert code == 0
    rows = [[c.strip() for c in x.split("│")[1:7]] for x in out.splitlines() if x.startswith("│ box ")]
    assert [(r[0], r[5]) for r in rows] == [("box", "2025-01-06"), ("box", "2025-01-08")]  # days 5.5 and 7.5
    assert not any(x.startswith("│ crate ") for x in out.splitlines())


@pytest.mark.parametrize(
    ("success", "message"),
    [
        (
            "success:\n  - {item: boxes, delivered_units_at_least: 10}\n",
            "success[0].item: unknown item 'boxes', did you mean 'box'?",
        ),
        (
            "success:\n  - {item: box, last_delivery_by: 2025-03-01}\n",
            "success[0].last_delivery_by: date 2025-03-01 is outside the horizon",
        ),
        ("success:\n  - {item: box, on_time_share_at_least: 1.5}\n", "success[0].on_time_share_at_least"),
        (
            "success:\n  - {item: box}\n",
            "state exactly one of delivered_units_at_least, on_time_share_at_least, last_delivery_by",
        ),
    ],
)
def test_a_bad_criterion_is_bad_input_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], success: str, message: str
) -> None:
    path = _yaml(tmp_path, success)
    line = len(path.read_text().splitlines())  # the criterion is the file's last line
    code, _, err = _cli(monkeypatch, capsys, "run", str(path), "--out", str(tmp_path / "bad"), "-q")
    assert code == 2
    assert f"{path}:{line}:" in err and message in err and "Traceback" not in err


def test_compare_shows_the_differences_of_the_kpi_it_ranks_by(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ranked by the median lead time (not a default compared KPI): its paired differences are shown.

    Boxes take 5.5 days in the baseline and 7 in ``slow`` (requirements open at day 0): +1.5 days.
    """
    path = _yaml(tmp_path, "")
    args = ["compare", str(path), "--strategy", "baseline", "--strategy", "slow", "-n", "2", "-q"]
    code, out, _ = _cli(monkeypatch, capsys, *args, "--kpi", "lead_time_p50_days", "--out", str(tmp_path / "k"))
    assert code == 0
    rows = [[c.strip() for c in x.split("│")[1:7]] for x in out.splitlines() if x.startswith("│ lead_time_p50_days ")]
    assert ["lead_time_p50_days", "box", "slow", "5.5", "7.0", "+1.5"] in rows
