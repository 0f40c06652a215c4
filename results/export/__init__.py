"""Export a run's event log for other tools: OCEL 2.0 (JSON or SQLite) and flat CSV.

OCEL 2.0 is the object-centric event log standard of the process-mining community (pm4py,
OCPM, Celonis...): every row of the log becomes one event, linked by qualified relationships
to the objects it is about:

==============  ==============================  ================================================
object type     id                              attributes / object-to-object relationships
==============  ==============================  ================================================
requirement     ``requirement:<id>``            item, qty, need_by_day; ``unit`` -> node
contract        ``contract:<req>@<supplier>``   item, qty, value_eur; ``for`` -> requirement,
                                                ``supplier`` -> node
lot             ``lot:<n>``                     item, qty; ``for`` -> requirement, ``under`` ->
                                                contract
vehicle         ``vehicle:<link>#<n>``          link, number; ``of`` -> link
node            ``node:<id>``                   kind (with a scenario)
link            ``link:<id>``                   mode (with a scenario); ``from`` / ``to`` -> node
==============  ==============================  ================================================

Event types are the log's kinds (``requirement_opened``, ``loaded``...); their attributes are
``day`` (days from the start), ``qty``, ``item`` and the row's ``value`` under a name saying
what it is (``eur``, ``tender_days``, ``days_late``...). A ``departed`` event is also linked to
every lot on board (qualifier ``carries``). Only objects some event refers to are exported, so
a reader that drops unreferenced objects (pm4py does) counts the same objects.

Event times are the scenario's start date plus ``t`` days, in UTC, to the microsecond.

Modules, one concept each (everything is re-exported here):

=============  ===============================================================================
``ocel``       the OCEL 2.0 document of an event table (``ocel_document``) and its JSON Schema
``writers``    the files: OCEL 2.0 JSON, OCEL 2.0 SQLite, flat CSV
``run_dir``    ``export_run``: parts of a run directory to files
=============  ===============================================================================

Example:
    >>> from scenarios.load import load
    >>> from sim.run import run
    >>> s = load("scenarios/small_routers.yaml")
    >>> doc = ocel_document(run(s)[0].table(), s)
    >>> sorted(t["name"] for t in doc["objectTypes"])
    ['contract', 'link', 'lot', 'node', 'requirement', 'vehicle']
"""

from __future__ import annotations

from results.export.ocel import OCEL2_JSON_SCHEMA, VALUE_NAMES, ocel_document
from results.export.run_dir import FORMATS, Exported, ExportError, export_run
from results.export.writers import events_csv_table, write_csv, write_ocel_json, write_ocel_sqlite

__all__ = [
    "FORMATS",
    "OCEL2_JSON_SCHEMA",
    "VALUE_NAMES",
    "ExportError",
    "Exported",
    "events_csv_table",
    "export_run",
    "ocel_document",
    "write_csv",
    "write_ocel_json",
    "write_ocel_sqlite",
]
