"""SQL over run directories: DuckDB views of the events, KPIs and manifests of one run or many.

``connect(path)`` opens an in-memory DuckDB database with these views over every run directory
at or under ``path`` (a run directory is a folder holding ``manifest.json``):

- ``events``: every event part, ``run, strategy, replication`` then the event columns
  (``seq, t, kind, lot, item, qty, node, link, vehicle, ref, value``);
- ``kpis``: every ``kpis.parquet``, ``run`` then its columns (``kpi, item, node, link, value,
  strategy, replication``);
- ``runs``: one row per run from its manifest (status, scenario, seeds, versions, wall time,
  parts, rows, the manifest itself as JSON text);
- ``parts``: one row per finished part from the manifests (status, end day, rows, sha256,
  counters as JSON text).

``run`` is the run directory's path relative to ``path`` (its name when ``path`` is the run
directory itself). Strategy and replication come from each part's path
(``events/strategy=<s>/rep=<r>.parquet``), so any folder layout above the runs works.

The SQL is sandboxed (issue 16): ``events`` and ``kpis`` are lazy Arrow datasets registered
before DuckDB's configuration is locked with external access, extension autoload/autoinstall
and Python-variable scans off, so a query cannot read or write any other file, reach the
network or load code; ``query``/``open_query`` also accept exactly one read statement
(SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE) and refuse COPY, ATTACH, INSTALL,
LOAD, SET, PRAGMA, CREATE, INSERT, EXPORT, CALL, EXPLAIN and several statements at once with
a one-line ``SqlError`` starting ``refused:``. Rows stream from DuckDB in batches.

Example:
    >>> import tempfile
    >>> with connect(tempfile.mkdtemp(), require_runs=False) as con:
    ...     con.execute("select count(*) from events").fetchall()
    [(0,)]
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenarios.errors import AidflowError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as ds

__all__ = [
    "VIEWS",
    "QueryResult",
    "QueryStream",
    "RunDir",
    "SqlError",
    "connect",
    "find_runs",
    "open_query",
    "query",
    "read_statement",
]

VIEWS: tuple[str, ...] = ("events", "kpis", "runs", "parts")
"""The views ``connect`` creates."""

_PART = re.compile(r"^strategy=(?P<s>[^/]+)/rep=(?P<r>[0-9]+)\.parquet$")


class SqlError(AidflowError):
    """No run directory to query, or the query failed."""


@dataclass(frozen=True)
class RunDir:
    """A run directory found under the queried path."""

    name: str
    path: Path
    manifest: dict[str, Any]


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows (Python values) of a query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def find_runs(path: str | Path) -> list[RunDir]:
    """Every run directory at or under ``path``, sorted by name (manifests that cannot be read are skipped).

    Raises:
        SqlError: ``path`` does not exist.
    """
    from results.store.layout import MANIFEST, StoreError
    from results.store.run_store import read_manifest

    root = Path(path)
    if not root.exists():
        raise SqlError(f"{root}: no such file or directory")
    if root.is_file():
        if root.name == MANIFEST:
            root = root.parent
        else:
            raise SqlError(f"{root}: give a run directory or a folder of run directories")
    found: list[RunDir] = []
    manifests = [root / MANIFEST] if (root / MANIFEST).is_file() else sorted(root.rglob(MANIFEST))
    for m in manifests:
        run_dir = m.parent
        try:
            manifest = read_manifest(run_dir)
        except StoreError:
            continue
        name = run_dir.name if run_dir == root else run_dir.relative_to(root).as_posix()
        found.append(RunDir(name, run_dir, manifest))
    return sorted(found, key=lambda r: r.name)


def _event_files(run: RunDir) -> list[tuple[str, str, int]]:
    events = run.path / "events"
    out: list[tuple[str, str, int]] = []
    if events.is_dir():
        for p in sorted(events.glob("strategy=*/rep=*.parquet")):
            mm = _PART.match(p.relative_to(events).as_posix())
            if mm and not p.name.startswith(".tmp-"):
                out.append((p.resolve().as_posix(), mm["s"], int(mm["r"])))
    return out


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _runs_table(runs: list[RunDir]) -> tuple[pa.Table, pa.Table]:
    import pyarrow as pa

    r_cols: dict[str, list[Any]] = {
        c: []
        for c in (
            "run",
            "path",
            "status",
            "scenario",
            "scenario_sha256",
            "aidflow_version",
            "started",
            "finished",
            "wall_s",
            "n_parts",
            "rows",
            "seeds",
            "args",
            "versions",
            "error",
            "manifest",
        )
    }
    p_cols: dict[str, list[Any]] = {
        c: []
        for c in (
            "run",
            "strategy",
            "replication",
            "status",
            "end_day",
            "horizon_days",
            "rows",
            "seed",
            "wall_s",
            "sha256",
            "path",
            "error",
            "counters",
        )
    }
    for run in runs:
        m = run.manifest
        parts = [p for p in m.get("parts", []) if isinstance(p, dict)]
        r_cols["run"].append(run.name)
        r_cols["path"].append(run.path.as_posix())
        for key in ("status", "scenario", "scenario_sha256", "aidflow_version", "started", "finished"):
            v = m.get(key)
            r_cols[key].append(None if v is None else str(v))
        r_cols["wall_s"].append(_num(m.get("wall_s")))
        r_cols["n_parts"].append(len(parts))
        r_cols["rows"].append(sum(int(p.get("rows") or 0) for p in parts))
        r_cols["seeds"].append(_json(m.get("seeds")))
        r_cols["args"].append(_json(m.get("args")))
        r_cols["versions"].append(_json(m.get("versions")))
        r_cols["error"].append(None if m.get("error") is None else str(m.get("error")))
        r_cols["manifest"].append(_json(m))
        for p in parts:
            p_cols["run"].append(run.name)
            p_cols["strategy"].append(str(p.get("strategy")))
            p_cols["replication"].append(int(p.get("replication", -1)))
            p_cols["status"].append(None if p.get("status") is None else str(p.get("status")))
            p_cols["end_day"].append(_num(p.get("end_day")))
            p_cols["horizon_days"].append(_num(p.get("horizon_days")))
            p_cols["rows"].append(None if p.get("rows") is None else int(p["rows"]))
            p_cols["seed"].append(None if p.get("seed") is None else int(p["seed"]))
            p_cols["wall_s"].append(_num(p.get("wall_s")))
            p_cols["sha256"].append(None if p.get("sha256") is None else str(p["sha256"]))
            p_cols["path"].append(None if p.get("path") is None else str(p["path"]))
            p_cols["error"].append(None if p.get("error") is None else str(p["error"]))
            p_cols["counters"].append(_json(p.get("counters") or {}))
    r_types = {"wall_s": pa.float64(), "n_parts": pa.int64(), "rows": pa.int64()}
    p_types = {
        "replication": pa.int64(),
        "end_day": pa.float64(),
        "horizon_days": pa.float64(),
        "rows": pa.int64(),
        "seed": pa.int64(),
        "wall_s": pa.float64(),
    }
    runs_t = pa.table({c: pa.array(v, type=r_types.get(c, pa.string())) for c, v in r_cols.items()})
    parts_t = pa.table({c: pa.array(v, type=p_types.get(c, pa.string())) for c, v in p_cols.items()})
    return runs_t, parts_t


_PARTITION_FIELDS: tuple[tuple[str, str], ...] = (("run", "string"), ("strategy", "string"), ("replication", "int64"))


@functools.cache
def _dataset_class() -> type[ds.FileSystemDataset]:
    """``FileSystemDataset`` whose scans read ahead one file and one batch at a time.

    DuckDB scans a registered dataset through ``type(dataset).scanner(dataset, columns=...,
    filter=...)``; pyarrow's default readahead (4 files, 16 batches) roughly doubled the peak
    memory of a full scan of many parts. Defined lazily so importing this module stays light.
    """
    import pyarrow.dataset as ds

    class LowReadaheadDataset(ds.FileSystemDataset):
        def scanner(self, *args: Any, **kwargs: Any) -> ds.Scanner:
            kwargs.setdefault("fragment_readahead", 1)
            kwargs.setdefault("batch_readahead", 1)
            return super().scanner(*args, **kwargs)

    return LowReadaheadDataset


def _parquet_dataset(files: list[tuple[str, ds.Expression]], schema: pa.Schema) -> ds.FileSystemDataset:
    """A lazy dataset over Parquet ``files`` (path, partition expression): nothing is read here."""
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    fmt = ds.ParquetFileFormat()
    fs = pafs.LocalFileSystem()
    fragments = [fmt.make_fragment(path, filesystem=fs, partition_expression=expr) for path, expr in files]
    return _dataset_class()(fragments, schema=schema, format=fmt, filesystem=fs)


def _events_dataset(runs: list[RunDir]) -> ds.FileSystemDataset:
    """Every event part as one lazy dataset: ``run, strategy, replication``, then the event columns.

    The first three columns come from each file's partition expression, so DuckDB opens the
    files only when a query scans them, and reads only the columns and row groups it needs
    (a filter on ``run``, ``strategy`` or ``replication`` skips whole files).
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    from sim.log import arrow_schema

    files = [
        (f, (ds.field("run") == run.name) & (ds.field("strategy") == s) & (ds.field("replication") == r))
        for run in runs
        for f, s, r in _event_files(run)
    ]
    schema = pa.schema([pa.field(n, t) for n, t in _PARTITION_FIELDS] + list(arrow_schema()))
    return _parquet_dataset(files, schema)


def _kpis_dataset(runs: list[RunDir]) -> ds.FileSystemDataset:
    """Every ``kpis.parquet`` as one lazy dataset: ``run``, then the union of their columns.

    Only the files' footers are read here (for their columns); a column missing from a file
    reads as null.

    Raises:
        SqlError: a ``kpis.parquet`` footer cannot be read.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from results.kpis import KPI_COLUMNS

    files = [(run.path / "kpis.parquet", run.name) for run in runs if (run.path / "kpis.parquet").is_file()]
    types = {"value": pa.float64(), "replication": pa.int64()}
    fields: dict[str, pa.Field] = {c: pa.field(c, types.get(c, pa.string())) for c in KPI_COLUMNS}
    if files:
        try:
            unified = pa.unify_schemas([pq.read_schema(p) for p, _ in files], promote_options="permissive")
        except (OSError, pa.ArrowException) as exc:
            raise SqlError(f"cannot read a kpis.parquet: {exc}") from None
        fields = {f.name: f for f in unified if f.name != "run"}
    schema = pa.schema([pa.field("run", pa.string()), *fields.values()])
    return _parquet_dataset([(p.resolve().as_posix(), ds.field("run") == name) for p, name in files], schema)


_LOCK: tuple[str, ...] = (
    "SET python_enable_replacements = false",
    "SET allow_community_extensions = false",
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)
"""Run after the views exist: no Python-variable scans, no extensions, no file or network
access, and no ``SET`` that could undo any of it."""


def connect(path: str | Path, require_runs: bool = True) -> duckdb.DuckDBPyConnection:
    """A sandboxed in-memory DuckDB connection with the views ``events``, ``kpis``, ``runs`` and ``parts``.

    The run data is handed to DuckDB as lazy Arrow datasets (``events``, ``kpis``) and small
    Arrow tables built from the manifests (``runs``, ``parts``). Then the configuration is
    locked with external access off (see ``_LOCK``): SQL on this connection cannot read or
    write a file, reach the network, or install or load an extension.

    Args:
        path: A run directory, or a folder with run directories at any depth.
        require_runs: Raise when no run directory is found (else the views are empty).

    Raises:
        SqlError: ``path`` does not exist, or holds no run directory.
    """
    import duckdb
    import pyarrow as pa

    runs = find_runs(path)
    if not runs and require_runs:
        raise SqlError(f"{path}: no run directory (a folder with manifest.json) at or under it")
    con = duckdb.connect(":memory:")
    try:
        con.register("events", _events_dataset(runs))
        con.register("kpis", _kpis_dataset(runs))
        runs_t, parts_t = _runs_table(runs)
        con.register("runs", runs_t)
        con.register("parts", parts_t)
        for statement in _LOCK:
            con.execute(statement)
    except (duckdb.Error, pa.ArrowException, OSError) as exc:
        con.close()
        raise SqlError(f"{path}: cannot open the run data: {exc}") from None
    except SqlError:
        con.close()
        raise
    return con


_READ_FORMS = "SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW or SUMMARIZE"
_FIRST_WORD = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*([A-Za-z_]+)", re.DOTALL)


def _one_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def read_statement(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    """The one read statement in ``sql`` (parsed by ``con``), or ``SqlError`` saying why not.

    Raises:
        SqlError: ``sql`` does not parse, is empty, holds more than one statement, or is not a
            read query (COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, CREATE, INSERT, EXPORT, CALL,
            EXPLAIN, ...).
    """
    import duckdb

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise SqlError(f"query failed: {exc}") from None
    if not statements:
        raise SqlError(f"refused: the query is empty; give one read query ({_READ_FORMS})")
    if len(statements) != 1:
        raise SqlError(f"refused: give exactly one statement (found {len(statements)} separated by ';')")
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        word = _FIRST_WORD.match(statement.query)
        what = word[1].upper() if word else statement.type.name
        raise SqlError(f"refused: only a read query ({_READ_FORMS}) is allowed, not {what}")
    return statement


def _failed(exc: BaseException) -> SqlError:
    import duckdb

    if isinstance(exc, duckdb.PermissionException):
        return SqlError(
            "refused: aidflow sql has no file, network or extension access; query the views "
            f"{', '.join(VIEWS)} ({_one_line(exc)})"
        )
    return SqlError(f"query failed: {exc}")


class QueryStream:
    """The result of one read query, fetched in batches (see ``open_query``)."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Wrap an executed cursor."""
        self._cursor = cursor
        self.columns: list[str] = [d[0] for d in cursor.description or []]
        """The result's column names."""

    def batches(self, rows: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """The result rows, at most ``rows`` at a time (DuckDB streams: memory stays bounded).

        Raises:
            SqlError: DuckDB failed while computing the rows (a damaged part, say).
        """
        import duckdb
        import pyarrow as pa

        if not self.columns:
            return
        while True:
            try:
                batch = self._cursor.fetchmany(rows)
            except (duckdb.Error, pa.ArrowException, OSError) as exc:
                raise _failed(exc) from None
            if not batch:
                return
            yield batch


@contextmanager
def open_query(path: str | Path, sql: str) -> Iterator[QueryStream]:
    """Run one read query ``sql`` against ``connect(path)``; the rows stream from the result.

    Raises:
        SqlError: no run directory; the query is refused (not exactly one read statement, or
            it touches a file, the network or an extension: message starts ``refused:``); or
            DuckDB rejected it (``query failed:``).
    """
    import duckdb
    import pyarrow as pa

    con = connect(path)
    try:
        statement = read_statement(con, sql)
        try:
            cursor = con.execute(statement)
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            raise _failed(exc) from None
        yield QueryStream(cursor)
    finally:
        con.close()


def query(path: str | Path, sql: str) -> QueryResult:
    """Run one read query ``sql`` against ``connect(path)`` and return every row.

    Raises:
        SqlError: as ``open_query``.
    """
    with open_query(path, sql) as result:
        return QueryResult(result.columns, [row for batch in result.batches() for row in batch])
