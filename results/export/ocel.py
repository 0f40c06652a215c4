"""The OCEL 2.0 document of one replication's event log: events, objects and their relationships.

See ``results.export`` for the object types, their ids and relationships; the JSON Schema of
the format is :data:`OCEL2_JSON_SCHEMA`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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

__all__ = ["OCEL2_JSON_SCHEMA", "VALUE_NAMES", "ocel_document"]

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
