"""KPIs from the event log, by concept; ``results.kpis`` re-exports the KPI table's API.

Modules:
    table: the KPI table of a run or part (``kpi_table``, ``compute_kpis``, ``summarise``), the
        catalogue of names (``KPI_NAMES``) and the end-of-run counters.
    stream: ``KpiStream``, the accumulators fed chunk by chunk (memory bounded by a row group).
    live: ``LiveKpis``, the same counted while a part is written (``aidflow run``).
    arrays: the log's columns as integer-coded numpy arrays.
    lead: counters, lead times and their stages; late: Kaplan-Meier lead times, lateness.
    flow: served resources (stations, agencies, links); levels: time-weighted levels.
    inventory: the pull side (demand, fill and ready rates, on hand, backorders, orders).
"""

from __future__ import annotations

from results.kpis.table import (
    COUNTER_KEYS,
    HANDLING_KINDS,
    KPI_COLUMNS,
    KPI_NAMES,
    STAGES,
    EventArrays,
    KpiKey,
    compute_kpis,
    deliveries,
    end_counters,
    event_arrays,
    kpi_table,
    kpi_table_of_part,
    kpi_table_of_stream,
    lot_lead_times,
    summarise,
    time_weighted,
    weighted_quantile,
)

__all__ = [
    "COUNTER_KEYS",
    "HANDLING_KINDS",
    "KPI_COLUMNS",
    "KPI_NAMES",
    "STAGES",
    "EventArrays",
    "KpiKey",
    "compute_kpis",
    "deliveries",
    "end_counters",
    "event_arrays",
    "kpi_table",
    "kpi_table_of_part",
    "kpi_table_of_stream",
    "lot_lead_times",
    "summarise",
    "time_weighted",
    "weighted_quantile",
]
