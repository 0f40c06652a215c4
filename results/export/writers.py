"""Files other tools read, written from one event table: OCEL 2.0 JSON, OCEL 2.0 SQLite, flat CSV.

Each is written under a temporary name and renamed, so a killed export leaves no half-written
file under its final name.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from results.export.ocel import ocel_document

if TYPE_CHECKING:
    import pyarrow as pa

    from scenarios.schema import Scenario

__all__ = ["events_csv_table", "write_csv", "write_ocel_json", "write_ocel_sqlite"]


def _tmp(path: Path) -> Path:
    return path.with_name(f".tmp-{path.name}.{uuid.uuid4().hex[:12]}")


def write_ocel_json(
    table: pa.Table, path: str | Path, scenario: Scenario | None = None, start: dt.date | None = None
) -> tuple[int, int]:
    """Write the OCEL 2.0 JSON of ``table`` to ``path`` (atomically); returns ``(events, objects)``."""
    from results.store.atomic import atomic_write_bytes

    doc = ocel_document(table, scenario, start)
    atomic_write_bytes(Path(path), json.dumps(doc, allow_nan=False, separators=(",", ":")).encode("utf-8"))
    return len(doc["events"]), len(doc["objects"])


def _table_name(type_name: str, used: set[str]) -> str:
    base = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", type_name) if p) or "Type"
    name, n = base, 2
    while name.lower() in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name.lower())
    return name


_SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "float": "REAL", "boolean": "INTEGER", "time": "TIMESTAMP"}


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def write_ocel_sqlite(
    table: pa.Table, path: str | Path, scenario: Scenario | None = None, start: dt.date | None = None
) -> tuple[int, int]:
    """Write the OCEL 2.0 SQLite database of ``table`` to ``path``; returns ``(events, objects)``.

    Tables of the OCEL 2.0 relational format: ``event``, ``event_map_type``, one ``event_<Type>``
    per event type, ``object``, ``object_map_type``, one ``object_<Type>`` per object type,
    ``event_object`` and ``object_object``. Written to a temporary file and renamed.
    """
    doc = ocel_document(table, scenario, start)
    path = Path(path)
    tmp = _tmp(path)
    try:
        con = sqlite3.connect(tmp)
        try:
            _fill_sqlite(con, doc)
            con.commit()
        finally:
            con.close()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(doc["events"]), len(doc["objects"])


def _fill_sqlite(con: sqlite3.Connection, doc: dict[str, Any]) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE event (ocel_id TEXT PRIMARY KEY, ocel_type TEXT)")
    cur.execute("CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT)")
    cur.execute("CREATE TABLE object (ocel_id TEXT PRIMARY KEY, ocel_type TEXT)")
    cur.execute("CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT)")
    cur.execute("CREATE TABLE event_object (ocel_event_id TEXT, ocel_object_id TEXT, ocel_qualifier TEXT)")
    cur.execute("CREATE TABLE object_object (ocel_source_id TEXT, ocel_target_id TEXT, ocel_qualifier TEXT)")
    used: set[str] = set()
    ev_tables: dict[str, tuple[str, list[str]]] = {}
    for et in doc["eventTypes"]:
        name = _table_name(et["name"], used)
        cols = [a["name"] for a in et["attributes"]]
        defs = "".join(f", {_q(a['name'])} {_SQL_TYPES[a['type']]}" for a in et["attributes"])
        cur.execute(f"CREATE TABLE {_q('event_' + name)} (ocel_id TEXT PRIMARY KEY, ocel_time TIMESTAMP{defs})")
        cur.execute("INSERT INTO event_map_type VALUES (?, ?)", (et["name"], name))
        ev_tables[et["name"]] = (name, cols)
    used = set()
    ob_tables: dict[str, tuple[str, list[str]]] = {}
    for ot in doc["objectTypes"]:
        name = _table_name(ot["name"], used)
        cols = [a["name"] for a in ot["attributes"]]
        defs = "".join(f", {_q(a['name'])} {_SQL_TYPES[a['type']]}" for a in ot["attributes"])
        cur.execute(
            f"CREATE TABLE {_q('object_' + name)} (ocel_id TEXT, ocel_time TIMESTAMP, ocel_changed_field TEXT{defs})"
        )
        cur.execute("INSERT INTO object_map_type VALUES (?, ?)", (ot["name"], name))
        ob_tables[ot["name"]] = (name, cols)
    for obj in doc["objects"]:
        if obj["type"] not in ob_tables:  # an object type without attributes
            name = _table_name(obj["type"], used)
            cur.execute(
                f"CREATE TABLE {_q('object_' + name)} (ocel_id TEXT, ocel_time TIMESTAMP, ocel_changed_field TEXT)"
            )
            cur.execute("INSERT INTO object_map_type VALUES (?, ?)", (obj["type"], name))
            ob_tables[obj["type"]] = (name, [])
    e_rows: list[tuple[Any, ...]] = []
    e2o: list[tuple[str, str, str]] = []
    per_type: dict[str, list[tuple[Any, ...]]] = {}
    for ev in doc["events"]:
        e_rows.append((ev["id"], ev["type"]))
        values = {a["name"]: a["value"] for a in ev.get("attributes", [])}
        _, cols = ev_tables[ev["type"]]
        per_type.setdefault(ev["type"], []).append((ev["id"], ev["time"], *(values.get(col) for col in cols)))
        e2o += [(ev["id"], r["objectId"], r["qualifier"]) for r in ev.get("relationships", [])]
    cur.executemany("INSERT INTO event VALUES (?, ?)", e_rows)
    cur.executemany("INSERT INTO event_object VALUES (?, ?, ?)", e2o)
    for etype, rows in per_type.items():
        name, cols = ev_tables[etype]
        marks = ", ".join("?" * (2 + len(cols)))
        cur.executemany(f"INSERT INTO {_q('event_' + name)} VALUES ({marks})", rows)
    o_rows: list[tuple[str, str]] = []
    o2o: list[tuple[str, str, str]] = []
    per_otype: dict[str, list[tuple[Any, ...]]] = {}
    for obj in doc["objects"]:
        o_rows.append((obj["id"], obj["type"]))
        values = {a["name"]: a["value"] for a in obj.get("attributes", [])}
        _, cols = ob_tables[obj["type"]]
        per_otype.setdefault(obj["type"], []).append(
            (obj["id"], "1970-01-01 00:00:00", None, *(values.get(col) for col in cols))
        )
        o2o += [(obj["id"], r["objectId"], r["qualifier"]) for r in obj.get("relationships", [])]
    cur.executemany("INSERT INTO object VALUES (?, ?)", o_rows)
    cur.executemany("INSERT INTO object_object VALUES (?, ?, ?)", o2o)
    for otype, rows in per_otype.items():
        name, cols = ob_tables[otype]
        marks = ", ".join("?" * (3 + len(cols)))
        cur.executemany(f"INSERT INTO {_q('object_' + name)} VALUES ({marks})", rows)


def events_csv_table(table: pa.Table, scenario: Scenario | None = None, start: dt.date | None = None) -> pa.Table:
    """The event table made flat for CSV: strings instead of dictionaries, a calendar ``time`` and
    the ``requirement`` id next to ``ref`` (``strategy`` / ``replication`` kept when present)."""
    import numpy as np
    import pyarrow as pa

    base = start or (scenario.start if scenario is not None else dt.date(1970, 1, 1))
    t = np.asarray(table.column("t").to_numpy(), dtype=np.float64)
    epoch = np.datetime64(base.isoformat(), "us")
    when = epoch + np.round(t * 86_400_000_000).astype("timedelta64[us]")
    ids = [r.id for r in scenario.requirements] if scenario is not None else []
    refs = np.asarray(table.column("ref").fill_null(-1).to_numpy(), dtype=np.int64)
    names = np.array([*ids, None], dtype=object)
    req = np.where((refs >= 0) & (refs < len(ids)), refs, len(ids))
    req_col = [
        f"#{r}" if (r >= 0 and x is None) else x for r, x in zip(refs.tolist(), names[req].tolist(), strict=True)
    ]
    cols: dict[str, Any] = {}
    for name in ("strategy", "replication"):
        if name in table.column_names:
            cols[name] = table.column(name)
    for name in table.column_names:
        if name in ("strategy", "replication"):
            continue
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        cols[name] = col
        if name == "t":
            cols["time"] = pa.array(when, type=pa.timestamp("us", tz="UTC"))
        if name == "ref":
            cols["requirement"] = pa.array(req_col, type=pa.string())
    return pa.table(cols)


def write_csv(table: pa.Table, path: str | Path, scenario: Scenario | None = None) -> int:
    """Write ``events_csv_table(table)`` as CSV (atomically); returns the rows written."""
    import pyarrow.csv as pacsv

    path = Path(path)
    flat = events_csv_table(table, scenario)
    tmp = _tmp(path)
    try:
        pacsv.write_csv(flat, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return flat.num_rows
