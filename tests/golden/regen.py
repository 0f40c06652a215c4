"""Regenerate the golden KPI files of the scenario library (a deliberate, reviewed diff).

Usage: ``.venv/bin/python tests/golden/regen.py`` — runs every library scenario's baseline for
``REPLICATIONS`` replications through the engine and the KPI projection of the Parquet log,
and writes ``tests/golden/<scenario>.json`` with the headline KPIs. ``test_golden.py`` checks
the same numbers within ``RELATIVE_TOLERANCE``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
REPLICATIONS = 2
RELATIVE_TOLERANCE = 1e-9
NODE_KPIS = ("stockout_days", "demand_fill_rate", "ready_rate", "on_hand_mean_units", "backorders_mean_units")
"""KPIs kept per node too (the others only as totals)."""
LIBRARY = ("small_routers", "it_coalition_2025", "fpv_drones_2024_2025", "ramstein_package_2025", "border_disruption")
GOLDEN_KPIS = (
    "units_required",
    "units_ordered",
    "units_produced",
    "units_delivered",
    "units_lost",
    "requirements_closed",
    "eur_committed",
    "lead_time_mean_days",
    "lead_time_p50_days",
    "lead_time_p90_days",
    "otif",
    "fill_rate",
    "stockout_days",
    "contract_value_eur",
    "agency_fees_eur",
    "transport_cost_eur",
    "total_cost_eur",
    # the pull side (issue 14): demand from consumption and stock policies
    "units_demanded",
    "demand_fill_rate",
    "ready_rate",
    "on_hand_mean_units",
    "backorders_mean_units",
    "orders_placed",
)


def golden_kpis(name: str) -> dict[str, Any]:
    """The headline KPIs of ``name``'s baseline, per replication, from the written log."""
    import pyarrow.parquet as pq

    from results.kpis import kpi_table
    from results.store.part_writer import PartWriter
    from scenarios.load import load
    from sim.run import run

    scenario = load(ROOT / "scenarios" / f"{name}.yaml")
    out: dict[str, Any] = {"scenario": name, "replications": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(REPLICATIONS):
            path = Path(tmp) / f"rep={rep}.parquet"
            writer = PartWriter(path)
            _, result = run(scenario, "baseline", rep, sink=writer)
            writer.close()
            table = kpi_table(pq.read_table(path), scenario, "baseline", rep, end=result.end_day)
            rows = {}
            for r in table.to_pylist():
                if r["kpi"] in GOLDEN_KPIS and r["link"] is None and (r["node"] is None or r["kpi"] in NODE_KPIS):
                    key = "|".join([r["kpi"], r["item"] or "*", r["node"] or "*"])
                    rows[key] = r["value"]
            out["replications"][str(rep)] = {"status": result.status, "kpis": dict(sorted(rows.items()))}
    return out


def main() -> int:
    """Write every golden file."""
    sys.path.insert(0, str(ROOT))
    for name in LIBRARY:
        data = golden_kpis(name)
        (HERE / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"wrote tests/golden/{name}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
