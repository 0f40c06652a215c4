"""Shared helpers of the benchmark suites (``make bench``; never part of ``make test``).

Groups (design.md section 7.11; build and run timed apart):

- ``frequent``: the operations done per row or per lot — appending a record, drawing from a
  stream, looking up a lot's next link.
- ``core`` / ``core-build``: the engine on the synthetic ``core`` network
  (``benchmarks/workload.py``) with the full log written to Parquet, next to the same model
  in plain SimPy (``benchmarks/reference_simpy.py``).
- ``scenarios`` / ``scenarios-build``: one replication of each library scenario.

Every run records ``events_per_s`` and ``lots_per_s`` in ``extra_info``; ``make bench`` saves
the results as JSON under ``.benchmarks/`` (compare runs with ``--benchmark-compare``) and
then prints the aidflow / plain-SimPy table of ``benchmarks/compare_table.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
