"""Run directories for tests, written in-process the way ``aidflow run`` writes them.

``RunStore`` + one ``PartWriter`` per (strategy, replication) + KPIs from each part read back
from disk; the scenario file is the resolved one for a single strategy, else the base (as
``sim.cli.execute.execute`` does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from results.kpis import kpi_table
from results.store.reading import read_events
from results.store.run_store import RunStore
from scenarios.schema import Scenario
from sim.cli.execute import resolved_yaml
from sim.run import run

__all__ = ["make_run_dir"]


def make_run_dir(
    root: Path,
    scenario: Scenario,
    strategies: Sequence[str] = ("baseline",),
    reps: int = 1,
    args: list[str] | None = None,
) -> Path:
    """Write a completed run directory of ``scenario`` at ``root`` and return ``root``."""
    store = RunStore(root, overwrite=True, scenario_name=scenario.name, args=args)
    store.write_scenario(resolved_yaml(scenario, strategies[0] if len(strategies) == 1 else None))
    kpis = []
    for strategy in strategies:
        for rep in range(reps):
            writer = store.open_part(strategy, rep)
            _, result = run(scenario, strategy, rep, sink=writer)
            sha, rows = writer.close()
            store.finish_part(strategy, rep, sha, rows, dataclasses.asdict(result))
            kpis.append(kpi_table(read_events(root, strategy, rep), scenario, strategy, rep, end=result.end_day))
    store.write_kpis(pa.concat_tables(kpis))
    store.set_status("completed")
    return root
