"""Issue 19: the summary path must not import ``scipy.stats`` (1-4 s per CLI process).

Student's t quantile comes from ``scipy.special.stdtrit`` (the function ``scipy.stats.t.ppf``
itself calls); the intervals are checked against t quantiles from printed tables.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pytest

from results.compare import t_ci
from results.kpis import summarise
from results.report_data import mean_band

# t(0.975, df) from a printed table (e.g. NIST/SEMATECH e-Handbook, Table 1.3.6.7.2)
T975 = {1: 12.706, 2: 4.303, 4: 2.776, 29: 2.045}


def _kpi_table(values: list[float]) -> pa.Table:
    n = len(values)
    return pa.table(
        {
            "kpi": pa.array(["score"] * n, pa.string()),  # open range: the t interval unclipped (results.stats)
            "item": pa.array(["all"] * n, pa.string()),
            "node": pa.array([None] * n, pa.string()),
            "link": pa.array([None] * n, pa.string()),
            "value": pa.array(values, pa.float64()),
            "strategy": pa.array(["baseline"] * n, pa.string()),
            "replication": pa.array(list(range(n)), pa.int64()),
        }
    )


def test_summary_compare_and_report_intervals_do_not_import_scipy_stats() -> None:
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import pyarrow as pa
        from results.kpis import summarise
        from results.compare import t_ci
        from results.report_data import mean_band
        n = 3
        summarise(pa.table({
            "kpi": ["otif"] * n, "item": ["all"] * n, "node": [None] * n, "link": [None] * n,
            "value": [1.0, 2.0, 4.0], "strategy": ["b"] * n, "replication": [0, 1, 2],
        }))
        t_ci(np.array([1.0, 2.0, 4.0]))
        mean_band(np.array([[1.0], [2.0], [4.0]]))
        print(sorted(m for m in sys.modules if m.startswith("scipy.stats")))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("df", sorted(T975))
def test_summary_interval_uses_students_t(df: int) -> None:
    values = [float(i * i) for i in range(df + 1)]  # n = df + 1, sample std by hand below
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    row = summarise(_kpi_table(values)).to_pylist()[0]
    half = (row["ci95_high"] - row["ci95_low"]) / 2
    assert row["mean"] == pytest.approx(mean)
    assert half / (sd / math.sqrt(n)) == pytest.approx(T975[df], abs=6e-4)
    _, lo, hi = t_ci(np.array(values))
    assert (hi - lo) / 2 == pytest.approx(half)
    _, band_lo, band_hi = mean_band(np.array(values)[:, None])
    assert band_lo is not None and band_hi is not None
    assert float(band_hi[0] - band_lo[0]) / 2 == pytest.approx(half)


def test_one_replication_has_no_interval() -> None:
    row = summarise(_kpi_table([5.0])).to_pylist()[0]
    assert (row["n"], row["mean"], row["std"], row["ci95_low"], row["ci95_high"]) == (1, 5.0, None, None, None)


def test_a_one_replication_summary_imports_no_scipy() -> None:
    """One replication has no interval, so ``summarise`` needs no t quantile (scipy.special: ~0.4 s)."""
    code = textwrap.dedent(
        """
        import sys
        import pyarrow as pa
        from results.kpis import summarise
        summarise(pa.table({
            "kpi": ["otif"], "item": ["all"], "node": [None], "link": [None],
            "value": [1.0], "strategy": ["b"], "replication": [0],
        }))
        print(sorted(m for m in sys.modules if m.split(".")[0] == "scipy"))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert proc.stdout.strip() == "[]"
