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

Example:
    >>> from scenarios.load import load
    >>> from sim.run import run
    >>> s = load("scenarios/small_routers.yaml")
    >>> doc = ocel_document(run(s)[0].table(), s)
    >>> sorted(t["name"] for t in doc["objectTypes"])
    ['contract', 'link', 'lot', 'node', 'requirement', 'vehicle']
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenarios.errors import AidflowError
from sim.events import (
    ARRIVED,
    BUDGET_ADDED,
    CONSUMED,
    CONTRACT_AWARDED,
    DELIVERED,
    DEPARTED,
    DISRUPTION_ENDED,
    DISRUPTION_STARTED,
    FUNDS_COMMITTED,
    FUNDS_SHORT,
    LOADED,
    LOT_PRODUCED,
    REQUIREMENT_FILLED,
    REQUIREMENT_OPENED,
    STOCKOUT,
    TENDER_FINISHED,
    TENDER_STARTED,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from scenarios.schema import Scenario

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

FORMATS: tuple[str, ...] = ("ocel", "ocel-json", "ocel-sqlite", "csv")
"""Formats of ``export_run`` (``ocel`` picks JSON or SQLite from the output's suffix)."""

VALUE_NAMES: dict[str, str] = {
    "requirement_opened": "need_by_day",
    "funds_committed": "eur",
    "funds_short": "eur_needed",
    "tender_started": "tender_days",
    "tender_finished": "tender_days",
    "contract_awarded": "contract_eur",
    "requirement_filled": "days_late",
    "disruption_started": "capacity_factor",
    "disruption_ended": "capacity_factor",
    "budget_added": "eur",
}
"""The event attribute that carries a kind's ``value`` (``value`` for kinds not listed)."""

_EPOCH = "1970-01-01T00:00:00Z"  # time of objects' initial attribute values (OCEL 2.0 convention)
_SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")

_ATTR_VALUE: dict[str, Any] = {"type": ["string", "number", "integer", "boolean"]}
_RELATIONSHIPS: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"objectId": {"type": "string"}, "qualifier": {"type": "string"}},
        "required": ["objectId", "qualifier"],
    },
}
_TYPES: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "attributes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "type": {"enum": ["string", "time", "integer", "float", "boolean"]},
                    },
                    "required": ["name", "type"],
                },
            },
        },
        "required": ["name", "attributes"],
    },
}

OCEL2_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "OCEL 2.0 JSON (structure of the ocel-standard.org JSON format)",
    "type": "object",
    "properties": {
        "objectTypes": _TYPES,
        "eventTypes": _TYPES,
        "objects": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "type": {"type": "string"},
                    "attributes": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "time": {"type": "string", "format": "date-time"},
                                "value": _ATTR_VALUE,
                            },
                            "required": ["name", "time", "value"],
                        },
                    },
                    "relationships": _RELATIONSHIPS,
                },
                "required": ["id", "type"],
            },
        },
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "type": {"type": "string"},
                    "time": {"type": "string", "format": "date-time"},
                    "attributes": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}, "value": _ATTR_VALUE},
                            "required": ["name", "value"],
                        },
                    },
                    "relationships": _RELATIONSHIPS,
                },
                "required": ["id", "type", "time"],
            },
        },
    },
    "required": ["objectTypes", "eventTypes", "objects", "events"],
}
"""JSON Schema of the OCEL 2.0 JSON format (what ``write_ocel_json`` writes validates against it)."""


class ExportError(AidflowError):
    """An export cannot be written (unknown format, ambiguous output, no such part)."""


@dataclass(frozen=True)
class Exported:
    """One file written by ``export_run``."""

    path: Path
    format: str
    strategy: str | None
    replication: int | None
    events: int
    objects: int


# --------------------------------------------------------------------------- OCEL document


def _time_of(start: dt.date | None) -> Any:
    base = dt.datetime.combine(start or dt.date(1970, 1, 1), dt.time(), tzinfo=dt.UTC)

    def iso(t: float) -> str:
        return (base + dt.timedelta(microseconds=round(t * 86_400_000_000))).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    return iso


_NODE_QUALIFIER: dict[int, str] = {
    REQUIREMENT_OPENED: "unit",
    REQUIREMENT_FILLED: "unit",
    DELIVERED: "unit",
    CONSUMED: "unit",
    STOCKOUT: "unit",
    FUNDS_COMMITTED: "donor",
    FUNDS_SHORT: "donor",
    BUDGET_ADDED: "donor",
    TENDER_STARTED: "agency",
    TENDER_FINISHED: "agency",
    CONTRACT_AWARDED: "supplier",
    LOT_PRODUCED: "supplier",
    ARRIVED: "to",
    DISRUPTION_STARTED: "target",
    DISRUPTION_ENDED: "target",
}


class _Objects:
    """The objects of an OCEL document, created on first reference."""

    def __init__(self, scenario: Scenario | None) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.links: dict[str, Any] = {lk.id: lk for lk in scenario.links} if scenario is not None else {}
        self.kinds: dict[str, str] = {n.id: n.kind for n in scenario.nodes} if scenario is not None else {}
        self.o2o: dict[str, list[tuple[str, str]]] = {}

    def get(self, oid: str, otype: str, attrs: dict[str, Any], rels: Sequence[tuple[str, str]] = ()) -> str:
        if oid not in self.objects:
            self.objects[oid] = {
                "id": oid,
                "type": otype,
                "attributes": [{"name": k, "time": _EPOCH, "value": v} for k, v in attrs.items() if v is not None],
            }
            if rels:
                self.o2o[oid] = list(rels)
        return oid

    def node(self, node: str) -> str:
        return self.get(f"node:{node}", "node", {"kind": self.kinds.get(node)})

    def link(self, link: str) -> str:
        lk = self.links.get(link)
        rels = [(f"node:{lk.from_}", "from"), (f"node:{lk.to}", "to")] if lk is not None else []
        return self.get(f"link:{link}", "link", {"mode": lk.mode if lk is not None else None}, rels)

    def vehicle(self, link: str, number: int) -> str:
        return self.get(
            f"vehicle:{link}#{number}", "vehicle", {"link": link, "number": number}, [(f"link:{link}", "of")]
        )

    def document(self) -> list[dict[str, Any]]:
        """Objects with their relationships to objects that exist."""
        out = []
        for oid, obj in self.objects.items():
            rels = [{"objectId": o, "qualifier": q} for o, q in self.o2o.get(oid, []) if o in self.objects]
            out.append({**obj, "relationships": rels} if rels else obj)
        return out


def ocel_document(table: pa.Table, scenario: Scenario | None = None, start: dt.date | None = None) -> dict[str, Any]:
    """The OCEL 2.0 JSON document of one replication's event table.

    Args:
        table: The event table of one replication.
        scenario: The resolved scenario (names requirements, node kinds, link modes, start date).
        start: Calendar date of day 0 (default: the scenario's start, else 1970-01-01).
    """
    from results.replay import EventColumns

    c = EventColumns(table)
    iso = _time_of(start or (scenario.start if scenario is not None else None))
    req_ids = [r.id for r in scenario.requirements] if scenario is not None else []
    objs = _Objects(scenario)
    lot_contract: dict[int, str] = {}
    onboard: dict[tuple[str, int], list[str]] = {}

    def rid(ref: int) -> str:
        return req_ids[ref] if 0 <= ref < len(req_ids) else f"#{ref}"

    def requirement(ref: int, i: int | None = None) -> str:
        attrs: dict[str, Any] = {}
        rels: list[tuple[str, str]] = []
        if i is not None:
            attrs = {"item": c.item[i], "qty": c.qty[i] or None, "need_by_day": c.value[i]}
            if c.node[i] is not None:
                rels = [(f"node:{c.node[i]}", "unit")]
        return objs.get(f"requirement:{rid(ref)}", "requirement", attrs, rels)

    def contract(ref: int, supplier: str, i: int | None = None) -> str:
        attrs: dict[str, Any] = {}
        if i is not None:
            attrs = {"item": c.item[i], "qty": c.qty[i] or None, "value_eur": c.value[i]}
        rels = [(f"requirement:{rid(ref)}", "for"), (f"node:{supplier}", "supplier")]
        return objs.get(f"contract:{rid(ref)}@{supplier}", "contract", attrs, rels)

    events: list[dict[str, Any]] = []
    event_attrs: dict[str, dict[str, str]] = {}
    for i in range(c.n):
        k, kind = c.kind[i], c.kind_names[i]
        rels: list[tuple[str, str]] = []
        lot, ref, node, link, vehicle = c.lot[i], c.ref[i], c.node[i], c.link[i], c.vehicle[i]
        if lot >= 0:
            lot_id = f"lot:{lot}"
            if k == LOT_PRODUCED and node is not None:
                lot_contract[lot] = contract(ref, node)
                objs.get(
                    lot_id,
                    "lot",
                    {"item": c.item[i], "qty": c.qty[i] or None},
                    [(f"requirement:{rid(ref)}", "for"), (lot_contract[lot], "under")],
                )
            rels.append((objs.get(lot_id, "lot", {"item": c.item[i], "qty": c.qty[i] or None}), "lot"))
        if ref >= 0:
            rels.append((requirement(ref, i if k == REQUIREMENT_OPENED else None), "requirement"))
            if k == CONTRACT_AWARDED and node is not None:
                rels.append((contract(ref, node, i), "contract"))
            elif lot in lot_contract:
                rels.append((lot_contract[lot], "contract"))
        if node is not None:
            rels.append((objs.node(node), _NODE_QUALIFIER.get(k, "at")))
        if link is not None:
            rels.append((objs.link(link), "target" if k in (DISRUPTION_STARTED, DISRUPTION_ENDED) else "link"))
            if vehicle >= 0:
                rels.append((objs.vehicle(link, vehicle), "vehicle"))
                key = (link, vehicle)
                if k == LOADED:
                    onboard.setdefault(key, []).append(f"lot:{lot}")
                elif k == DEPARTED:
                    rels += [(x, "carries") for x in onboard.pop(key, [])]
        attrs: list[dict[str, Any]] = [{"name": "day", "value": c.t[i]}]
        types = event_attrs.setdefault(kind, {"day": "float"})
        if c.qty[i]:
            attrs.append({"name": "qty", "value": c.qty[i]})
            types["qty"] = "integer"
        if c.item[i] is not None:
            attrs.append({"name": "item", "value": c.item[i]})
            types["item"] = "string"
        if c.value[i] is not None:
            name = VALUE_NAMES.get(kind, "value")
            attrs.append({"name": name, "value": c.value[i]})
            types[name] = "float"
        events.append(
            {
                "id": f"e{c.seq[i]}",
                "type": kind,
                "time": iso(c.t[i]),
                "attributes": attrs,
                "relationships": [{"objectId": o, "qualifier": q} for o, q in rels],
            }
        )
    objects = objs.document()
    object_attrs: dict[str, dict[str, str]] = {}
    for obj in objects:
        types = object_attrs.setdefault(obj["type"], {})
        for a in obj["attributes"]:
            v = a["value"]
            types[a["name"]] = "integer" if isinstance(v, int) else "float" if isinstance(v, float) else "string"
    return {
        "objectTypes": [
            {"name": n, "attributes": [{"name": a, "type": t} for a, t in attrs.items()]}
            for n, attrs in object_attrs.items()
        ],
        "eventTypes": [
            {"name": n, "attributes": [{"name": a, "type": t} for a, t in attrs.items()]}
            for n, attrs in event_attrs.items()
        ],
        "objects": objects,
        "events": events,
    }


# --------------------------------------------------------------------------- writers


def _tmp(path: Path) -> Path:
    return path.with_name(f".tmp-{path.name}.{uuid.uuid4().hex[:12]}")


def write_ocel_json(
    table: pa.Table, path: str | Path, scenario: Scenario | None = None, start: dt.date | None = None
) -> tuple[int, int]:
    """Write the OCEL 2.0 JSON of ``table`` to ``path`` (atomically); returns ``(events, objects)``."""
    from results.store import atomic_write_bytes

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


# --------------------------------------------------------------------------- a run directory


def _parts(run_dir: Path, strategy: str | None, rep: int | None) -> list[tuple[str, int]]:
    from results.store import read_manifest

    manifest = read_manifest(run_dir)
    found = sorted({(str(p["strategy"]), int(p["replication"])) for p in manifest.get("parts", [])})
    chosen = [(s, r) for s, r in found if (strategy is None or s == strategy) and (rep is None or r == rep)]
    if not chosen:
        known = ", ".join(f"{s} rep {r}" for s, r in found) or "none"
        raise ExportError(
            f"{run_dir}: no part matches strategy={strategy or '*'} rep={'*' if rep is None else rep} (parts: {known})"
        )
    return chosen


def export_run(
    run_dir: str | Path,
    fmt: str,
    out: str | Path | None = None,
    strategy: str | None = None,
    rep: int | None = None,
) -> list[Exported]:
    """Export parts of a run directory.

    Args:
        run_dir: The run directory.
        fmt: ``ocel`` (JSON, or SQLite when ``out`` ends in .sqlite/.sqlite3/.db), ``ocel-json``,
            ``ocel-sqlite`` or ``csv``.
        out: Output file; for OCEL of several parts, a folder (one file per part). Default:
            ``<run_dir>/export/`` (``<strategy>-rep<r>.ocel.json`` or ``.ocel.sqlite`` per part,
            ``events.csv`` with every selected part).
        strategy, rep: Only these parts (default: all).

    Raises:
        ExportError: unknown format, no such part, or one output file for several OCEL parts.
        StoreError: ``run_dir`` is not a run directory.
    """
    from results.replay import load_run_scenario
    from results.store import read_events

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    run_dir = Path(run_dir)
    parts = _parts(run_dir, strategy, rep)
    out_path = Path(out) if out is not None else None
    if fmt == "ocel":
        sqlite = out_path is not None and out_path.suffix.lower() in _SQLITE_SUFFIXES
        fmt = "ocel-sqlite" if sqlite else "ocel-json"
    if fmt == "csv":
        csv_path = out_path if out_path is not None else run_dir / "export" / "events.csv"
        if csv_path.is_dir():
            csv_path = csv_path / "events.csv"
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        scenario = load_run_scenario(run_dir, parts[0][0])
        if len(parts) == 1:
            table = read_events(run_dir, parts[0][0], parts[0][1])
        else:
            import pyarrow as pa

            tables = [read_events(run_dir, s, r) for s, r in parts]
            tables = [
                tb.append_column("strategy", pa.array([s] * tb.num_rows, pa.string())).append_column(
                    "replication", pa.array([r] * tb.num_rows, pa.int64())
                )
                for tb, (s, r) in zip(tables, parts, strict=True)
            ]
            table = pa.concat_tables(tables)
        rows = write_csv(table, csv_path, scenario)
        return [Exported(csv_path, "csv", strategy, rep, rows, 0)]
    suffix = ".ocel.sqlite" if fmt == "ocel-sqlite" else ".ocel.json"
    if out_path is None:
        folder: Path | None = run_dir / "export"
    elif out_path.is_dir() or (not out_path.suffix and len(parts) > 1):
        folder = out_path
    elif len(parts) > 1:
        raise ExportError(
            f"{len(parts)} parts match: give --strategy and --rep for one file, or --out a folder for one file each"
        )
    else:
        folder = None
    done: list[Exported] = []
    for s, r in parts:
        target: Path | None = folder / f"{s}-rep{r}{suffix}" if folder is not None else out_path
        assert target is not None
        target.parent.mkdir(parents=True, exist_ok=True)
        table = read_events(run_dir, s, r)
        scenario = load_run_scenario(run_dir, s)
        writer = write_ocel_sqlite if fmt == "ocel-sqlite" else write_ocel_json
        n_events, n_objects = writer(table, target, scenario)
        done.append(Exported(target, fmt, s, r, n_events, n_objects))
    return done
