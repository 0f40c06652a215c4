"""Executors give one answer: serial, local processes, a Dask LocalCluster and a Dask cluster.

The same experiment (``small_routers`` with 4 replications) is run five ways: serially (in
this process, through ``sim.cli.execute.execute``), and by the ``aidflow`` console script with
``-j 2``, with ``--scheduler local -j 2`` and on a Dask scheduler with two workers started
here on 127.0.0.1 (joined once with ``--scheduler tcp://...`` and once with
``--scheduler-file``). Every run directory must record the same sha256 for every part, hold
tables with the same canonical hash (``table_sha256``), and the same KPI table. Then one Dask
worker is SIGKILLed in the middle of a sweep: Dask reschedules its tasks on the other worker
and the sweep ends with the parts of a serial run.

The cluster is three subprocesses of this virtualenv (``dask scheduler`` and two ``dask
worker --no-nanny``, so that the process we kill *is* the worker); the project is installed
editable in the venv, so the workers import it. They are stopped in the fixture's teardown
(SIGTERM, then SIGKILL after a timeout), workers first.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from rich.console import Console

from results.store.hashing import table_sha256
from results.store.reading import read_events
from results.store.run_store import read_manifest
from scenarios.load import load
from sim.cli.execute import Experiment, execute

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # tests/conftest.py starts the slow files first

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
FPV = ROOT / "scenarios" / "fpv_drones_2024_2025.yaml"
BIN = Path(sys.executable).parent
DASK = BIN / "dask"
AIDFLOW = [str(BIN / "aidflow")] if (BIN / "aidflow").exists() else [sys.executable, "-m", "sim.cli"]
ENV = {k: v for k, v in os.environ.items() if k != "AIDFLOW_DEBUG"}
REPS = 4
QUIET = Console(stderr=True, quiet=True)


def stop(p: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """Terminate one process we started; kill it if it does not go within ``timeout``."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout)


def tail(path: Path, n: int = 2000) -> str:
    """The end of a log file (for assertion messages)."""
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


@dataclass
class Cluster:
    """A Dask scheduler and its workers, all subprocesses of this test module."""

    folder: Path
    scheduler_file: Path
    address: str
    scheduler: subprocess.Popen[Any]
    workers: list[subprocess.Popen[Any]] = field(default_factory=list)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{tail(p)}" for p in sorted(self.folder.glob("*.log")))

    def executed(self) -> dict[str, int]:
        """Tasks each live worker has executed so far, by worker name."""
        from distributed import Client

        with Client(scheduler_file=str(self.scheduler_file), timeout="20s") as c:
            counts = c.run(lambda dask_worker: (dask_worker.name, dask_worker.state.executed_count))
        return dict(counts.values())

    def lost_tasks(self) -> dict[str, int]:
        """Tasks the scheduler took back from a dead worker, by the state they were in (processing, memory)."""
        from distributed import Client

        def count(dask_scheduler: Any) -> dict[str, int]:
            out: dict[str, int] = {}
            for tr in dask_scheduler.transition_log:
                if str(tr.stimulus_id).startswith("handle-worker-cleanup") and str(tr.key).startswith("run_task"):
                    out[tr.start] = out.get(tr.start, 0) + 1
            return out

        with Client(scheduler_file=str(self.scheduler_file), timeout="20s") as c:
            return c.run_on_scheduler(count)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """``dask scheduler`` on 127.0.0.1 (random port) and two single-thread workers."""
    folder = tmp_path_factory.mktemp("dask")
    sf = folder / "scheduler.json"
    procs: list[subprocess.Popen[Any]] = []

    def spawn(args: list[str], log: str) -> subprocess.Popen[Any]:
        with open(folder / log, "wb") as f:
            p = subprocess.Popen(
                [str(DASK), *args], cwd=folder, env=ENV, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        procs.append(p)
        return p

    try:
        sched = spawn(
            [
                "scheduler",
                *("--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(sf), "--no-dashboard"),
                *("--idle-timeout", "600"),  # a safety net should this process die without teardown
            ],
            "scheduler.log",
        )
        deadline = time.monotonic() + 60
        address = None
        while address is None:
            assert sched.poll() is None, f"the scheduler exited:\n{tail(folder / 'scheduler.log')}"
            assert time.monotonic() < deadline, f"no scheduler file:\n{tail(folder / 'scheduler.log')}"
            try:
                address = json.loads(sf.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        assert address.startswith("tcp://127.0.0.1:"), address
        workers = [
            spawn(
                [
                    "worker",
                    *("--scheduler-file", str(sf), "--nthreads", "1", "--no-dashboard", "--no-nanny"),
                    *("--name", f"w{i}", "--local-directory", str(folder / f"w{i}"), "--death-timeout", "60"),
                ],
                f"worker{i}.log",
            )
            for i in range(2)
        ]
        c = Cluster(folder, sf, address, sched, workers)
        from distributed import Client

        with Client(scheduler_file=str(sf), timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
        yield c
    finally:
        for p in procs[1:]:
            stop(p)
        if procs:
            stop(procs[0])


def aidflow(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """Start the console script (quiet, output captured)."""
    return subprocess.Popen(
        [*AIDFLOW, *args, "--quiet"],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def finish(p: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    """Wait for a process (killing it on timeout); returns (exit code, stdout, stderr)."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=10)
        pytest.fail(f"{p.args} did not finish within {timeout} s:\n{err[-3000:]}")
    return p.returncode, out, err


def manifest_hashes(run_dir: Path) -> dict[tuple[str, int], str]:
    """(strategy label, replication) -> part sha256, as recorded in the manifest."""
    return {(p["strategy"], p["replication"]): p["sha256"] for p in read_manifest(run_dir)["parts"]}


def content_hashes(run_dir: Path) -> dict[tuple[str, int], str]:
    """(strategy label, replication) -> ``table_sha256`` of the part read back from disk."""
    return {(s, r): table_sha256(read_events(run_dir, s, r)) for s, r in manifest_hashes(run_dir)}


EXECUTORS = {
    "processes": ["-j", "2"],
    "local_cluster": ["--scheduler", "local", "-j", "2"],
    "tcp_scheduler": ["--scheduler", "{address}"],
    "scheduler_file": ["--scheduler-file", "{scheduler_file}"],
}


@pytest.fixture(scope="module")
def runs(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The experiment run serially and on every executor (all at once), run directories by name."""
    folder = tmp_path_factory.mktemp("executors")
    fill = {"address": cluster.address, "scheduler_file": str(cluster.scheduler_file)}
    procs = {}
    for name, extra in EXECUTORS.items():
        args = [a.format(**fill) for a in extra]
        procs[name] = aidflow(["run", str(SMALL), "-n", str(REPS), "--out", str(folder / name), *args], folder)
    try:
        # the serial reference, in this process, while the others run
        s = load(SMALL)
        outcome = execute(Experiment(SMALL, s, ["baseline"], REPS, folder / "serial", quiet=True), QUIET)
        assert outcome.status == "completed", outcome.messages
        for name, p in procs.items():
            code, _, err = finish(p)
            assert code == 0, f"{name}: exit {code}\n{err[-3000:]}\n{cluster.logs()}"
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
    return {name: folder / name for name in ("serial", *EXECUTORS)}


def test_serial_run_is_complete(runs: dict[str, Path]) -> None:
    m = read_manifest(runs["serial"])
    assert m["status"] == "completed"
    assert sorted(manifest_hashes(runs["serial"])) == [("baseline", r) for r in range(REPS)]
    assert len(set(manifest_hashes(runs["serial"]).values())) == REPS, "replications must differ"


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_same_event_logs_on_every_executor(runs: dict[str, Path], executor: str) -> None:
    ref, run_dir = runs["serial"], runs[executor]
    m = read_manifest(run_dir)
    assert m["status"] == "completed", m.get("error")
    assert manifest_hashes(run_dir) == manifest_hashes(ref)
    assert content_hashes(run_dir) == content_hashes(ref)
    rows = {(p["strategy"], p["replication"]): p["rows"] for p in m["parts"]}
    assert rows == {(p["strategy"], p["replication"]): p["rows"] for p in read_manifest(ref)["parts"]}
    assert pq.read_table(run_dir / "kpis.parquet").equals(pq.read_table(ref / "kpis.parquet"))


def test_cluster_ran_the_tasks(runs: dict[str, Path], cluster: Cluster) -> None:
    """The tcp and scheduler-file runs really went to the two workers."""
    executed = cluster.executed()
    assert sorted(executed) == ["w0", "w1"]
    assert all(n > 0 for n in executed.values()), executed
    assert sum(executed.values()) >= 2 * REPS, executed


def parts_on_disk(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "events").glob("strategy=*/rep=*.parquet")) if (run_dir / "events").is_dir() else []


def test_sweep_survives_a_killed_worker(cluster: Cluster, tmp_path: Path) -> None:
    """SIGKILL one worker once the first part is on disk; the sweep completes with the serial parts."""
    alive = [w for w in cluster.workers if w.poll() is None]
    assert len(alive) == 2, "the cluster lost a worker before this test"
    points, reps = 4, 2
    sweep = ["sweep", str(FPV), "--param", f"links.rail_kyiv_dnipro.vehicles=2..{1 + points}", "-n", str(reps)]
    sweep += ["--format", "json"]
    dask_dir, serial_dir = tmp_path / "dask", tmp_path / "serial"
    before = cluster.executed()
    proc = aidflow([*sweep, "--out", str(dask_dir), "--scheduler-file", str(cluster.scheduler_file)], tmp_path)
    reference = aidflow([*sweep, "--out", str(serial_dir)], tmp_path)
    victim = alive[0]
    try:
        deadline = time.monotonic() + 120
        while not parts_on_disk(dask_dir):
            assert proc.poll() is None, f"the sweep ended before writing a part:\n{proc.communicate()[1][-3000:]}"
            assert time.monotonic() < deadline, "no part after 120 s"
            time.sleep(0.01)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        at_kill = len(parts_on_disk(dask_dir))
        code, out, err = finish(proc, 180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert victim.returncode == -signal.SIGKILL
    assert code == 0, f"exit {code}\n{err[-3000:]}\n{cluster.logs()}"
    total = points * reps
    assert at_kill < total, "the worker was killed after the sweep had finished"
    m = read_manifest(dask_dir)
    assert m["status"] == "completed"
    assert len(m["parts"]) == total
    assert len(json.loads(out)["response"]) > 0
    ref_code, _, ref_err = finish(reference, 180)
    assert ref_code == 0, ref_err[-3000:]
    assert manifest_hashes(dask_dir) == manifest_hashes(serial_dir)
    assert content_hashes(dask_dir) == content_hashes(serial_dir)
    assert pq.read_table(dask_dir / "sweep.parquet").equals(pq.read_table(serial_dir / "sweep.parquet"))
    # the scheduler noticed: one worker is left, and it did the rest of the work
    after = cluster.executed()
    assert sorted(after) == ["w1"], after
    survivor = after["w1"] - before["w1"]
    lost = cluster.lost_tasks()
    print(f"w0 killed with {at_kill}/{total} parts on disk; tasks taken back {lost}; w1 ran {survivor}; hashes equal")
    assert lost.get("processing", 0) >= 1, f"the killed worker held no task: {lost}"
    assert survivor >= total - at_kill - 2, (survivor, at_kill)
