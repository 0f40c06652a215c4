"""Experiments: task plans, replication prefixes, resume, --target-halfwidth, and bad input.

In-process through ``sim.cli.execute.execute`` (what ``run``/``compare``/``sweep`` call):
replications 0..2 of a 3-replication run are the replications 0..2 of a 5-replication run
(the 5 run on two processes), whatever order tasks finish in, and a run whose part was lost
is completed by ``resume`` with the same bytes. Through the console script: ``compare
--target-halfwidth`` adds replications until the CI is narrow enough (and stops at
``--max-replications``), and a bad ``--param`` or ``--scheduler``/``--scheduler-file`` exits
2 with a one-line message, no traceback and no run directory.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from results.compare import halfwidth
from results.store.hashing import table_sha256
from results.store.reading import read_events
from results.store.run_store import read_manifest
from scenarios.load import load
from scenarios.schema import Scenario
from sim.cli.execute import Experiment, execute
from sim.executors import SerialExecutor
from sim.experiment import plan, run_task, submit_all

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
BIN = Path(sys.executable).parent
AIDFLOW = [str(BIN / "aidflow")] if (BIN / "aidflow").exists() else [sys.executable, "-m", "sim.cli"]
ENV = {k: v for k, v in os.environ.items() if k != "AIDFLOW_DEBUG"}
STRATS = ["baseline", "bilateral"]
KPI = "lead_time_mean_days"


@pytest.fixture(scope="module")
def small() -> Scenario:
    return load(SMALL)


def experiment(s: Scenario, out: Path, reps: int, **kw: Any) -> Experiment:
    return Experiment(SMALL, s, kw.pop("strategies", STRATS), reps, out, quiet=True, **kw)


QUIET = Console(stderr=True, quiet=True)


def parts(run_dir: Path) -> dict[tuple[str, int], str]:
    return {(p["strategy"], p["replication"]): p["sha256"] for p in read_manifest(run_dir)["parts"]}


def contents(run_dir: Path) -> dict[tuple[str, int], str]:
    return {k: table_sha256(read_events(run_dir, *k)) for k in parts(run_dir)}


@pytest.fixture(scope="module")
def runs(small: Scenario, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """small_routers, baseline and bilateral: 3 replications serially, 5 on two processes."""
    folder = tmp_path_factory.mktemp("experiments")
    out = {}
    for reps, jobs in ((3, 1), (5, 2)):
        outcome = execute(experiment(small, folder / f"n{reps}", reps, jobs=jobs), QUIET)
        assert outcome.status == "completed" and outcome.failed == 0, outcome.messages
        out[reps] = folder / f"n{reps}"
    return out


def test_plan_order_and_skip(small: Scenario) -> None:
    points = [{"links.rail_lv_pl.vehicles": 2}, {"links.rail_lv_pl.vehicles": 3}]
    tasks = plan(small, STRATS, 2, points=points)
    assert [t.key for t in tasks] == [(s, p, r) for p in (0, 1) for s in STRATS for r in (0, 1)]
    assert tasks[-1].overrides == (("links.rail_lv_pl.vehicles", 3),)
    left = plan(small, STRATS, 2, points=points, skip={("baseline", 0, 1), ("bilateral", 1, 0)})
    assert [t.key for t in left] == [t.key for t in tasks if t.key not in {("baseline", 0, 1), ("bilateral", 1, 0)}]
    assert [t.key for t in plan(small, ["baseline"], 3)] == [("baseline", -1, r) for r in range(3)]


def test_results_do_not_depend_on_task_order(small: Scenario) -> None:
    tasks = plan(small, STRATS, 2)
    forward = {tr.task_key: tr.ipc for tr in submit_all(SerialExecutor(), tasks)}
    backward = {tr.task_key: tr.ipc for tr in submit_all(SerialExecutor(), tasks[::-1])}
    assert forward == backward
    assert len(set(forward.values())) == len(tasks)
    again = run_task(tasks[1])
    assert again.ipc == forward[tasks[1].key] and again.result.strategy == "baseline"


def test_replication_prefix_is_stable(runs: dict[int, Path]) -> None:
    """Replications 0..2 are the same whether 3 or 5 are asked for (and whether on 1 or 2 processes)."""
    three, five = parts(runs[3]), parts(runs[5])
    assert sorted(three) == [(s, r) for s in STRATS for r in range(3)]
    assert sorted(five) == [(s, r) for s in STRATS for r in range(5)]
    assert {k: five[k] for k in three} == three
    c3, c5 = contents(runs[3]), contents(runs[5])
    assert {k: c5[k] for k in c3} == c3
    assert len(set(c5.values())) == len(c5), "every replication is different"
    k3 = pq.read_table(runs[3] / "kpis.parquet").to_pylist()
    k5 = [r for r in pq.read_table(runs[5] / "kpis.parquet").to_pylist() if r["replication"] < 3]

    def key(r: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(r[c]) for c in ("strategy", "replication", "kpi", "item", "node", "link"))

    assert sorted(k3, key=key) == sorted(k5, key=key)


def test_resume_rebuilds_a_lost_part(small: Scenario, runs: dict[int, Path], tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    execute(experiment(small, out, 3), QUIET)
    (out / "events" / "strategy=bilateral" / "rep=1.parquet").unlink()
    (out / "kpis.parquet").unlink()
    outcome = execute(experiment(small, out, 3, resume=True), QUIET)
    assert outcome.status == "completed"
    assert parts(out) == parts(runs[3])
    assert pq.read_table(out / "kpis.parquet").equals(pq.read_table(runs[3] / "kpis.parquet"))


# --------------------------------------------------------------------------- the console script


def aidflow(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*AIDFLOW, *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SWEEP = ["sweep", str(SMALL), "-n", "1", "--quiet"]
RUN = ["run", str(SMALL), "-n", "2", "--quiet"]
BAD = {
    # --param
    "param_syntax": ([*SWEEP, "--param", "links.rail_lv_pl.vehicles=2-5"], "expected PATH=LO..HI[:STEPS]"),
    "param_not_number": ([*SWEEP, "--param", "links.rail_lv_pl.vehicles=a..5"], "expected PATH=LO..HI[:STEPS]"),
    "param_reversed": ([*SWEEP, "--param", "links.rail_lv_pl.vehicles=5..2"], "need finite LO <= HI"),
    "param_unknown_path": ([*SWEEP, "--param", "links.teleport.vehicles=1..3"], "no entry 'teleport'"),
    "param_bad_value": ([*SWEEP, "--param", "links.rail_lv_pl.vehicles=-2..1"], "is not a valid scenario"),
    "param_twice": (
        [*SWEEP, "--param", "links.rail_lv_pl.vehicles=1..2", "--param", "links.rail_lv_pl.vehicles=3..4"],
        "each path may be swept once",
    ),
    "param_steps": ([*SWEEP, "--param", "links.rail_lv_pl.vehicles=1..3:0"], "STEPS must be 1..1000"),
    # --scheduler / --scheduler-file
    "scheduler_no_port": ([*RUN, "--scheduler", "nonsense"], "bad Dask scheduler address 'nonsense'"),
    "scheduler_scheme": ([*RUN, "--scheduler", "http://127.0.0.1:8786"], "unknown address scheme 'http'"),
    "scheduler_refused": ([*RUN, "--scheduler", "tcp://127.0.0.1:{port}"], "cannot reach the Dask scheduler"),
    "scheduler_file_missing": ([*RUN, "--scheduler-file", "{folder}/none.json"], "no such file"),
    "scheduler_file_garbage": ([*RUN, "--scheduler-file", "{folder}/garbage.json"], "not a Dask scheduler file"),
    "scheduler_and_file": (
        [*RUN, "--scheduler", "local", "--scheduler-file", "{folder}/garbage.json"],
        "either --scheduler or --scheduler-file",
    ),
}


END_TO_END = ("param_unknown_path", "scheduler_refused")
"""Bad-input cases also run through the real console script (the others call ``sim.cli.main`` in-process)."""


@pytest.fixture(scope="module")
def cli(runs: dict[int, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The console-script runs of this module, at once: name -> (exit code, stdout, stderr, seconds)."""
    folder = tmp_path_factory.mktemp("cli")
    # A --target-halfwidth that one replication misses by construction (the half-width of one
    # value is infinite) and that is reached within 4: the narrower of the paired CIs at 2 and 4
    # replications (the replications of any run are the same, so those of the 5-replication run
    # are the ones the command will draw). The command widens 1 -> 2 (-> 4) and stops at the
    # first of these whose half-width is within the target, never asking for 8.
    kpis = pq.read_table(runs[5] / "kpis.parquet").to_pylist()
    by = {
        (r["strategy"], r["replication"]): r["value"]
        for r in kpis
        if r["kpi"] == KPI and r["item"] is None and r["node"] is None and r["link"] is None
    }
    d = np.array([by[("bilateral", r)] - by[("baseline", r)] for r in range(5)])
    widths = {n: halfwidth(d[:n]) for n in (1, 2, 4)}
    assert widths[1] == math.inf and math.isfinite(widths[2]) and math.isfinite(widths[4]), widths
    target = min(widths[2], widths[4]) * (1 + 1e-9)  # a hair above: the command computes it in its own order
    reached = next(n for n in (1, 2, 4) if widths[n] <= target)
    compare = ["compare", str(SMALL), "--strategy", "baseline", "--strategy", "bilateral", "--quiet"]
    compare += ["--format", "json", "--kpi", KPI]  # the KPI whose half-widths are worked out above
    cases: dict[str, list[str]] = {
        "halfwidth_reached": [
            *compare,
            *("-n", "1", "--target-halfwidth", repr(target), "--out", str(folder / "reached")),
        ],
        "halfwidth_capped": [
            *compare,
            *("-n", "2", "--target-halfwidth", "0.0001%", "--max-replications", "5", "--out", str(folder / "capped")),
        ],
    }
    for name in END_TO_END:
        cases[name] = bad_args(name, folder)
    procs = {name: aidflow(args, folder) for name, args in cases.items()}
    t0 = time.monotonic()
    out: dict[str, Any] = {"folder": folder, "target": target, "reached": reached}
    try:
        pending = dict(procs)
        while pending:  # poll, so that each process's time to exit is measured
            for name, p in list(pending.items()):
                if p.poll() is not None:
                    stdout, stderr = p.communicate()
                    out[name] = (p.returncode, stdout, stderr, time.monotonic() - t0)
                    del pending[name]
            assert time.monotonic() - t0 < 120, f"still running after 120 s: {sorted(pending)}"
            time.sleep(0.02)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
    return out


def bad_args(case: str, folder: Path) -> list[str]:
    if not (folder / "garbage.json").exists():
        (folder / "garbage.json").write_text("not json {")
    fill = {"port": closed_port(), "folder": folder}
    return [a.format(**fill) for a in BAD[case][0]] + ["--out", str(folder / f"bad-{case}")]


def test_target_halfwidth_adds_replications_until_reached(cli: dict[str, Any], runs: dict[int, Path]) -> None:
    code, out, err, _ = cli["halfwidth_reached"]
    assert code == 0, err
    n = cli["reached"]  # 2 or 4: the first of 1, 2, 4 replications whose paired CI is within the target
    assert "widening to 2 replications" in err
    assert ("widening to 4 replications" in err) == (n == 4)
    assert "widening to 8" not in err and "not reached" not in err
    doc = json.loads(out)
    assert doc["replications"] == n
    run_dir = cli["folder"] / "reached"
    m = read_manifest(run_dir)
    assert m["replications"] == n and m["status"] == "completed"
    assert sorted(parts(run_dir)) == [(s, r) for s in STRATS for r in range(n)]
    # the replications kept from the first round and the added ones are those of any other run
    five = parts(runs[5])
    assert parts(run_dir) == {k: five[k] for k in parts(run_dir)}
    (lt,) = [x for x in doc["differences"] if x["kpi"] == KPI and x["item"] is None]
    assert lt["n"] == n and (lt["ci95_high"] - lt["ci95_low"]) / 2 <= cli["target"]


def test_target_halfwidth_stops_at_the_cap(cli: dict[str, Any]) -> None:
    code, out, err, _ = cli["halfwidth_capped"]
    assert code == 0, err
    assert "widening to 4 replications" in err and "widening to 5 replications" in err
    assert "--target-halfwidth not reached within 5 replications" in err
    assert json.loads(out)["replications"] == 5
    m = read_manifest(cli["folder"] / "capped")
    assert m["replications"] == 5 and m["status"] == "completed"
    assert len(m["parts"]) == 5 * len(STRATS)


def check_bad(case: str, code: Any, out: str, err: str, seconds: float, run_dir: Path) -> None:
    assert code == 2, (out, err)
    assert BAD[case][1] in err, err
    assert "Traceback" not in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert out == ""
    assert not run_dir.exists(), "bad input must not create a run directory"


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_without_traceback(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sim.cli.main`` (the console script's entry point) in this process."""
    from sim.cli import main

    args = bad_args(case, tmp_path)
    monkeypatch.setattr(sys, "argv", ["aidflow", *args])
    monkeypatch.chdir(tmp_path)
    t0 = time.monotonic()
    with pytest.raises(SystemExit) as exc:
        main()
    seconds = time.monotonic() - t0
    captured = capsys.readouterr()
    check_bad(case, exc.value.code, captured.out, captured.err, seconds, tmp_path / f"bad-{case}")


@pytest.mark.parametrize("case", END_TO_END)
def test_bad_input_through_the_console_script(cli: dict[str, Any], case: str) -> None:
    code, out, err, seconds = cli[case]
    check_bad(case, code, out, err, seconds, cli["folder"] / f"bad-{case}")
