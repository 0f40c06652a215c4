"""One run directory: creating it, its manifest (status, versions, parts), resume, reading it back.

``manifest.json`` is rewritten (atomically) after each finished part; ``--resume`` keeps the
parts the manifest lists whose file still exists with the recorded sha256
(``RunStore.finished_parts``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from results.store.atomic import atomic_write_json, atomic_write_parquet, atomic_write_text
from results.store.hashing import sha256_file
from results.store.layout import (
    AIDFLOW_FILES,
    EVENTS_DIR,
    FORMAT_VERSION,
    KPIS_FILE,
    MANIFEST,
    SCENARIO_FILE,
    STATUSES,
    TMP_PREFIX,
    StoreError,
)
from results.store.part_writer import PartWriter
from results.store.reading import read_events

__all__ = ["RunStore", "package_versions", "read_manifest"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_PACKAGES = ("simpy", "numpy", "pyarrow", "pydantic", "networkx")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def package_versions() -> dict[str, str | None]:
    """Versions of Python and of the packages a run's numbers depend on.

    A package already imported gives its ``__version__`` (the same string as its installed
    metadata for each of these, ``tests/results/test_store.py``); the others are read from
    the installed metadata, which costs ~2 ms a package (issue 19, start-up).
    """
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        loaded = getattr(sys.modules.get(name), "__version__", None)
        if isinstance(loaded, str):
            out[name] = loaded
            continue
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _aidflow_version() -> str | None:
    try:
        return metadata.version("aidflow")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _clean_tmp(root: Path) -> list[Path]:
    """Remove every ``.tmp-*`` file under ``root``; returns what was removed."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for p in sorted(root.rglob(f"{TMP_PREFIX}*")):
        if p.is_file() or p.is_symlink():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """The manifest of a run directory (StoreError when missing or unreadable)."""
    path = Path(run_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(f"{run_dir}: not a run directory (no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{path}: cannot read the manifest: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("parts", []), list):
        raise StoreError(f"{path}: not an aidflow manifest")
    return data


class RunStore:
    """One run directory: creates it, records parts in the manifest, reads it back.

    Args:
        root: The run directory (created with its parents).
        overwrite: Allow a non-empty ``root``. If it holds a manifest, its whole content is
            removed; otherwise only aidflow's own files (``AIDFLOW_FILES``) are.
        scenario_name: Recorded in the manifest.
        scenario_sha256: sha256 of the scenario file's bytes.
        seeds: Root seed(s) of the run.
        args: The command line (list of strings).

    Raises:
        StoreError: ``root`` is a file, or is not empty and ``overwrite`` is False.
    """

    def __init__(
        self,
        root: str | Path,
        overwrite: bool = False,
        *,
        scenario_name: str | None = None,
        scenario_sha256: str | None = None,
        seeds: Iterable[int] | None = None,
        args: Iterable[str] | None = None,
    ) -> None:
        self.root = Path(root)
        self._t0 = time.monotonic()
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root}: exists and is not a directory")
        if self.root.is_dir():
            entries = list(self.root.iterdir())
            # a run killed while its first manifest was written leaves only temporary files
            if not overwrite and any(not p.name.startswith(TMP_PREFIX) for p in entries):
                raise StoreError(
                    f"{self.root}: directory is not empty (use --overwrite, or --resume to continue a run)"
                )
            if entries:
                if (self.root / MANIFEST).exists():
                    for p in entries:
                        _remove(p)
                else:
                    for p in entries:
                        if p.name in AIDFLOW_FILES or p.name.startswith(TMP_PREFIX):
                            _remove(p)
        self.root.mkdir(parents=True, exist_ok=True)
        _clean_tmp(self.root)
        self._wall0 = 0.0
        self.manifest: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "status": "running",
            "aidflow_version": _aidflow_version(),
            "scenario": scenario_name,
            "scenario_sha256": scenario_sha256,
            "scenario_resolved_sha256": None,
            "seeds": list(seeds) if seeds is not None else [],
            "args": list(args) if args is not None else [],
            "versions": package_versions(),
            "started": _now(),
            "finished": None,
            "wall_s": 0.0,
            "parts": [],
            "kpis": None,
            "error": None,
        }
        self.write_manifest()

    # ----------------------------------------------------------------- opening

    @classmethod
    def open_existing(cls, root: str | Path) -> RunStore:
        """Open a run directory written before (to resume it or read it); removes stale temp files."""
        manifest = read_manifest(root)
        store = cls.__new__(cls)
        store.root = Path(root)
        store.manifest = manifest
        store._t0 = time.monotonic()
        store._wall0 = float(manifest.get("wall_s") or 0.0)
        _clean_tmp(store.root)
        return store

    # ----------------------------------------------------------------- manifest

    def write_manifest(self) -> None:
        """Rewrite ``manifest.json`` atomically."""
        self.manifest["wall_s"] = round(self._wall0 + time.monotonic() - self._t0, 6)
        atomic_write_json(self.root / MANIFEST, self.manifest)

    def update(self, **fields: Any) -> None:
        """Set top-level manifest fields (e.g. ``seeds``, ``args``) and rewrite it."""
        self.manifest.update(fields)
        self.write_manifest()

    def set_status(self, status: str, error: str | None = None) -> None:
        """Set the run's status (``running``, ``completed``, ``failed``, ``interrupted``)."""
        if status not in STATUSES:
            raise StoreError(f"unknown run status {status!r} (known: {', '.join(STATUSES)})")
        self.manifest["status"] = status
        self.manifest["error"] = error
        self.manifest["finished"] = None if status == "running" else _now()
        self.write_manifest()

    # ----------------------------------------------------------------- files

    def write_scenario(self, resolved_yaml_text: str) -> Path:
        """Write ``scenario.resolved.yaml`` atomically (its sha256 goes into the manifest)."""
        path = self.root / SCENARIO_FILE
        atomic_write_text(path, resolved_yaml_text, sync_folder=False)  # the manifest's write fsyncs the folder
        self.manifest["scenario_resolved_sha256"] = hashlib.sha256(resolved_yaml_text.encode("utf-8")).hexdigest()
        self.write_manifest()
        return path

    def part_path(self, strategy: str, rep: int) -> Path:
        """Where the part of (``strategy``, ``rep``) lives."""
        if not _NAME.match(strategy):
            raise StoreError(f"invalid strategy name for a part path: {strategy!r}")
        if isinstance(rep, bool) or not isinstance(rep, (int, np.integer)) or rep < 0:
            raise StoreError(f"invalid replication number: {rep!r}")
        return self.root / EVENTS_DIR / f"strategy={strategy}" / f"rep={int(rep)}.parquet"

    def open_part(
        self,
        strategy: str,
        rep: int,
        max_queued_batches: int = 4,
        tap: Callable[[pa.RecordBatch], None] | None = None,
    ) -> PartWriter:
        """A ``PartWriter`` for (``strategy``, ``rep``), its folder created (``tap``: see ``PartWriter``)."""
        path = self.part_path(strategy, rep)
        path.parent.mkdir(parents=True, exist_ok=True)
        return PartWriter(path, max_queued_batches=max_queued_batches, tap=tap)

    def finish_part(
        self, strategy: str, rep: int, sha256: str, rows: int, run_result: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Record a written part in the manifest (replacing an older entry) and rewrite it.

        ``run_result`` is the engine's ``RunResult`` as a dict (``dataclasses.asdict``); its
        status, end day, counters, error, seed, wall time and blocked list are kept, and its
        route table ``routes`` when it has one (``routing.policy: on_departure``; a static run's
        entry has no ``routes`` key, so its manifest is as before).
        """
        rr = dict(run_result or {})
        entry: dict[str, Any] = {
            "strategy": strategy,
            "replication": int(rep),
            "path": self.part_path(strategy, rep).relative_to(self.root).as_posix(),
            "sha256": sha256,
            "rows": int(rows),
            "status": rr.get("status", "completed"),
            "end_day": rr.get("end_day"),
            "counters": rr.get("counters", {}),
            "error": rr.get("error"),
        }
        for key in ("seed", "horizon_days", "wall_s", "blocked", "end"):
            if key in rr:
                entry[key] = rr[key]
        if rr.get("routes"):  # routing on_departure: route id -> link ids (a rerouted row's vehicle)
            entry["routes"] = rr["routes"]
        parts = [p for p in self.manifest["parts"] if (p["strategy"], p["replication"]) != (strategy, int(rep))]
        parts.append(entry)
        parts.sort(key=lambda p: (p["strategy"], p["replication"]))
        self.manifest["parts"] = parts
        self.write_manifest()
        return entry

    def remove_temporary_files(self) -> list[Path]:
        """Remove every ``.tmp-*`` file of the run (after a stop, when no part is being written)."""
        return _clean_tmp(self.root)

    def finished_parts(self) -> set[tuple[str, int]]:
        """Parts listed in the manifest whose file exists with the recorded sha256."""
        done: set[tuple[str, int]] = set()
        for p in self.manifest.get("parts", []):
            path = self.root / p["path"]
            if path.is_file() and sha256_file(path) == p.get("sha256"):
                done.add((p["strategy"], int(p["replication"])))
        return done

    def write_kpis(self, table: pa.Table) -> Path:
        """Write ``kpis.parquet`` atomically and record it in the manifest."""
        path = self.root / KPIS_FILE
        sha = atomic_write_parquet(path, table, sync_folder=False)  # the manifest's write fsyncs the folder
        self.manifest["kpis"] = {"path": KPIS_FILE, "sha256": sha, "rows": table.num_rows}
        self.write_manifest()
        return path

    def read_events(self, strategy: str | None = None, rep: int | None = None) -> pa.Table:
        """Event parts of this run (see ``read_events``)."""
        return read_events(self.root, strategy, rep)
