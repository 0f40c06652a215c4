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

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()) / "demo"
    >>> store = RunStore(root, scenario_name="demo")
    >>> store.part_path("baseline", 0).relative_to(root).as_posix()
    'events/strategy=baseline/rep=0.parquet'
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import queue
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scenarios.errors import AidflowError
from sim.log import arrow_schema

__all__ = [
    "AIDFLOW_FILES",
    "MANIFEST",
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

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_PACKAGES = ("simpy", "numpy", "pyarrow", "pydantic", "networkx")


class StoreError(AidflowError):
    """A run directory cannot be created, read or resumed."""


# --------------------------------------------------------------------------- atomic writes


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _tmp_path(path: Path) -> Path:
    """A fresh temporary name next to ``path`` (same folder, so the rename is atomic)."""
    return path.with_name(f"{TMP_PREFIX}{path.name}.{uuid.uuid4().hex[:16]}")


def _commit(tmp: Path, path: Path) -> None:
    """fsync ``tmp``, rename it over ``path`` and fsync the folder."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file, flush, fsync, rename, fsync folder.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
        >>> atomic_write_bytes(p, b"abc"); p.read_bytes()
        b'abc'
    """
    path = Path(path)
    tmp = _tmp_path(path)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically (NaN refused)."""
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=_json_default)
    atomic_write_text(path, text + "\n")


def atomic_write_parquet(path: str | Path, table: pa.Table) -> str:
    """Write ``table`` to ``path`` as zstd Parquet atomically; returns the file's sha256."""
    path = Path(path)
    tmp = _tmp_path(path)
    try:
        pq.write_table(table, tmp, compression="zstd")
        _commit(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return sha256_file(path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return obj.as_posix()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# --------------------------------------------------------------------------- hashing


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _hash_array(h: Any, arr: pa.ChunkedArray) -> None:
    """Feed one column into ``h``: its null mask, then its values in a canonical form."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    combined = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    n = len(combined)
    h.update(n.to_bytes(8, "little"))
    valid = np.asarray(combined.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    h.update(np.packbits(valid).tobytes())
    t = combined.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        # strings: distinct values in order of first appearance, then each row's index
        enc = combined.dictionary_encode()
        for s in enc.dictionary.to_pylist():
            b = s.encode("utf-8")
            h.update(len(b).to_bytes(8, "little"))
            h.update(b)
        idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype("<i8")
        h.update(idx.tobytes())
    elif pa.types.is_floating(t):
        h.update(combined.fill_null(0.0).to_numpy(zero_copy_only=False).astype("<f8").tobytes())
    elif pa.types.is_integer(t) or pa.types.is_boolean(t):
        h.update(combined.fill_null(0).to_numpy(zero_copy_only=False).astype("<i8").tobytes())
    else:
        h.update(json.dumps(combined.to_pylist(), default=str).encode("utf-8"))


def table_sha256(table: pa.Table) -> str:
    """Hex sha256 of a table's content, independent of chunking, dictionaries and Parquet encoding.

    Two tables hash equal when they have the same column names, the same logical types
    (a dictionary column counts as its value type) and the same values and nulls, row by row.

    Example:
        >>> a = pa.table({"x": [1, None], "s": ["a", "b"]})
        >>> b = pa.table({"x": [1, None], "s": pa.array(["a", "b"]).dictionary_encode()})
        >>> table_sha256(a) == table_sha256(b)
        True
    """
    h = hashlib.sha256()
    for name, col in zip(table.column_names, table.columns, strict=True):
        t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        h.update(f"{name}:{t};".encode())
        _hash_array(h, col)
    return h.hexdigest()


# --------------------------------------------------------------------------- part writer

_STOP = object()


class PartWriter:
    """A sink for ``sim.log.EventLog`` that writes one event part as Parquet from a thread.

    Each record batch handed to the writer (``writer(batch)``) is put on a bounded queue and
    written by a background thread as one zstd Parquet row group to a temporary file next to
    ``path``. ``close()`` waits for the thread, fsyncs, renames the file to ``path`` and returns
    ``(sha256 of the file, rows)``; an error of the thread is re-raised there (or at the next
    batch). ``abort()`` stops the thread and removes the temporary file. Usable as a context
    manager: leaving the block with an exception aborts, otherwise it closes.

    ``tap`` (``sim.cli_run``: a ``results.kpi_live.LiveKpis``) sees every batch, unchanged, in
    the calling thread right after it is queued, so the KPIs are counted while the run goes and
    while this batch is written; an error it raises is raised by ``writer(batch)``. (Counted in
    the writer thread instead, the KPIs contend for the GIL with the simulation: at 10^5 lots of
    the core workload engine + KPIs took 8.3 s and 430 MB, against 7.3 s and 320 MB here.)

    Args:
        path: The final part path (its folder must exist).
        schema: Arrow schema of the batches; the event table's by default.
        max_queued_batches: Batches waiting for the thread at most (memory bound).
        tap: Called with each batch after it is queued (in the calling thread).
    """

    def __init__(
        self,
        path: str | Path,
        schema: pa.Schema | None = None,
        max_queued_batches: int = 4,
        tap: Callable[[pa.RecordBatch], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.schema = arrow_schema() if schema is None else schema
        self.max_queued_batches = max(1, max_queued_batches)
        self.tap = tap
        self.rows = 0
        self.row_groups = 0
        self.sha256: str | None = None
        self._tmp = _tmp_path(self.path)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=self.max_queued_batches)
        self._error: BaseException | None = None
        self._done = False
        self._stop_sent = False
        self._aborted = False
        try:
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression="zstd")
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        self._thread = threading.Thread(target=self._work, name=f"aidflow-part-{self.path.name}", daemon=True)
        self._thread.start()

    @property
    def tmp_path(self) -> Path:
        """The temporary file being written."""
        return self._tmp

    def _work(self) -> None:
        writer = self._writer
        try:
            while True:
                batch = self._queue.get()
                if batch is _STOP:
                    break
                writer.write_batch(batch, row_group_size=max(1, batch.num_rows))
                self.row_groups += 1
            writer.close()
        except BaseException as exc:
            self._error = exc
            with contextlib.suppress(Exception):
                writer.close()
            # keep draining so the producer never blocks on a full queue
            while self._queue.get() is not _STOP:
                pass

    def __call__(self, batch: pa.RecordBatch) -> None:
        """Queue one record batch (blocks while the queue is full)."""
        if self._done:
            raise StoreError(f"part {self.path} is already closed")
        if self._error is not None:
            raise StoreError(f"writing {self.path} failed: {self._error}") from self._error
        self.rows += batch.num_rows
        self._queue.put(batch)
        if self.tap is not None:
            self.tap(batch)

    def _stop(self) -> None:
        # safe to call again after a KeyboardInterrupt cut it short: the sentinel is sent until
        # it is known to be queued, and the thread is always waited for
        self._done = True
        if not self._stop_sent:
            self._queue.put(_STOP)
            self._stop_sent = True
        self._thread.join()

    def close(self) -> tuple[str, int]:
        """Finish the file, fsync it, rename it to ``path``; returns ``(sha256, rows)``."""
        if self.sha256 is not None:
            return self.sha256, self.rows
        if self._aborted:
            raise StoreError(f"part {self.path} was aborted")
        self._stop()
        if self._error is not None:
            self._tmp.unlink(missing_ok=True)
            raise StoreError(f"writing {self.path} failed: {self._error}") from self._error
        try:
            _commit(self._tmp, self.path)
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        self.sha256 = sha256_file(self.path)
        return self.sha256, self.rows

    def abort(self) -> None:
        """Stop writing and remove the temporary file (the final path is untouched)."""
        if self.sha256 is not None:
            return  # already closed: the part is final
        self._aborted = True
        self._stop()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# --------------------------------------------------------------------------- run store


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def package_versions() -> dict[str, str | None]:
    """Versions of Python and of the packages a run's numbers depend on."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
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
        atomic_write_text(path, resolved_yaml_text)
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
        status, end day, counters, error, seed, wall time and blocked list are kept.
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
        sha = atomic_write_parquet(path, table)
        self.manifest["kpis"] = {"path": KPIS_FILE, "sha256": sha, "rows": table.num_rows}
        self.write_manifest()
        return path

    def read_events(self, strategy: str | None = None, rep: int | None = None) -> pa.Table:
        """Event parts of this run (see ``read_events``)."""
        return read_events(self.root, strategy, rep)


# --------------------------------------------------------------------------- reading

_PART = re.compile(r"^strategy=(?P<s>[A-Za-z][A-Za-z0-9_\-]*)/rep=(?P<r>[0-9]+)\.parquet$")


def _parts_on_disk(run_dir: Path) -> list[tuple[str, int, Path]]:
    """Every part file of a run, in (strategy, replication) order.

    Files under a final name are complete by construction (written under a temporary name
    and renamed), so the folder itself is the list; the manifest only adds their sha256.
    """
    out: list[tuple[str, int, Path]] = []
    events = run_dir / EVENTS_DIR
    if events.is_dir():
        for p in events.glob("strategy=*/rep=*.parquet"):
            mm = _PART.match(p.relative_to(events).as_posix())
            if mm:
                out.append((mm["s"], int(mm["r"]), p))
    return sorted(out, key=lambda x: (x[0], x[1]))


BATCH_ROWS = 1 << 16
"""Rows per record batch of ``iter_event_batches`` at most (a row group is 2^19-2^20 rows)."""


def iter_event_batches(
    run_dir: str | Path,
    strategy: str,
    rep: int,
    columns: Iterable[str] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """One part's rows in ``seq`` order, a row group (or a slice of one) at a time.

    Each record batch holds rows of one row group only (the writer makes one row group per
    batch of the engine's log, ``PartWriter``), at most ``batch_rows`` of them, with only
    ``columns`` (all by default). Row groups are read one after another, so memory stays
    bounded by the row-group size however long the run.

    Raises:
        StoreError: no such part, a part cannot be read, or it lacks a requested column.
    """
    run_dir = Path(run_dir)
    parts = [p for s, r, p in _parts_on_disk(run_dir) if s == strategy and r == rep]
    if not parts:
        raise StoreError(f"{run_dir}: no event part matches strategy={strategy} rep={rep}")
    path = parts[0]
    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        cols = None if columns is None else list(columns)
        missing = [c for c in cols or () if c not in names]
        if missing:
            raise StoreError(f"{path}: event part has no column {missing[0]!r}")
        for i in range(pf.num_row_groups):
            rows = pf.metadata.row_group(i).num_rows
            if rows == 0:
                continue
            size = max(1, min(rows, batch_rows))
            yield from pf.iter_batches(batch_size=size, row_groups=[i], columns=cols, use_threads=False)
            pa.default_memory_pool().release_unused()  # the decoded row group's buffers go back to the OS
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path}: cannot read event part: {exc}") from None


def read_events(run_dir: str | Path, strategy: str | None = None, rep: int | None = None) -> pa.Table:
    """Read event parts of a run directory back as one Arrow table.

    With both ``strategy`` and ``rep`` the one part is returned as written (the event
    columns of ``sim.log.arrow_schema``). Otherwise every matching part is read, in
    (strategy, replication) order, with two more columns: ``strategy`` (string) and
    ``replication`` (int64).

    Raises:
        StoreError: no such part, or a part cannot be read.
    """
    run_dir = Path(run_dir)
    parts = [
        (s, r, p)
        for s, r, p in _parts_on_disk(run_dir)
        if (strategy is None or s == strategy) and (rep is None or r == rep)
    ]
    if not parts:
        what = f"strategy={strategy or '*'} rep={'*' if rep is None else rep}"
        raise StoreError(f"{run_dir}: no event part matches {what}")

    def one(path: Path) -> pa.Table:
        try:
            return pq.ParquetFile(path).read()
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"{path}: cannot read event part: {exc}") from None

    if strategy is not None and rep is not None:
        return one(parts[0][2])
    tables = []
    for s, r, path in parts:
        t = one(path)
        t = t.append_column("strategy", pa.array([s] * t.num_rows, type=pa.string()))
        t = t.append_column("replication", pa.array(np.full(t.num_rows, r, dtype=np.int64)))
        tables.append(t)
    return pa.concat_tables(tables)
