"""Every ``aidflow`` command of the README's fenced ``sh`` blocks, run as written, must exit 0.

The commands run through the installed console script (``aidflow`` next to the test's Python,
and ``.venv/bin/aidflow`` for the lines that spell it so), each in ``bash -c`` so redirections
and quoting work as in a terminal, in a temporary working directory holding a link to the
shipped ``scenarios/`` and a fresh ``runs/``.

What is changed, and why:

- replications: ``-n N`` becomes ``-n 1`` (``-n 2`` for ``compare``, whose paired CIs need two)
  and a ``bottlenecks`` of a scenario file without ``-n`` gets ``-n 1``; a ``compare
  --target-halfwidth`` without ``-n`` gets ``-n 2 --max-replications 4`` (one doubling of the
  loop instead of 10 replications doubling until the CIs are narrow). The README's counts are
  for answers, this test checks that the commands work. Nothing else is rewritten.
- skipped, with the reason: lines that need an external Dask cluster (``--scheduler tcp://``,
  ``--scheduler-file``, ``dask scheduler|worker``); ``make`` lines are not ``aidflow`` commands.
- ``runs/demo`` is what ``make demo`` writes: the test makes it first with the demo's own run
  command (``aidflow run <flagship> --out runs/demo``, one replication, no report).

Order: the README's order within chains that share no run directory, two chains at a time: the
commands reading ``runs/demo`` (after the demo run), then the other commands of each fenced
block (a block is one story: ``run`` before ``--resume``). ``sql runs/`` reads every run, so it
runs last, alone. Two blocks writing the same directory would fail here as they would for a
reader running the README top to bottom: the second is refused.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FLAGSHIP = "scenarios/fpv_drones_2024_2025.yaml"  # the Makefile's FLAGSHIP, which make demo runs
DEMO = f"aidflow run {FLAGSHIP} --out runs/demo -n 1 -q"

pytestmark = pytest.mark.slow

SKIP = [
    (re.compile(r"--scheduler\s+tcp://"), "needs an external Dask scheduler"),
    (re.compile(r"--scheduler-file\b"), "needs an external Dask cluster's scheduler file"),
    (re.compile(r"^dask\s+(scheduler|worker)\b"), "starts an external Dask cluster"),
]
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)
_AIDFLOW = re.compile(r"^(\.venv/bin/)?aidflow\s")


@dataclass(frozen=True)
class Command:
    """One README line: as written, as run, why it is skipped (if it is), and its block."""

    written: str
    run: str
    skip: str = ""
    block: int = 0


def _command(line: str, block: int = 0) -> Command:
    for pattern, reason in SKIP:
        if pattern.search(line):
            return Command(line, "", reason, block)
    words = shlex.split(line, comments=True)
    command = words[1] if len(words) > 1 else ""
    cap = "2" if command == "compare" else "1"
    run = re.sub(r"(\s)(-n|--replications)\s+\d+", rf"\1\2 {cap}", line)
    no_n = not {"-n", "--replications"} & set(words)
    if command == "bottlenecks" and words[2].endswith(".yaml") and no_n:
        run = _append(run, "-n 1")
    if command == "compare" and "--target-halfwidth" in words and no_n:
        run = _append(run, "-n 2 --max-replications 4")
    return Command(line, run, "", block)


def _append(run: str, extra: str) -> str:
    """``run`` with ``extra`` added to its arguments, before a trailing comment."""
    head, sep, comment = run.partition("  #")
    return f"{head.rstrip()} {extra}" + (f"  {sep.strip()}{comment}" if sep else "")


def readme_commands() -> list[Command]:
    """Every line of a fenced ``sh`` block that calls ``aidflow`` or ``dask``, in README order."""
    found = []
    for i, block in enumerate(_BLOCK.findall(README.read_text(encoding="utf-8"))):
        for raw in block.splitlines():
            line = raw.strip()
            if _AIDFLOW.match(line) or line.startswith("dask "):
                found.append(_command(line, i))
    return found


def test_the_readme_commands_are_found_and_rewritten_as_documented() -> None:
    commands = readme_commands()
    assert len(commands) >= 20
    assert not [c.written for c in commands if "S.yaml" in c.written], "placeholder scenarios in the README"
    run = _command("aidflow run scenarios/x.yaml -n 30 -j 2 --out runs/x   # 30 replications")
    assert run.run == "aidflow run scenarios/x.yaml -n 1 -j 2 --out runs/x   # 30 replications"
    assert _command("aidflow compare s.yaml --strategy a --strategy b -n 30").run.endswith("-n 2")
    assert _command("aidflow bottlenecks s.yaml   # ranking").run == "aidflow bottlenecks s.yaml -n 1  # ranking"
    assert _command("aidflow bottlenecks runs/demo").run == "aidflow bottlenecks runs/demo"
    halfwidth = "aidflow compare s.yaml --strategy a --strategy b --target-halfwidth 5%"
    assert _command(halfwidth).run == f"{halfwidth} -n 2 --max-replications 4"
    assert _command("aidflow compare s.yaml --target-halfwidth 5% -n 8").run.endswith("5% -n 2")
    assert _command("aidflow run s.yaml -n 3 --scheduler tcp://h:8786").skip


def _shell(command: str, cwd: Path, env: dict[str, str]) -> tuple[str, subprocess.CompletedProcess[str]]:
    proc = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    return command, proc


def test_every_readme_command_runs(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "aidflow").exists():
        pytest.fail(f"no aidflow console script next to {sys.executable}: install the package (pip install -e .)")
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    (tmp_path / ".venv").symlink_to(bin_dir.parent)  # for the lines written .venv/bin/aidflow
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "COLUMNS": "160"}

    commands = readme_commands()
    runnable = [c for c in commands if not c.skip]
    last = [c.run for c in runnable if re.match(r"^aidflow sql runs/\s", c.run)]
    chains = [[DEMO] + [c.run for c in runnable if "runs/demo" in c.run]]
    for block in sorted({c.block for c in runnable}):
        lines = [c.run for c in runnable if c.block == block and "runs/demo" not in c.run and c.run not in last]
        if lines:
            chains.append(lines)

    def chain(lines: list[str]) -> list[tuple[str, subprocess.CompletedProcess[str]]]:
        done = []
        for line in lines:
            done.append(_shell(line, tmp_path, env))
            if done[-1][1].returncode != 0:
                break  # the rest of a chain may need what failed
        return done

    with ThreadPoolExecutor(2) as pool:
        results = [r for part in pool.map(chain, chains) for r in part]
    results += chain(last)

    failures = [
        f"$ {line}\nexit {proc.returncode}\n{proc.stderr[-1500:]}" for line, proc in results if proc.returncode != 0
    ]
    assert not failures, "\n\n".join(failures)
    ran = {line for line, _ in results}
    assert ran == {DEMO, *(c.run for c in runnable)}, "a README command was not run"
