"""The run directory: Parquet event parts, ``manifest.json``, atomic writes and resume.

Layout of ``runs/<name>/`` (design.md section 3)::

    manifest.json                              status, versions, seeds, one entry per part
    scenario.resolved.yaml                     the validated scenario as it was run
    events/strategy=<s>/rep=<r>.parquet        one event table per replication (hive layout, zstd)
    kpis.parquet                               long KPI table of every part
    report.html                                written by ``results.report``

Every file is written under a temporary name (``.tmp-...``) in its final folder, flushed,
fsynced and renamed over the final name, and the folder is fsynced, so a killed run never
leaves a half-written file under a final name. ``manifest.json`` is rewritten (atomically)
after each finished part; ``--resume`` keeps the parts the manifest lists whose file still
exists with the recorded sha256 (``RunStore.finished_parts``). Stale temporary files are
removed whenever a run directory is opened.

A part is written while the replication runs: ``PartWriter`` is the ``sink`` of the engine's
``EventLog``; each record batch becomes one Parquet row group, written by a background thread
fed through a bounded queue, so memory stays bounded on long runs.

Modules, one concept each (everything is re-exported here):

===============  ==========================================================================
``layout``       file names, statuses, format version, ``StoreError``
``atomic``       atomic writes of bytes, text, JSON and Parquet
``hashing``      sha256 of a file and of a table's content
``part_writer``  ``PartWriter``: one event part written from a thread while the run goes
``run_store``    ``RunStore`` and ``read_manifest``: the directory and its manifest
``reading``      ``read_events`` and ``iter_event_batches``: parts read back
===============  ==========================================================================

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()) / "demo"
    >>> store = RunStore(root, scenario_name="demo")
    >>> store.part_path("baseline", 0).relative_to(root).as_posix()
    'events/strategy=baseline/rep=0.parquet'
"""

from __future__ import annotations

from results.store.atomic import atomic_write_bytes, atomic_write_json, atomic_write_parquet, atomic_write_text
from results.store.hashing import sha256_file, table_sha256
from results.store.layout import (
    AIDFLOW_FILES,
    EVENTS_DIR,
    FORMAT_VERSION,
    KPIS_FILE,
    MANIFEST,
    REPORT_FILE,
    SCENARIO_FILE,
    STATUSES,
    TMP_PREFIX,
    StoreError,
)
from results.store.part_writer import PartWriter
from results.store.reading import BATCH_ROWS, iter_event_batches, read_events
from results.store.run_store import RunStore, package_versions, read_manifest

__all__ = [
    "AIDFLOW_FILES",
    "BATCH_ROWS",
    "EVENTS_DIR",
    "FORMAT_VERSION",
    "KPIS_FILE",
    "MANIFEST",
    "REPORT_FILE",
    "SCENARIO_FILE",
    "STATUSES",
    "TMP_PREFIX",
    "PartWriter",
    "RunStore",
    "StoreError",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_parquet",
    "atomic_write_text",
    "iter_event_batches",
    "package_versions",
    "read_events",
    "read_manifest",
    "sha256_file",
    "table_sha256",
]
