"""The names of a run directory's files, its statuses and format version, and the store's error.

A leaf of ``results.store``: what the other modules (and the CLI) agree on about the layout of
``runs/<name>/``, with no I/O.
"""

from __future__ import annotations

from scenarios.errors import AidflowError

__all__ = [
    "AIDFLOW_FILES",
    "EVENTS_DIR",
    "FORMAT_VERSION",
    "KPIS_FILE",
    "MANIFEST",
    "REPORT_FILE",
    "SCENARIO_FILE",
    "STATUSES",
    "TMP_PREFIX",
    "StoreError",
]

TMP_PREFIX = ".tmp-"
"""Prefix of every temporary file; such files are removed when a run directory is opened."""

MANIFEST = "manifest.json"
SCENARIO_FILE = "scenario.resolved.yaml"
EVENTS_DIR = "events"
KPIS_FILE = "kpis.parquet"
REPORT_FILE = "report.html"

AIDFLOW_FILES: tuple[str, ...] = (MANIFEST, SCENARIO_FILE, EVENTS_DIR, KPIS_FILE, REPORT_FILE)
"""What aidflow writes into a run directory (and what ``overwrite`` may remove)."""

STATUSES: tuple[str, ...] = ("running", "completed", "failed", "interrupted")
"""Values of the manifest's ``status``."""

FORMAT_VERSION = 1
"""Version of the run-directory layout, recorded in the manifest."""


class StoreError(AidflowError):
    """A run directory cannot be created, read or resumed."""
