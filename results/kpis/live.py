"""KPIs of one replication counted while its run goes, from the batches its part writer receives.

``aidflow run``/``compare``/``sweep`` (``sim.cli.execute``) hand a ``LiveKpis`` to each part's
``results.store.PartWriter`` as its ``tap``: every record batch written to the Parquet part is
also fed, unchanged and in the same order, to a ``results.kpis.stream.KpiStream``, in the thread
that hands the batch over (the simulation's, or the parent's for a worker's part) while the
writer thread compresses it. When the part closes the KPIs are ready, and the table is the one
``results.kpis.kpi_table_of_part`` computes by reading the part back, without that read-back:
bit-equal, since both feed the stream the same slices (``tests/results/test_kpi_live.py``).

Batches are fed in slices of at most ``results.store.BATCH_ROWS`` rows, as the read-back feeds
them, so the stream's temporaries stay bounded by that size (the engine's batches hold 2^19 rows).
The run's end day is known only when it has ended: it is given to ``table``.

Example:
    >>> from scenarios.load import load
    >>> from sim.run import run
    >>> s = load("scenarios/small_routers.yaml")
    >>> live = LiveKpis(s)
    >>> _, result = run(s, sink=live)
    >>> k = live.table("baseline", 0, end=result.end_day)
    >>> whole_run = [r for r in k.to_pylist() if r["kpi"] == "units_delivered" and r["item"] is None]
    >>> whole_run[0]["value"] == result.counters["units_delivered"]
    True
"""

from __future__ import annotations

import pyarrow as pa

from results.kpis.stream import KpiStream
from results.kpis.table import kpi_table_of_stream
from results.store import BATCH_ROWS
from scenarios.schema import Scenario

__all__ = ["LiveKpis"]


class LiveKpis:
    """A sink (or ``PartWriter`` tap) that counts one replication's KPIs batch by batch.

    Args:
        scenario: The resolved scenario the replication runs (strategy and sweep point applied).
        chunk_rows: Rows fed to the stream at a time at most.
    """

    def __init__(self, scenario: Scenario, chunk_rows: int = BATCH_ROWS) -> None:
        self.stream = KpiStream(scenario)
        self.chunk_rows = max(1, chunk_rows)
        self.rows = 0

    def __call__(self, batch: pa.RecordBatch) -> None:
        """Count the next record batch of the log (rows in ``seq`` order)."""
        n, step = batch.num_rows, self.chunk_rows
        self.rows += n
        if n <= step:
            self.stream.feed(batch)
            return
        for offset in range(0, n, step):
            self.stream.feed(batch.slice(offset, step))

    def table(self, strategy: str, replication: int, end: float | None) -> pa.Table:
        """The KPI table (``results.kpis.kpi_table`` format) once every batch was fed.

        Args:
            strategy: The part's label (strategy, or ``<strategy>-ptNNN`` for a sweep point).
            replication: Replication number.
            end: The run's end day (``RunResult.end_day``); None: the scenario horizon, or
                the last event's day if later.
        """
        return kpi_table_of_stream(self.stream, strategy, replication, end)
