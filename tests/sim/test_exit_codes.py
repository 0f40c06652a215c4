"""The exit-code contract, through the console script: 0 ok, 1 the run failed, 2 bad input.

Every case starts ``aidflow`` (``sim.cli:main``) in a subprocess, all at once, and checks the
exit status the shell sees, plus the manifest's status where a run directory is written. A run
fails (exit 1) when a replication deadlocks — ``dead.yaml`` is ``tests/scenarios/tiny.yaml``
with the donor's budget cut to 100 EUR, so requirement R1 (1,000 drones at 450 EUR) waits for
funds forever — or exhausts its event budget (``--max-events 10``; tiny logs far more than 10
events). Exit 130 (interrupted) is tested in ``test_interrupt.py``, a resume refused with exit 2
in ``test_resume_guard.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "scenarios" / "tiny.yaml"
BIN = Path(sys.executable).parent
AIDFLOW = [str(BIN / "aidflow")] if (BIN / "aidflow").exists() else [sys.executable, "-m", "sim.cli"]
ENV = {k: v for k, v in os.environ.items() if k != "AIDFLOW_DEBUG"}

# name -> (arguments, expected exit code, expected manifest status or None for no run directory)
CASES: dict[str, tuple[list[str], int, str | None]] = {
    "run_ok": (["run", "{tiny}", "-n", "1", "--out", "{out}"], 0, "completed"),
    "run_over_budget": (["run", "{tiny}", "-n", "1", "--max-events", "10", "--out", "{out}"], 1, "failed"),
    "run_deadlocked": (["run", "{dead}", "-n", "1", "--out", "{out}", "--format", "json"], 1, "failed"),
    "compare_deadlocked": (
        ["compare", "{dead}", "--strategy", "baseline", "--strategy", "more_trucks", "-n", "2", "--out", "{out}"],
        1,
        "failed",
    ),
    "sweep_deadlocked": (
        ["sweep", "{dead}", "--param", "links.road_hub_brigade.vehicles=2..3", "-n", "1", "--out", "{out}"],
        1,
        "failed",
    ),
    "bottlenecks_deadlocked": (
        ["bottlenecks", "{dead}", "-n", "1", "--top", "0", "--chain", "0", "--out", "{out}"],
        1,
        "failed",
    ),
    "unknown_option": (["run", "{tiny}", "--bogus", "--out", "{out}"], 2, None),
    "bad_value": (["run", "{tiny}", "-n", "0", "--out", "{out}"], 2, None),
    "missing_file": (
        ["compare", "{folder}/nope.yaml", "--strategy", "a", "--strategy", "b", "--out", "{out}"],
        2,
        None,
    ),
    "unknown_strategy": (["run", "{tiny}", "--strategy", "nope", "--out", "{out}"], 2, None),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case, run at once: name -> (exit code, stdout, stderr, run directory)."""
    folder = tmp_path_factory.mktemp("exit-codes")
    dead = folder / "dead.yaml"
    text = TINY.read_text(encoding="utf-8")
    assert "budget_eur: 1000000\n" in text
    dead.write_text(text.replace("budget_eur: 1000000\n", "budget_eur: 100\n"), encoding="utf-8")
    procs: dict[str, tuple[subprocess.Popen[str], Path]] = {}
    for name, (args, _, _) in CASES.items():
        out = folder / name
        fill = {"tiny": TINY, "dead": dead, "out": out, "folder": folder}
        argv = [*AIDFLOW, *(a.format(**fill) for a in args), "--quiet"]
        p = subprocess.Popen(argv, cwd=folder, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs[name] = (p, out)
    res: dict[str, Any] = {}
    deadline = time.monotonic() + 240
    try:
        for name, (p, out) in procs.items():
            stdout, stderr = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            res[name] = (p.returncode, stdout, stderr, out)
    finally:
        for p, _ in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
    return res


@pytest.mark.parametrize("case", list(CASES))
def test_exit_code(results: dict[str, Any], case: str) -> None:
    code, stdout, stderr, out = results[case]
    _, expected, status = CASES[case]
    assert code == expected, f"exit {code}, expected {expected}\nstdout: {stdout[-2000:]}\nstderr: {stderr[-2000:]}"
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    if status is None:
        assert not out.exists(), "bad input must not create a run directory"
        assert stderr.strip(), "bad input must say what is wrong"
        return
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == status
    if expected == 1:
        assert manifest["error"], "a failed run records why in its manifest"
        assert stderr.strip(), "a failed run says why on stderr"


def test_a_deadlock_is_named(results: dict[str, Any]) -> None:
    _, stdout, stderr, out = results["run_deadlocked"]
    assert "deadlocked" in stderr and "R1" in stderr and "donor_a" in stderr
    assert json.loads(stdout)["status"] == "failed"
    assert "deadlocked" in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["error"]


# --------------------------------------------------------------------------- an exception inside a run

FAULT = '''"""Test fault: replication 1 of every run raises inside the engine (imported at start-up)."""
import sim.run

_real_run = sim.run.run


def _faulty_run(scenario, strategy="baseline", replication=0, *args, **kwargs):
    if replication == 1:
        raise RuntimeError("injected engine fault")
    return _real_run(scenario, strategy, replication, *args, **kwargs)


sim.run.run = _faulty_run
'''


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_exception_inside_a_run_fails_it(tmp_path: Path, jobs: int) -> None:
    """An engine RuntimeError in replication 1 (serial, or in a worker process): manifest
    ``failed`` with the message, exit 1, one clear line and no traceback. The fault is put into
    ``sim.run.run`` by a ``sitecustomize`` module on PYTHONPATH, so the forkserver's workers
    get it too."""
    fault = tmp_path / "fault"
    fault.mkdir()
    (fault / "sitecustomize.py").write_text(FAULT, encoding="utf-8")
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(fault), *filter(None, [ENV.get("PYTHONPATH")])])}
    out = tmp_path / "run"
    argv = [*AIDFLOW, "run", str(TINY), "-n", "3", "-j", str(jobs), "--out", str(out), "--quiet"]
    p = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 1, p.stderr[-3000:]
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "baseline rep 1" in lines[0] and "injected engine fault" in lines[0], p.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed"
    assert manifest["error"] == "baseline rep 1: RuntimeError: injected engine fault"
    assert all(p["replication"] != 1 for p in manifest["parts"])
    assert not list(out.rglob(".tmp-*"))
