"""One output-directory rule for every command that writes a run directory.

``run``, ``compare``, ``sweep`` and ``bottlenecks`` default to
``runs/<scenario>[-<command>][-<strategies>]`` (``run`` of the baseline: ``runs/<scenario>``),
so commands on different strategy sets never share a directory; an existing, non-empty
directory is refused (exit 2, naming ``--overwrite``) unless ``--overwrite`` or ``--resume``
is given, and ``--no-overwrite`` is the default everywhere.
Each refusal happens before anything runs, so these tests run nothing.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sim.cli.common import default_run_dir

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"


def test_default_directory_per_command_and_strategy_set() -> None:
    assert default_run_dir("s", "run", ["baseline"]) == Path("runs/s")
    assert default_run_dir("s", "run", ["more_lanes"]) == Path("runs/s-more_lanes")
    assert default_run_dir("s", "compare", ["baseline", "more_lanes"]) == Path("runs/s-compare-baseline-more_lanes")
    assert default_run_dir("s", "compare", ["more_lanes", "baseline"]) == Path("runs/s-compare-more_lanes-baseline")
    assert default_run_dir("s", "sweep", ["baseline"]) == Path("runs/s-sweep")
    assert default_run_dir("s", "sweep", ["bilateral"]) == Path("runs/s-sweep-bilateral")
    assert default_run_dir("s", "bottlenecks", ["baseline"]) == Path("runs/s-bottlenecks")
    assert default_run_dir("s", "bottlenecks", ["bilateral"]) == Path("runs/s-bottlenecks-bilateral")


def test_a_long_strategy_set_gets_a_short_stable_name() -> None:
    names = [f"strategy_number_{i:02d}" for i in range(20)]
    a = default_run_dir("s", "compare", names)
    assert a == default_run_dir("s", "compare", names)
    assert len(a.name) <= 100
    assert a != default_run_dir("s", "compare", names[:-1])
    assert a.name.startswith("s-compare-strategy_number_00-")


COMMANDS = {
    "run": (["run", str(SMALL), "-n", "1"], "runs/small_routers"),
    "run_strategy": (["run", str(SMALL), "--strategy", "more_lanes", "-n", "1"], "runs/small_routers-more_lanes"),
    "compare": (
        ["compare", str(SMALL), "--strategy", "baseline", "--strategy", "more_lanes", "-n", "2"],
        "runs/small_routers-compare-baseline-more_lanes",
    ),
    "sweep": (
        ["sweep", str(SMALL), "--param", "nodes.korczowa_krakovets.servers=2..3", "-n", "1"],
        "runs/small_routers-sweep",
    ),
    "bottlenecks": (
        ["bottlenecks", str(SMALL), "-n", "1", "--top", "0", "--chain", "0"],
        "runs/small_routers-bottlenecks",
    ),
    "bottlenecks_no_overwrite": (
        ["bottlenecks", str(SMALL), "-n", "1", "--top", "0", "--chain", "0", "--no-overwrite"],
        "runs/small_routers-bottlenecks",
    ),
}


def _refused(tmp: Path, args: list[str], default: str) -> subprocess.CompletedProcess[str]:
    keep = tmp / default / "keep.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("a planner's notes")
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", *args, "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp,
        check=False,
    )
    assert keep.read_text() == "a planner's notes", "the existing directory was touched"
    assert sorted(p.name for p in keep.parent.iterdir()) == ["keep.txt"]
    return proc


def test_an_existing_default_directory_is_refused_by_every_command(tmp_path: Path) -> None:
    def one(name: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        args, default = COMMANDS[name]
        return default, _refused(tmp_path / name, args, default)

    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(COMMANDS, pool.map(one, COMMANDS), strict=True))
    failures = []
    for name, (default, proc) in results.items():
        why = []
        if proc.returncode != 2:
            why.append(f"exit {proc.returncode}")
        if "Traceback" in proc.stderr:
            why.append("traceback")
        if default not in proc.stderr or "--overwrite" not in proc.stderr:
            why.append(f"no {default} and --overwrite on stderr")
        if why:
            failures.append(f"{name}: {', '.join(why)}\n{proc.stderr[-1500:]}")
    assert not failures, "\n".join(failures)
