"""Ctrl-C (SIGINT) stops ``run``, ``compare``, ``sweep`` and ``bottlenecks`` cleanly, and ``--resume`` finishes.

Each case starts the console script in a subprocess on ``scenarios/small_routers.yaml`` with
enough replications to last several seconds, waits until the first event part is on disk (and,
with ``-j 2`` or a Dask LocalCluster, until the worker processes exist), lists every process
descended from the command (psutil), and sends SIGINT to the command alone. Expected: exit 130,
the manifest's status ``interrupted``, exactly one line on stderr naming the ``--resume``
command, every descendant process gone shortly after, and no temporary file left. Then the
printed command, run as printed, completes the run (exit 0, status ``completed``, every part).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from results.store.layout import TMP_PREFIX

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
BIN = Path(sys.executable).parent
AIDFLOW = [str(BIN / "aidflow")] if (BIN / "aidflow").exists() else [sys.executable, "-m", "sim.cli"]
ENV = {k: v for k, v in os.environ.items() if k != "AIDFLOW_DEBUG"}
pytestmark = pytest.mark.slow  # tests/conftest.py starts the slow files first

# name -> (arguments after the scenario, parts of the finished run, worker processes expected)
CASES: dict[str, tuple[list[str], int, int]] = {
    "run_serial": (["run", "-n", "20"], 20, 0),
    "run_jobs2": (["run", "-n", "20", "-j", "2"], 20, 2),
    "compare": (["compare", "--strategy", "baseline", "--strategy", "more_lanes", "-n", "8"], 16, 0),
    "sweep_jobs2": (["sweep", "--param", "nodes.korczowa_krakovets.servers=2..3", "-n", "8", "-j", "2"], 16, 2),
    "bottlenecks": (["bottlenecks", "-n", "6", "--top", "1", "--chain", "1"], 12, 0),
}


def parts(run_dir: Path) -> int:
    return len(list((run_dir / "events").glob("strategy=*/rep=*.parquet")))


def command(name: str, args: list[str]) -> list[str]:
    return [*AIDFLOW, args[0], str(SMALL), *args[1:], "--out", name, "--quiet"]


def _sigint_default() -> None:
    """In the child: Ctrl-C as a terminal delivers it. A suite started in the background (``cmd &``
    from a script) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(argv: list[str], cwd: Path, run_dir: Path, workers: int) -> tuple[int, str, list[psutil.Process]]:
    """Start ``argv``, wait for a part (and ``workers`` workers), SIGINT it; (exit code, stderr, descendants)."""
    p = subprocess.Popen(
        argv,
        cwd=cwd,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_sigint_default,
    )
    try:
        proc = psutil.Process(p.pid)
        deadline = time.monotonic() + 180
        children: list[psutil.Process] = []
        while time.monotonic() < deadline and p.poll() is None:
            children = proc.children(recursive=True)
            if parts(run_dir) >= 1 and len(children) >= workers:
                break
            time.sleep(0.01)
        assert p.poll() is None, f"the command ended before it could be interrupted: {p.communicate()[1][-2000:]}"
        assert parts(run_dir) >= 1, "no part was written within 180 s"
        children = proc.children(recursive=True)
        os.kill(p.pid, signal.SIGINT)
        _, stderr = p.communicate(timeout=300)  # a loaded 2-core machine may take long to wind down 2 workers
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    return p.returncode, stderr, children


@pytest.mark.parametrize("case", list(CASES))
def test_sigint_stops_cleanly_then_resume_completes(case: str, tmp_path: Path) -> None:
    args, expected_parts, workers = CASES[case]
    run_dir = tmp_path / case
    code, stderr, children = interrupt(command(case, args), tmp_path, run_dir, workers)
    assert code == 130, stderr[-3000:]
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr[-3000:]}"
    assert "--resume" in lines[0] and "continue with: " in lines[0], lines[0]
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "interrupted"
    assert len(manifest["parts"]) < expected_parts, "the interrupt came too late to test anything"
    assert len(children) >= workers, [c.name() for c in children]
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, f"processes survived the interrupted command: {[(c.pid, c.name()) for c in alive]}"
    assert not list(run_dir.rglob(f"{TMP_PREFIX}*")), "temporary files survived"

    # the printed command continues the run to its end
    resume = shlex.split(lines[0].split("continue with: ", 1)[1])
    assert resume[0] == "aidflow" and resume[-1] == "--resume"
    done = subprocess.run(
        [*AIDFLOW, *resume[1:]], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "completed" and manifest["error"] is None
    assert len(manifest["parts"]) == expected_parts == parts(run_dir)


def test_sigint_on_a_dask_local_cluster(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    run_dir = tmp_path / "dask"
    argv = command("dask", ["run", "-n", "20", "--scheduler", "local", "-j", "2"])
    code, stderr, children = interrupt(argv, tmp_path, run_dir, 2)
    assert code == 130, stderr[-3000:]
    lines = [ln for ln in stderr.splitlines() if "continue with: " in ln]
    assert len(lines) == 1 and lines[0].rstrip().endswith("--resume"), stderr[-3000:]
    assert json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["status"] == "interrupted"
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"processes survived: {[(c.pid, c.name()) for c in alive]}"


def test_sigkill_leaves_no_worker_behind(tmp_path: Path) -> None:
    """SIGKILL cannot be handled by the command; its ``-j 2`` workers notice their parent is gone and exit."""
    run_dir = tmp_path / "killed"
    p = subprocess.Popen(
        command("killed", ["run", "-n", "20", "-j", "2"]),
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        proc = psutil.Process(p.pid)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and p.poll() is None:
            if parts(run_dir) >= 1 and len(proc.children(recursive=True)) >= 3:
                break
            time.sleep(0.01)
        children = proc.children(recursive=True)
        assert p.poll() is None and len(children) >= 3, "the run ended before its workers could be seen"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"processes survived the killed command: {[(c.pid, c.name()) for c in alive]}"


SWALLOWED = '''"""Test fault: replication 1 gets Ctrl-C inside a weakref callback, where Python drops exceptions."""
import os
import signal
import time
import weakref

import sim.run

_real_run = sim.run.run


class _Gone:
    pass


def _ctrl_c_while_collecting(_ref):
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.2)  # the handler runs here and its KeyboardInterrupt is "ignored"


def _run(scenario, strategy="baseline", replication=0, *args, **kwargs):
    if replication == 1:
        x = _Gone()
        ref = weakref.ref(x, _ctrl_c_while_collecting)
        del x
        del ref
    return _real_run(scenario, strategy, replication, *args, **kwargs)


sim.run.run = _run
'''


def test_a_ctrl_c_python_swallows_still_interrupts(tmp_path: Path) -> None:
    """A KeyboardInterrupt raised inside a weakref callback is printed as "Exception ignored"
    and lost; the command must still stop as interrupted (exit 130), not finish as if no one asked."""
    fault = tmp_path / "fault"
    fault.mkdir()
    (fault / "sitecustomize.py").write_text(SWALLOWED, encoding="utf-8")
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(fault), *filter(None, [ENV.get("PYTHONPATH")])])}
    out = tmp_path / "swallowed"
    argv = command("swallowed", ["run", "-n", "3"])
    p = subprocess.run(
        argv,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=_sigint_default,
    )
    assert p.returncode == 130, p.stderr[-3000:]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["status"] == "interrupted"
    assert "--resume" in p.stderr
