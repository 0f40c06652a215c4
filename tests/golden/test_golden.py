"""Golden KPIs of the scenario library: any change in behaviour is a visible, deliberate diff.

Each library scenario's baseline is run again (replications 0..1) and its headline KPIs,
recomputed from the Parquet log, must equal ``tests/golden/<scenario>.json`` within a relative
tolerance of 1e-9 (the engine is deterministic; the tolerance only absorbs float summation
order). After an intended change: ``.venv/bin/python tests/golden/regen.py`` and review the diff.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from regen import LIBRARY, RELATIVE_TOLERANCE, golden_kpis

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("name", LIBRARY)
def test_library_scenario_matches_its_golden_kpis(name: str) -> None:
    golden = json.loads((HERE / f"{name}.json").read_text())
    now = golden_kpis(name)
    assert now["replications"].keys() == golden["replications"].keys()
    for rep, want in golden["replications"].items():
        got = now["replications"][rep]
        assert got["status"] == want["status"], f"{name} rep {rep}: status changed"
        assert got["kpis"].keys() == want["kpis"].keys(), f"{name} rep {rep}: KPI set changed"
        for key, value in want["kpis"].items():
            new = got["kpis"][key]
            if value is None or new is None:
                assert new == value, f"{name} rep {rep} {key}: {new} != golden {value}"
            else:
                assert math.isclose(new, value, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-9), (
                    f"{name} rep {rep} {key}: {new} != golden {value} (regenerate deliberately with tests/golden/regen.py)"
                )
