"""Which field names which kind of thing: the id references of a scenario, and "did you mean".

``id_reference_problems`` walks every field that names an item, node, link or source and
reports each id that does not exist (with the closest existing id as a hint) or names a node
of the wrong kind. It reads a validated ``Scenario`` and the raw mapping of a file alike
(attributes or keys, whatever is there), so ``scenarios.load`` can report the references of
a file whose fields also have errors in the same pass: a value of the wrong type is skipped
here, its field error says what is wrong with it.

Example:
    >>> data = {"items": [{"id": "router"}], "nodes": [{"id": "hub_a", "kind": "hub"}],
    ...         "requirements": [{"unit": "hub_a", "item": "ruter"}]}
    >>> for loc, message in id_reference_problems(data):
    ...     print(loc, message)
    ('requirements', 0, 'unit') 'hub_a' is a hub, expected unit
    ('requirements', 0, 'item') unknown item 'ruter', did you mean 'router'?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["did_you_mean", "id_reference_problems"]

Loc = tuple[str | int, ...]

_ATTRIBUTE = {"from": "from_"}
"""Keys written in files whose model attribute has another name."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``", did you mean 'x'?"`` for the closest candidate to ``word``, or ``""`` when none is close.

    Example:
        >>> did_you_mean("brigade_x", ["brigade", "rzeszow"])
        ", did you mean 'brigade'?"
        >>> did_you_mean("krakow", ["brigade", "rzeszow"])
        ''
    """
    close = difflib.get_close_matches(word, [c for c in candidates if isinstance(c, str)], n=1)
    return f", did you mean {close[0]!r}?" if close else ""


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, _ATTRIBUTE.get(name, name), None)


def _entries(obj: Any, name: str) -> list[tuple[int, Any]]:
    value = _get(obj, name)
    return list(enumerate(value)) if isinstance(value, list | tuple) else []


def _keys(obj: Any, name: str) -> list[str]:
    value = _get(obj, name)
    return [k for k in value if isinstance(k, str)] if isinstance(value, Mapping) else []


def _ids(s: Any, name: str) -> dict[str, str]:
    """Id -> kind (``""`` when the entry has none) of the list ``name``, first entry winning."""
    out: dict[str, str] = {}
    for _, entry in _entries(s, name):
        ident = _get(entry, "id")
        if isinstance(ident, str):
            kind = _get(entry, "kind")
            out.setdefault(ident, kind if isinstance(kind, str) else "")
    return out


_NODE_KINDS = ("donor", "agency", "supplier", "hub", "border", "depot", "unit")
_LINK_FROM = ("supplier", "hub", "border", "depot")
_LINK_TO = ("hub", "border", "depot", "unit")
_TARGETS = ("hub", "border", "depot", "link", "supplier")


def id_reference_problems(s: Any) -> list[tuple[Loc, str]]:
    """Every id reference of ``s`` (a ``Scenario`` or its raw mapping) that is unknown or of the wrong kind.

    Covers item, node, link and source references of items, nodes (stock policies included),
    links, requirements, disruptions and the policy; a pledge's own references are ``scenarios.pledges``'s.
    """
    problems: list[tuple[Loc, str]] = []
    items = _ids(s, "items")
    kinds = _ids(s, "nodes")
    sources = _ids(s, "sources")
    targets = dict(kinds) | {lk: "link" for lk in _ids(s, "links")}

    def need(loc: Loc, ref: Any, pool: Mapping[str, str], what: str, allowed: tuple[str, ...] | None = None) -> None:
        if not isinstance(ref, str):
            return  # a field error, reported by the model
        if ref not in pool:
            fitting = [k for k, v in pool.items() if allowed is None or v in allowed]
            problems.append((loc, f"unknown {what} {ref!r}{did_you_mean(ref, fitting or pool)}"))
        elif allowed is not None and pool[ref] in (*_NODE_KINDS, "link") and pool[ref] not in allowed:
            problems.append((loc, f"{ref!r} is a {pool[ref]}, expected {' or '.join(allowed)}"))

    def cites(loc: Loc, entry: Any) -> None:
        for j, c in _entries(entry, "cite"):
            need((*loc, "cite", j), c, sources, "source")

    for i, it in _entries(s, "items"):
        cites(("items", i), it)
    for i, n in _entries(s, "nodes"):
        cites(("nodes", i), n)
        kind = _get(n, "kind")
        if kind == "donor":
            for j, e in _entries(n, "earmarks"):
                need(("nodes", i, "earmarks", j), e, items, "item")
        elif kind == "supplier":
            for j, p in _entries(n, "products"):
                need(("nodes", i, "products", j, "item"), _get(p, "item"), items, "item")
        elif kind in ("unit", "depot"):
            for field in ("consumption_per_day", "initial_stock", "consumption", "stock_policies"):
                for key in _keys(n, field):
                    need(("nodes", i, field, key), key, items, "item")
            for key in _keys(n, "stock_policies"):
                policy = _get(_get(n, "stock_policies"), key)
                loc = ("nodes", i, "stock_policies", key)
                if _get(policy, "source") is not None:
                    need((*loc, "source"), _get(policy, "source"), kinds, "node", ("depot",))
                for j, f in _entries(policy, "funders"):
                    need((*loc, "funders", j), f, kinds, "node", ("donor",))
                if _get(policy, "agency") is not None:
                    need((*loc, "agency"), _get(policy, "agency"), kinds, "node", ("agency",))
    for i, lk in _entries(s, "links"):
        need(("links", i, "from"), _get(lk, "from"), kinds, "node", _LINK_FROM)
        need(("links", i, "to"), _get(lk, "to"), kinds, "node", _LINK_TO)
        cites(("links", i), lk)
    for i, r in _entries(s, "requirements"):
        need(("requirements", i, "unit"), _get(r, "unit"), kinds, "node", ("unit",))
        need(("requirements", i, "item"), _get(r, "item"), items, "item")
        for j, f in _entries(r, "funders"):
            need(("requirements", i, "funders", j), f, kinds, "node", ("donor",))
        if _get(r, "agency") is not None:
            need(("requirements", i, "agency"), _get(r, "agency"), kinds, "node", ("agency",))
        cites(("requirements", i), r)
    for i, d in _entries(s, "disruptions"):
        need(("disruptions", i, "target"), _get(d, "target"), targets, "node or link", _TARGETS)
    for key in _keys(_get(s, "policy"), "item_priority"):
        need(("policy", "item_priority", key), key, items, "item")
    for i, c in _entries(s, "success"):
        need(("success", i, "item"), _get(c, "item"), items, "item")
        cites(("success", i), c)
    return problems
