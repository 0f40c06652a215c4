"""Numbers at the edges of the language, and user text that looks like rich markup.

The malformed corpus (``conftest.CASES``) holds the values the language refuses; this module
holds values it accepts at their limits, which must load, build, check and run without an
internal error, and the user text (a question, a path) that the CLI must print as written.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

import sim.cli
from network.build import MAX_LOTS_PER_VEHICLE, build_graph, lots_per_vehicle
from network.capacity import bounds
from network.checks import check
from scenarios.load import load_text
from scenarios.schema import MIN_PERIOD_DAYS, MIN_RATE_PER_YEAR, MIN_VOLUME_M3, Scenario
from sim.run import run

HERE = Path(__file__).resolve().parent
TINY = HERE / "tiny.yaml"


def _tiny(old: str, new: str) -> str:
    text = TINY.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _load(old: str, new: str) -> Scenario:
    return load_text(_tiny(old, new), "edge.yaml")[0]


# --------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize(
    ("capacity_m3", "lot_m3", "lots"),
    [
        (0.3, 0.1, 3),  # 2.9999999999999996 by float division: the tolerance makes it 3
        (0.5, 1.0, 0),
        (20.0, 1.0, 20),
        (20.0, 0.4, 50),
        (1e12, 1e-9, 10**21),  # the largest capacity over the smallest unit volume
        (20.0, 1e-320, MAX_LOTS_PER_VEHICLE),  # the quotient overflows: as many as can be counted
        (20.0, 0.0, MAX_LOTS_PER_VEHICLE),  # a lot volume that underflowed to zero
        (1e-320, 1.0, 0),
    ],
)
def test_lots_per_vehicle_never_overflows(capacity_m3: float, lot_m3: float, lots: int) -> None:
    assert lots_per_vehicle(capacity_m3, lot_m3) == lots


def test_the_smallest_volume_builds_checks_and_bounds() -> None:
    # one drone of 1e-9 m3, lots of 50: 20 m3 / 5e-8 m3 = 4e8 lots a vehicle
    s = _load("    volume_m3: 0.02\n", f"    volume_m3: {MIN_VOLUME_M3!r}\n")
    assert lots_per_vehicle(20.0, MIN_VOLUME_M3 * 50) == 400_000_000
    assert not [c for c in check(s) if c.severity == "error"]
    for b in bounds(s, build_graph(s)):
        assert math.isfinite(b.units_per_day) and b.units_per_day > 0


@pytest.mark.parametrize("rate", [1e-10, MIN_RATE_PER_YEAR])
def test_a_very_rare_random_disruption_runs(rate: float) -> None:
    # the mean gap 365 / rate (3.65e12 days and more) is past any horizon: no outage happens
    s = _load(
        "    kind: scheduled\n    target: rzeszow\n    start: 2025-06-01\n",
        f"    kind: random\n    target: rzeszow\n    rate_per_year: {rate!r}\n",
    )
    log, result = run(s)
    assert result.status == "completed", result.error
    kinds = set(log.table().column("kind").to_pylist())
    assert "disruption_started" not in kinds and "delivered" in kinds


def test_the_shortest_convoy_period_runs_within_the_default_budget() -> None:
    s = _load(
        "    dispatch: {rule: full, max_wait_days: 1}\n",
        f"    dispatch: {{rule: scheduled, every_days: {MIN_PERIOD_DAYS!r}}}\n",
    )
    _, result = run(s)
    assert result.status == "completed", result.error
    # one slot a minute for 120 days is about 172,800 events: well inside the default budget
    assert 120 / MIN_PERIOD_DAYS < result.events < result.max_events


def test_whole_numbers_stay_valid_for_float_fields() -> None:
    s = _load("    capacity_m3: 20\n    dispatch", "    capacity_m3: 20\n    dispatch")
    assert type(s.horizon_days) is float and s.horizon_days == 120.0
    assert type(s.links[1].capacity_m3) is float and s.links[1].capacity_m3 == 20.0
    assert type(s.links[1].vehicles) is int


# --------------------------------------------------------------------------- markup in user text


def _validate(path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["aidflow", "validate", str(path)])
    code = 0
    try:
        sim.cli.main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out + err


def test_validate_prints_markup_in_user_text_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "Do [bold]1,000[/bold] drones [/red] reach [link=x]the brigade[/link]?"
    folder = tmp_path / "[red]plans"  # a path cannot hold a closing tag's "/" in one name
    folder.mkdir()
    path = folder / "[bold]tiny.yaml"
    path.write_text(
        _tiny("question: Do 1,000 drones reach the brigade by July?\n", f"question: '{question}'\n"),
        encoding="utf-8",
    )
    code, text = _validate(path, capsys, monkeypatch)
    assert code == 0, text
    assert "internal error" not in text
    flat = " ".join(text.split())  # rich may wrap a long line
    assert question in flat
    assert "".join(str(path).split()) in "".join(text.split())  # a path wraps anywhere in a narrow table


def test_a_refused_file_in_a_markup_folder_names_it_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "[red]x"
    folder.mkdir()
    path = folder / "bad.yaml"
    path.write_text(_tiny("    vehicles: 3\n", "    vehicles: true\n"), encoding="utf-8")
    code, text = _validate(path, capsys, monkeypatch)
    assert code == 2, text
    assert f"{path}:42:" in text and "must be an integer (got true)" in text
