"""Issue 17 items 6 and 8: the CLI reads at 80 columns, and its numbers print by kind.

``run``, ``compare``, ``sweep`` and ``graph`` of ``small_routers`` (2 replications) and every command's
``--help`` run with ``COLUMNS=80`` (stdout a pipe, as in a terminal of that width): no line
may be wider than 80 columns and no value may be cut with ``…``. Fractions print as %, counts
without decimals, money with € and separators, days to one decimal. ``aidflow --version``
prints the installed version and ``-h`` works as ``--help`` for every command.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import typer

from sim.cli import app

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
BIN = Path(sys.executable).parent
AIDFLOW = [str(BIN / "aidflow")] if (BIN / "aidflow").exists() else [sys.executable, "-m", "sim.cli"]
ENV = {k: v for k, v in os.environ.items() if k not in ("AIDFLOW_DEBUG", "COLUMNS", "LINES")} | {"COLUMNS": "80"}
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


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
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str]]:
    """run, compare and sweep at 80 columns, two at a time (the machine is shared)."""
    folder = tmp_path_factory.mktemp("columns")
    small = str(SMALL)
    jobs = {
        "run": ["run", small, "-n", "2", "-q", "--out", str(folder / "run")],
        "compare": [
            "compare",
            small,
            *("--strategy", "baseline", "--strategy", "bilateral", "--strategy", "more_lanes"),
            *("-n", "2", "-q", "--out", str(folder / "compare")),
        ],
        "graph": ["graph", small],
        "sweep": [
            "sweep",
            small,
            *("--param", "links.road_hub_border.vehicles=3..4", "-n", "2", "-q", "--out", str(folder / "sweep")),
        ],
    }
    out: dict[str, tuple[int, str, str]] = {}
    names = list(jobs)
    for i in range(0, len(names), 2):
        procs = {n: start(jobs[n], folder) for n in names[i : i + 2]}
        try:
            for name, p in procs.items():
                stdout, stderr = p.communicate(timeout=180)
                out[name] = (p.returncode, stdout, stderr)
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
                    p.wait(10)
    return out


def too_wide(text: str, width: int = 80) -> list[str]:
    return [line for line in text.splitlines() if len(line) > width]


@pytest.mark.parametrize("command", ["run", "compare", "sweep", "graph"])
def test_tables_fit_80_columns_without_cutting_values(outputs: dict[str, Any], command: str) -> None:
    code, out, err = outputs[command]
    assert code == 0, err
    assert "│" in out or "─" in out  # a table was printed
    assert too_wide(out) == [], "\n" + out
    assert "…" not in out, "\n" + out


def cells(text: str) -> list[str]:
    """The cells of a printed table, boxed (``│``) or not (two spaces or more between cells)."""
    return [c.strip() for line in text.splitlines() for c in re.split(r"│|\s{2,}", line) if c.strip()]


def test_run_prints_fractions_as_percent_and_counts_whole(outputs: dict[str, Any]) -> None:
    _, out, _ = outputs["run"]
    found = cells(out)
    assert any(re.fullmatch(r"\d{1,3}\.\d%", c) for c in found), out  # otif, fill_rate
    assert any(re.fullmatch(r"€\d{1,3}(,\d{3})+", c) for c in found), out  # total cost
    assert "1,318" in found or any(re.fullmatch(r"\d,\d{3}", c) for c in found), out  # units, no decimals
    assert not any(re.fullmatch(r"\d[\d,]*\.00", c) for c in found), out  # no "1,318.00", "0.00"


def test_compare_prints_differences_of_shares_in_points(outputs: dict[str, Any]) -> None:
    _, out, _ = outputs["compare"]
    assert re.search(r"^ *(-|\+)?\d+\.\d pp$", "\n".join(cells(out)), re.M), out  # e.g. "+1.2 pp", "0.0 pp"
    assert re.search(r"\] pp\*?$", "\n".join(cells(out)), re.M), out  # "[-1.2, +3.4] pp": the unit once


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_fits_80_columns_and_shows_option_names_whole(command: str, tmp_path: Path) -> None:
    args = [command] if command else []
    proc = subprocess.run(
        [*AIDFLOW, *args, "--help"], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert too_wide(proc.stdout) == [], "\n" + proc.stdout
    assert "…" not in proc.stdout, "\n" + proc.stdout
    if command:
        params = typer.main.get_command(app).commands[command].params  # type: ignore[attr-defined]
        for p in params:
            for name in p.opts:
                if name.startswith("-"):
                    assert re.search(rf"(^|[\s,/]){re.escape(name)}($|[\s,=/])", proc.stdout, re.M), (name, proc.stdout)
        short = subprocess.run(
            [*AIDFLOW, command, "-h"], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=60, check=False
        )
        assert (short.returncode, short.stdout) == (0, proc.stdout)


def test_version(tmp_path: Path) -> None:
    for flag in ("--version", "-V"):
        proc = subprocess.run(
            [*AIDFLOW, flag], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"aidflow {metadata.version('aidflow')}"
    short = subprocess.run([*AIDFLOW, "-h"], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=60)
    assert short.returncode == 0 and "run" in short.stdout
