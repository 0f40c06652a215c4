"""Verification of a run: the end state rebuilt from each part's log against the engine's own.

``verify_run`` (``aidflow run --verify``) checks, for every part of a run directory, the part
file's sha256 and row count, the counters rebuilt from the log and ``end_state_from_log``
against the ``end`` the engine recorded in the manifest; ``diff_end_states`` says what
differs, one line per field. ``load_run_scenario`` reads the run's resolved scenario.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from results.replay.fold import end_state_from_log

if TYPE_CHECKING:
    from scenarios.schema import Scenario

__all__ = ["diff_end_states", "load_run_scenario", "verify_run"]


def _diff(want: Any, got: Any, path: str, out: list[str]) -> None:
    """Append to ``out`` every difference between ``want`` (engine) and ``got`` (log) under ``path``."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in list(want) + [k for k in got if k not in want]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in got:
                out.append(f"{sub}: engine {want[key]!r}, missing from the log's state")
            elif key not in want:
                out.append(f"{sub}: log {got[key]!r}, missing from the engine's state")
            else:
                _diff(want[key], got[key], sub, out)
        return
    if isinstance(want, bool) or isinstance(got, bool):
        same = want is got or (want == got and type(want) is type(got))
    elif isinstance(want, (int, float)) and isinstance(got, (int, float)):
        same = math.isclose(float(want), float(got), rel_tol=1e-12, abs_tol=1e-6)
    else:
        same = want == got
    if not same:
        out.append(f"{path}: engine {want!r}, log {got!r}")


def diff_end_states(engine: dict[str, Any], log: dict[str, Any]) -> list[str]:
    """Differences between the engine's end state and the one rebuilt from the log, one line each.

    Example:
        >>> diff_end_states({"stock": {"u/x": 3}}, {"stock": {"u/x": 2}})
        ['stock.u/x: engine 3, log 2']
    """
    out: list[str] = []
    _diff(engine, log, "", out)
    return out


def load_run_scenario(run_dir: str | Path, strategy: str = "baseline") -> Scenario | None:
    """The resolved scenario of a run directory for ``strategy`` (None without ``scenario.resolved.yaml``).

    The run store keeps one resolved scenario; a strategy it still lists is applied again
    (overrides set values, so applying one twice is harmless).
    """
    from scenarios.load import load

    path = Path(run_dir) / "scenario.resolved.yaml"
    if not path.is_file():
        return None
    scenario = load(path)
    if strategy != "baseline" and any(st.name == strategy for st in scenario.strategies):
        scenario = scenario.with_strategy(strategy)
    return scenario


def verify_run(run_dir: str | Path) -> list[str]:
    """Rebuild every part's end state from its Parquet log and compare it with the engine's.

    For each part the manifest lists: the file exists with the recorded sha256 and row count;
    ``end_state_from_log`` equals the ``end`` the engine recorded in the part's manifest entry;
    the counters rebuilt from the log (``results.kpis.end_counters``) equal the recorded ones.

    Returns:
        One line per difference (empty when the log and the engine agree everywhere).

    Raises:
        AidflowError: ``run_dir`` is not a run directory.
    """
    from results.kpis import end_counters
    from results.store import read_events, read_manifest, sha256_file

    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    parts = manifest.get("parts", [])
    problems: list[str] = []
    if not parts:
        return [f"{run_dir}: the manifest lists no finished part"]
    scenarios: dict[str, Scenario | None] = {}
    for entry in parts:
        strategy, rep = str(entry.get("strategy")), int(entry.get("replication", -1))
        where = f"{strategy} rep {rep}"
        path = run_dir / str(entry.get("path", ""))
        if not path.is_file():
            problems.append(f"{where}: part file {entry.get('path')} is missing")
            continue
        if entry.get("sha256") and sha256_file(path) != entry["sha256"]:
            problems.append(f"{where}: {entry.get('path')} does not match the sha256 in the manifest")
            continue
        table = read_events(run_dir, strategy, rep)
        if entry.get("rows") is not None and int(entry["rows"]) != table.num_rows:
            problems.append(f"{where}: {table.num_rows} rows in the part, {entry['rows']} in the manifest")
        counters = entry.get("counters") or {}
        for key, got in end_counters(table).items():
            want = counters.get(key, 0)
            if not math.isclose(float(want), float(got), rel_tol=1e-9, abs_tol=1e-6):
                problems.append(f"{where}: counters.{key}: engine {want!r}, log {got!r}")
        if strategy not in scenarios:
            scenarios[strategy] = load_run_scenario(run_dir, strategy)
        scenario = scenarios[strategy]
        if scenario is None:
            problems.append(f"{where}: no scenario.resolved.yaml in the run directory; cannot rebuild the end state")
            continue
        engine_end = entry.get("end")
        if not isinstance(engine_end, dict):
            problems.append(f"{where}: the manifest records no engine end state ('end'); cannot compare")
            continue
        problems += [f"{where}: {d}" for d in diff_end_states(engine_end, end_state_from_log(table, scenario))]
    return problems
