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

Example:
    >>> import tempfile
    >>> with connect(tempfile.mkdtemp(), require_runs=False) as con:
    ...     con.execute("select count(*) from events").fetchall()
    [(0,)]
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenarios.errors import AidflowError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = ["VIEWS", "QueryResult", "RunDir", "SqlError", "connect", "find_runs", "query"]

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
    from results.store import MANIFEST, StoreError, read_manifest

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


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


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


def connect(path: str | Path, require_runs: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the views ``events``, ``kpis``, ``runs`` and ``parts``.

    Args:
        path: A run directory, or a folder with run directories at any depth.
        require_runs: Raise when no run directory is found (else the views are empty).

    Raises:
        SqlError: ``path`` does not exist, or holds no run directory.
    """
    import duckdb
    import pyarrow as pa

    from results.kpis import KPI_COLUMNS
    from sim.log import arrow_schema

    runs = find_runs(path)
    if not runs and require_runs:
        raise SqlError(f"{path}: no run directory (a folder with manifest.json) at or under it")
    con = duckdb.connect(":memory:")
    try:
        files = [(f, run.name, s, r) for run in runs for f, s, r in _event_files(run)]
        event_cols = [f.name for f in arrow_schema()]
        if files:
            index = pa.table(
                {
                    "_file": pa.array([f[0] for f in files], pa.string()),
                    "run": pa.array([f[1] for f in files], pa.string()),
                    "strategy": pa.array([f[2] for f in files], pa.string()),
                    "replication": pa.array([f[3] for f in files], pa.int64()),
                }
            )
            con.register("_event_files", index)
            cols = ", ".join(f"e.{c}" for c in event_cols)
            con.execute(
                "CREATE VIEW events AS SELECT f.run, f.strategy, f.replication, "
                f"{cols} FROM read_parquet({_sql_list([f[0] for f in files])}, filename = true) e "
                "JOIN _event_files f ON e.filename = f._file"
            )
        else:
            empty = arrow_schema().empty_table()
            empty = pa.table(
                {
                    "run": pa.array([], pa.string()),
                    "strategy": pa.array([], pa.string()),
                    "replication": pa.array([], pa.int64()),
                    **{
                        c: empty.column(c).cast(pa.string())
                        if pa.types.is_dictionary(empty.schema.field(c).type)
                        else empty.column(c)
                        for c in event_cols
                    },
                }
            )
            con.register("events", empty)
        kpi_files = [(run.path / "kpis.parquet", run.name) for run in runs if (run.path / "kpis.parquet").is_file()]
        if kpi_files:
            index = pa.table(
                {
                    "_file": pa.array([p.resolve().as_posix() for p, _ in kpi_files], pa.string()),
                    "run": pa.array([n for _, n in kpi_files], pa.string()),
                }
            )
            con.register("_kpi_files", index)
            paths = _sql_list([p.resolve().as_posix() for p, _ in kpi_files])
            con.execute(
                "CREATE VIEW kpis AS SELECT f.run, k.* EXCLUDE (filename) FROM "
                f"read_parquet({paths}, filename = true, union_by_name = true) k "
                "JOIN _kpi_files f ON k.filename = f._file"
            )
        else:
            types = {"value": pa.float64(), "replication": pa.int64()}
            con.register(
                "kpis",
                pa.table(
                    {"run": pa.array([], pa.string())}
                    | {c: pa.array([], types.get(c, pa.string())) for c in KPI_COLUMNS}
                ),
            )
        runs_t, parts_t = _runs_table(runs)
        con.register("runs", runs_t)
        con.register("parts", parts_t)
    except duckdb.Error as exc:
        con.close()
        raise SqlError(f"{path}: cannot open the run data: {exc}") from None
    return con


def query(path: str | Path, sql: str) -> QueryResult:
    """Run ``sql`` against ``connect(path)``.

    Raises:
        SqlError: no run directory, or DuckDB rejected the query (its message says why).
    """
    import duckdb

    con = connect(path)
    try:
        cur = con.execute(sql)
        if cur.description is None:
            return QueryResult([], [])
        columns = [d[0] for d in cur.description]
        rows = cur.fetchall()
    except duckdb.Error as exc:
        raise SqlError(f"query failed: {exc}") from None
    finally:
        con.close()
    return QueryResult(columns, rows)
