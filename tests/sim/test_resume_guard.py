"""``--resume`` continues only the same run, and starts a run that never began.

Through ``sim.cli.main`` (the console script's entry) in this process, on
``tests/scenarios/tiny.yaml``: a resume with another seed, an edited scenario file, another
strategy set, another event budget, other sweep points or other ``bottlenecks`` options is
refused with exit 2, one line naming what differs, and the manifest left as it was. A resume
with more replications extends the run (the replications already run are kept byte for byte),
one without ``-n`` completes the run's own count, and a resume of a directory that does not
exist, or that holds only the temporary file of a manifest that was never renamed (a run killed
at its first write), starts the run. A directory with other content and no manifest gets one
message naming ``--overwrite``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from results.store.run_store import read_manifest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "scenarios" / "tiny.yaml"
Cli = Callable[..., tuple[int, str]]


def aidflow(
    args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Run ``aidflow ARGS --quiet`` through ``sim.cli.main``; (exit code, stderr)."""
    from sim.cli import main

    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["aidflow", *args, "--quiet"])
    monkeypatch.chdir(cwd)
    with pytest.raises(SystemExit) as exc:
        main()
    code = exc.value.code
    return (0 if code is None else int(code)), capsys.readouterr().err


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    def call(*args: str) -> tuple[int, str]:
        return aidflow([str(a) for a in args], tmp_path, monkeypatch, capsys)

    return call


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    """A copy of tiny.yaml that a test may edit."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def refused(code: int, err: str, *phrases: str) -> None:
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "--resume" in lines[0] and "--overwrite" in lines[0], lines[0]
    for p in phrases:
        assert p in lines[0], (p, lines[0])
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("change", "phrases"),
    [
        (["--seed", "7"], ["seed 7", "--seed 20250501"]),
        (["--strategy", "more_trucks"], ["strategies more_trucks", "the run has baseline"]),
        (["--max-events", "100000000"], ["--max-events 100000000", "the run used none"]),
    ],
    ids=["seed", "strategy", "max_events"],
)
def test_resume_with_other_arguments_is_refused(
    cli: Cli, scenario: Path, tmp_path: Path, change: list[str], phrases: list[str]
) -> None:
    assert cli("run", scenario, "-n", "1", "--out", "x", "--seed", "20250501") == (0, "")
    before = (tmp_path / "x" / "manifest.json").read_bytes()
    args = ["run", str(scenario), "-n", "2", "--out", "x", "--resume"]
    if change[0] != "--seed":
        args += ["--seed", "20250501"]
    code, err = cli(*args, *change)
    refused(code, err, *phrases)
    assert (tmp_path / "x" / "manifest.json").read_bytes() == before, "a refused resume must not touch the run"


def test_resume_after_the_scenario_file_changed_is_refused(cli: Cli, scenario: Path, tmp_path: Path) -> None:
    assert cli("run", scenario, "-n", "1", "--out", "x")[0] == 0
    m = read_manifest(tmp_path / "x")
    scenario.write_text(scenario.read_text(encoding="utf-8").replace("lot_size: 50", "lot_size: 25"), encoding="utf-8")
    code, err = cli("run", scenario, "-n", "2", "--out", "x", "--resume")
    refused(code, err, "the scenario file changed", m["scenario_sha256"][:12])
    assert read_manifest(tmp_path / "x") == m


def test_resume_of_a_sweep_with_other_points_is_refused(cli: Cli, scenario: Path, tmp_path: Path) -> None:
    sweep = ["sweep", str(scenario), "-n", "1", "--out", "sw"]
    assert cli(*sweep, "--param", "links.road_hub_brigade.vehicles=2..3")[0] == 0
    code, err = cli(*sweep, "--param", "links.road_hub_brigade.vehicles=2..4", "--resume")
    refused(code, err, "3 sweep point(s)", "the run has 2")
    code, err = cli(*sweep, "--param", "links.road_hub_brigade.vehicles=2..3", "--resume")
    assert code == 0, err


def test_resume_of_bottlenecks_with_other_options_is_refused(cli: Cli, scenario: Path) -> None:
    common = ["bottlenecks", str(scenario), "-n", "1", "--chain", "0", "--out", "b"]
    assert cli(*common, "--top", "0")[0] == 0
    code, err = cli(*common, "--top", "1", "--resume")
    refused(code, err, "top 1 (the run used 0)")
    code, err = cli(*common, "--top", "0", "--resume")
    assert code == 0, err


def test_resume_extends_and_completes_the_replications(cli: Cli, scenario: Path, tmp_path: Path) -> None:
    assert cli("run", scenario, "-n", "2", "--out", "x")[0] == 0
    first = {(p["strategy"], p["replication"]): p["sha256"] for p in read_manifest(tmp_path / "x")["parts"]}
    assert cli("run", scenario, "-n", "3", "--out", "x", "--resume") == (0, "")
    m = read_manifest(tmp_path / "x")
    assert m["status"] == "completed" and m["replications"] == 3
    parts = {(p["strategy"], p["replication"]): p["sha256"] for p in m["parts"]}
    assert sorted(parts) == [("baseline", r) for r in range(3)]
    assert {k: parts[k] for k in first} == first, "the replications already run are kept"
    # without -n (tiny's own count is 1) a resume completes the run's 3, it does not shrink it
    assert cli("run", scenario, "--out", "x", "--resume") == (0, "")
    m = read_manifest(tmp_path / "x")
    assert m["replications"] == 3 and len(m["parts"]) == 3


def test_resume_starts_a_run_that_never_began(cli: Cli, scenario: Path, tmp_path: Path) -> None:
    # a directory that does not exist (README: `run … --out runs/x --resume` works on a new directory)
    assert cli("run", scenario, "--out", "runs/new", "--resume") == (0, "")
    assert read_manifest(tmp_path / "runs" / "new")["status"] == "completed"
    # killed at its first write: only the temporary file of a manifest that was never renamed
    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / ".tmp-manifest.json.0123456789abcdef").write_text('{"status": "runn', encoding="utf-8")
    assert cli("run", scenario, "--out", "killed", "--resume") == (0, "")
    assert read_manifest(killed)["status"] == "completed"
    assert not list(killed.rglob(".tmp-*"))
    # the same without --resume: a directory holding only temporary files counts as empty
    again = tmp_path / "again"
    again.mkdir()
    (again / ".tmp-manifest.json.0123456789abcdef").write_text("", encoding="utf-8")
    assert cli("run", scenario, "--out", "again") == (0, "")


def test_resume_of_a_directory_without_a_manifest_names_the_way_out(cli: Cli, scenario: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    code, err = cli("run", scenario, "--out", "other", "--resume")
    refused(code, err, "no manifest.json")
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    assert cli("run", scenario, "--out", "other", "--overwrite")[0] == 0
    assert read_manifest(other)["status"] == "completed"
    assert (other / "notes.txt").exists(), "--overwrite removes only aidflow's own files from a foreign directory"
