"""What every command of the CLI shares: the consoles, table width, bad-input errors, loading a checked scenario and the run-directory rule."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from scenarios.errors import AidflowError, ScenarioError

if TYPE_CHECKING:
    from network.checks import Check
    from scenarios.load import Positions
    from scenarios.schema import Scenario

__all__ = [
    "BadInput",
    "ScenarioPath",
    "check_format",
    "check_strategies",
    "default_run_dir",
    "err",
    "fail",
    "load_checked",
    "out",
    "table_width",
    "write_report",
]


def table_width() -> int:
    """Columns the result tables may use: COLUMNS when set, else the terminal's; piped, 160.

    Decided when a command starts (``main``), not when this module is imported: the module
    may be imported long before, with another stdout or environment (tests, notebooks).
    """
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else 160


out = Console(highlight=False, width=table_width())
err = Console(stderr=True, highlight=False, soft_wrap=True)

ScenarioPath = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]


class BadInput(AidflowError):
    """A command-line argument that cannot be used."""


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(message, markup=False)
    return typer.Exit(code)


def load_checked(path: Path) -> tuple[Scenario, Positions, list[Check]]:
    """Load a scenario, run the structural checks on it and on each strategy, and raise
    ScenarioError on any error (a strategy's at the line of the override that causes it)."""
    from scenarios.load import load_with_positions

    scenario, positions = load_with_positions(path)
    from network.checks import check, strategy_checks

    checks = check(scenario)
    errors = [c for c in checks if c.severity == "error"] + strategy_checks(scenario, checks)
    if errors:
        raise ScenarioError([positions.problem(c.loc, c.message) for c in errors])
    from sim.startup import resume_gc

    resume_gc()  # start-up ends here: sim/startup.py pause_gc
    return scenario, positions, checks


def write_report(run_dir: Path) -> None:
    from results.report import build_report

    path = build_report(run_dir)
    err.print(f"report: {path}", markup=False)


def check_strategies(s: Scenario, path: Path, wanted: list[str]) -> None:
    names = ["baseline", *(x.name for x in s.strategies)]
    for w in wanted:
        if w not in names:
            raise BadInput(f"--strategy: no strategy {w!r} in {path} (known: {', '.join(names)})")
    if len(set(wanted)) != len(wanted):
        raise BadInput("--strategy: each strategy may be named once")


def default_run_dir(scenario_name: str, command: str, strategies: list[str]) -> Path:
    """The run directory a command writes when ``--out`` is not given: the one rule for all.

    ``runs/<scenario>[-<command>][-<strategies>]``: ``run`` leaves out the command, and the
    strategy part is left out when it is the baseline alone: ``run`` of the baseline writes
    ``runs/<scenario>``, ``compare --strategy baseline --strategy more_lanes`` writes
    ``runs/<scenario>-compare-baseline-more_lanes``. A strategy part longer than 60 characters
    keeps its first name and a short hash of the whole list. Whatever the command, an existing
    non-empty directory is refused unless ``--overwrite`` or ``--resume`` is given.
    """
    import hashlib

    parts = [scenario_name] + ([] if command == "run" else [command])
    if strategies != ["baseline"]:
        joined = "-".join(strategies)
        if len(joined) > 60:
            digest = hashlib.sha256("\0".join(strategies).encode()).hexdigest()[:10]
            joined = f"{strategies[0][:40]}-{len(strategies)}-{digest}"
        parts.append(joined)
    return Path("runs") / "-".join(parts)


def check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise BadInput(f"--format: must be table or json (got {fmt!r})")
