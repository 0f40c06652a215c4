"""Running the ``core`` workload in aidflow: the log written to Parquet exactly as a run writes it.

``run_core(spec, out_dir)`` builds the scenario (timed apart), runs one replication with a
``results.store.PartWriter`` as the log's sink (row groups written by its writer thread) and
closes the part, so the wall time includes every row reaching the Parquet file;
``run_scenario`` does the same for any scenario (the other workloads of ``benchmarks/suite.py``).
``lead_times`` and ``order_lead_times`` read lead times back from a log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.workload import CoreSpec, core_scenario

__all__ = ["CoreRun", "lead_times", "order_lead_times", "run_core", "run_scenario"]


@dataclass
class CoreRun:
    """One aidflow run of the core workload."""

    build_s: float
    wall_s: float
    rows: int
    lots: int
    status: str
    end_day: float
    path: Path | None

    @property
    def events_per_s(self) -> float:
        """Log rows per second of wall time."""
        return self.rows / self.wall_s

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        return {
            "build_s": self.build_s,
            "wall_s": self.wall_s,
            "rows": self.rows,
            "lots": self.lots,
            "status": self.status,
            "end_day": self.end_day,
        }


def run_scenario(scenario: Any, path: str | Path, replication: int = 0) -> tuple[float, Any]:
    """Run ``scenario`` once with its log written to ``path`` by a ``PartWriter``; (wall seconds, ``RunResult``).

    The wall time covers the run and closing the Parquet file (every row on disk), not the build.
    """
    from results.store.part_writer import PartWriter
    from sim.run import run

    t0 = time.perf_counter()
    writer = PartWriter(Path(path))
    try:
        _, result = run(scenario, "baseline", replication, sink=writer)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return time.perf_counter() - t0, result


def run_core(spec: CoreSpec, out_dir: str | Path, replication: int = 0, keep: bool = False) -> CoreRun:
    """Build and run ``spec`` once, writing its log to ``out_dir`` as Parquet; the file is removed unless ``keep``."""
    t0 = time.perf_counter()
    scenario = core_scenario(spec)
    build_s = time.perf_counter() - t0
    path = Path(out_dir) / f"core-{spec.lots}-rep{replication}.parquet"
    wall_s, result = run_scenario(scenario, path, replication)
    if not keep:
        path.unlink(missing_ok=True)
    return CoreRun(
        build_s,
        wall_s,
        result.rows,
        int(result.counters.get("lots_done", 0)),
        result.status,
        result.end_day,
        path if keep else None,
    )


def lead_times(table: Any) -> Any:
    """Per delivered lot: (produced day, lead time in days), from an event table, in lot order."""
    import numpy as np
    import pyarrow.compute as pc

    kind = table.column("kind").cast("string")
    lot = table.column("lot").to_numpy()
    t = table.column("t").to_numpy()
    made = pc.equal(kind, "lot_produced").to_numpy(zero_copy_only=False)
    done = pc.equal(kind, "delivered").to_numpy(zero_copy_only=False)
    n = int(lot.max()) + 1 if len(lot) else 0
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    start[lot[made]] = t[made]
    end[lot[done]] = t[done]
    ok = ~np.isnan(end)
    return start[ok], (end - start)[ok]


def order_lead_times(table: Any) -> Any:
    """Per delivered lot: days from its requirement's ``requirement_opened`` row to its delivery, in log order."""
    import numpy as np
    import pyarrow.compute as pc

    kind = table.column("kind").cast("string")
    ref = table.column("ref").to_numpy()
    t = table.column("t").to_numpy()
    opened = pc.equal(kind, "requirement_opened").to_numpy(zero_copy_only=False)
    done = pc.equal(kind, "delivered").to_numpy(zero_copy_only=False)
    start = np.full(int(ref.max()) + 1 if len(ref) else 0, np.nan)
    start[ref[opened]] = t[opened]
    return t[done] - start[ref[done]]
