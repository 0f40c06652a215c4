"""Exports: OCEL 2.0 JSON and SQLite read back by pm4py with the same events and objects; CSV."""

from __future__ import annotations

import json
import sqlite3
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from rundirs import make_run_dir

from results.export.ocel import OCEL2_JSON_SCHEMA, ocel_document
from results.export.run_dir import ExportError, export_run
from results.export.writers import events_csv_table, write_ocel_json, write_ocel_sqlite
from scenarios.load import load
from scenarios.schema import Scenario
from sim.run import run

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"


@pytest.fixture(scope="module")
def small() -> Scenario:
    return load(SMALL)


@pytest.fixture(scope="module")
def table(small: Scenario) -> pa.Table:
    return run(small)[0].table()


@pytest.fixture(scope="module")
def doc(table: pa.Table, small: Scenario) -> dict[str, Any]:
    return ocel_document(table, small)


def test_document_follows_the_ocel2_json_schema(doc: dict[str, Any], table: pa.Table) -> None:
    jsonschema.validate(doc, OCEL2_JSON_SCHEMA, format_checker=jsonschema.FormatChecker())
    assert len(doc["events"]) == table.num_rows
    ids = [e["id"] for e in doc["events"]]
    assert len(set(ids)) == len(ids)
    times = [e["time"] for e in doc["events"]]
    assert times == sorted(times)
    assert doc["events"][0]["time"].startswith("2025-05-01T00:00:00")
    declared = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]} for t in doc["eventTypes"]}
    assert set(declared) == set(table.column("kind").to_pylist())
    for ev in doc["events"]:
        for a in ev["attributes"]:
            assert a["name"] in declared[ev["type"]]


def test_every_event_and_object_is_linked(doc: dict[str, Any], table: pa.Table, small: Scenario) -> None:
    objects = {o["id"]: o for o in doc["objects"]}
    referenced: set[str] = set()
    for ev in doc["events"]:
        assert ev["relationships"], ev
        for r in ev["relationships"]:
            assert r["objectId"] in objects, r
            referenced.add(r["objectId"])
    assert referenced == set(objects)  # no object a reader would drop
    for o in doc["objects"]:
        for r in o.get("relationships", []):
            assert r["objectId"] in objects
    types = Counter(o["type"] for o in doc["objects"])
    assert types["requirement"] == len(small.requirements)
    lots = set(table.column("lot").to_pylist()) - {-1}
    assert types["lot"] == len(lots)
    kinds = table.column("kind").to_pylist()
    assert types["contract"] == kinds.count("contract_awarded")
    lot_obj = objects["lot:0"]
    quals = {r["qualifier"] for r in lot_obj["relationships"]}
    assert quals == {"for", "under"}


def test_departures_carry_the_loaded_lots(doc: dict[str, Any]) -> None:
    loading: dict[str, list[str]] = {}
    departures = 0
    for ev in doc["events"]:
        rel = {r["qualifier"]: r["objectId"] for r in ev["relationships"] if r["qualifier"] != "carries"}
        if ev["type"] == "loaded":
            loading.setdefault(rel["vehicle"], []).append(rel["lot"])
        elif ev["type"] == "departed":
            carried = [r["objectId"] for r in ev["relationships"] if r["qualifier"] == "carries"]
            assert carried == loading.pop(rel["vehicle"])
            departures += 1
    assert departures > 0


def _pm4py() -> Any:
    pm4py = pytest.importorskip("pm4py")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    return pm4py


def test_pm4py_reads_the_json_back(tmp_path: Path, table: pa.Table, small: Scenario, doc: dict[str, Any]) -> None:
    pm4py = _pm4py()
    path = tmp_path / "small.ocel.json"
    n_events, n_objects = write_ocel_json(table, path, small)
    ocel = pm4py.read_ocel2_json(str(path))
    assert len(ocel.events) == n_events == table.num_rows
    assert len(ocel.objects) == n_objects == len(doc["objects"])
    assert len(ocel.relations) == sum(len(e["relationships"]) for e in doc["events"])
    assert len(ocel.o2o) == sum(len(o.get("relationships", [])) for o in doc["objects"])
    assert dict(Counter(ocel.events["ocel:activity"])) == dict(Counter(table.column("kind").to_pylist()))
    assert dict(Counter(ocel.objects["ocel:type"])) == dict(Counter(o["type"] for o in doc["objects"]))


def test_pm4py_reads_the_sqlite_back(tmp_path: Path, table: pa.Table, small: Scenario, doc: dict[str, Any]) -> None:
    pm4py = _pm4py()
    path = tmp_path / "small.ocel.sqlite"
    n_events, n_objects = write_ocel_sqlite(table, path, small)
    ocel = pm4py.read_ocel2_sqlite(str(path))
    assert len(ocel.events) == n_events == table.num_rows
    assert len(ocel.objects) == n_objects == len(doc["objects"])
    assert len(ocel.relations) == sum(len(e["relationships"]) for e in doc["events"])
    con = sqlite3.connect(path)
    try:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
        assert {"event", "object", "event_object", "object_object", "event_map_type", "object_map_type"} <= tables
        assert "event_RequirementOpened" in tables and "object_Lot" in tables
        (n,) = con.execute("select count(*) from event_object").fetchone()
        assert n == len(ocel.relations)
    finally:
        con.close()


def test_csv(tmp_path: Path, table: pa.Table, small: Scenario) -> None:
    flat = events_csv_table(table, small)
    assert flat.num_rows == table.num_rows
    assert {"time", "requirement", "kind", "seq"} <= set(flat.column_names)
    reqs = {r for r in flat.column("requirement").to_pylist() if r is not None}
    assert reqs == {"R1", "R2", "R3"}
    path = tmp_path / "e.csv"
    pacsv.write_csv(flat, path)
    back = pacsv.read_csv(path)
    assert back.num_rows == table.num_rows
    assert back.column("kind").to_pylist() == table.column("kind").to_pylist()


def test_export_run(tmp_path: Path, small: Scenario) -> None:
    run_dir = make_run_dir(tmp_path / "run", small, ("baseline", "bilateral"), 1)
    done = export_run(run_dir, "ocel")
    assert [(e.strategy, e.replication) for e in done] == [("baseline", 0), ("bilateral", 0)]
    for e in done:
        assert e.path.parent == run_dir / "export" and e.path.name.endswith(".ocel.json")
        assert len(json.loads(e.path.read_text())["events"]) == e.events
    (one,) = export_run(run_dir, "ocel", tmp_path / "one.sqlite", strategy="bilateral", rep=0)
    assert one.format == "ocel-sqlite" and one.path.is_file()
    (csv,) = export_run(run_dir, "csv")
    back = pacsv.read_csv(csv.path)
    assert back.num_rows == sum(e.events for e in done)
    assert set(back.column("strategy").to_pylist()) == {"baseline", "bilateral"}
    folder = export_run(run_dir, "ocel-sqlite", tmp_path / "many")
    assert sorted(e.path.name for e in folder) == ["baseline-rep0.ocel.sqlite", "bilateral-rep0.ocel.sqlite"]
    with pytest.raises(ExportError, match="2 parts match"):
        export_run(run_dir, "ocel", tmp_path / "x.json")
    with pytest.raises(ExportError, match="unknown export format"):
        export_run(run_dir, "xes")
    with pytest.raises(ExportError, match="no part matches"):
        export_run(run_dir, "ocel", strategy="nope")
