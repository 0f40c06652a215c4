"""Groups ``scenarios`` and ``scenarios-build``: one replication of each library scenario.

Building (load the YAML, validate, compile the context) and running (baseline, replication 0,
log kept in memory and made a table) are timed apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenarios.load import load
from sim.run import build_context, run

LIBRARY = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_scenario_build(benchmark: Any, path: Path) -> None:
    benchmark.group = "scenarios-build"
    ctx = benchmark.pedantic(lambda: build_context(load(path)), rounds=3, iterations=1)
    assert ctx.scenario.name


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_scenario_run(benchmark: Any, path: Path) -> None:
    benchmark.group = "scenarios"
    scenario = load(path)

    def once() -> Any:
        log, result = run(scenario)
        log.table()
        return result

    result = benchmark.pedantic(once, rounds=3, iterations=1, warmup_rounds=1)
    assert result.status in ("completed", "incomplete", "deadlocked"), (result.status, result.error)
    best = benchmark.stats.stats.min
    lots = int(result.counters.get("lots_produced", 0))
    benchmark.extra_info.update(
        {
            "events": result.rows,
            "lots": lots,
            "events_per_s": round(result.rows / best),
            "lots_per_s": round(lots / best),
            "status": result.status,
        }
    )
